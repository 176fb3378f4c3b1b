/**
 * `k poll`: a cell's state as JSON: the given cell, else the active one, else the most recent;
 * a running cell with its output so far.
 * @module
 */

import { type CellResult, looksLikeCellId, UsageError } from "../../mod.ts";
import { exitStatusOf, printJson } from "./output.ts";
import type { Verb } from "./verb.ts";

/** `k poll [-o N] [session] [cell_id]` */
export const poll: Verb = {
  name: "poll",
  usage: "k poll [-o N] [session] [cell_id]",
  summary: "a cell's state as JSON, with its output so far",
  details: ["The given cell, else the active one, else the most recent."],
  examples: ["k poll work", "k poll work 3f2a9c01b7de"],
  flags: [
    { name: "json", short: "j", type: "boolean", description: "JSON (always)", hidden: true },
    {
      name: "max-output",
      short: "o",
      type: "integer",
      description: "output budget for a running cell's output so far",
    },
  ],
  args: "flags",
  json: "always",
  async run({ kernel, flags, positionals }) {
    const maxOutput = flags.integer("max-output");
    if (positionals.length > 2) throw new UsageError("k poll [session] [cell_id]");
    let [session, cellId] = positionals;
    // One word shaped like a cell id is the cell, unless a session of that name has state.
    if (positionals.length === 1 && session !== undefined && looksLikeCellId(session)) {
      if (!(await kernel.session(session).hasState())) [session, cellId] = [undefined, session];
    }
    const target = await kernel.resolve(session);
    const result: CellResult = await target.poll(cellId, maxOutput ? { maxOutput } : {});
    printJson(result);
    return exitStatusOf(result);
  },
};

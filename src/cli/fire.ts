/**
 * `k fire`: type a cell's code and return at once; a background watcher records its result
 * (`k poll`, `km`).
 * @module
 */

import { codeFrom, sessionAndText } from "./args.ts";
import { exitStatusOf, printJson } from "./output.ts";
import { CELL_FLAGS, cellOptions } from "./run.ts";
import type { Verb } from "./verb.ts";

/** `k fire [-t N] [-o N] [session] <code>` */
export const fire: Verb = {
  name: "fire",
  usage: "k fire [-t N] [-o N] [session] <code>",
  summary: "run a cell in the background (default 300 s); code '-' is read from stdin",
  examples: ["k fire work 'make -j2'   # then: k poll work, or km work -1"],
  flags: CELL_FLAGS.map((flag) => flag.name === "json" ? { ...flag, hidden: true } : flag),
  args: "code",
  json: "always",
  async run({ kernel, flags, positionals }) {
    const options = cellOptions(flags);
    const { session, text } = sessionAndText(positionals, "code");
    const target = await kernel.resolve(session);
    const result = await target.fire(await codeFrom(text), options);
    printJson(result);
    return exitStatusOf(result);
  },
};

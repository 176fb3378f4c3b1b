/**
 * `k peek`: show the live terminal in the person's own terminal, read-only; the same as
 * `k attach --read-only`.
 * @module
 */

import { UsageError } from "../../mod.ts";
import type { Verb } from "./verb.ts";

/** `k peek [session]` */
export const peek: Verb = {
  name: "peek",
  usage: "k peek [session]",
  summary: "watch the live terminal; typing is ignored",
  details: [
    "Same as k attach --read-only: your terminal shows the session's own screen, nothing",
    "you type reaches it, and the agent's pane keeps its size. C-b d leaves. Needs a terminal.",
  ],
  examples: ["k peek work"],
  flags: [],
  args: "flags",
  json: "never",
  async run({ kernel, verb, positionals }) {
    if (positionals.length > 1) throw new UsageError(`usage: ${verb.usage}`);
    const target = await kernel.resolve(positionals[0]);
    return await target.attach({ readOnly: true });
  },
};

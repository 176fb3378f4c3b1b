/**
 * `k kill`: end a session's watcher, its tmux session (and any `peek`/`attach` views of it) and
 * its state.
 * @module
 */

import { UsageError } from "../../mod.ts";
import { EXIT_OK, printText } from "./output.ts";
import type { Verb } from "./verb.ts";

/** `k kill <session>` */
export const kill: Verb = {
  name: "kill",
  usage: "k kill <session>",
  summary: "end the session, its watcher, views and state",
  examples: ["k kill work"],
  flags: [],
  args: "flags",
  json: "never",
  async run({ kernel, positionals }) {
    if (positionals.length !== 1) throw new UsageError("k kill <session>");
    const target = kernel.session(positionals[0] as string);
    await target.kill();
    printText(`OK ${target.name} (killed)`);
    return EXIT_OK;
  },
};

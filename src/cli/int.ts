/**
 * `k int`: Ctrl-C; ends the active cell as `interrupted` and releases its lock (also after a
 * timeout or a dead watcher).
 * @module
 */

import { UsageError } from "../../mod.ts";
import { EXIT_OK, printText } from "./output.ts";
import type { Verb } from "./verb.ts";

/** `k int [session]` */
export const int: Verb = {
  name: "int",
  usage: "k int [session]",
  summary: "Ctrl-C; end the active cell, free the session",
  examples: ["k int work"],
  flags: [],
  args: "flags",
  json: "never",
  async run({ kernel, positionals }) {
    if (positionals.length > 1) throw new UsageError("k int [session]");
    const target = await kernel.resolve(positionals[0]);
    const result = await target.interrupt();
    printText(
      result
        ? `OK ${target.name} (interrupted cell ${result.cell_id})`
        : `OK ${target.name} (no active cell; sent C-c)`,
    );
    return EXIT_OK;
  },
};

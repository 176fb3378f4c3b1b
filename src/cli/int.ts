/**
 * `k int`: Ctrl-C; ends the active cell as `interrupted` and releases its lock (also after a
 * timeout or a dead watcher); then signals what still holds the terminal, and says what it ended.
 * @module
 */

import { UsageError } from "../../mod.ts";
import { EXIT_FAILURE, EXIT_OK, printError, printJson, printText } from "./output.ts";
import type { Verb } from "./verb.ts";

/** `k int [-j] [session]` */
export const int: Verb = {
  name: "int",
  usage: "k int [-j] [session]",
  summary: "Ctrl-C; end the active cell, free the session",
  details: [
    "-j: the JSON result (cell: the interrupted one; ended: what signals ended; holder: what",
    "still holds the terminal after SIGKILL; prompt_back), with the same exit status.",
  ],
  examples: ["k int work", "k int -j work"],
  flags: [{ name: "json", short: "j", type: "boolean", description: "print the JSON result" }],
  args: "flags",
  json: "flag",
  async run({ kernel, flags, positionals }) {
    if (positionals.length > 1) throw new UsageError("k int [-j] [session]");
    const target = await kernel.resolve(positionals[0]);
    const result = await target.interrupt();
    const { cell, ended, holder, reinstalled, prompt_back } = result;
    if (flags.has("json")) {
      printJson(result);
      return !holder && prompt_back !== false ? EXIT_OK : EXIT_FAILURE;
    }
    const did = [cell ? `interrupted cell ${cell.cell_id}` : "no active cell; sent C-c"];
    for (const e of ended) did.push(`${e.command} ended by ${e.signal}`);
    if (reinstalled) did.push("shell integration reinstalled");
    printText(`OK ${target.name} (${did.join("; ")})`);
    if (!holder && prompt_back !== false) return EXIT_OK;
    if (!holder) {
      printError(
        `the program in session '${target.name}' is not back at its prompt (no end marker since): k screen ${target.name} to see what holds it, k send ${target.name} to type into it, or k kill ${target.name}`,
        false,
      );
      return EXIT_FAILURE;
    }
    printError(
      `${holder.command} (pid ${holder.pid}) still holds the terminal of session '${target.name}' after SIGKILL (an uninterruptible wait?); k screen ${target.name} to see it, or k kill ${target.name}`,
      false,
    );
    return EXIT_FAILURE;
  },
};

/**
 * `k status`: one session's record (the one `k ls -j` gives), as JSON or one `key: value` per
 * line, ending with `next:`, the next useful command for its state.
 * @module
 */

import { UsageError } from "../../mod.ts";
import { EXIT_OK, printJson, printText } from "./output.ts";
import type { Verb } from "./verb.ts";

/** `k status [-j] [session]` */
export const status: Verb = {
  name: "status",
  usage: "k status [-j] [session]",
  summary: "one session's state and the next useful command",
  examples: ["k status work", "k status -j work"],
  flags: [{ name: "json", short: "j", type: "boolean", description: "the record as JSON" }],
  args: "flags",
  json: "flag",
  async run({ kernel, flags, positionals }) {
    if (positionals.length > 1) throw new UsageError("k status [-j] [session]");
    const record = await (await kernel.resolve(positionals[0])).status();
    if (flags.has("json")) printJson(record);
    else {
      for (const [key, value] of Object.entries(record)) printText(`${key}: ${textOf(value)}`);
    }
    return EXIT_OK;
  },
};

/** A record's value as one line of text: `less (pid 123)` for the foreground program. */
function textOf(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (Array.isArray(value)) return value.join(" → "); // the program stack: python → pdb
  if (typeof value === "object" && "command" in value && "pid" in value) {
    return `${value.command} (pid ${value.pid})`;
  }
  return String(value);
}

/**
 * `k screen`: the session's terminal as a person sees it now — its visible rows as text; `-j`
 * adds the cursor, the alternate screen and the foreground program. No lock, nothing typed.
 * @module
 */

import { UsageError } from "../../mod.ts";
import { EXIT_OK, printJson, printText } from "./output.ts";
import type { Verb } from "./verb.ts";

/** `k screen [-j] [session]` */
export const screen: Verb = {
  name: "screen",
  usage: "k screen [-j] [session]",
  summary: "what the terminal shows now (-j: cursor, foreground)",
  details: [
    "What a person would see: trailing blanks trimmed, empty rows at the bottom dropped, long",
    "runs of blanks and very long rows shortened with a count. Takes no lock, types nothing:",
    "works on any live session, busy or not (a pager, an editor, a prompt waiting for input).",
  ],
  examples: ["k screen work", "k screen -j work"],
  flags: [{
    name: "json",
    short: "j",
    type: "boolean",
    description: "rows, cursor, alternate screen and foreground program as JSON",
  }],
  args: "flags",
  json: "flag",
  async run({ kernel, flags, positionals }) {
    if (positionals.length > 1) throw new UsageError("k screen [-j] [session]");
    const screen = await (await kernel.resolve(positionals[0])).screen();
    if (flags.has("json")) printJson(screen);
    else if (screen.rows.length > 0) printText(screen.rows.join("\n"));
    return EXIT_OK;
  },
};

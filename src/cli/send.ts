/**
 * `k send`: type into the program the active cell runs (a `read -p`, a `[y/N]`, `input()`), or
 * send it tmux keys, without a new cell and without touching the lock.
 * @module
 */

import { UsageError } from "../../mod.ts";
import { sessionAndText } from "./args.ts";
import { EXIT_OK, printJson, printText } from "./output.ts";
import type { Verb } from "./verb.ts";

/** `k send [-j] [--no-enter] [--keys K…] [session] <text>` */
export const send: Verb = {
  name: "send",
  usage: "k send [-j] [--no-enter] [--keys K…] [session] <text>",
  summary: "type into the program the active cell runs",
  details: [
    "Types text + Enter (--no-enter: no Enter) without a new cell, for a read -p, a [y/N],",
    "input(). --keys sends tmux key names instead of text (C-d, Escape, Up; several with commas).",
    "-j: the JSON result (cell_id: the active cell, or null; foreground: what held the terminal).",
    "Flags go before the text: after the session and the text's first word, every word is text.",
  ],
  examples: ["k send work y", "k send --no-enter work y", "k send work --keys C-d"],
  flags: [
    { name: "json", short: "j", type: "boolean", description: "print the JSON result" },
    { name: "no-enter", type: "boolean", description: "type the text without an Enter" },
    { name: "keys", type: "string", description: "tmux key names, several with commas" },
  ],
  args: "code",
  json: "flag",
  async run({ kernel, flags, positionals }) {
    const keys = flags.string("keys")?.split(/[\s,]+/).filter((k) => k !== "");
    let session: string | undefined;
    let text = "";
    if (keys) {
      if (positionals.length > 1) throw new UsageError("k send [session] --keys K…");
      session = positionals[0];
    } else ({ session, text } = sessionAndText(positionals, "text"));
    const target = await kernel.resolve(session);
    const sent = await target.send(text, { enter: !flags.has("no-enter"), keys });
    if (flags.has("json")) {
      printJson(sent);
      return EXIT_OK;
    }
    const to = sent.cell_id !== null
      ? `cell ${sent.cell_id}`
      : `${sent.foreground?.command ?? "the program"} (no active cell)`;
    printText(`OK ${target.name} (sent to ${to})`);
    return EXIT_OK;
  },
};

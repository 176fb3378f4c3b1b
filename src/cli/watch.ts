/**
 * `k watch`: a live, human view of a session. Finished lines of the pane's output are shown as a
 * person would read them, with the session's events inline, until the session ends or Ctrl-C.
 * The following is the library's (`Session.follow`); this file only words and paints it.
 * @module
 */

import { type KttyEvent, type StalledEvent, UsageError } from "../../mod.ts";
import { closedInWords, sentInWords, startedInWords } from "./history.ts";
import { EXIT_OK, printText } from "./output.ts";
import type { Verb } from "./verb.ts";

const DIM = "\x1b[2m";
const BOLD = "\x1b[1m";
const RESET = "\x1b[0m";

/** An event as one line for a person. */
function describeEvent(event: KttyEvent | StalledEvent): string {
  switch (event.status) {
    case "fired":
      return `▶ cell ${event.cell_id}`;
    case "done":
      return `✔ cell ${event.cell_id} done (exit ${
        event.exit_code ?? "?"
      }, ${event.duration_ms} ms)`;
    case "timeout":
      return `⏱ cell ${event.cell_id} timed out (it goes on)`;
    case "interrupted":
      return `✖ cell ${event.cell_id} interrupted`;
    case "error":
      return `✖ ${event.cell_id ? `cell ${event.cell_id}: ` : ""}${event.message}`;
    case "notify":
      return `✉ ${event.from}: ${event.message}`;
    case "started":
      return `● session started: ${startedInWords(event)}`;
    case "send":
      return `⌨ typed ${sentInWords(event)}`;
    case "closed":
      return `■ session closed ${closedInWords(event)}`;
    case "stalled":
      return `… cell ${event.cell_id} quiet for ${event.idle_s} s`;
  }
}

/** `k watch [session]` */
export const watch: Verb = {
  name: "watch",
  usage: "k watch [session]",
  summary: "follow output and events as clean text",
  examples: ["k watch work"],
  flags: [],
  args: "flags",
  json: "never",
  async run({ kernel, positionals }) {
    if (positionals.length > 1) throw new UsageError("k watch [session]");
    const session = await kernel.resolve(positionals[0]);
    const { command } = await session.info();
    const color = Deno.stdout.isTerminal();
    const paint = (style: string, text: string) => color ? `${style}${text}${RESET}` : text;
    printText(paint(DIM, `— watching ${session.name} (${command}); Ctrl-C to stop —`));
    for await (const item of session.follow()) {
      printText(item.kind === "line" ? item.line : paint(BOLD, describeEvent(item.event)));
    }
    return EXIT_OK;
  },
};

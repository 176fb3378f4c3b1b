/**
 * `k history`: the last N events of a session's log, each cell with its first code line; as
 * text, or one JSON object per line.
 * @module
 */

import {
  type ClosedBody,
  type HistoryEntry,
  type SendBody,
  type StartedBody,
  UsageError,
} from "../../mod.ts";
import { EXIT_OK, printJson, printText } from "./output.ts";
import type { Verb } from "./verb.ts";

/** How many events `k history` shows without `-n`. */
const DEFAULT_COUNT = 20;

/** A `started` event's body in words: `bash (integration) by alice, pid 123, continued`. */
export function startedInWords(event: StartedBody): string {
  const how =
    `${event.command} [${event.program}, ${event.mode}] by ${event.user}, pid ${event.pid}`;
  return event.continued ? `${how}, continuing the log` : how;
}

/** What a `send` event says of what was typed: the preview, or why there is none. */
export function sentInWords(event: SendBody): string {
  if (event.preview === null) return "(hidden: the terminal did not echo)";
  return event.keys ? `keys ${event.preview}` : JSON.stringify(event.preview);
}

/** Why a session closed, and its program's exit status when known: `(program exited, exit status
 * 3)`. */
export function closedInWords(event: ClosedBody): string {
  const status = typeof event.exit_status === "number" ? `, exit status ${event.exit_status}` : "";
  return `(${event.reason}${status})`;
}

/** One event as a line of text: seq, time, status, cell, what it says, and its code. */
function historyLine({ event, code }: HistoryEntry): string {
  const cell = "cell_id" in event && event.cell_id ? ` ${event.cell_id}` : "";
  const extra = event.status === "done"
    ? ` exit=${event.exit_code ?? "-"} ${event.duration_ms}ms`
    : event.status === "notify"
    ? ` ${event.from}: ${event.message}`
    : event.status === "error"
    ? ` ${event.message}`
    : event.status === "closed"
    ? ` ${closedInWords(event)}`
    : event.status === "started"
    ? ` ${startedInWords(event)}`
    : event.status === "send"
    ? ` ${sentInWords(event)}`
    : "";
  return `${event.seq} ${event.ts} ${event.status}${cell}${extra}${code ? `  $ ${code}` : ""}`;
}

/** `k history [-n N] [-j] [session]` */
export const history: Verb = {
  name: "history",
  usage: "k history [-n N] [-j] [session]",
  summary: "the last N (20) events, with their cells' code",
  examples: ["k history -n 5 work"],
  flags: [
    { name: "json", short: "j", type: "boolean", description: "one JSON object per event" },
    { name: "count", short: "n", type: "integer", description: "how many events (20)" },
  ],
  args: "flags",
  json: "flag",
  async run({ kernel, flags, positionals }) {
    const n = flags.integer("count") ?? DEFAULT_COUNT;
    if (positionals.length > 1) throw new UsageError("k history [-n N] [session]");
    const entries = await (await kernel.resolve(positionals[0])).history(n);
    if (flags.has("json")) {
      for (const entry of entries) {
        printJson(entry.code === undefined ? entry.event : { ...entry.event, code: entry.code });
      }
      return EXIT_OK;
    }
    for (const entry of entries) printText(historyLine(entry));
    return EXIT_OK;
  },
};

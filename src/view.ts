/**
 * `k watch`: a live, human view of a session. Finished lines of the pane's output are shown as a
 * person would read them, with the session's events inline, until the session ends or Ctrl-C.
 * @module
 */

import { FileFollower } from "./follow.ts";
import type { Session } from "./kernel.ts";
import { fileSize, sessionPaths } from "./state.ts";
import { TerminalText } from "./text.ts";
import { decodeEvent, type KttyEvent } from "./types.ts";
import { readMeta } from "./meta.ts";
import { isAlive } from "./proc.ts";

const DIM = "\x1b[2m";
const BOLD = "\x1b[1m";
const RESET = "\x1b[0m";
const POLL_MS = 200;

function describeEvent(event: KttyEvent): string {
  switch (event.status) {
    case "fired":
      return `▶ cell ${event.cell_id}`;
    case "done":
      return `✔ cell ${event.cell_id} done (exit ${
        event.exit_code ?? "?"
      }, ${event.duration_ms} ms)`;
    case "timeout":
      return `⏱ cell ${event.cell_id} timed out`;
    case "interrupted":
      return `✖ cell ${event.cell_id} interrupted`;
    case "error":
      return `✖ ${event.cell_id ? `cell ${event.cell_id}: ` : ""}${event.message}`;
    case "notify":
      return `✉ ${event.from}: ${event.message}`;
    case "closed":
      return `■ session closed (${event.reason})`;
  }
}

/**
 * Follows the session's output and events from now on, handing each display line to `print`.
 * Returns when the session is closed or `signal` aborts.
 */
export async function watchSession(
  session: Session,
  print: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const paths = sessionPaths(session.config, session.name);
  const meta = await readMeta(paths, session.name);
  const color = Deno.stdout.isTerminal();
  const paint = (style: string, text: string) => color ? `${style}${text}${RESET}` : text;
  const term = new TerminalText((line) => print(line));
  const log = await FileFollower.open(paths.log, await fileSize(paths.log));
  await Deno.writeFile(paths.events, new Uint8Array(), { append: true, mode: 0o600 });
  const events = await FileFollower.open(paths.events, await fileSize(paths.events));
  let pending = "";
  const decoder = new TextDecoder();
  print(paint(DIM, `— watching ${session.name} (${meta.command}); Ctrl-C to stop —`));
  try {
    while (!signal?.aborted) {
      await log.readAvailable((bytes) => term.push(bytes));
      let closed = false;
      await events.readAvailable((bytes) => {
        pending += decoder.decode(bytes, { stream: true });
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          try {
            const event = decodeEvent(line);
            print(paint(BOLD, describeEvent(event)));
            if (event.status === "closed") closed = true;
          } catch {
            // not an event
          }
        }
      });
      if (closed || !(await isAlive(meta.pane))) return;
      await Promise.race([log.wait(POLL_MS), events.wait(POLL_MS)]);
    }
  } finally {
    log.close();
    events.close();
  }
}

/**
 * `k watch`: a live, human view of a session. Finished lines of the pane's output are shown as a
 * person would read them, with the session's events inline, until the session ends or Ctrl-C.
 * @module
 */

import { FileFollower } from "./follow.ts";
import type { Session } from "./kernel.ts";
import { readMeta } from "./meta.ts";
import { fileSize, sessionPaths } from "./state.ts";
import { TerminalText } from "./text.ts";
import type { KttyEvent, StalledEvent } from "./types.ts";

const DIM = "\x1b[2m";
const BOLD = "\x1b[1m";
const RESET = "\x1b[0m";
const POLL_MS = 200;

function describeEvent(event: KttyEvent | StalledEvent): string {
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
    case "stalled":
      return `… cell ${event.cell_id} quiet for ${event.idle_s} s`;
  }
}

/**
 * Follows the session's output and events from now on, handing each display line to `print`.
 * Events come from the session's event stream (`Session.events`), which also notices a session
 * that died unnoticed. Returns when the session is closed or `signal` aborts.
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
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) stop.abort();

  // Events arrive on their own task; the loop below prints them between chunks of output.
  const queue: (KttyEvent | StalledEvent)[] = [];
  let wake: (() => void) | undefined;
  let streamEnded = false;
  let streamError: unknown;
  const stream = (async () => {
    try {
      for await (const event of session.events({ signal: stop.signal })) {
        queue.push(event);
        wake?.();
      }
    } catch (e) {
      streamError = e;
    } finally {
      streamEnded = true;
      wake?.();
    }
  })();

  print(paint(DIM, `— watching ${session.name} (${meta.command}); Ctrl-C to stop —`));
  try {
    while (true) {
      await log.readAvailable((bytes) => term.push(bytes));
      for (const event of queue.splice(0)) print(paint(BOLD, describeEvent(event)));
      if (streamEnded) break;
      const arrived = new Promise<void>((resolve) => {
        if (queue.length > 0 || streamEnded) resolve();
        else wake = resolve;
      });
      await log.wait(POLL_MS, arrived);
      wake = undefined;
    }
    if (streamError !== undefined) throw streamError;
  } finally {
    stop.abort();
    signal?.removeEventListener("abort", onAbort);
    await stream;
    await log.close();
  }
}

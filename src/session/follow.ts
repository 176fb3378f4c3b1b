/**
 * Following a session as a person would read it: the finished lines of its pane's output, as
 * clean text, interleaved with its events, from now on until the session closes. The library
 * side of `k watch`; `Session.follow` is its front door.
 * @module
 */

import { sessionEvents } from "../events/stream.ts";
import { FileFollower } from "../follow.ts";
import { watchDir } from "../events/hub.ts";
import { readMeta } from "./meta.ts";
import { fileSize, type KernelConfig, sessionPaths } from "../state.ts";
import { TerminalText } from "../text.ts";
import type { KttyEvent, StalledEvent } from "../types.ts";

/**
 * How long to sleep at most with nothing changed (the process's file watch wakes the loop when
 * the pane log grows or an event comes): a safety net, not a poll.
 */
const SAFETY_MS = 30_000;

/** One item of {@link followSession}, tagged by `kind`. */
export type FollowItem =
  | {
    /** A finished line of the pane's output. */
    kind: "line";
    /** The line as a person reads it: escapes removed, `\r` and backspaces applied. */
    line: string;
  }
  | {
    /** An event appended to the session's log. */
    kind: "event";
    /** The event (or a stall notice). */
    event: KttyEvent | StalledEvent;
  };

/** How {@link followSession} follows. */
export interface FollowOptions {
  /** Ends the stream (without an error) when aborted. */
  signal?: AbortSignal;
}

/**
 * The session's output lines and its events from now on, oldest first: each time, the output
 * that is there is read first, then the events that arrived. Ends after the `closed` event
 * (appended by the event follower itself if the session died unnoticed), or when
 * `options.signal` aborts. Throws `NoSessionError` when the session has no state.
 *
 * @param config the kernel's configuration
 * @param name the session's name (validated)
 * @param options cancellation
 */
export async function* followSession(
  config: KernelConfig,
  name: string,
  options: FollowOptions = {},
): AsyncGenerator<FollowItem, void, undefined> {
  const paths = sessionPaths(config, name);
  await readMeta(paths, name); // no state: NoSessionError before anything is opened
  const lines: string[] = [];
  const term = new TerminalText((line) => lines.push(line));
  // Woken through the process's one file watch (the event stream shares it): no second one.
  const log = await FileFollower.open(paths.log, await fileSize(paths.log), false);
  const changes = watchDir(paths.dir);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();

  // Events arrive on their own task; the loop below yields them between chunks of output.
  const queue: (KttyEvent | StalledEvent)[] = [];
  let wake: (() => void) | undefined;
  let streamEnded = false;
  let streamError: unknown;
  const stream = (async () => {
    try {
      for await (const event of sessionEvents(config, name, { signal: stop.signal })) {
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

  try {
    while (true) {
      await log.readAvailable((bytes) => term.push(bytes));
      for (const line of lines.splice(0)) yield { kind: "line", line };
      for (const event of queue.splice(0)) yield { kind: "event", event };
      if (streamEnded) break;
      if (queue.length === 0 && !streamEnded) {
        const arrived = new AbortController();
        wake = () => arrived.abort();
        await changes.wait(SAFETY_MS, AbortSignal.any([arrived.signal, stop.signal]));
        wake = undefined;
      }
      changes.takeChanged();
    }
    if (streamError !== undefined) throw streamError;
  } finally {
    stop.abort();
    options.signal?.removeEventListener("abort", onAbort);
    await stream;
    await log.close();
    await changes.close();
  }
}

/**
 * Following an event log: replay from a point, then wake on appends (file watch, short poll
 * fallback), and notice when the session died so `closed` is written. The log is the only source
 * of events, never the program's output.
 * @module
 */

import { FileFollower } from "../follow.ts";
import { isAlive, type ProcessId } from "../proc.ts";
import { lockHeld } from "../lock.ts";
import type { KernelConfig, SessionPaths } from "../state.ts";
import { hasSession } from "../tmux.ts";
import { decodeEvent, type KttyEvent } from "../types.ts";
import { appendEvent } from "./log.ts";

/** Poll fallback of a follower: the file watch normally wakes it at once. */
const FOLLOW_POLL_MS = 50;
/** How often a follower looks at the log's identity and the session's program (a /proc read). */
const LIVENESS_CHECK_MS = 250;
/** How often a follower asks tmux whether the session still exists (spawns tmux). */
const TMUX_CHECK_MS = 1000;
/** How long a follower lets an active cell's watcher report a death itself (cell error first). */
const WATCHER_GRACE_MS = 2000;

/**
 * Says why a session ended, or undefined while it lives. Called about every
 * {@link LIVENESS_CHECK_MS} by {@link followEvents}.
 */
export type EndedProbe = () => Promise<string | undefined>;

/** Options of {@link followEvents}. */
export interface FollowEventsOptions {
  /**
   * Where to start: a `seq` (events with that seq and later) or a time (events stamped then or
   * later). Unset: only events appended from now on. A `closed` event is yielded wherever it is.
   */
  from?: number | Date;
  /** Ends the stream (without an error) when aborted. */
  signal?: AbortSignal;
  /**
   * Byte offset to start reading at (a line start at or before the first wanted event): spares
   * reading the whole log. Default 0.
   */
  offset?: number;
  /** False: yield what the log holds now and stop (a snapshot). Default true: keep following. */
  follow?: boolean;
  /**
   * Tells whether the session died. When it says so, `closed` is appended (unless someone did)
   * and yielded. Unset: only a `closed` in the log or the log's removal end the stream.
   */
  ended?: EndedProbe;
}

/**
 * Yields the events of the log at `path` from `options.from` on, then follows new appends (file
 * watch wake-up, {@link FOLLOW_POLL_MS} poll fallback). Torn and foreign lines are skipped; a
 * log that does not exist yet is waited for. Ends after yielding `closed`, when the log is
 * removed (after reading what it held), or when `options.signal` aborts.
 *
 * @param path the session's event log
 * @param session the session's name, for the `closed` event this follower may append
 * @param options where to start, cancellation, snapshot, death detection
 */
export async function* followEvents(
  path: string,
  session: string,
  options: FollowEventsOptions = {},
): AsyncGenerator<KttyEvent, void, undefined> {
  const { signal, ended } = options;
  const follow = options.follow ?? true;
  let nextCheck = Date.now() + LIVENESS_CHECK_MS;
  // Answers whether the stream is over before the log exists: the probe may create it.
  const checkBeforeLog = async (): Promise<"gone" | "wait"> => {
    if (!(await exists(dirOf(path)))) return "gone";
    if (ended && Date.now() >= nextCheck) {
      nextCheck = Date.now() + LIVENESS_CHECK_MS;
      const why = await ended();
      if (why) await appendEvent(path, session, { status: "closed", reason: why });
    }
    return "wait";
  };

  let follower: FileFollower | undefined;
  let identity: string | undefined;
  let creation: DirWatch | undefined; // wakes us when the log is created
  try {
    while (follower === undefined) {
      if (signal?.aborted) return;
      try {
        identity = fileIdentity(await Deno.stat(path));
        follower = await FileFollower.open(path, options.offset ?? 0, follow);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
        if (!follow || (await checkBeforeLog()) === "gone") return;
        creation ??= new DirWatch(dirOf(path));
        await creation.wait(FOLLOW_POLL_MS, signal);
      }
    }
  } finally {
    await creation?.close();
  }

  const decoder = new TextDecoder();
  let pending = "";
  let from = options.from;
  let first = true;
  let gone = false;
  const passes = (event: KttyEvent): boolean => {
    if (from === undefined) return true;
    if (typeof from === "number") return event.seq >= from;
    return Date.parse(event.ts) >= from.getTime();
  };
  try {
    while (true) {
      const batch: KttyEvent[] = [];
      await follower.readAvailable((bytes) => {
        pending += decoder.decode(bytes, { stream: true });
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          if (line === "") continue;
          try {
            batch.push(decodeEvent(line));
          } catch {
            // a torn or foreign line: never an event
          }
        }
      });
      if (first) {
        first = false;
        // "From now on": everything after what the log holds at the first read.
        if (from === undefined) from = (batch.at(-1)?.seq ?? 0) + 1;
      }
      for (const event of batch) {
        if (event.status === "closed") {
          yield event; // the stream always ends with `closed`, wherever it starts
          return;
        }
        if (passes(event)) yield event;
      }
      if (!follow || gone || signal?.aborted) return;
      const now = Date.now();
      if (now >= nextCheck) {
        nextCheck = now + LIVENESS_CHECK_MS;
        // Removed or replaced (a new session of the same name): read what is left, then stop.
        gone = identity !== await statIdentity(path);
        if (!gone && ended) {
          const why = await ended();
          if (why) await appendEvent(path, session, { status: "closed", reason: why });
        }
        if (gone) continue;
      }
      const abort = abortPromise(signal);
      try {
        await follower.wait(Math.min(FOLLOW_POLL_MS, nextCheck - Date.now()), abort.promise);
      } finally {
        abort.dispose();
      }
    }
  } finally {
    await follower.close();
  }
}

/**
 * The probe {@link followEvents} uses for a session: its program's process (a /proc read each
 * call) and, about once a second, its tmux session. While a cell is active its watcher gets a
 * moment to report the death itself, so the cell's `error` lands before `closed`.
 *
 * @param config the kernel's socket
 * @param paths the session's paths
 * @param name the session's name
 * @param pane the session's program, from its metadata
 */
export function sessionEndedProbe(
  config: KernelConfig,
  paths: SessionPaths,
  name: string,
  pane: ProcessId,
): EndedProbe {
  let lastTmuxCheck = 0;
  let deadSince: number | undefined;
  return async () => {
    const now = Date.now();
    let why: string | undefined;
    if (!(await isAlive(pane))) why = "program exited";
    else if (now - lastTmuxCheck >= TMUX_CHECK_MS) {
      lastTmuxCheck = now;
      if (!(await hasSession(config, name))) why = "tmux session gone";
    }
    if (why === undefined) {
      deadSince = undefined;
      return undefined;
    }
    deadSince ??= now;
    if (now - deadSince < WATCHER_GRACE_MS && lockHeld(paths)) return undefined;
    return why;
  };
}

/** A promise that settles when `signal` aborts, and a way to drop the listener afterwards. */
function abortPromise(signal?: AbortSignal): { promise: Promise<void>; dispose: () => void } {
  if (!signal) return { promise: new Promise(() => {}), dispose: () => {} };
  let onAbort = () => {};
  const promise = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener("abort", onAbort) };
}

/** A watch on a directory: a wake-up when something in it changes, with a timeout fallback. */
class DirWatch {
  #watcher: Deno.FsWatcher | undefined;
  #pumping: Promise<void> = Promise.resolve();
  #changed = false;
  #wake: (() => void) | undefined;

  constructor(dir: string) {
    try {
      this.#watcher = Deno.watchFs(dir, { recursive: false });
    } catch {
      return; // no watch: the timeout does the work
    }
    this.#pumping = (async () => {
      try {
        for await (const _ of this.#watcher!) {
          this.#changed = true;
          this.#wake?.();
        }
      } catch {
        // closed
      }
    })();
  }

  /** Waits until the directory changes, `ms` pass, or `signal` aborts. */
  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const abort = abortPromise(signal);
    try {
      if (this.#changed) return;
      await Promise.race([
        new Promise<void>((resolve) => {
          this.#wake = resolve;
          timer = setTimeout(resolve, ms);
        }),
        abort.promise,
      ]);
    } finally {
      this.#changed = false;
      this.#wake = undefined;
      clearTimeout(timer);
      abort.dispose();
    }
  }

  /** Stops watching; awaits the watch's pending read so the process can exit at once. */
  async close(): Promise<void> {
    try {
      this.#watcher?.close();
    } catch {
      // already closed
    }
    await this.#pumping;
  }
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i > 0 ? path.slice(0, i) : "/";
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

function fileIdentity(info: Deno.FileInfo): string {
  return `${info.dev}:${info.ino}`;
}

async function statIdentity(path: string): Promise<string | undefined> {
  try {
    return fileIdentity(await Deno.stat(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

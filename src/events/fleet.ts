/**
 * The events of many sessions as one stream (`km --all`, `km -s a -s b`, `Kernel.events`): one
 * follower per session in one process, all sleeping on the process's one file watch. With every
 * session, the socket's directory is watched too, so sessions made later join the stream from
 * their first event. Every event names its session.
 * @module
 */

import { NoSessionError } from "../errors.ts";
import { readMetaIfAny, type SessionMeta } from "../session/meta.ts";
import { type KernelConfig, sessionPaths, socketDir } from "../state.ts";
import type { KttyEvent, StalledEvent } from "../types.ts";
import { type DirSubscription, watchDir } from "./hub.ts";
import { lastEvent } from "./log.ts";
import { isCompletion, sessionEvents } from "./stream.ts";

/** Options of {@link fleetEvents} (and `Kernel.events`). */
export interface FleetEventsOptions {
  /**
   * The sessions to follow, by name. Unset: every session on the socket, including those made
   * after the stream started (from their first event).
   */
  sessions?: string[];
  /** Replay from this time on (events stamped then or later), then follow. Unset: from now on. */
  since?: Date;
  /**
   * Yield the first completion (done, interrupted, or a cell's error) in any of the sessions and
   * stop: of a cell running when the stream started, or of any cell from `since` (else from now)
   * on. A `timeout` on the way is yielded too, and the wait goes on.
   */
  once?: boolean;
  /** False: yield what the logs hold now, oldest first, and stop. Default true. */
  follow?: boolean;
  /** Per session: a `stalled` event when a running cell's pane has been quiet this long. */
  stallAfterMs?: number;
  /** Ends the stream (without an error) when aborted. */
  signal?: AbortSignal;
}

/** One thing a session's follower hands the merged stream. */
type Item =
  | { kind: "event"; event: KttyEvent | StalledEvent }
  | { kind: "end"; name: string }
  | { kind: "error"; error: unknown };

/**
 * The events of several sessions (or all of them, new ones included), merged as they come.
 * Ends when every named session's stream ended (`closed`), at the first completion with `once`,
 * at the end of a snapshot, or when the signal aborts; following every session, only the
 * signal (or `once`) ends it. A named session without state throws `NoSessionError` at once.
 *
 * @param config the kernel's configuration
 * @param options which sessions, from when, once, snapshot, stall notices, cancellation
 */
export async function* fleetEvents(
  config: KernelConfig,
  options: FleetEventsOptions = {},
): AsyncGenerator<KttyEvent | StalledEvent, void, undefined> {
  const all = options.sessions === undefined;
  const follow = options.follow ?? true;
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const queue: Item[] = [];
  let wake: (() => void) | undefined;
  const push = (item: Item) => {
    queue.push(item);
    wake?.();
  };
  const pumps: Promise<void>[] = [];
  /** The session each follower follows, by the identity of its start (a new one restarts). */
  const followed = new Map<string, string>();
  let running = 0;

  const start = (name: string, meta: SessionMeta, fromStart: boolean) => {
    followed.set(name, identityOf(meta));
    running++;
    const stream = sessionEvents(config, name, {
      from: fromStart ? 1 : options.since,
      once: options.once,
      follow,
      stallAfterMs: options.stallAfterMs,
      signal,
    }, { onceActiveOnly: true });
    pumps.push((async () => {
      try {
        for await (const event of stream) push({ kind: "event", event });
      } catch (e) {
        if (!all && !(e instanceof NoSessionError)) push({ kind: "error", error: e });
      } finally {
        running--;
        push({ kind: "end", name });
      }
    })());
  };

  // Which sessions exist now: their metadata, so a named one missing fails before anything runs.
  const names = options.sessions ?? await sessionDirs(config);
  const metas: [string, SessionMeta][] = [];
  for (const name of names) {
    const paths = sessionPaths(config, name);
    const meta = await readMetaIfAny(paths).catch(() => undefined);
    if (!meta) {
      if (!all) throw new NoSessionError(name);
      continue;
    }
    if (all && await closedBefore(paths.events, options.since)) {
      followed.set(name, identityOf(meta)); // old news; a new session of the name joins
      continue;
    }
    metas.push([name, meta]);
  }
  let socketWatch: DirSubscription | undefined;
  try {
    if (all && follow) socketWatch = watchDir(socketDir(config), () => wake?.());
    for (const [name, meta] of metas) start(name, meta, false);
    if (!follow) {
      yield* snapshot(queue, pumps);
      return;
    }
    while (!signal.aborted) {
      const item = queue.shift();
      if (item === undefined) {
        if (!all && running === 0) return;
        for (let changed = socketWatch?.takeChanged(); changed?.size;) {
          for (const name of changed) await join(name);
          changed = socketWatch?.takeChanged();
        }
        if (queue.length > 0) continue;
        await sleep(signal, (resolve) => wake = resolve);
        wake = undefined;
        continue;
      }
      if (item.kind === "error") throw item.error;
      if (item.kind === "end") continue;
      yield item.event;
      if (options.once && item.event.status !== "stalled" && isCompletion(item.event)) return;
    }
  } finally {
    stop.abort();
    await Promise.all(pumps);
    await socketWatch?.close();
  }

  /** A directory appeared or changed in the socket's: follow the session it holds, if new. */
  async function join(name: string): Promise<void> {
    let paths;
    try {
      paths = sessionPaths(config, name);
    } catch {
      return; // not a session's directory (a note, a prune in progress)
    }
    const meta = await readMetaIfAny(paths).catch(() => undefined);
    if (meta === undefined) {
      // `k new` is making it: its meta.json comes next; look again when its directory changes.
      if (await isDir(paths.dir)) pumps.push(waitForMeta(name, paths.dir));
      return;
    }
    if (followed.get(name) === identityOf(meta)) return;
    start(name, meta, true);
  }

  /** Waits (bounded) for a new session's metadata, then follows it. */
  async function waitForMeta(name: string, dir: string): Promise<void> {
    const sub = watchDir(dir);
    try {
      const deadline = Date.now() + NEW_SESSION_WAIT_MS;
      while (Date.now() < deadline && !signal.aborted) {
        const meta = await readMetaIfAny(sessionPaths(config, name)).catch(() => undefined);
        if (meta) {
          if (followed.get(name) !== identityOf(meta)) start(name, meta, true);
          return;
        }
        await sub.wait(deadline - Date.now(), signal);
        sub.takeChanged();
      }
    } finally {
      await sub.close();
    }
  }
}

/** The longest a merged stream sleeps before it looks again (it is woken when anything comes). */
const MERGE_SAFETY_MS = 60_000;

/** Sleeps until `arm`'s resolver is called, the signal aborts, or {@link MERGE_SAFETY_MS}. */
async function sleep(signal: AbortSignal, arm: (resolve: () => void) => void): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = { resolve: () => {} };
  const listener = () => onAbort.resolve();
  try {
    await new Promise<void>((resolve) => {
      onAbort.resolve = resolve;
      arm(resolve);
      signal.addEventListener("abort", listener, { once: true });
      timer = setTimeout(resolve, MERGE_SAFETY_MS);
    });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", listener);
  }
}

/** How long `--all` waits for a new session directory's metadata (`k new` writes it early). */
const NEW_SESSION_WAIT_MS = 10_000;

/** The events of a snapshot, oldest first across sessions. */
async function* snapshot(
  queue: Item[],
  pumps: Promise<void>[],
): AsyncGenerator<KttyEvent | StalledEvent, void, undefined> {
  await Promise.all(pumps);
  const events: (KttyEvent | StalledEvent)[] = [];
  for (const item of queue) {
    if (item.kind === "error") throw item.error;
    if (item.kind === "event") events.push(item.event);
  }
  events.sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
  yield* events;
}

/** Whether the log ends with `closed`, appended before `since` (or at all, without it). */
async function closedBefore(path: string, since: Date | undefined): Promise<boolean> {
  const last = await lastEvent(path).catch(() => undefined);
  if (last?.status !== "closed") return false;
  return since === undefined || Date.parse(last.ts) < since.getTime();
}

/** Tells one session apart from a later one of the same name. */
function identityOf(meta: SessionMeta): string {
  return `${meta.created_at} ${meta.pane.pid}`;
}

async function sessionDirs(config: KernelConfig): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(socketDir(config))) {
      if (!entry.isDirectory) continue;
      try {
        sessionPaths(config, entry.name);
        names.push(entry.name);
      } catch {
        // not a session's directory
      }
    }
  } catch {
    // no state yet: no sessions
  }
  return names.sort();
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

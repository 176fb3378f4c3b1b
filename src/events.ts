/**
 * The per-session event log: an append-only JSONL file. Appends hold an exclusive `flock` on the
 * file, read the last line for the previous `seq`, and write one line, so many `k` processes can
 * append at once and `seq` stays gap-free. The log is the only source of events: followers read
 * it (file watch as the wake-up, a short poll as the fallback), never the program's output.
 * @module
 */

import { KttyError } from "./errors.ts";
import { FileFollower } from "./follow.ts";
import { readLock } from "./lock.ts";
import { readMeta } from "./meta.ts";
import { isAlive, type ProcessId } from "./proc.ts";
import {
  assertCellId,
  ioError,
  type KernelConfig,
  readTailSync,
  type SessionPaths,
  sessionPaths,
  writeAllSync,
} from "./state.ts";
import { hasSession } from "./tmux.ts";
import {
  decodeEvent,
  encodeEvent,
  EVENT_SCHEMA_VERSION,
  type EventBody,
  type KttyEvent,
  type StalledEvent,
} from "./types.ts";

/** Poll fallback of a follower: the file watch normally wakes it at once. */
const FOLLOW_POLL_MS = 50;
/** How often a follower looks at the log's identity and the session's program (a /proc read). */
const LIVENESS_CHECK_MS = 250;
/** How often a follower asks tmux whether the session still exists (spawns tmux). */
const TMUX_CHECK_MS = 1000;
/** How long a follower lets an active cell's watcher report a death itself (cell error first). */
const WATCHER_GRACE_MS = 2000;
/** Longest pause between two stall checks. */
const STALL_CHECK_MAX_MS = 250;

/**
 * Appends one event and returns it. Returns undefined, appending nothing, when the log already
 * ends with `closed` (a closed session takes no more events, so whoever notices a death first
 * writes `closed` and the rest are no-ops), or when the session's state is gone.
 */
export async function appendEvent(
  path: string,
  session: string,
  body: EventBody,
): Promise<KttyEvent | undefined> {
  // Synchronous file calls: an append is a few hundred bytes, paid by every cell (see state.ts).
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true, append: true, create: true, mode: 0o600 });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw ioError("write", path, e);
  }
  try {
    file.lockSync(true);
    const tail = quickTail(file) ?? await readTail(file, path);
    if (tail.last?.status === "closed") return undefined;
    const event = {
      schema_version: EVENT_SCHEMA_VERSION,
      seq: (tail.last?.seq ?? 0) + 1,
      ts: new Date().toISOString(),
      session,
      ...body,
    } as KttyEvent;
    // A torn last line (a writer killed mid-write) must not swallow this event: end it first.
    const line = (tail.endsMidLine ? "\n" : "") + encodeEvent(event) + "\n";
    writeAllSync(file, new TextEncoder().encode(line));
    return event;
  } catch (e) {
    throw ioError("write", path, e);
  } finally {
    file.close(); // closing releases the flock
  }
}

const QUICK_TAIL_BYTES = 4096;

/** The tail from the last 4 KiB, or undefined when no whole event lies there (a long line). */
function quickTail(file: Deno.FsFile): Tail | undefined {
  const { start, bytes } = readTailSync(file, QUICK_TAIL_BYTES);
  if (bytes.length === 0) return { last: undefined, endsMidLine: false };
  const endsMidLine = bytes[bytes.length - 1] !== 0x0a;
  const lines = new TextDecoder().decode(bytes).split("\n");
  // The first piece may be the end of a longer line: only whole lines count, unless at offset 0.
  const first = start === 0 ? 0 : 1;
  for (let i = lines.length - 1; i >= first; i--) {
    const line = lines[i];
    if (!line) continue;
    try {
      return { last: decodeEvent(line), endsMidLine };
    } catch {
      continue; // a torn or foreign line: keep looking backwards
    }
  }
  return start === 0 ? { last: undefined, endsMidLine } : undefined;
}

interface Tail {
  /** The last event in the log's tail, if any. */
  last: KttyEvent | undefined;
  /** True when the file's last byte is not a newline. */
  endsMidLine: boolean;
}

async function readTail(file: Deno.FsFile, path: string): Promise<Tail> {
  const size = (await file.stat()).size;
  if (size === 0) return { last: undefined, endsMidLine: false };
  const lastByte = new Uint8Array(1);
  await file.seek(size - 1, Deno.SeekMode.Start);
  const n = await file.read(lastByte);
  const endsMidLine = n === 1 && lastByte[0] !== 0x0a;
  // The last event, however long the lines before it (a huge notify message, a torn line).
  for await (const { event } of eventsBackwards(path)) return { last: event, endsMidLine };
  return { last: undefined, endsMidLine };
}

/** An event with the byte offset where its line starts. */
export interface PlacedEvent {
  /** The event. */
  event: KttyEvent;
  /** Byte offset of its line in the log. */
  offset: number;
}

/** The first backward read is small (most callers want the last event or few); later ones grow. */
const BACKWARD_FIRST_CHUNK_BYTES = 4 * 1024;
const BACKWARD_MAX_CHUNK_BYTES = 256 * 1024;

/**
 * The log's events newest first, read backwards in chunks: a caller that stops early (the last
 * `n`, the latest `fired`) costs the same however long the log has grown.
 */
export async function* eventsBackwards(
  path: string,
): AsyncGenerator<PlacedEvent, void, undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw ioError("read", path, e);
  }
  try {
    let end = (await file.stat()).size;
    let carry = new Uint8Array(0); // the start of a line whose beginning is in an earlier chunk
    const decoder = new TextDecoder();
    let chunkBytes = BACKWARD_FIRST_CHUNK_BYTES;
    while (end > 0 || carry.length > 0) {
      const start = Math.max(0, end - chunkBytes);
      chunkBytes = Math.min(chunkBytes * 4, BACKWARD_MAX_CHUNK_BYTES);
      const chunk = new Uint8Array(end - start + carry.length);
      await file.seek(start, Deno.SeekMode.Start);
      let got = 0;
      while (got < end - start) {
        const n = await file.read(chunk.subarray(got, end - start));
        if (n === null) break;
        got += n;
      }
      chunk.set(carry, end - start);
      // Lines whose start lies in this chunk; the part before the first newline belongs to the
      // line that starts in the previous chunk (unless this chunk starts the file).
      const cut = start === 0 ? 0 : chunk.indexOf(0x0a) + 1;
      if (start !== 0 && cut === 0) {
        carry = chunk; // one line longer than a chunk: keep reading backwards
        end = start;
        continue;
      }
      const lines: PlacedEvent[] = [];
      let pos = cut;
      while (pos < chunk.length) {
        let nl = chunk.indexOf(0x0a, pos);
        if (nl < 0) nl = chunk.length;
        const line = decoder.decode(chunk.subarray(pos, nl));
        if (line !== "") {
          try {
            lines.push({ event: decodeEvent(line), offset: start + pos });
          } catch {
            // a torn or foreign line: never an event
          }
        }
        pos = nl + 1;
      }
      for (let i = lines.length - 1; i >= 0; i--) yield lines[i] as PlacedEvent;
      carry = chunk.subarray(0, cut);
      if (start === 0) break;
      end = start;
    }
  } finally {
    file.close();
  }
}

/** The last `n` events of the log, oldest first, read from its end. */
export async function readLastEvents(path: string, n: number): Promise<KttyEvent[]> {
  const out: KttyEvent[] = [];
  if (n <= 0) return out;
  for await (const { event } of eventsBackwards(path)) {
    out.push(event);
    if (out.length >= n) break;
  }
  return out.reverse();
}

/** Reads every event in the log (skipping lines that are not events). */
export async function readEvents(path: string): Promise<KttyEvent[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const events: KttyEvent[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      events.push(decodeEvent(line));
    } catch {
      // not an event: skipped, never guessed at
    }
  }
  return events;
}

/** True for an event that ends a cell's wait: done, timeout, interrupted, or a cell's error. */
export function isCompletion(event: KttyEvent): boolean {
  switch (event.status) {
    case "done":
    case "timeout":
    case "interrupted":
      return true;
    case "error":
      return event.cell_id !== undefined;
    default:
      return false;
  }
}

/** True for an event after which a cell has nothing more to say (a timeout may still be ended). */
function isFinal(event: KttyEvent): boolean {
  return isCompletion(event) && event.status !== "timeout";
}

/** The cell an event is about, if any. */
function cellOf(event: KttyEvent): string | undefined {
  return "cell_id" in event ? event.cell_id : undefined;
}

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
    if (now - deadSince < WATCHER_GRACE_MS && await exists(paths.lock)) return undefined;
    return why;
  };
}

/** Options of {@link sessionEvents} (and `Session.events`). */
export interface EventStreamOptions {
  /**
   * Where to start: a `seq` or a time. Unset: from now on; but from the log's first event with
   * `cellId`, with `once` (which then looks for the latest cell's completion), and with
   * `follow: false`.
   */
  from?: number | Date;
  /** Only this cell's events (and `closed`). */
  cellId?: string;
  /**
   * Yield only the first completion (done, timeout, interrupted, or a cell's error) and stop:
   * of `cellId` if given; else, without `from`, of the session's latest cell (the active one,
   * else the last fired); else of any cell from `from` on. A completion already in the log is
   * yielded at once, so nothing is missed between `fire` and the wait.
   */
  once?: boolean;
  /** False: yield what the log holds now and stop (a snapshot). Default true. */
  follow?: boolean;
  /**
   * While a cell runs and its pane prints nothing for this long, yield a `stalled` event for it;
   * again after each further quiet period of the same length.
   */
  stallAfterMs?: number;
  /** Ends the stream (without an error) when aborted. */
  signal?: AbortSignal;
}

/**
 * A session's events as `km` shows them: replay from a point, then follow; optionally one cell,
 * one completion, a snapshot, stall notices. Ends after `closed` (appended by this follower if
 * the session died unnoticed), after a followed cell's final event, after the first completion
 * with `once`, at the end of the log without `follow`, or when the signal aborts.
 * Throws `NoSessionError` when the session has no state, `InvalidCellIdError` for a malformed cell
 * id, and `KttyError` with code `no_cell` when the session never had that cell.
 *
 * @param config the kernel's configuration
 * @param name the session's name
 * @param options what to yield and for how long
 */
export async function* sessionEvents(
  config: KernelConfig,
  name: string,
  options: EventStreamOptions = {},
): AsyncGenerator<KttyEvent | StalledEvent, void, undefined> {
  const paths = sessionPaths(config, name);
  if (options.cellId !== undefined) assertCellId(options.cellId);
  const stallAfterMs = options.stallAfterMs;
  if (stallAfterMs !== undefined && !(stallAfterMs > 0)) {
    throw new KttyError("invalid_argument", "the stall time must be positive");
  }
  const meta = await readMeta(paths, name);
  const follow = options.follow ?? true;
  const lock = await readLock(paths).catch(() => undefined);
  // The log is read from its end, only as far back as needed (the latest `fired`, the named
  // cell's `fired`, the `from` point), so starting costs the same however long the log is.
  const scan = await scanBack(paths.events, options.cellId, options.from);
  let cell = options.cellId;
  if (cell !== undefined && lock?.cell_id !== cell && scan.cellStart === undefined) {
    throw new KttyError("no_cell", `no cell '${cell}' in session '${name}'`);
  }
  // `once` alone waits on the latest cell (the `.then()` of the last fire), even if it is done;
  // with an explicit `from` it is the first completion of any cell from there.
  if (cell === undefined && options.once && options.from === undefined) {
    cell = lock?.cell_id ?? (scan.lastFired ? cellOf(scan.lastFired.event) : undefined);
  }
  // A cell's events start at its `fired`; a snapshot at the beginning; otherwise after what the
  // log holds now (as a seq, so nothing appended from here on can slip between reading and
  // following).
  let from = options.from;
  let offset = scan.fromOffset ?? 0;
  if (from === undefined) {
    if (cell !== undefined) {
      from = 1;
      offset = cell === options.cellId ? scan.cellStart ?? 0 : scan.lastFired?.offset ?? 0;
    } else if (!follow) {
      from = 1;
      offset = 0;
    } else {
      from = scan.lastSeq + 1;
      // A session that already closed: its `closed` is all there is to say.
      offset = scan.last?.event.status === "closed" ? scan.last.offset : scan.size;
    }
  }

  const running = new RunningCell(scan.sinceLastFired, stallAfterMs ?? 0);
  const inner = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, inner.signal]) : inner.signal;
  const stream = followEvents(paths.events, name, {
    from,
    offset,
    follow,
    signal,
    ended: follow ? sessionEndedProbe(config, paths, name, meta.pane) : undefined,
  });
  const checkMs = Math.min(STALL_CHECK_MAX_MS, Math.max(10, (stallAfterMs ?? 0) / 4));
  let next: Promise<IteratorResult<KttyEvent, void>> | undefined;
  try {
    while (true) {
      next ??= stream.next();
      const got = stallAfterMs === undefined || !follow
        ? await next
        : await raceTimeout(next, checkMs);
      if (got === undefined) {
        const stalled = await running.checkStall(paths.log, name);
        if (stalled && (cell === undefined || stalled.cell_id === cell)) yield stalled;
        continue;
      }
      next = undefined;
      if (got.done) return;
      const event = got.value;
      running.apply(event);
      if (event.status === "closed") {
        yield event;
        return;
      }
      if (cell !== undefined && cellOf(event) !== cell) continue;
      if (options.once) {
        if (!isCompletion(event)) continue;
        yield event;
        return;
      }
      yield event;
      if (cell !== undefined && isFinal(event)) return;
    }
  } finally {
    inner.abort();
    await stream.return();
  }
}

/** What reading the log backwards from its end found. */
interface Scan {
  /** The log's size when the scan began: "from now on" starts there. */
  size: number;
  /** The seq of the log's last event (0 when empty). */
  lastSeq: number;
  /** The log's last event, if any. */
  last: PlacedEvent | undefined;
  /** The latest `fired` event, if any. */
  lastFired: PlacedEvent | undefined;
  /** The events from the latest `fired` on, oldest first (what the stall check needs). */
  sinceLastFired: KttyEvent[];
  /** Where the named cell's `fired` event starts, if found. */
  cellStart: number | undefined;
  /** A line start at or before the first event at or after `from`, if `from` was given. */
  fromOffset: number | undefined;
}

/** Reads the log backwards until it knows what {@link sessionEvents} needs. */
async function scanBack(
  path: string,
  cellId: string | undefined,
  from: number | Date | undefined,
): Promise<Scan> {
  let size = 0;
  try {
    size = (await Deno.stat(path)).size;
  } catch {
    size = 0;
  }
  const scan: Scan = {
    size,
    lastSeq: 0,
    last: undefined,
    lastFired: undefined,
    sinceLastFired: [],
    cellStart: undefined,
    fromOffset: from === undefined ? undefined : 0,
  };
  let fromDone = from === undefined;
  for await (const placed of eventsBackwards(path)) {
    if (placed.offset >= size) continue; // appended after the scan began: the follower reads it
    const { event } = placed;
    if (scan.last === undefined) {
      scan.last = placed;
      scan.lastSeq = event.seq;
    }
    if (scan.lastFired === undefined) {
      scan.sinceLastFired.unshift(event);
      if (event.status === "fired") scan.lastFired = placed;
    }
    if (cellId !== undefined && event.status === "fired" && event.cell_id === cellId) {
      scan.cellStart = placed.offset;
    }
    if (!fromDone) {
      const before = typeof from === "number"
        ? event.seq < from
        : Date.parse(event.ts) < (from as Date).getTime() - FROM_SLACK_MS;
      if (before) {
        scan.fromOffset = placed.offset;
        fromDone = true;
      }
    }
    const cellDone = cellId === undefined || scan.cellStart !== undefined;
    if (scan.lastFired !== undefined && cellDone && fromDone) break;
  }
  return scan;
}

/** Timestamps come from several processes: look this much further back for a time `from`. */
const FROM_SLACK_MS = 1000;

/** Which cell runs, as the log tells it, and how long its pane has been quiet. */
class RunningCell {
  #cellId: string | undefined;
  #sinceMs = 0;
  #appliedSeq = 0;
  #stallMs: number;
  #quietSinceMs = 0;
  #stalls = 0;

  constructor(history: KttyEvent[], stallMs: number) {
    this.#stallMs = stallMs;
    for (const event of history) this.apply(event);
  }

  /** Updates the state with an event (events already seen are ignored). */
  apply(event: KttyEvent): void {
    if (event.seq <= this.#appliedSeq) return;
    this.#appliedSeq = event.seq;
    if (event.status === "fired") {
      this.#cellId = event.cell_id;
      this.#sinceMs = Date.parse(event.ts) || Date.now();
      this.#stalls = 0;
      this.#quietSinceMs = this.#sinceMs;
    } else if (
      event.status === "closed" || (isCompletion(event) && cellOf(event) === this.#cellId)
    ) {
      this.#cellId = undefined;
    }
  }

  /** A `stalled` event when the running cell's pane has been quiet past the next threshold. */
  async checkStall(logPath: string, session: string): Promise<StalledEvent | undefined> {
    if (this.#cellId === undefined || this.#stallMs <= 0) return undefined;
    let mtimeMs = 0;
    try {
      mtimeMs = (await Deno.stat(logPath)).mtime?.getTime() ?? 0;
    } catch {
      return undefined; // the session's state is gone: the follower ends the stream
    }
    const quietSince = Math.max(mtimeMs, this.#sinceMs);
    if (quietSince > this.#quietSinceMs) {
      this.#quietSinceMs = quietSince; // new output: a new quiet period
      this.#stalls = 0;
    }
    const idleMs = Date.now() - this.#quietSinceMs;
    if (idleMs < (this.#stalls + 1) * this.#stallMs) return undefined;
    this.#stalls++;
    return {
      schema_version: EVENT_SCHEMA_VERSION,
      ts: new Date().toISOString(),
      session,
      status: "stalled",
      cell_id: this.#cellId,
      idle_s: Math.round(idleMs / 100) / 10,
    };
  }
}

/** Resolves with `promise`'s value, or undefined after `ms`, whichever is first. */
async function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
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

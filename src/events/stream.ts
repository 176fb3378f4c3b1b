/**
 * A session's events as `km` shows them: where to start (read backwards from the log's end), which
 * cell, one completion or all, a snapshot or following, and `stalled` notices for a quiet cell.
 * @module
 */

import { KttyError } from "../errors.ts";
import { readLock } from "../lock.ts";
import { readMeta } from "../session/meta.ts";
import { assertCellId, type KernelConfig, sessionPaths } from "../state.ts";
import { EVENT_SCHEMA_VERSION, type KttyEvent, type StalledEvent } from "../types.ts";
import { followEvents, sessionEndedProbe } from "./follow.ts";
import { eventsBackwards, type PlacedEvent } from "./log.ts";

/** Longest pause between two stall checks. */
const STALL_CHECK_MAX_MS = 250;

/**
 * True for an event that ends a cell: done, interrupted, or a cell's error. A `timeout` is not
 * one: it ends the wait of the `run` or `fire` that set the limit, not the cell, which goes on
 * and ends with one of these.
 */
export function isCompletion(event: KttyEvent): boolean {
  switch (event.status) {
    case "done":
    case "interrupted":
      return true;
    case "error":
      return event.cell_id !== undefined;
    default:
      return false;
  }
}

/** The cell an event is about, if any. */
function cellOf(event: KttyEvent): string | undefined {
  return "cell_id" in event ? event.cell_id : undefined;
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
   * Yield only the first completion (done, interrupted, or a cell's error) and stop: of `cellId`
   * if given; else, without `from`, of the session's latest cell (the active one, else the last
   * fired); else of any cell from `from` on. A completion already in the log is yielded at once,
   * so nothing is missed between `fire` and the wait. A `timeout` on the way is yielded too, and
   * the wait goes on: the cell still runs (bound the wait with `signal`).
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
 * the session died unnoticed), after a followed cell's end (done, interrupted, error: not a
 * timeout), after the first completion with `once`, at the end of the log without `follow`, or
 * when the signal aborts.
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
  scope: StreamScope = {},
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
  const scan = {
    ...await scanBack(paths.events, options.cellId, options.from),
    activeOnly: scope.onceActiveOnly === true,
  };
  let cell = options.cellId;
  if (cell !== undefined && lock?.cell_id !== cell && scan.cellStart === undefined) {
    throw new KttyError("no_cell", `no cell '${cell}' in session '${name}'`);
  }
  // `once` alone waits on the latest cell (the `.then()` of the last fire), even if it is done;
  // with an explicit `from` it is the first completion of any cell from there.
  if (cell === undefined && options.once && options.from === undefined) {
    cell = lock?.cell_id ??
      (scan.lastFired && !scan.activeOnly ? cellOf(scan.lastFired.event) : undefined);
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
        // A timeout is told (the limit passed) but the wait goes on to the cell's real end.
        if (event.status === "timeout") yield event;
        if (!isCompletion(event)) continue;
        yield event;
        return;
      }
      yield event;
      if (cell !== undefined && isCompletion(event)) return;
    }
  } finally {
    inner.abort();
    await stream.return();
  }
}

/** How {@link sessionEvents} serves a stream of several sessions (src/events/fleet.ts). */
export interface StreamScope {
  /**
   * With `once` and no `from`: wait on the cell active at the start, else on the first completion
   * from now on — not on a cell that ended before (among many sessions, that would be stale news).
   */
  onceActiveOnly?: boolean;
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
  let earliest: number | undefined;
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
    earliest = placed.offset;
  }
  // Everything kept is at or after `from`: start at the first kept line (past a trimmed front).
  if (!fromDone && earliest !== undefined) scan.fromOffset = earliest;
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

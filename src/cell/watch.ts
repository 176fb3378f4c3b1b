/**
 * Watching one cell: reads the pane log from the cell's start and asks the frame detector when
 * the program is back at its prompt; notices a timeout, a dead session, or someone else ending
 * the cell. Used in-process by `run` (until the end or the timeout) and by the background watcher
 * (`fire`, a `run` handed over), which goes on watching a timed-out cell until it ends or
 * {@link watchEnd} passes. Also: one look at the log for a cell nobody watches any more.
 * @module
 */

import { appendEvent, cellAnnounced } from "../events/log.ts";
import { programExitedEvent } from "../events/follow.ts";
import { FileFollower } from "../follow.ts";
import {
  createDetector,
  type FrameConfig,
  type FrameDetector,
  HOOK_PARTIAL_QUIET_MS,
} from "../frame/mod.ts";
import {
  type CellLock,
  endCell,
  endClaimedCell,
  finishClaim,
  giveBack,
  readLock,
  watchEnd,
} from "../lock.ts";
import type { SessionMeta } from "../session/meta.ts";
import { isAlive } from "../proc.ts";
import type { KernelConfig, SessionPaths } from "../state.ts";
import { hasSession, rearmPipe, sendKeys, tmuxSessionInfo } from "../tmux.ts";
import type { BoundedOutput } from "./output.ts";
import { OutputSink } from "./output.ts";
import type { DoneResult, ErrorResult, FinalResult, TimeoutResult } from "../types.ts";
import { KttyError } from "../errors.ts";
import { heldBy } from "../session/foreground.ts";
import {
  pipeDiedMessage,
  type PipeEnd,
  readPipeEnd,
  signPipeClosed,
  takePipeEnd,
} from "../session/pipe.ts";
import { mark } from "../trace.ts";
import {
  codePreview,
  errorResult,
  outputFilePath,
  readCellRecord,
  timing,
  writeCellRecord,
} from "./record.ts";
import { replaced } from "./prompt.ts";
import { CellText, readCellOutput } from "./text.ts";

/** How often each check runs while the caller waits: before the time limit, and after it. */
interface Cadence {
  /** Longest sleep between two reads of the log (the file watch wakes it earlier). */
  fallbackMs: number;
  /** Whether someone else (`k int`, `k kill`) ended the cell. */
  lockMs: number;
  /** Whether the pane's program still runs. */
  paneMs: number;
  /** Whether the tmux session still exists and its output pipe is open (a tmux client call). */
  tmuxMs: number;
}

/** The longest a watcher reads on before it looks at the time limit, the lock and the session. */
const READ_SLICE_MS = 100;
/** Someone waits for the result: react within a fraction of a second. */
const WAITED: Cadence = { fallbackMs: 100, lockMs: 150, paneMs: 150, tmuxMs: 1000 };
/**
 * A timed-out cell, watched in the background for hours: the file watch wakes the watcher when
 * the log grows; otherwise a look at the lock and at /proc once a second, and no process spawned
 * (the pane's program dies with its tmux session: it gets the terminal's hangup).
 */
const SOFT: Cadence = {
  fallbackMs: 1000,
  lockMs: 1000,
  paneMs: 1000,
  tmuxMs: Number.POSITIVE_INFINITY,
};

export interface WatchOptions {
  /** The kernel's socket and state dir. */
  config: KernelConfig;
  /** The session's paths. */
  paths: SessionPaths;
  /** The session's metadata. */
  meta: SessionMeta;
  /** The active cell's lock, as taken. */
  lock: CellLock;
  /** Whether a timeout counts as reported once returned (true for `run`). */
  reportTimeout: boolean;
  /**
   * At the time limit: `return` the timeout (`run`, which then hands the cell to a background
   * watcher), or `watch` on until the cell ends or {@link watchEnd} passes (the background
   * watcher). Either way the timeout is stored and announced once per cell.
   */
  afterTimeout: "return" | "watch";
  /** Stops watching (the watcher got SIGTERM): the detector is closed, nothing is recorded. */
  signal?: AbortSignal;
  /** The pane log already opened at `lock.offset`; watchCell closes it. */
  follower?: FileFollower;
}

/**
 * Watches the cell until its frame ends, its session dies, its output pipe dies (then the pipe is
 * re-armed and the cell ends as an error with code `pipe_died`: its end can no longer be seen),
 * or someone else ends it (`k int`, `k kill`); or, at the time limit, stores the timeout and
 * returns it (`afterTimeout: "return"`) or goes on until {@link watchEnd} (`"watch"`: then the
 * lock is left as it is and the stored timeout returned). Returns the result that stands.
 */
export async function watchCell(options: WatchOptions): Promise<FinalResult> {
  const { config, paths, meta, lock } = options;
  const session = meta.name;
  let detector: FrameDetector;
  try {
    detector = createDetector(meta.frame as FrameConfig, lock);
  } catch (e) {
    await options.follower?.close();
    throw e;
  }
  const sink = new OutputSink(lock.max_output, outputFilePath(paths, lock.cell_id));
  const text = new CellText(lock, sink, detector, meta.columns);
  let follower: FileFollower;
  try {
    follower = options.follower ?? await FileFollower.open(paths.log, lock.offset);
  } catch (e) {
    await detector.close();
    throw e;
  }
  const deadline = lock.started_ms + lock.timeout_ms;
  const end = watchEnd(lock);
  // A cell handed over after its timeout: the timeout is stored and announced already.
  let timedOut: TimeoutResult | undefined;
  if (options.afterTimeout === "watch") {
    const stored = await readCellRecord(paths, lock.cell_id).catch(() => undefined);
    if (stored?.result.status === "timeout") timedOut = stored.result;
  }
  let lastGrowth = Date.now();
  let lastLockCheck = Date.now();
  let lastPipeCheck = Date.now();
  let lastPaneCheck = Date.now();
  let lastTmuxCheck = Date.now();
  let cancelled = false;
  try {
    while (true) {
      let n = 0;
      // Bounded memory: spilled output is written out between chunks. Bounded time: a program
      // that prints faster than it is read (`yes`) must not keep the checks below (its time
      // limit, k int, the session's death) from running; the loop reads on without waiting.
      let more = false;
      const readUntil = Date.now() + READ_SLICE_MS;
      while (true) {
        const chunk = await follower.readAvailableOnce((bytes) => text.push(bytes));
        if (chunk === 0) break;
        n += chunk;
        await text.flush();
        if (Date.now() >= readUntil) {
          more = true;
          break;
        }
      }
      const now = Date.now();
      const cadence = timedOut ? SOFT : WAITED;
      if (n > 0) lastGrowth = now;
      const quiet = now - lastGrowth;
      if (quiet >= HOOK_PARTIAL_QUIET_MS) detector.onQuiet(text.partial);
      if (detector.incomplete && !cancelled) {
        // The shell waits for the rest of an incomplete command: cancel it, then await the prompt.
        cancelled = true;
        await sendKeys(config, session, ["C-c"]);
      }
      if (detector.isDone(text.partial, quiet)) {
        mark("end seen");
        const result: DoneResult = {
          cell_id: lock.cell_id,
          status: "done",
          ...(await text.finish()),
          exit_code: detector.exitCode ?? null,
          ...timing(lock),
        };
        if (detector.error !== undefined) result.error = detector.error;
        if (detector.nested !== undefined) result.nested = detector.nested;
        const ended = await endCell(paths, session, lock, result, "done");
        mark("result recorded");
        return ended;
      }
      // The pipe's writer let go of the log: did the pipe end? Its sign's doorbell wakes the wait
      // at once; the lock's cadence is the fallback (no file watch, a dropped event).
      if (follower.takeWriterClosed() || now - lastPipeCheck >= cadence.lockMs) {
        lastPipeCheck = now;
        const end = readPipeEnd(paths, meta);
        // A sign older than the cell is a death before it: its typing re-armed the pipe.
        const ended = end && end.atMs >= lock.started_ms
          ? await endOnPipeEnd(options, end, text)
          : undefined;
        if (ended) return ended;
      }
      if (now - lastLockCheck >= cadence.lockMs) {
        lastLockCheck = now;
        const ended = await endedElsewhere(paths, lock);
        if (ended) return ended;
      }
      if (now >= deadline && !timedOut) {
        if (options.afterTimeout === "return") return await timeOut(options, await text.soFar());
        // Watching on: the output so far is read apart (text.soFar() ends the text it reads).
        const soFar = await readCellOutput(paths, meta, lock, lock.max_output);
        timedOut = await timeOut(options, soFar);
      }
      // Watched long enough: the lock stays for k int, the stored timeout stands.
      if (timedOut && now >= end) return timedOut;
      let dead = false;
      if (now - lastPaneCheck >= cadence.paneMs) {
        lastPaneCheck = now;
        dead = !(await isAlive(meta.pane));
      }
      if (!dead && now - lastTmuxCheck >= cadence.tmuxMs) {
        lastTmuxCheck = now;
        const info = await tmuxSessionInfo(config, session);
        dead = info === undefined;
        if (info?.piped === false) {
          // Closed with no sign (the shell around cat was killed first): leave one, read it now.
          await signPipeClosed(paths, meta, lock.started_ms);
          continue;
        }
      }
      if (dead) return await endCellOfDeadSession(paths, meta, lock);
      if (options.signal?.aborted) {
        const record = await readCellRecord(paths, lock.cell_id).catch(() => undefined);
        return record?.result ??
          { cell_id: lock.cell_id, status: "error", output: "watcher stopped" };
      }
      if (more) continue;
      const next = timedOut ? end : deadline;
      await follower.wait(Math.min(cadence.fallbackMs, next - now), detector.ended);
    }
  } finally {
    await follower.close();
    await detector.close();
    mark("watch closed");
  }
}

/**
 * The cell's end when its output pipe ended under it: when tmux closed the pipe because the
 * session ended, the dead session's error; when the pipe died, the pipe is re-armed and the cell
 * ends as `pipe_died`, its output so far kept. Undefined when another party answers for it.
 */
async function endOnPipeEnd(
  options: WatchOptions,
  end: PipeEnd,
  text: CellText,
): Promise<FinalResult | undefined> {
  const { config, paths, meta, lock } = options;
  const session = meta.name;
  const gone = async () => !(await isAlive(meta.pane)) || !(await hasSession(config, session));
  if (end.kind === "eof" && await gone()) return await endCellOfDeadSession(paths, meta, lock);
  if (!takePipeEnd(paths)) return undefined;
  const state = await rearmPipe(config, session, paths.log);
  if (state === "gone") return await endCellOfDeadSession(paths, meta, lock);
  const result: ErrorResult = {
    ...errorResult(lock, pipeDiedMessage(session, lock.cell_id, end, state)),
    error_code: "pipe_died",
    output_so_far: (await text.soFar()).output,
  };
  return await endCell(paths, session, lock, result, "error");
}

/**
 * One look at the log for an active cell nobody watches any more (its owner is gone): runs the
 * frame detector over the log from the cell's start, without waiting. When the program is back at
 * its prompt, ends the cell as `done` through {@link endCell} (exactly one party records it),
 * timed until the log last grew, and returns the result that stands. Undefined while the program
 * still runs, and in hook mode (a hook is never started just to look).
 */
export async function endIfDone(
  paths: SessionPaths,
  meta: SessionMeta,
  lock: CellLock,
): Promise<FinalResult | undefined> {
  if (meta.frame.mode === "hook") return undefined;
  const detector = createDetector(meta.frame as FrameConfig, lock);
  try {
    const sink = new OutputSink(lock.max_output, outputFilePath(paths, lock.cell_id));
    const text = new CellText(lock, sink, detector, meta.columns);
    const follower = await FileFollower.open(paths.log, lock.offset, false);
    try {
      while ((await follower.readAvailableOnce((bytes) => text.push(bytes))) > 0) {
        await text.flush();
      }
    } finally {
      await follower.close();
    }
    const grewAt = (await Deno.stat(paths.log)).mtime?.getTime() ?? Date.now();
    const quiet = Math.max(0, Date.now() - grewAt);
    if (quiet >= HOOK_PARTIAL_QUIET_MS) detector.onQuiet(text.partial);
    const done = detector.isDone(text.partial, quiet);
    const output = await text.finish(); // also closes a spill file
    if (!done) return undefined;
    const result: DoneResult = {
      cell_id: lock.cell_id,
      status: "done",
      ...output,
      exit_code: detector.exitCode ?? null,
      ...timing(lock, Math.max(lock.started_ms, grewAt)),
    };
    if (detector.error !== undefined) result.error = detector.error;
    if (detector.nested !== undefined) result.nested = detector.nested;
    return await endCell(paths, meta.name, lock, result, "done");
  } finally {
    await detector.close();
  }
}

/** The result when someone else ended the cell, or undefined while it is still ours. */
async function endedElsewhere(
  paths: SessionPaths,
  lock: CellLock,
): Promise<FinalResult | undefined> {
  let current: CellLock | undefined;
  try {
    current = await readLock(paths);
  } catch (e) {
    if (!(e instanceof KttyError)) throw e;
    return undefined; // corrupt lock: keep watching; int/kill will sort it out
  }
  if (current?.cell_id === lock.cell_id) return undefined;
  const record = await readCellRecord(paths, lock.cell_id).catch(() => undefined);
  if (record) return record.result;
  try {
    await Deno.lstat(paths.dir);
  } catch {
    return { cell_id: lock.cell_id, status: "error", output: "session killed" };
  }
  return undefined; // being claimed right now: the next check sees the result
}

async function timeOut(options: WatchOptions, soFar: BoundedOutput): Promise<TimeoutResult> {
  const { paths, meta, lock } = options;
  const result: TimeoutResult = {
    cell_id: lock.cell_id,
    status: "timeout",
    ...soFar,
    ...timing(lock),
    ...heldBy(paths, meta),
  };
  await writeCellRecord(paths, {
    result,
    code: lock.code ?? codePreview(lock.lines),
    started_at: lock.started_at,
    reported: options.reportTimeout,
  });
  await appendEvent(paths.events, meta.name, {
    status: "timeout",
    cell_id: lock.cell_id,
    duration_ms: result.duration_ms ?? 0,
  });
  return result;
}

/**
 * Ends a cell whose session died under it, and appends `closed` (once, whoever notices first).
 * Writes nothing when a new session of the name has taken the state's place meanwhile (`k new`
 * after the death): its log is not this session's.
 */
export async function endCellOfDeadSession(
  paths: SessionPaths,
  meta: SessionMeta,
  lock: CellLock,
  claimed = false,
): Promise<FinalResult> {
  const session = meta.name;
  const output =
    `session '${session}' ended while the cell was running (its program exited or tmux died)`;
  let result: FinalResult = errorResult(lock, output);
  if (await replaced(paths, meta)) {
    if (claimed) await finishClaim(paths, lock.cell_id);
    return result;
  }
  if (await cellAnnounced(paths.events, lock.cell_id)) {
    const end = claimed ? endClaimedCell : endCell;
    result = await end(paths, session, lock, result, "error");
  } else if (claimed) {
    await finishClaim(paths, lock.cell_id); // never typed (rule 6): no record, no event
  } else {
    await giveBack(paths, lock.cell_id);
  }
  await appendEvent(paths.events, session, programExitedEvent(paths, meta.pane));
  return result;
}

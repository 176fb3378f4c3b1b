/**
 * Watching one cell: reads the pane log from the cell's start and asks the frame detector when
 * the program is back at its prompt; notices a timeout, a dead session, or someone else ending
 * the cell. Used in-process by `run` and by the background watcher of `fire`.
 * @module
 */

import { appendEvent } from "../events/log.ts";
import { FileFollower } from "../follow.ts";
import {
  createDetector,
  type FrameConfig,
  type FrameDetector,
  HOOK_PARTIAL_QUIET_MS,
} from "../frame/mod.ts";
import { type CellLock, endCell, endClaimedCell, readLock } from "../lock.ts";
import type { SessionMeta } from "../session/meta.ts";
import { isAlive } from "../proc.ts";
import type { KernelConfig, SessionPaths } from "../state.ts";
import { hasSession } from "../tmux.ts";
import type { BoundedOutput } from "./output.ts";
import { OutputSink } from "./output.ts";
import type { DoneResult, FinalResult, TimeoutResult } from "../types.ts";
import { KttyError } from "../errors.ts";
import { mark } from "../trace.ts";
import {
  codePreview,
  errorResult,
  outputFilePath,
  readCellRecord,
  timing,
  writeCellRecord,
} from "./record.ts";
import { CellText } from "./text.ts";

const POLL_FALLBACK_MS = 100;
const LOCK_CHECK_MS = 150;
const PANE_CHECK_MS = 150;
const TMUX_CHECK_MS = 1000;

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
  /** Stops watching (the watcher got SIGTERM): the detector is closed, nothing is recorded. */
  signal?: AbortSignal;
  /** The pane log already opened at `lock.offset`; watchCell closes it. */
  follower?: FileFollower;
}

/**
 * Watches the cell until its frame ends, its time runs out, its session dies, or someone else
 * ends it (`k int`, `k kill`). Returns the result that stands.
 */
export async function watchCell(options: WatchOptions): Promise<FinalResult> {
  const { config, paths, meta, lock } = options;
  const session = meta.name;
  let detector: FrameDetector;
  try {
    detector = createDetector(meta.frame as FrameConfig, lock.lines.length);
  } catch (e) {
    await options.follower?.close();
    throw e;
  }
  const sink = new OutputSink(lock.max_output, outputFilePath(paths, lock.cell_id));
  const text = new CellText(lock.lines, sink, detector, meta.columns);
  let follower: FileFollower;
  try {
    follower = options.follower ?? await FileFollower.open(paths.log, lock.offset);
  } catch (e) {
    await detector.close();
    throw e;
  }
  const deadline = lock.started_ms + lock.timeout_ms;
  let lastGrowth = Date.now();
  let lastLockCheck = Date.now();
  let lastPaneCheck = Date.now();
  let lastTmuxCheck = Date.now();
  try {
    while (true) {
      let n = 0;
      // Bounded memory: spilled output is written out between chunks.
      while (true) {
        const chunk = await follower.readAvailableOnce((bytes) => text.push(bytes));
        if (chunk === 0) break;
        n += chunk;
        await text.flush();
      }
      const now = Date.now();
      if (n > 0) lastGrowth = now;
      const quiet = now - lastGrowth;
      if (quiet >= HOOK_PARTIAL_QUIET_MS) detector.onQuiet(text.partial);
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
        const ended = await endCell(paths, session, lock, result, "done");
        mark("result recorded");
        return ended;
      }
      if (now - lastLockCheck >= LOCK_CHECK_MS) {
        lastLockCheck = now;
        const ended = await endedElsewhere(paths, lock);
        if (ended) return ended;
      }
      if (now >= deadline) return await timeOut(options, await text.soFar());
      let dead = false;
      if (now - lastPaneCheck >= PANE_CHECK_MS) {
        lastPaneCheck = now;
        dead = !(await isAlive(meta.pane));
      }
      if (!dead && now - lastTmuxCheck >= TMUX_CHECK_MS) {
        lastTmuxCheck = now;
        dead = !(await hasSession(config, session));
      }
      if (dead) return await endCellOfDeadSession(paths, session, lock);
      if (options.signal?.aborted) {
        const record = await readCellRecord(paths, lock.cell_id).catch(() => undefined);
        return record?.result ??
          { cell_id: lock.cell_id, status: "error", output: "watcher stopped" };
      }
      await follower.wait(Math.min(POLL_FALLBACK_MS, deadline - now), detector.ended);
    }
  } finally {
    await follower.close();
    await detector.close();
    mark("watch closed");
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
  };
  await writeCellRecord(paths, {
    result,
    code: codePreview(lock.lines),
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

/** Ends a cell whose session died under it, and appends `closed` (once, whoever notices first). */
export async function endCellOfDeadSession(
  paths: SessionPaths,
  session: string,
  lock: CellLock,
  claimed = false,
): Promise<FinalResult> {
  const end = claimed ? endClaimedCell : endCell;
  const output =
    `session '${session}' ended while the cell was running (its program exited or tmux died)`;
  const result = await end(paths, session, lock, errorResult(lock, output), "error");
  await appendEvent(paths.events, session, { status: "closed", reason: "program exited" });
  return result;
}

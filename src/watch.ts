/**
 * Watching one cell: reads the pane log from the cell's start, cleans it, separates echo from
 * output, and asks the frame detector when the program is back at its prompt. Used in-process by
 * `run` and by the background watcher of `fire`; both end the cell the same way.
 * @module
 */

import { appendEvent } from "./events.ts";
import { FileFollower } from "./follow.ts";
import {
  createDetector,
  EchoFilter,
  type FrameConfig,
  type FrameDetector,
  HOOK_PARTIAL_QUIET_MS,
} from "./frame/mod.ts";
import { type CellLock, claimLock, finishClaim, isClosing, readLock } from "./lock.ts";
import type { SessionMeta } from "./meta.ts";
import { isAlive } from "./proc.ts";
import {
  fileSize,
  type KernelConfig,
  readJsonFile,
  readRangeSync,
  resultPath,
  type SessionPaths,
  writeFileAtomic,
} from "./state.ts";
import { TerminalText } from "./text.ts";
import { type BoundedOutput, OutputSink } from "./output.ts";
import { hasSession } from "./tmux.ts";
import {
  type CellRecord,
  type CellTiming,
  decodeCellRecord,
  type DoneResult,
  type ErrorResult,
  type FinalResult,
  type TimeoutResult,
} from "./types.ts";
import { KttyError } from "./errors.ts";
import { mark } from "./trace.ts";

const POLL_FALLBACK_MS = 100;
const CLAIM_WAIT_MS = 2000;
const LOCK_CHECK_MS = 150;
const PANE_CHECK_MS = 150;
const TMUX_CHECK_MS = 1000;

/** A cell's text as it streams in: clean lines, echo removed, detector fed, output bounded. */
export class CellText {
  /** The frame detector, when the caller decides the end of the frame or needs markers. */
  readonly detector: FrameDetector | undefined;
  #sink: OutputSink;
  #echo: EchoFilter;
  #term: TerminalText;
  #sawEcho = false;
  #beforeEcho: string[] = [];
  #started = false;
  #collecting = true;

  /**
   * Makes the text of one cell.
   * @param typed the lines that were typed for the cell
   * @param sink where output lines go
   * @param detector fed every line and marker
   * @param columns the pane's width
   */
  constructor(typed: string[], sink: OutputSink, detector?: FrameDetector, columns?: number) {
    this.#echo = new EchoFilter(typed);
    this.#sink = sink;
    this.detector = detector;
    this.#term = new TerminalText((line) => this.#line(line), {
      columns,
      onOsc: (payload) => this.#marker(payload),
    });
  }

  #marker(payload: string): void {
    const seen = this.detector?.onMarker?.(payload, this.#term.partial);
    if (seen === "start") {
      // What came before the start marker (echo, the prompt) is not output.
      this.#started = true;
      this.#term.resetLine();
      this.#sink.reset();
    } else if (seen === "end") {
      this.#collecting = false;
    }
  }

  #line(line: string): void {
    const echo = this.#echo.isEcho(line);
    if (echo && !this.#sawEcho) {
      // Nothing the cell printed can come before its code was read: what came first was left
      // over from before (a prompt redrawn late under load).
      this.#sawEcho = true;
      this.#beforeEcho = [];
    }
    this.detector?.onLine(line, echo);
    if (!this.#collecting || echo) return;
    if (this.#started || this.#sawEcho) this.#sink.push(line);
    else if (line.trim() !== "") this.#beforeEcho.push(line);
  }

  /** Lines seen before any echo, kept only if no echo ever comes (a program that echoes nothing). */
  #releaseBeforeEcho(): void {
    if (this.#sawEcho || this.#started) return;
    for (const line of this.#beforeEcho) this.#sink.push(line);
    this.#beforeEcho = [];
  }

  /** Feeds raw log bytes. */
  push(bytes: Uint8Array): void {
    this.#term.push(bytes);
  }

  /** Writes spilled output to its file when enough has gathered. */
  async flush(): Promise<void> {
    if (this.#sink.needsFlush) await this.#sink.flush();
  }

  /** The unfinished last line. */
  get partial(): string {
    return this.#term.partial;
  }

  /** The final output: the detector drops trailing prompt lines. */
  finish(): Promise<BoundedOutput> {
    this.#releaseBeforeEcho();
    const detector = this.detector;
    const partial = this.partial;
    return this.#sink.finish((held) => detector ? detector.finish(held, partial) : held);
  }

  /** The output so far, unfinished line included: a running or timed-out cell's output. */
  soFar(): Promise<BoundedOutput> {
    this.#releaseBeforeEcho();
    const partial = this.#collecting ? this.partial : "";
    return this.#sink.finish((held) => partial.trim() === "" ? held : [...held, partial]);
  }
}

/** Reads the output a cell has printed so far (for `poll` on a running cell). */
export async function readCellOutput(
  paths: SessionPaths,
  meta: SessionMeta,
  lock: CellLock,
  maxOutput: number,
): Promise<BoundedOutput> {
  // Markers decide where output starts; a hook is never started just to look.
  const detector = meta.frame.mode === "integration"
    ? createDetector(meta.frame, lock.lines.length)
    : undefined;
  const text = new CellText(lock.lines, new OutputSink(maxOutput), detector, meta.columns);
  const size = await fileSize(paths.log);
  // Bytes read at each end of a long running output: a poll costs the same however much the cell
  // has printed (an agent polls a long build many times).
  const window = maxOutput * SO_FAR_BYTES_PER_CHAR;
  if (size - lock.offset <= 2 * window) {
    text.push(readRange(paths.log, lock.offset, size));
    return await text.soFar();
  }
  text.push(readRange(paths.log, lock.offset, lock.offset + window));
  const half = Math.floor(maxOutput / 2);
  const head = takeChars((await text.soFar()).output.split("\n"), half, "head");
  const tailLines: string[] = [];
  const term = new TerminalText((line) => tailLines.push(line), { columns: meta.columns });
  term.push(readRange(paths.log, size - window, size));
  tailLines.shift(); // it may have begun before the window
  if (term.partial.trim() !== "") tailLines.push(term.partial);
  const tail = takeChars(tailLines, half, "tail");
  const cut = size - lock.offset - 2 * window;
  const marker = `[… about ${cut} bytes of output cut; the cell is still running …]`;
  return { output: [...head, marker, ...tail].join("\n"), truncated: true };
}

/** How many log bytes per output character a running cell's output is read with, at each end. */
const SO_FAR_BYTES_PER_CHAR = 4;

/** Bytes `from` to `to` of a file. */
function readRange(path: string, from: number, to: number): Uint8Array {
  const file = Deno.openSync(path, { read: true });
  try {
    return readRangeSync(file, from, to);
  } finally {
    file.close();
  }
}

/** Whole lines from the start (head) or the end (tail) of `lines`, within `chars` characters. */
function takeChars(lines: string[], chars: number, end: "head" | "tail"): string[] {
  const out: string[] = [];
  let used = 0;
  const ordered = end === "head" ? lines : [...lines].reverse();
  for (const line of ordered) {
    if (used + line.length + 1 > chars) break;
    out.push(line);
    used += line.length + 1;
  }
  return end === "head" ? out : out.reverse();
}

/** Reads a stored cell record; undefined when there is none yet. */
export async function readCellRecord(
  paths: SessionPaths,
  cellId: string,
): Promise<CellRecord | undefined> {
  const path = resultPath(paths, cellId);
  const value = await readJsonFile(path);
  return value === undefined ? undefined : decodeCellRecord(value, path);
}

/** Stores a cell record atomically. */
export function writeCellRecord(paths: SessionPaths, record: CellRecord): Promise<void> {
  return writeFileAtomic(resultPath(paths, record.result.cell_id), JSON.stringify(record));
}

/** The first line of a cell's code, shortened, for history. */
export function codePreview(lines: string[]): string {
  const first = lines.find((line) => line.trim() !== "") ?? "";
  return first.length > 120 ? `${first.slice(0, 119)}…` : first;
}

/**
 * Ends cell `lock.cell_id` with `result`, unless someone else ended it first; returns the result
 * that stands. Claims the lock, stores the record, releases the claim, appends the event.
 */
export async function endCell(
  paths: SessionPaths,
  session: string,
  lock: CellLock,
  result: DoneResult | ErrorResult,
  event: "done" | "interrupted" | "error",
): Promise<FinalResult> {
  if (!(await claimLock(paths, lock.cell_id))) {
    // Someone else (k int) is ending it: wait (bounded) for the record they write.
    const deadline = Date.now() + CLAIM_WAIT_MS;
    while (await isClosing(paths, lock.cell_id) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const other = await readCellRecord(paths, lock.cell_id).catch(() => undefined);
    return other?.result ?? { cell_id: lock.cell_id, status: "error", output: "session killed" };
  }
  return await recordEnd(paths, session, lock, result, event);
}

/**
 * For the holder of a claim on `lock`: stores the cell's final record, releases the claim and
 * appends the event.
 */
export async function recordEnd(
  paths: SessionPaths,
  session: string,
  lock: CellLock,
  result: DoneResult | ErrorResult,
  event: "done" | "interrupted" | "error",
): Promise<FinalResult> {
  await writeCellRecord(paths, {
    result,
    code: codePreview(lock.lines),
    started_at: lock.started_at,
    reported: true,
  });
  await finishClaim(paths, lock.cell_id);
  if (event === "done" && result.status === "done") {
    await appendEvent(paths.events, session, {
      status: "done",
      cell_id: lock.cell_id,
      exit_code: result.exit_code,
      duration_ms: result.duration_ms,
    });
  } else if (event === "interrupted") {
    await appendEvent(paths.events, session, { status: "interrupted", cell_id: lock.cell_id });
  } else {
    await appendEvent(paths.events, session, {
      status: "error",
      cell_id: lock.cell_id,
      message: result.output,
    });
  }
  return result;
}

/** What {@link watchCell} needs. */
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

/** Where a cell's whole output goes when it outgrows the budget. */
export function outputFilePath(paths: SessionPaths, cellId: string): string {
  return resultPath(paths, cellId).replace(/\.json$/, ".out");
}

/** The timing fields of a cell that ends now. */
export function timing(lock: CellLock): CellTiming {
  const end = Date.now();
  return {
    started_at: lock.started_at,
    ended_at: new Date(end).toISOString(),
    duration_ms: end - lock.started_ms,
  };
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
  const end = claimed ? recordEnd : endCell;
  const result = await end(paths, session, lock, {
    cell_id: lock.cell_id,
    status: "error",
    output:
      `session '${session}' ended while the cell was running (its program exited or tmux died)`,
    truncated: false,
    ...timing(lock),
  }, "error");
  await appendEvent(paths.events, session, { status: "closed", reason: "program exited" });
  return result;
}

/**
 * The cell lifecycle: lock -> send -> watch -> result. `run` watches in-process; `fire` hands the
 * watching to a detached background process and returns at once. `poll`, `int` and `send` act on
 * the active or a past cell.
 * @module
 */

import { planCell } from "./integration/typing.ts";
import { parseMarker } from "./integration/scripts.ts";
import { PASTE_OFF, PASTE_ON, TerminalText } from "./text.ts";
import { KttyError, NoSessionError, UsageError } from "./errors.ts";
import { appendEvent } from "./events.ts";
import { FileFollower } from "./follow.ts";
import {
  acquireLock,
  type CellLock,
  claimAnyLock,
  claimLock,
  finishClaim,
  isClosing,
  readLock,
} from "./lock.ts";
import { readMeta, type SessionMeta, writeMeta } from "./meta.ts";
import { isAlive, type ProcessId, processId, stopProcess, WATCHER_STOP_GRACE_MS } from "./proc.ts";
import {
  assertCellId,
  fileSize,
  ioError,
  type KernelConfig,
  newCellId,
  readTailSync,
  removeIfExists,
  type SessionPaths,
  sessionPaths,
  writeFileAtomic,
} from "./state.ts";
import { hasSession, pasteText, sendKeys } from "./tmux.ts";
import { mark } from "./trace.ts";
import {
  type BusyResult,
  busyResult,
  type CellResult,
  type ErrorResult,
  type FinalResult,
  type FiredResult,
} from "./types.ts";
import {
  endCellOfDeadSession,
  readCellOutput,
  readCellRecord,
  recordEnd,
  timing,
  watchCell,
  writeCellRecord,
} from "./watch.ts";
import { maxOutputFromEnv } from "./output.ts";

/** Default time limit of `run`, in ms. */
export const RUN_TIMEOUT_MS = 30_000;
/** Default time limit of `fire`, in ms. */
export const FIRE_TIMEOUT_MS = 300_000;
/** What later polls of a timed-out cell say. */
export const TIMEOUT_HINT = "use k int or k kill";

const SETTLE_QUIET_MS = 50;
/** How long `k int` waits for a program with markers to come back to its prompt. */
const INT_PROMPT_WAIT_MS = 5000;

const SETTLE_MAX_MS = 1000;

/** Options of `run` and `fire`. */
export interface CellOptions {
  /** Time limit in ms (defaults: 30 s for run, 300 s for fire). */
  timeoutMs?: number;
  /** Output budget in characters (default `K_MAX_OUTPUT`, else 50,000). */
  maxOutput?: number;
  /**
   * Called once the code is typed (the cell is running), with its id. Should it throw, `run`
   * rethrows and a background watcher takes the running cell over, as for a `fire`.
   */
  onStarted?: (cellId: string) => void;
}

/** Options of `poll`. */
export interface PollOptions {
  /** Output budget in characters for a running cell's output (default as for run). */
  maxOutput?: number;
}

function checkMaxOutput(chars: number | undefined): number {
  if (chars === undefined) return maxOutputFromEnv();
  if (!Number.isInteger(chars) || chars <= 0) throw new UsageError("-o must be a positive integer");
  return chars;
}

function checkCode(code: string): void {
  if (code === "") throw new UsageError("missing code");
  if (code.includes("\0")) {
    throw new UsageError("code contains a NUL byte, which a terminal cannot carry");
  }
}

function checkTimeout(ms: number): void {
  if (!Number.isInteger(ms) || ms <= 0) throw new UsageError("-t must be a positive integer");
}

/** What a started cell knows: its lock and the session it runs in. */
interface Started {
  paths: SessionPaths;
  meta: SessionMeta;
  lock: CellLock;
  /** The pane log, opened at the cell's start while tmux typed the code (`run` only). */
  follower?: FileFollower;
}

/** A cell about to start: its code, limits and the process that will watch it. */
interface CellRequest {
  /** The new cell's id. */
  cellId: string;
  /** The code to type. */
  code: string;
  /** Time limit and output budget, checked. */
  limits: { timeoutMs: number; maxOutput: number };
  /** The process that will watch the cell. */
  owner: ProcessId;
  /** Which kind of process that is. */
  ownerKind: "run" | "fire";
  /** Open the pane log for this process to watch the cell (while tmux types: it runs anyway). */
  follow?: boolean;
}

/** Checks the code and options of `run`/`fire`; fills in the defaults. */
function cellLimits(code: string, options: CellOptions, defaultTimeoutMs: number) {
  checkCode(code);
  if (!code.isWellFormed()) {
    throw new UsageError("code contains a lone UTF-16 surrogate, which has no UTF-8 form");
  }
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  checkTimeout(timeoutMs);
  return { timeoutMs, maxOutput: checkMaxOutput(options.maxOutput) };
}

/**
 * Takes the lock for a new cell, types the code, appends `fired`. Returns the busy result when
 * another cell holds the lock (nothing typed).
 */
async function startCell(
  config: KernelConfig,
  name: string,
  request: CellRequest,
): Promise<Started | BusyResult> {
  const { cellId, code, owner, ownerKind } = request;
  const { timeoutMs, maxOutput } = request.limits;
  const paths = sessionPaths(config, name);
  const meta = await readMeta(paths, name);
  const offset = await fileSize(paths.log);
  let plan = planCell(meta, code, cellId, paths.cells);
  if (plan.bracketed && !(await bracketedPasteOn(paths, offset))) {
    // The program is not reading with bracketed paste on: type the block wrapped instead.
    plan = planCell({ ...meta, bracketed_paste: false }, code, cellId, paths.cells);
  }
  // The code file is named by the new cell's id: written before the lock, removed if refused.
  if (plan.codeFile) {
    try {
      Deno.writeTextFileSync(plan.codeFile.path, plan.codeFile.content, { mode: 0o600 });
    } catch (e) {
      throw ioError("write", plan.codeFile.path, e);
    }
  }
  const dropCodeFile = async () => {
    if (plan.codeFile) await removeIfExists(plan.codeFile.path).catch(() => {});
  };
  const startedMs = Date.now();
  const lock: CellLock = {
    cell_id: cellId,
    offset,
    owner,
    owner_kind: ownerKind,
    started_at: new Date(startedMs).toISOString(),
    started_ms: startedMs,
    timeout_ms: timeoutMs,
    lines: plan.lines,
    max_output: maxOutput,
  };
  let acquired: boolean;
  try {
    acquired = await acquireLock(paths, lock);
  } catch (e) {
    await dropCodeFile();
    throw e;
  }
  if (!acquired) {
    await dropCodeFile();
    const active = await readLock(paths).catch(() => undefined);
    if (!(await hasSession(config, name))) {
      // The session died under that cell: end it (whoever notices first) and say so.
      if (active) await endCellOfDeadSession(paths, name, active);
      throw new NoSessionError(name);
    }
    const busy = busyResult(active?.cell_id ?? "unknown");
    if (active && !(await isAlive(active.owner))) {
      busy.output += ` (its watcher died; use k int ${name})`;
    }
    return busy;
  }
  mark("lock taken");
  // From here until the code is typed, any failure gives the lock back: nothing was typed.
  let follower: FileFollower | undefined;
  try {
    await assertAtPrompt(config, paths, meta, name);
    const typing = pasteText(config, name, plan.text, {
      dir: paths.dir,
      bracketed: plan.bracketed,
      keys: plan.keys,
    });
    mark("tmux spawned");
    // No throw may come between typing and its status: a failure here would give the lock back
    // while the code runs. A log that cannot be opened now is opened again by watchCell.
    if (request.follow) {
      follower = await FileFollower.open(paths.log, offset).catch(() => undefined);
    }
    mark("log opened");
    if (!(await typing)) {
      if (!(await hasSession(config, name))) {
        await appendEvent(paths.events, name, { status: "closed", reason: "session gone" });
        throw new NoSessionError(name);
      }
      throw new KttyError("tmux_failed", `tmux could not type into session '${name}'`);
    }
  } catch (e) {
    await follower?.close();
    if (await claimLock(paths, cellId)) await finishClaim(paths, cellId);
    await dropCodeFile();
    throw e;
  }
  mark("code typed");
  // The code is typed and running: bookkeeping that fails now must not hide that.
  await Promise.all([
    writeFileAtomic(paths.last, cellId, { durable: false }),
    appendEvent(paths.events, name, { status: "fired", cell_id: cellId }),
  ]).catch(() => {});
  mark("fired event written");
  return { paths, meta, lock, follower };
}

const BRACKETED_WAIT_MS = 1000;
const MODE_TAIL_BYTES = 64 * 1024;

/**
 * Waits (bounded) until the program has bracketed paste on: readline turns it on when it starts
 * reading a line, a moment after the previous cell's end marker. False when it never does.
 */
async function bracketedPasteOn(paths: SessionPaths, offset: number): Promise<boolean> {
  const start = Math.max(0, offset - MODE_TAIL_BYTES);
  const follower = await FileFollower.open(paths.log, start);
  const decoder = new TextDecoder();
  let tail = "";
  try {
    const deadline = Date.now() + BRACKETED_WAIT_MS;
    while (true) {
      await follower.readAvailable((bytes) => {
        tail = (tail + decoder.decode(bytes, { stream: true })).slice(-MODE_TAIL_BYTES);
      });
      if (tail.lastIndexOf(PASTE_ON) > tail.lastIndexOf(PASTE_OFF)) return true;
      if (Date.now() >= deadline) return false;
      await follower.wait(20);
    }
  } finally {
    await follower.close();
  }
}

/** Runs `code` in session `name` and waits for its result (SPEC section 4). */
export async function runCell(
  config: KernelConfig,
  name: string,
  code: string,
  options: CellOptions = {},
): Promise<FinalResult | BusyResult> {
  const limits = cellLimits(code, options, RUN_TIMEOUT_MS);
  const owner = await processId(Deno.pid) ?? { pid: Deno.pid, start: "" };
  const started = await startCell(config, name, {
    cellId: newCellId(),
    code,
    limits,
    owner,
    ownerKind: "run",
    follow: true,
  });
  if ("active_cell_id" in started) return started;
  try {
    options.onStarted?.(started.lock.cell_id);
  } catch (e) {
    // The caller's callback failed, the cell runs: a background watcher takes it over.
    await started.follower?.close();
    await handOffRun(config, name).catch(() => undefined);
    throw e;
  }
  return await watchCell({ config, ...started, reportTimeout: true });
}

// A URL, which `deno run` takes as well as a path, so this works however the kernel was imported.
const WATCHER_URL = new URL("./watcher.ts", import.meta.url).href;

/**
 * Types `code` in session `name` and hands the watching to a detached background process;
 * returns at once. The watcher is spawned first so the lock can name it as owner from the start.
 */
export async function fireCell(
  config: KernelConfig,
  name: string,
  code: string,
  options: CellOptions = {},
): Promise<FiredResult | BusyResult> {
  const limits = cellLimits(code, options, FIRE_TIMEOUT_MS);
  const paths = sessionPaths(config, name);
  await readMeta(paths, name);
  const cellId = newCellId();
  const child = spawnWatcher(config, name, cellId);
  // Closing the watcher's stdin tells it to look at the lock: its cell's, or nothing to do.
  const release = async () => {
    await child.stdin.close().catch(() => {});
    child.unref();
  };
  try {
    const owner = await processId(child.pid) ?? { pid: child.pid, start: "" };
    const started = await startCell(config, name, {
      cellId,
      code,
      limits,
      owner,
      ownerKind: "fire",
    });
    if ("active_cell_id" in started) return started;
    options.onStarted?.(cellId);
    return { cell_id: cellId, status: "fired" };
  } finally {
    await release();
  }
}

/** Starts a detached background watcher for cell `cellId`; it acts once its stdin closes. */
function spawnWatcher(config: KernelConfig, name: string, cellId: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", "--no-config", WATCHER_URL, name, cellId],
    env: { K_HOME: config.home, K_SOCKET: config.socket },
    stdin: "piped",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
}

/**
 * For a `run` about to be stopped (its process got SIGINT/SIGTERM, say a harness timeout): if
 * this process watches the session's active cell, a background watcher takes it over, as if the
 * cell had been fired, so the cell goes on and its result is recorded for `k poll` and `km`.
 * Returns the cell's id, or undefined when there was nothing to hand over.
 */
export async function handOffRun(config: KernelConfig, name: string): Promise<string | undefined> {
  const paths = sessionPaths(config, name);
  const lock = await readLock(paths).catch(() => undefined);
  if (!lock || lock.owner.pid !== Deno.pid) return undefined;
  const child = spawnWatcher(config, name, lock.cell_id);
  try {
    const owner = await processId(child.pid) ?? { pid: child.pid, start: "" };
    const current = await readLock(paths).catch(() => undefined);
    if (current?.cell_id !== lock.cell_id) return undefined; // it ended meanwhile
    await writeFileAtomic(
      paths.lock,
      JSON.stringify({ ...current, owner, owner_kind: "fire" }),
      { durable: false },
    );
    return lock.cell_id;
  } finally {
    await child.stdin.close().catch(() => {});
    child.unref();
  }
}

/**
 * The state of a cell: `cellId`, or the active cell, or the most recent one. A timeout is reported
 * with its output once; later polls say how to recover.
 */
export async function pollCell(
  config: KernelConfig,
  name: string,
  cellId?: string,
  options: PollOptions = {},
): Promise<CellResult> {
  const maxOutput = checkMaxOutput(options.maxOutput);
  const paths = sessionPaths(config, name);
  const meta = await readMeta(paths, name);
  if (cellId !== undefined) assertCellId(cellId);
  const lock = await readLock(paths);
  const id = cellId ?? lock?.cell_id ?? await readLast(paths);
  if (id === undefined) throw new KttyError("no_cell", `no cells yet in session '${name}'`);
  const record = await readCellRecord(paths, id);
  if (record) {
    if (record.result.status !== "timeout") return record.result;
    if (!record.reported) {
      await writeCellRecord(paths, { ...record, reported: true });
      return record.result;
    }
    return { cell_id: id, status: "timeout", output: TIMEOUT_HINT };
  }
  if (lock?.cell_id !== id) {
    if (await isClosing(paths, id)) {
      return { cell_id: id, status: "running", output: "", truncated: false };
    }
    // Ended between the reads: the record is written before the claim is released.
    const ended = await readCellRecord(paths, id);
    if (ended) return ended.result;
    throw new KttyError("no_cell", `no cell '${id}' in session '${name}'`);
  }
  if (!(await isAlive(lock.owner))) {
    // It may have finished between the two reads: a stored result wins.
    const late = await readCellRecord(paths, id);
    if (late && late.result.status !== "timeout") return late.result;
    const who = lock.owner_kind === "run"
      ? "the k run process watching it"
      : "its background watcher";
    return {
      cell_id: id,
      status: "error",
      output: `watcher died: ${who} (pid ${lock.owner.pid}) is gone; use k int ${name} to recover`,
    };
  }
  if (!(await isAlive(meta.pane)) || !(await hasSession(config, name))) {
    return {
      cell_id: id,
      status: "error",
      output:
        `session '${name}' ended while the cell was running (its program exited or tmux died)`,
    };
  }
  return {
    cell_id: id,
    status: "running",
    ...(await readCellOutput(paths, meta, lock, maxOutput)),
  };
}

async function readLast(paths: SessionPaths): Promise<string | undefined> {
  try {
    const id = (await Deno.readTextFile(paths.last)).trim();
    assertCellId(id);
    return id;
  } catch {
    return undefined;
  }
}

/**
 * Sends Ctrl-C, ends the active cell with an `interrupted` result and releases the lock. Works on
 * a timed-out cell, a cell whose watcher died and a corrupt lock alike. Returns undefined when no
 * cell was active (Ctrl-C is still sent).
 */
export async function interruptCell(
  config: KernelConfig,
  name: string,
): Promise<ErrorResult | undefined> {
  const paths = sessionPaths(config, name);
  const meta = await readMeta(paths, name);
  const before = await fileSize(paths.log);
  // Claim first: the watcher, seeing the prompt come back after Ctrl-C, must not end the cell as
  // done before the interrupt is recorded.
  const claimed = await claimAnyLock(paths);
  if (!(await sendKeys(config, name, ["C-c"]))) {
    if (claimed !== undefined && claimed !== "corrupt") {
      await endCellOfDeadSession(paths, name, claimed, true);
    }
    throw new NoSessionError(name);
  }
  let result: ErrorResult | undefined;
  if (claimed !== undefined && claimed !== "corrupt") {
    result = {
      cell_id: claimed.cell_id,
      status: "error",
      output: "interrupted",
      truncated: false,
      ...timing(claimed),
    };
    await recordEnd(paths, name, claimed, result, "interrupted");
    // A background watcher would notice on its own; stopping it ends its hook at once.
    if (claimed.owner_kind === "fire") await stopProcess(claimed.owner, WATCHER_STOP_GRACE_MS);
  }
  await settle(paths, meta, before);
  return result;
}

/**
 * Waits (bounded) for the prompt to come back after Ctrl-C. With markers: the next end marker
 * (a program may take seconds to shut down). Without: output, then a short quiet.
 */
async function settle(paths: SessionPaths, meta: SessionMeta, offset: number): Promise<void> {
  const nonce = meta.frame.mode === "integration" ? meta.frame.nonce ?? "" : undefined;
  let back = false;
  const term = new TerminalText(() => {}, {
    onOsc: (payload) => {
      if (nonce !== undefined && parseMarker(payload, nonce)?.kind === "end") back = true;
    },
  });
  const follower = await FileFollower.open(paths.log, offset);
  try {
    const deadline = Date.now() + (nonce !== undefined ? INT_PROMPT_WAIT_MS : SETTLE_MAX_MS);
    let grew = false;
    let lastGrowth = Date.now();
    while (Date.now() < deadline && !back) {
      if ((await follower.readAvailable((bytes) => term.push(bytes))) > 0) {
        grew = true;
        lastGrowth = Date.now();
      } else if (nonce === undefined && grew && Date.now() - lastGrowth >= SETTLE_QUIET_MS) return;
      if (back) return;
      await follower.wait(grew ? SETTLE_QUIET_MS : 100);
    }
  } finally {
    await follower.close();
  }
}

const MARKER_TAIL_BYTES = 16 * 1024;

/**
 * Integration mode: throws unless the program is at its prompt, i.e. the last marker in the log
 * is an end marker. After `k int` a program may still be shutting down, and code typed then
 * would go to it (and its end marker would end the new cell with the old output). Only the log's
 * tail is read: the end marker comes after all of a cell's output.
 *
 * Then, where the program has a line editor that turns bracketed paste on as it starts reading a
 * line (bash's readline, zsh's zle), waits (bounded) for that: the end marker comes a moment
 * before, and text typed in between meets the terminal in cooked mode, which echoes it and cuts
 * a line at 4095 bytes.
 */
async function assertAtPrompt(
  config: KernelConfig,
  paths: SessionPaths,
  meta: SessionMeta,
  name: string,
): Promise<void> {
  if (meta.frame.mode !== "integration") return;
  const state = promptState(paths.log, meta.frame.nonce ?? "");
  if (state.marker === "start") {
    if (!(await hasSession(config, name))) throw new NoSessionError(name);
    throw new KttyError(
      "not_ready",
      `the program in session '${name}' is still running (it has not come back to its prompt); wait, or k int ${name}, or k kill ${name}`,
    );
  }
  if (meta.bracketed_paste && !state.editorReading) {
    if (!(await bracketedPasteOn(paths, await fileSize(paths.log)))) {
      // Turned off since the session began (bind 'set enable-bracketed-paste off'): stop waiting.
      await writeMeta(paths, { ...meta, bracketed_paste: false });
    }
  }
}

/**
 * From the log's tail: the kind of the last marker with `nonce`, if any, and whether the line
 * editor is reading (bracketed paste turned on after it was last turned off).
 */
function promptState(
  log: string,
  nonce: string,
): { marker: "start" | "end" | undefined; editorReading: boolean } {
  let tail: string;
  try {
    const file = Deno.openSync(log, { read: true });
    try {
      tail = new TextDecoder().decode(readTailSync(file, MARKER_TAIL_BYTES).bytes);
    } finally {
      file.close();
    }
  } catch {
    return { marker: undefined, editorReading: false };
  }
  const editorReading = tail.lastIndexOf(PASTE_ON) > tail.lastIndexOf(PASTE_OFF);
  const start = tail.lastIndexOf(`\x1b]133;C;k=${nonce}\x07`);
  let end = -1;
  for (const m of tail.matchAll(new RegExp(`\x1b\\]133;D;-?\\d+;k=${nonce}`, "g"))) {
    end = m.index;
  }
  const marker = start < 0 && end < 0 ? undefined : start > end ? "start" : "end";
  return { marker, editorReading };
}

/** Options of `send`. */
export interface SendOptions {
  /** Press Enter after the text (default true). */
  enter?: boolean;
  /** tmux key names to send instead of text (`C-d`, `Escape`). */
  keys?: string[];
}

/** Types into the program the active cell is running, without touching the lock. */
export async function sendToCell(
  config: KernelConfig,
  name: string,
  text: string,
  options: SendOptions = {},
): Promise<string> {
  const paths = sessionPaths(config, name);
  await readMeta(paths, name);
  const lock = await readLock(paths);
  if (!lock) {
    throw new KttyError("no_active_cell", `no active cell in session '${name}'; use k run`);
  }
  let ok: boolean;
  if (options.keys && options.keys.length > 0) {
    ok = await sendKeys(config, name, options.keys);
  } else {
    if (text.includes("\0")) throw new UsageError("text contains a NUL byte");
    // Pasted rather than sent as keys: text ending in ';' would be cut as a tmux separator.
    ok = await pasteText(config, name, text, {
      dir: paths.dir,
      keys: options.enter !== false ? ["Enter"] : [],
    });
  }
  if (!ok) {
    if (!(await hasSession(config, name))) throw new NoSessionError(name);
    throw new KttyError("tmux_failed", `tmux could not type into session '${name}'`);
  }
  return lock.cell_id;
}

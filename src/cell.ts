/**
 * The cell lifecycle: lock -> send -> watch -> result. `run` watches in-process; `fire` hands the
 * watching to a detached background process and returns at once. `poll`, `int` and `send` act on
 * the active or a past cell.
 * @module
 */

import { planCell, type TypingPlan } from "./integration/typing.ts";
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
  lockHeld,
  readLock,
} from "./lock.ts";
import { readMeta, readMetaIfAny, type SessionMeta, writeMeta } from "./meta.ts";
import {
  isAlive,
  type ProcessId,
  processId,
  stopProcess,
  terminalRaw,
  WATCHER_STOP_GRACE_MS,
} from "./proc.ts";
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
import { hasSession, paneTty, pasteText, sendKeys } from "./tmux.ts";
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
  let meta = await readMeta(paths, name);
  const waitMs = Math.min(timeoutMs, EDITOR_WAIT_MS);
  let plan: TypingPlan;
  let lock: CellLock;
  let ready: boolean;
  let grown: boolean;
  const dropCodeFile = async () => {
    if (plan?.codeFile) await removeIfExists(plan.codeFile.path).catch(() => {});
  };
  for (let attempt = 1;; attempt++) {
    // Is the program at its prompt, its line editor reading (awaitPrompt)? Usually the log's tail
    // says yes at once. If not, and no other cell holds the session (the lock then says busy at
    // once), wait here: that also tells whether it still pastes bracketed.
    let offset = paneLogSize(paths, name); // first: a clear error, should the log be gone
    ready = atPromptAndReading(paths, meta);
    if (!ready && !lockHeld(paths)) {
      meta = await awaitPrompt(config, paths, meta, name, waitMs, false);
      ready = true;
      offset = paneLogSize(paths, name);
    }
    plan = planCell(meta, code, cellId, paths.cells);
    // The code file is named by the new cell's id: written before the lock, removed if refused.
    if (plan.codeFile) {
      try {
        Deno.writeTextFileSync(plan.codeFile.path, plan.codeFile.content, { mode: 0o600 });
      } catch (e) {
        throw ioError("write", plan.codeFile.path, e);
      }
    }
    const startedMs = Date.now();
    lock = {
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
    // The check holds if nothing came in between (the log did not grow: no cell ran meanwhile).
    // Else check again, with the lock given back; a program printing on its own (a background
    // job) may make the log grow every time: the third time, the check is made under the lock.
    grown = paneLogSize(paths, name) !== offset;
    if (!grown || attempt === 3) break;
    await dropCodeFile();
    if (!(await claimLock(paths, cellId))) {
      throw new KttyError("not_ready", `cell ${cellId} was ended before it was typed`);
    }
    await finishClaim(paths, cellId);
  }
  mark("lock taken");
  // Until tmux is asked to type, any failure gives the lock back: nothing was typed. After, the
  // cell is announced (while tmux types), and a failure ends it as an error: it may have run.
  let follower: FileFollower | undefined;
  let announced = false;
  try {
    // The lock was free only by the time it was taken (a cell just ended), or the log grew.
    if (!ready || grown) {
      await awaitPrompt(config, paths, meta, name, waitMs, true);
    }
    const typing = pasteText(config, name, plan.text, {
      dir: paths.dir,
      bracketed: plan.bracketed,
      keys: plan.keys,
    });
    typing.catch(() => {}); // handled below; not "unhandled" should the work meanwhile yield
    mark("tmux spawned");
    // Meanwhile: what the watching needs, and the bookkeeping, which may not fail the cell.
    if (request.follow) {
      follower = await FileFollower.open(paths.log, lock.offset).catch(() => undefined);
    }
    mark("log opened");
    announced = true;
    await Promise.all([
      writeFileAtomic(paths.last, cellId, { durable: false }),
      appendEvent(paths.events, name, { status: "fired", cell_id: cellId }),
    ]).catch(() => {});
    mark("fired event written");
    if (!(await typing)) {
      if (!(await hasSession(config, name))) throw new NoSessionError(name);
      throw new KttyError("tmux_failed", `tmux could not type into session '${name}'`);
    }
  } catch (e) {
    // Clean up as far as possible; the error that stands is the one that got here.
    await follower?.close().catch(() => {});
    const claimed = await claimLock(paths, cellId).catch(() => false);
    if (claimed && !announced) await finishClaim(paths, cellId).catch(() => {});
    if (claimed && announced) {
      const output = e instanceof Error ? e.message : String(e);
      const result = { cell_id: cellId, status: "error", output, truncated: false } as const;
      await recordEnd(paths, name, lock, { ...result, ...timing(lock) }, "error")
        .catch(() => finishClaim(paths, cellId).catch(() => {}));
    }
    // The session's end goes in its log; not if a new session of the name has taken its place.
    if (e instanceof NoSessionError && !(await replaced(paths, meta))) {
      await appendEvent(paths.events, name, { status: "closed", reason: "session gone" })
        .catch(() => {});
    }
    await dropCodeFile();
    throw e;
  }
  mark("code typed");
  return { paths, meta, lock, follower };
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

/** The longest wait for a program's line editor to start reading after its end marker. */
const EDITOR_WAIT_MS = 10_000;
/** How long the editor may take before the terminal's mode is asked, and how often then. */
const TTY_CHECK_AFTER_MS = 200;
const TTY_CHECK_EVERY_MS = 250;
/** How long a terminal mode must last before it counts (a hook may read a key in raw mode). */
const EDITOR_SETTLE_MS = 1000;

/**
 * Integration mode: throws unless the program is at its prompt, i.e. the last marker in the log
 * is an end marker. After `k int` a program may still be shutting down, and code typed then
 * would go to it (and its end marker would end the new cell with the old output). Only the log's
 * tail is read: the end marker comes after all of a cell's output.
 *
 * Then, where the program's line editor turns bracketed paste on as it starts reading a line
 * (bash's readline, zsh's zle), waits until it has. The end marker comes before that, and before
 * any prompt hooks that run after ktty's (`PROMPT_COMMAND[99]`, zsh's `precmd` functions); text
 * typed meanwhile meets the terminal in cooked mode, which echoes it and cuts a line at 4095
 * bytes. Usually no wait at all: the log's tail already shows it.
 *
 * Bracketed paste can also have been turned off since the session began
 * (`bind 'set enable-bracketed-paste off'`): when the pane's terminal is in raw mode (an editor
 * reading) with bracketed paste still off, the session's meta is updated and the updated meta
 * returned. Throws `not_ready` after `waitMs`, and NoSessionError when the session ended or was
 * replaced (`k kill`, `k new`) meanwhile.
 */
async function awaitPrompt(
  config: KernelConfig,
  paths: SessionPaths,
  meta: SessionMeta,
  name: string,
  waitMs: number,
  ownLock: boolean,
): Promise<SessionMeta> {
  if (meta.frame.mode !== "integration") return meta;
  const nonce = meta.frame.nonce ?? "";
  const first = promptState(paths.log, nonce);
  if (first.marker !== "end") {
    // A start marker last (or none in the tail: the program has printed on and on since one).
    // Another cell's, if its lock is there: that lock says busy.
    if (!ownLock && lockHeld(paths)) return meta;
    if (!(await hasSession(config, name))) throw new NoSessionError(name);
    throw new KttyError(
      "not_ready",
      `the program in session '${name}' is still running (it has not come back to its prompt); wait, or k int ${name}, or k kill ${name}`,
    );
  }
  if (!meta.bracketed_paste || first.editorReading) return meta;
  const started = Date.now();
  const deadline = started + waitMs;
  const follower = await FileFollower.open(
    paths.log,
    Math.max(0, (await fileSize(paths.log)) - MARKER_TAIL_BYTES),
  );
  const decoder = new TextDecoder();
  let tail = "";
  let grown = started;
  const read = async () => {
    const n = await follower.readAvailable((bytes) => {
      tail = (tail + decoder.decode(bytes, { stream: true })).slice(-MARKER_TAIL_BYTES);
    });
    if (n > 0) grown = Date.now();
  };
  let ttyCheck = started + TTY_CHECK_AFTER_MS;
  let rawSince: number | undefined;
  try {
    while (true) {
      await read();
      if (editorReadingIn(tail, nonce)) break;
      // Another cell was started meanwhile: the lock will say busy.
      if (!ownLock && (lockHeld(paths) || lastMarkerIsStart(tail, nonce))) return meta;
      const now = Date.now();
      if (now >= ttyCheck) {
        ttyCheck = now + TTY_CHECK_EVERY_MS;
        const raw = await paneTerminalRaw(config, name);
        if (raw === undefined && !(await hasSession(config, name))) throw new NoSessionError(name);
        rawSince = raw ? rawSince ?? now : undefined;
        // Raw for a while, bracketed paste never on: an editor reads without it (turned off
        // since the session began). A prompt hook reading a key is raw only for a moment.
        if (rawSince !== undefined && now - rawSince >= EDITOR_SETTLE_MS) {
          return await noteNoBracketedPaste(paths, meta, name);
        }
        // Cooked, its prompt printed after the end marker, then quiet: a shell reading without
        // a line editor (set +o emacs, unsetopt zle). Typed text goes to it as it would by hand.
        if (
          raw === false && now - started >= EDITOR_SETTLE_MS &&
          now - grown >= EDITOR_SETTLE_MS / 2 && promptPrintedAfterEnd(tail, nonce)
        ) break;
      }
      if (now >= deadline) {
        throw new KttyError(
          "not_ready",
          `the program in session '${name}' has not come back to reading input (its prompt hooks still run?); wait, or k int ${name}`,
        );
      }
      await follower.wait(Math.min(TTY_CHECK_EVERY_MS, deadline - now));
    }
  } finally {
    await follower.close();
  }
  await assertSameSession(paths, meta, name);
  return meta;
}

/** Whether the terminal of the session's pane is in raw mode (not canonical), if tmux says. */
async function paneTerminalRaw(config: KernelConfig, name: string): Promise<boolean | undefined> {
  const tty = await paneTty(config, name);
  return tty === undefined ? undefined : await terminalRaw(tty);
}

/** Whether the session `meta` describes is still the one under its name, gone, or replaced by
 * another (`k kill`, then `k new`). */
async function sessionNow(paths: SessionPaths, meta: SessionMeta) {
  const now = await readMetaIfAny(paths).catch(() => undefined);
  if (now === undefined) return "gone";
  const same = now.frame.nonce === meta.frame.nonce && now.created_at === meta.created_at;
  return same ? "same" : "replaced";
}

/** Whether the name now belongs to another session than `meta`'s. */
async function replaced(paths: SessionPaths, meta: SessionMeta): Promise<boolean> {
  return (await sessionNow(paths, meta)) === "replaced";
}

/** Throws NoSessionError when the session's meta is gone or belongs to a new session now. */
async function assertSameSession(paths: SessionPaths, meta: SessionMeta, name: string) {
  if ((await sessionNow(paths, meta)) !== "same") throw new NoSessionError(name);
}

/** Records that the session's editor reads without bracketed paste; returns the new meta. */
async function noteNoBracketedPaste(
  paths: SessionPaths,
  meta: SessionMeta,
  name: string,
): Promise<SessionMeta> {
  await assertSameSession(paths, meta, name);
  const updated = { ...meta, bracketed_paste: false };
  await writeMeta(paths, updated).catch(() => {}); // only spares later cells this wait
  return updated;
}

/** The size of the session's pane log; a clear error when it is gone (deleted by hand). */
function paneLogSize(paths: SessionPaths, name: string): number {
  try {
    return Deno.statSync(paths.log).size;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw ioError("read", paths.log, e);
    throw new KttyError(
      "state_corrupt",
      `the pane log of session '${name}' is gone (${paths.log}), so no output can be read; k kill ${name}, then k new ${name}`,
    );
  }
}

/** Whether the log's tail shows the line editor reading: bracketed paste turned on after the
 * last end marker, and not turned off since. Cell output cannot fake it: it comes before. */
function editorReadingIn(tail: string, nonce: string): boolean {
  const on = tail.lastIndexOf(PASTE_ON);
  return on > tail.lastIndexOf(PASTE_OFF) && on > lastEndMarker(tail, nonce);
}

const END_MARKER_PREFIX = "\x1b]133;D;";

/** Where the last end marker with `nonce` starts in `tail` (`ESC ] 133;D;<status>;k=<nonce>`). */
function lastEndMarker(tail: string, nonce: string): number {
  const suffix = `;k=${nonce}`;
  let i = tail.lastIndexOf(END_MARKER_PREFIX);
  while (i >= 0) {
    let j = i + END_MARKER_PREFIX.length;
    if (tail[j] === "-") j++;
    const digits = j;
    while (j < tail.length && tail.charCodeAt(j) >= 48 && tail.charCodeAt(j) <= 57) j++;
    if (j > digits && tail.startsWith(suffix, j)) return i;
    i = i === 0 ? -1 : tail.lastIndexOf(END_MARKER_PREFIX, i - 1);
  }
  return -1;
}

/** Whether the last marker with `nonce` in `tail` is a start marker. */
function lastMarkerIsStart(tail: string, nonce: string): boolean {
  return tail.lastIndexOf(`\x1b]133;C;k=${nonce}\x07`) > lastEndMarker(tail, nonce);
}

/** Whether something was printed after the last end marker (its BEL): a prompt, say. */
function promptPrintedAfterEnd(tail: string, nonce: string): boolean {
  const end = lastEndMarker(tail, nonce);
  if (end < 0) return false;
  const bell = tail.indexOf("\x07", end);
  return bell >= 0 && tail.slice(bell + 1).trim() !== "";
}

/** The last `bytes` of the log as text (`whole`: the log is no longer), or undefined. */
function logTail(log: string, bytes: number): { text: string; whole: boolean } | undefined {
  try {
    const file = Deno.openSync(log, { read: true });
    try {
      const tail = readTailSync(file, bytes);
      return { text: new TextDecoder().decode(tail.bytes), whole: tail.start === 0 };
    } finally {
      file.close();
    }
  } catch {
    return undefined;
  }
}

/** Whether the program is at its prompt with its line editor reading: see {@link awaitPrompt}. */
function atPromptAndReading(paths: SessionPaths, meta: SessionMeta): boolean {
  if (meta.frame.mode !== "integration") return true;
  const state = promptState(paths.log, meta.frame.nonce ?? "");
  return state.marker === "end" && (!meta.bracketed_paste || state.editorReading);
}

/** From the log's tail: the kind of the last marker with `nonce`, if any, and whether the line
 * editor is reading ({@link editorReadingIn}). The last 4 KiB are read first: a prompt follows
 * its end marker closely. */
function promptState(
  log: string,
  nonce: string,
): { marker: "start" | "end" | undefined; editorReading: boolean } {
  for (const bytes of [4 * 1024, MARKER_TAIL_BYTES]) {
    const read = logTail(log, bytes);
    if (read === undefined) break;
    const tail = read.text;
    const start = tail.lastIndexOf(`\x1b]133;C;k=${nonce}\x07`);
    const end = lastEndMarker(tail, nonce);
    if (start < 0 && end < 0 && !read.whole) continue; // look further back
    const marker = start < 0 && end < 0 ? undefined : start > end ? "start" : "end";
    return { marker, editorReading: editorReadingIn(tail, nonce) };
  }
  return { marker: undefined, editorReading: false };
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
    ok = await pasteText(config, name, text, { keys: options.enter !== false ? ["Enter"] : [] });
  }
  if (!ok) {
    if (!(await hasSession(config, name))) throw new NoSessionError(name);
    throw new KttyError("tmux_failed", `tmux could not type into session '${name}'`);
  }
  return lock.cell_id;
}

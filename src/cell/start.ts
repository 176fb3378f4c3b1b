/**
 * Starting a cell: take the lock, type the code, announce it. `run` then watches it in-process;
 * `fire` hands the watching to a detached background watcher and returns at once; a `run` that
 * timed out or is being stopped hands its cell over to one.
 * @module
 */

import { KttyError, NoSessionError, UsageError } from "../errors.ts";
import { appendEvent } from "../events/log.ts";
import { FileFollower } from "../follow.ts";
import {
  abandonCell,
  acquireLock,
  announceCell,
  type CellLock,
  claimLock,
  endClaimedCell,
  finishClaim,
  giveBack,
  giveBackUnannounced,
  handOver,
  lockHeld,
  ownerGone,
  readLock,
} from "../lock.ts";
import { readMeta, type SessionMeta } from "../session/meta.ts";
import { noteIdlePipeDeath, takeIdlePipeDeath } from "../session/pipe.ts";
import { isAlive, type ProcessId, processId } from "../proc.ts";
import {
  assertCellId,
  ioError,
  type KernelConfig,
  newCellId,
  pathExists,
  removeIfExists,
  resultPath,
  type SessionPaths,
  sessionPaths,
  writeFileAtomic,
} from "../state.ts";
import { hasSession, pasteText } from "../tmux.ts";
import { handCell, markReady } from "../watcher_queue.ts";
import { mark } from "../trace.ts";
import { type BusyResult, busyResult, type FinalResult, type FiredResult } from "../types.ts";
import { cellLimits, type CellOptions, FIRE_TIMEOUT_MS, RUN_TIMEOUT_MS } from "./options.ts";
import {
  atPromptAndReading,
  awaitPrompt,
  EDITOR_WAIT_MS,
  paneLogSize,
  replaced,
} from "./prompt.ts";
import { codePreview, errorResult } from "./record.ts";
import { planCell, type TypingPlan } from "./typing.ts";
import { endCellOfDeadSession, watchCell } from "./watch.ts";

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
      continuations: plan.bracketed ? 0 : plan.lines.length - 1,
      code: codePreview(code.split("\n")),
      max_output: maxOutput,
    };
    let acquired: boolean;
    try {
      acquired = await acquireLock(paths, lock);
    } catch (e) {
      await dropCodeFile();
      // The session's directory is gone: `k kill` removed it meanwhile.
      if (e instanceof KttyError && e.cause instanceof Deno.errors.NotFound) {
        throw new NoSessionError(name);
      }
      throw e;
    }
    if (!acquired) {
      await dropCodeFile();
      const active = await readLock(paths).catch(() => undefined);
      if (!(await hasSession(config, name))) {
        // The session died under that cell: end it (whoever notices first) and say so.
        if (active) await endCellOfDeadSession(paths, meta, active);
        throw new NoSessionError(name);
      }
      const ownerDead = active !== undefined && !(await isAlive(active.owner));
      // A cell whose starter died before announcing it was never typed: given back, try again.
      if (ownerDead && attempt < 3 && await giveBackUnannounced(paths, active)) continue;
      const busy = busyResult(active?.cell_id ?? "unknown");
      if (active && ownerDead) busy.output += ` (${ownerGone(active)}; use k int ${name})`;
      return busy;
    }
    // The check holds if nothing came in between (the log did not grow: no cell ran meanwhile).
    // Else check again, with the lock given back; a program printing on its own (a background
    // job) may make the log grow every time: the third time, the check is made under the lock.
    grown = paneLogSize(paths, name) !== offset;
    if (!grown || attempt === 3) break;
    await dropCodeFile();
    if (!(await giveBack(paths, cellId))) {
      throw endedUntyped(cellId);
    }
  }
  mark("lock taken");
  // Until the cell is announced, any failure gives the lock back: nothing was typed. It is
  // announced (`fired` in the log) before tmux is asked to type, so a process killed at any point
  // leaves no typed cell unannounced (rule 6 of src/lock.ts); after, a failure ends it as an
  // error: it may have run.
  let follower: FileFollower | undefined;
  let announced = false;
  try {
    // The lock was free only by the time it was taken (a cell just ended), or the log grew.
    if (!ready || grown) {
      await awaitPrompt(config, paths, meta, name, waitMs, true);
    }
    const idleDeath = takeIdlePipeDeath(paths, meta); // the paste re-arms the pipe: see it first
    if (idleDeath) await noteIdlePipeDeath(paths, meta, idleDeath).catch(() => {}); // before `fired`
    const announcement = await announceCell(paths, name, cellId);
    if (announcement === "closed") throw new NoSessionError(name); // k kill, or its program exited
    if (announcement === "ended") {
      throw endedUntyped(cellId);
    }
    announced = true;
    mark("fired event written");
    const typing = pasteText(config, name, plan.text, {
      dir: paths.dir,
      bracketed: plan.bracketed,
      keys: plan.keys,
      before: plan.drain,
      pipeLog: paths.log, // re-armed first if it died: the cell's output must reach the log
    });
    typing.catch(() => {}); // handled below; not "unhandled" should the work meanwhile yield
    mark("tmux spawned");
    // Meanwhile: what the watching needs, and the bookkeeping, which may not fail the cell.
    if (request.follow) {
      follower = await FileFollower.open(paths.log, lock.offset).catch(() => undefined);
    }
    mark("log opened");
    await writeFileAtomic(paths.last, cellId, { durable: false }).catch(() => {});
    if (!(await typing)) {
      if (!(await hasSession(config, name))) throw new NoSessionError(name);
      throw new KttyError("tmux_failed", `tmux could not type into session '${name}'`);
    }
  } catch (e) {
    // Clean up as far as possible; the error that stands is the one that got here.
    await follower?.close().catch(() => {});
    if (!announced) {
      await giveBack(paths, cellId).catch(() => false);
    } else if (await claimLock(paths, cellId).catch(() => false)) {
      const output = e instanceof Error ? e.message : String(e);
      await endClaimedCell(paths, name, lock, errorResult(lock, output), "error")
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

/** What a starter says of its cell when another party (k int, k kill) ended it before typing. */
function endedUntyped(cellId: string): KttyError {
  return new KttyError(
    "not_ready",
    `cell ${cellId} was ended (k int, k kill) before it was typed; nothing was typed`,
  );
}

/** The id of a new cell: the caller's ({@link CellOptions.cellId}) if unused, else a fresh one. */
function chosenCellId(config: KernelConfig, name: string, options: CellOptions): string {
  if (options.cellId === undefined) return newCellId();
  assertCellId(options.cellId);
  if (pathExists(resultPath(sessionPaths(config, name), options.cellId))) {
    throw new UsageError(`cell id ${options.cellId} is already used in session '${name}'`);
  }
  return options.cellId;
}

/** Runs `code` in session `name` and waits for its result (SPEC section 4). */
export async function runCell(
  config: KernelConfig,
  name: string,
  code: string,
  options: CellOptions = {},
): Promise<FinalResult | BusyResult> {
  const limits = cellLimits(code, options, RUN_TIMEOUT_MS);
  const cellId = chosenCellId(config, name, options);
  const owner = await processId(Deno.pid) ?? { pid: Deno.pid, start: "" };
  const started = await startCell(config, name, {
    cellId,
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
  let result: FinalResult;
  try {
    result = await watchCell({ config, ...started, reportTimeout: true, afterTimeout: "return" });
  } catch (e) {
    // What stopped the watching (a full disk) ends the cell: this process never dies holding it.
    const released = await abandonCell(config, started.paths, name, started.lock, e);
    if (released && e instanceof KttyError && e.code === "io") {
      const ended = `cell ${started.lock.cell_id} ended as an error; its lock is released`;
      throw new KttyError("io", `${e.message} (${ended})`, { cause: e });
    }
    throw e;
  }
  // A timeout ends the wait, not the cell: a background watcher takes it over and records its
  // end (it does not store a second timeout).
  if (result.status === "timeout") await handOffRun(config, name).catch(() => undefined);
  return result;
}

/**
 * Types `code` in session `name` and hands the watching to a detached background process;
 * returns at once. The shared watcher (src/watcher_queue.ts) is told first, so the lock can name
 * it as owner from the start.
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
  const cellId = chosenCellId(config, name, options);
  // The shared watcher learns of the cell before its lock is taken, so the lock names it.
  const owner = handCell(config, name, cellId);
  try {
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
    // The watcher looks at the lock now: its cell's, or nothing to do.
    markReady(config, cellId);
  }
}

/**
 * For a `run` that timed out, or is about to be stopped (its process got SIGINT/SIGTERM, say a
 * harness timeout): if this process watches the session's active cell, a background watcher
 * takes it over, as if the cell had been fired, so the cell goes on and its result is recorded
 * for `k poll` and `km`.
 * Returns the cell's id, or undefined when there was nothing to hand over.
 */
export async function handOffRun(config: KernelConfig, name: string): Promise<string | undefined> {
  const paths = sessionPaths(config, name);
  const lock = await readLock(paths).catch(() => undefined);
  if (!lock || lock.owner.pid !== Deno.pid) return undefined;
  const owner = handCell(config, name, lock.cell_id);
  try {
    // It may have ended meanwhile: then there is nothing to hand over.
    return (await handOver(paths, lock.cell_id, owner)) ? lock.cell_id : undefined;
  } finally {
    markReady(config, lock.cell_id);
  }
}

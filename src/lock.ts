/**
 * The cell lock protocol: the only module that reads or writes a session's `lock` file and the
 * claims beside it. Rules every caller relies on:
 *
 * 1. **One active cell.** A cell exists once {@link acquireLock} created `lock` (O_EXCL), before
 *    anything is typed; a refused acquire wrote nothing. The lock names the cell, where in the
 *    pane log it began, and its owner: the process watching it (pid and start time).
 * 2. **One party ends a cell.** Ending a cell means *claiming* its lock ({@link claimLock}: link
 *    it to `cells/<id>.closing`, check it is this cell's, unlink `lock`). The watcher, `k int` and
 *    `k kill` all claim first; whoever loses the race writes nothing.
 * 3. **Order of writes when a cell ends** ({@link endCell}, {@link endClaimedCell}): the claim,
 *    then the result record (atomic), then the claim is finished (`.closing` removed), then the
 *    event. So a reader that finds neither `lock` nor `.closing` for a cell finds its record, and
 *    a `km` follower woken by `done` reads a stored result. A result that cannot be stored (a full
 *    disk) does not keep the lock: the claim is finished all the same and the event is an `error`
 *    saying why ({@link ResultNotStoredError}); `poll` reports that event.
 * 4. **A timeout ends the wait, not the cell**: its owner stores a `timeout` record (once per
 *    cell), appends `timeout` and keeps the lock; the cell goes on being watched and ends as any
 *    other (rules 2 and 3: `done` follows `timeout`). Only the owner changes the owner
 *    ({@link handOver}: a `k run` that timed out or is being stopped hands its cell to a background
 *    watcher, which does not store a second timeout). A timed-out cell is watched until
 *    {@link watchEnd} (6 h after its start); then its watcher exits and leaves the lock as it is
 *    (`k int` ends it). A cell never typed is given back ({@link giveBack}): no record, no event.
 * 5. **What a reader may assume**: `lock` present: a cell is active (running, or timed out and
 *    still running); `.closing` present: its result is being written (wait for it, bounded);
 *    neither: it ended. A reader that finds the lock's owner dead may end the cell itself when the
 *    log shows its end, through {@link endCell} (so exactly one party records it).
 * 6. **Announced before typed.** Nothing is typed before the cell's `fired` event is in the log
 *    ({@link announceCell}: appended only while the lock is still the cell's, checked under the
 *    log's flock). So a cell without `fired` was never typed: whoever finds one whose starter died
 *    (or ends it with `k int`) gives it back ({@link giveBackUnannounced}): no record, no event,
 *    and every cell that was typed is in the log.
 * 7. **An owner that fails ends its cell** ({@link abandonCell}): a `k run` or watcher that meets
 *    an error it cannot go on from (a full disk) ends the cell as an `error` naming it, so it never
 *    dies holding the lock; if even that fails (a read-only file system), it leaves its reason in
 *    the session's tmux server ({@link ownerDeathNote}), where `poll` finds it.
 * @module
 */

import { codePreview, errorResult, readCellRecord, writeCellRecord } from "./cell/record.ts";
import { KttyError, ResultNotStoredError } from "./errors.ts";
import { appendEvent, cellAnnounced } from "./events/log.ts";
import { trimAfterCell } from "./session/disk.ts";
import type { ProcessId } from "./proc.ts";
import {
  assertCellId,
  createExclusive,
  ioError,
  type KernelConfig,
  message,
  pathExists,
  readJsonFile,
  removeIfExists,
  type SessionPaths,
  writeFileAtomic,
} from "./state.ts";
import { sessionOption, setSessionOption } from "./tmux.ts";
import { type DoneResult, type ErrorResult, type FinalResult, isRecord } from "./types.ts";

/** What the lock file records about the active cell. */
export interface CellLock {
  /** The cell's id. */
  cell_id: string;
  /** Byte offset in the pane log where the cell began. */
  offset: number;
  /** The process watching the cell: `k run` itself, or the background watcher of `fire`. */
  owner: ProcessId;
  /** Which kind of process the owner is. */
  owner_kind: "run" | "fire";
  /** When the cell began, UTC ISO-8601. */
  started_at: string;
  /** When the cell began, ms since the epoch. */
  started_ms: number;
  /** The cell's time limit in ms. */
  timeout_ms: number;
  /** The lines that were typed. */
  lines: string[];
  /**
   * How many continuation prompts the typing itself brings (a shell's PS2 for each typed line after
   * the first; none for one line or one bracketed paste): one more means the code is incomplete.
   * Absent in locks of older versions: no check.
   */
  continuations?: number;
  /**
   * The first line of the cell's code (cut at 120 characters), for its record and `k history`:
   * the typed lines may be a runner's call (`__k('<id>')`). Absent in older locks: the lines.
   */
  code?: string;
  /** The output budget in characters. */
  max_output: number;
}

/**
 * How long after its start a timed-out cell goes on being watched in the background. Past it the
 * watcher exits, the lock stays, and `k int` (or `k kill`) ends the cell.
 */
export const WATCH_BOUND_MS = 6 * 60 * 60 * 1000;

/** {@link WATCH_BOUND_MS} in words, for messages. */
export const WATCH_BOUND_TEXT = "6 h";

/**
 * When the watching of cell `lock` ends at the latest: {@link WATCH_BOUND_MS} after its start, or
 * its own deadline if that is later (a cell timing out past the bound is not watched on).
 */
export function watchEnd(lock: Pick<CellLock, "started_ms" | "timeout_ms">): number {
  return lock.started_ms + Math.max(lock.timeout_ms, WATCH_BOUND_MS);
}

/** Whether cell `lock` is past {@link watchEnd}: no watcher watches it any more. */
export function pastWatchEnd(
  lock: Pick<CellLock, "started_ms" | "timeout_ms">,
  now: number = Date.now(),
): boolean {
  return now >= watchEnd(lock);
}

/**
 * Why nobody watches the active cell `lock` whose owner is gone, in words for a message: past the
 * bound, or its watcher died.
 */
export function ownerGone(lock: CellLock, now: number = Date.now()): string {
  return pastWatchEnd(lock, now)
    ? `no longer watched after ${WATCH_BOUND_TEXT}`
    : "its watcher died";
}

/** A claim is held for milliseconds; one this old was left by a process that died. */
const STALE_CLAIM_MS = 5000;
/** How long a loser of the race to end a cell waits for the winner's record. */
const CLAIM_WAIT_MS = 2000;
const CLAIM_WAIT_STEP_MS = 10;

/** Takes the session's lock; false (and nothing written) when another cell holds it. */
export function acquireLock(paths: SessionPaths, lock: CellLock): Promise<boolean> {
  return createExclusive(paths.lock, JSON.stringify(lock));
}

/** Decodes a lock file's content; throws {@link KttyError} when it is corrupt. */
function decodeLock(value: unknown, path: string): CellLock {
  if (
    !isRecord(value) || typeof value.cell_id !== "string" || typeof value.offset !== "number" ||
    !isRecord(value.owner) || typeof value.owner.pid !== "number" ||
    typeof value.started_ms !== "number" || typeof value.timeout_ms !== "number" ||
    !Array.isArray(value.lines)
  ) {
    throw corruptLock(path);
  }
  assertCellId(value.cell_id);
  return value as unknown as CellLock;
}

/** The active cell's lock, or undefined when the session is idle. */
export async function readLock(paths: SessionPaths): Promise<CellLock | undefined> {
  try {
    const value = await readJsonFile(paths.lock);
    return value === undefined ? undefined : decodeLock(value, paths.lock);
  } catch (e) {
    if (e instanceof KttyError && e.code !== "io") throw corruptLock(paths.lock);
    throw e;
  }
}

function corruptLock(path: string): KttyError {
  return new KttyError("state_corrupt", `corrupt lock file '${path}'; use k int or k kill`);
}

/** Whether a cell holds the session's lock now (a synchronous look: every cell pays it). */
export function lockHeld(paths: SessionPaths): boolean {
  return pathExists(paths.lock);
}

/**
 * Gives back the lock of cell `cellId`, which was never typed: no record, no event. False when
 * someone else (`k int`, `k kill`) ended it meanwhile.
 */
export async function giveBack(paths: SessionPaths, cellId: string): Promise<boolean> {
  if (!(await claimLock(paths, cellId))) return false;
  await finishClaim(paths, cellId);
  return true;
}

/**
 * Appends cell `cellId`'s `fired` event if its lock is still the session's (checked under the
 * log's flock, see rule 6): `announced`. Otherwise nothing is appended and the cell must not be
 * typed: `ended` when someone (`k int`) ended it meanwhile, `closed` when the session's log is
 * closed or its state gone (`k kill`, its program exited). Throws when the log cannot be written
 * (then it must not be typed either).
 */
export async function announceCell(
  paths: SessionPaths,
  session: string,
  cellId: string,
): Promise<"announced" | "ended" | "closed"> {
  let ours = true;
  const stillOurs = () => {
    try {
      ours = JSON.parse(Deno.readTextFileSync(paths.lock))?.cell_id === cellId;
    } catch {
      ours = false;
    }
    return ours;
  };
  const body = { status: "fired", cell_id: cellId } as const;
  if (await appendEvent(paths.events, session, body, stillOurs)) return "announced";
  return ours ? "closed" : "ended";
}

/**
 * For whoever finds active cell `lock` and its starter gone (a reader, a busy `run`, the watcher
 * taking it over): if its `fired` is not in the log, it was never typed (rule 6) and is given
 * back, with no record and no event; returns true then. Otherwise the cell stands, and the
 * session's `last` is made to name it (its starter may have died before writing it).
 */
export async function giveBackUnannounced(
  paths: SessionPaths,
  lock: Pick<CellLock, "cell_id">,
): Promise<boolean> {
  if (await cellAnnounced(paths.events, lock.cell_id)) {
    await nameLast(paths, lock.cell_id).catch(() => {});
    return false;
  }
  return await giveBack(paths, lock.cell_id);
}

/** Makes the session's `last` name cell `cellId`, unless it does already. */
export async function nameLast(paths: SessionPaths, cellId: string): Promise<void> {
  const last = await Deno.readTextFile(paths.last).catch(() => "");
  if (last.trim() !== cellId) await writeFileAtomic(paths.last, cellId, { durable: false });
}

/**
 * Makes `owner` the owner of cell `cellId` (a `run` handing its cell to a background watcher).
 * False when the cell is no longer the active one.
 */
export async function handOver(
  paths: SessionPaths,
  cellId: string,
  owner: ProcessId,
): Promise<boolean> {
  const current = await readLock(paths).catch(() => undefined);
  if (current?.cell_id !== cellId) return false;
  const lock: CellLock = { ...current, owner, owner_kind: "fire" };
  await writeFileAtomic(paths.lock, JSON.stringify(lock), { durable: false });
  return true;
}

/** Where a claimed lock waits while its claimer writes the result. */
function closingPath(paths: SessionPaths, cellId: string): string {
  assertCellId(cellId);
  return `${paths.cells}/${cellId}.closing`;
}

/**
 * Claims the lock of cell `cellId` so the caller alone may write its final result. Returns false
 * when the lock is gone or belongs to another cell (which keeps it). Call {@link finishClaim}
 * after writing the result (or use {@link endClaimedCell}).
 */
export async function claimLock(paths: SessionPaths, cellId: string): Promise<boolean> {
  const closing = closingPath(paths, cellId);
  // Link, check, then unlink: the lock never goes missing while it is being checked, and a
  // second claimer of the same cell fails at the link (it never overwrites).
  try {
    Deno.linkSync(paths.lock, closing);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.AlreadyExists) return false;
    throw ioError("write", closing, e);
  }
  let owner: string | undefined;
  try {
    const value = await readJsonFile(closing);
    owner = isRecord(value) && typeof value.cell_id === "string" ? value.cell_id : undefined;
  } catch {
    owner = undefined; // corrupt: whoever claims it may end it
  }
  if (owner !== undefined && owner !== cellId) {
    await removeIfExists(closing).catch(() => {}); // another cell's lock: left as it was
    return false;
  }
  try {
    await removeIfExists(paths.lock);
  } catch (e) {
    await removeIfExists(closing).catch(() => {});
    throw ioError("remove", paths.lock, e);
  }
  return true;
}

/**
 * Claims whatever lock the session has, corrupt or not (for `k int`/`k kill` recovery). A corrupt
 * lock is removed ("corrupt"); a claim left by a claimer that died is cleared once it is older
 * than a live claimer could be.
 *
 * @param now the current time in ms (injectable for tests)
 */
export async function claimAnyLock(
  paths: SessionPaths,
  now: () => number = Date.now,
): Promise<CellLock | "corrupt" | undefined> {
  let lock: CellLock | undefined;
  try {
    lock = await readLock(paths);
  } catch (e) {
    if (!(e instanceof KttyError)) throw e;
    await removeIfExists(paths.lock);
    return "corrupt";
  }
  if (!lock) return undefined;
  if (await claimLock(paths, lock.cell_id)) return lock;
  const closing = closingPath(paths, lock.cell_id);
  const age = await Deno.stat(closing).then((i) => now() - (i.mtime?.getTime() ?? 0), () => 0);
  if (age < STALE_CLAIM_MS) return undefined;
  await removeIfExists(closing);
  return (await claimLock(paths, lock.cell_id)) ? lock : undefined;
}

/** Ends a claim once the result is written. */
export async function finishClaim(paths: SessionPaths, cellId: string): Promise<void> {
  await removeIfExists(closingPath(paths, cellId));
}

/**
 * Waits (bounded) while a claimer writes cell `cellId`'s result; true when the claim is over.
 */
export async function awaitClaim(paths: SessionPaths, cellId: string): Promise<boolean> {
  const deadline = Date.now() + CLAIM_WAIT_MS;
  while (await isClosing(paths, cellId)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, CLAIM_WAIT_STEP_MS));
  }
  return true;
}

/** True while a claimer is writing cell `cellId`'s result. */
export async function isClosing(paths: SessionPaths, cellId: string): Promise<boolean> {
  try {
    await Deno.lstat(closingPath(paths, cellId));
    return true;
  } catch {
    return false;
  }
}

/** The event a cell's end appends. */
export type EndEvent = "done" | "interrupted" | "error";

/**
 * Ends cell `lock.cell_id` with `result`, unless someone else ended it first; returns the result
 * that stands. Claims the lock, then as {@link endClaimedCell}.
 */
export async function endCell(
  paths: SessionPaths,
  session: string,
  lock: CellLock,
  result: DoneResult | ErrorResult,
  event: EndEvent,
): Promise<FinalResult> {
  if (!(await claimLock(paths, lock.cell_id))) {
    // Someone else (k int) is ending it: wait (bounded) for the record they write.
    await awaitClaim(paths, lock.cell_id);
    const other = await readCellRecord(paths, lock.cell_id).catch(() => undefined);
    return other?.result ?? { cell_id: lock.cell_id, status: "error", output: "session killed" };
  }
  return await endClaimedCell(paths, session, lock, result, event);
}

/**
 * For the holder of a claim on `lock`: stores the cell's final record, finishes the claim, then
 * appends the event (rule 3). When the record cannot be stored, the claim is finished all the
 * same, the event is an `error` saying what the cell's end was and why it is not stored, and
 * {@link ResultNotStoredError} is thrown: the session is free, the result lost.
 */
export async function endClaimedCell(
  paths: SessionPaths,
  session: string,
  lock: CellLock,
  result: DoneResult | ErrorResult,
  event: EndEvent,
): Promise<FinalResult> {
  const cell_id = lock.cell_id;
  try {
    await writeCellRecord(paths, {
      result,
      code: lock.code ?? codePreview(lock.lines),
      started_at: lock.started_at,
      reported: true,
    });
  } catch (e) {
    const reason = message(e);
    await finishClaim(paths, cell_id).catch(() => {});
    const what = endInWords(result, event);
    const note = `${what}; its result could not be stored: ${reason}`;
    await appendEvent(paths.events, session, { status: "error", cell_id, message: note })
      .catch(() => undefined);
    throw new ResultNotStoredError(cell_id, what, reason, { cause: e });
  }
  await finishClaim(paths, cell_id);
  let ended;
  if (event === "done" && result.status === "done") {
    const { exit_code, duration_ms } = result;
    ended = await appendEvent(paths.events, session, {
      status: "done",
      cell_id,
      exit_code,
      duration_ms,
    });
  } else if (event === "interrupted") {
    ended = await appendEvent(paths.events, session, { status: "interrupted", cell_id });
  } else {
    ended = await appendEvent(paths.events, session, {
      status: "error",
      cell_id,
      message: result.output,
    });
  }
  // A cell's end is when the session's disk is looked at (never on a timer): see disk.ts.
  await trimAfterCell(paths, session, ended?.seq);
  return result;
}

/** A cell's end in a few words: `done (exit 0)`, `interrupted`, `ended in error: …`. */
function endInWords(result: DoneResult | ErrorResult, event: EndEvent): string {
  if (event === "interrupted") return "interrupted";
  if (result.status === "done") return `done (exit ${result.exit_code ?? "unknown"})`;
  return `ended in error: ${result.output}`;
}

/** The tmux user option that keeps why the owner of a session's active cell died. */
const OWNER_DEATH_OPTION = "@ktty-owner-died";

/**
 * For the owner of cell `lock` (a `k run`, a watcher) that fails with `error` and cannot go on
 * (rule 7): ends the cell as an `error` naming it, so the lock is not left behind; returns true
 * then (or when the cell was ended already). When even that fails (a read-only file system),
 * leaves the reason where {@link ownerDeathNote} finds it, in the session's tmux server rather
 * than on the file system that failed, and returns false: the lock is still held.
 */
export async function abandonCell(
  config: KernelConfig,
  paths: SessionPaths,
  session: string,
  lock: CellLock,
  error: unknown,
): Promise<boolean> {
  if (error instanceof ResultNotStoredError) return true; // ended already, the lock released
  const reason = message(error);
  try {
    await endCell(paths, session, lock, errorResult(lock, reason), "error");
    return true;
  } catch (e) {
    if (e instanceof ResultNotStoredError) return true;
  }
  const note = `${lock.cell_id} ${lock.owner.pid} ${reason}`;
  await setSessionOption(config, session, OWNER_DEATH_OPTION, note).catch(() => false);
  return false;
}

/** Why the dead owner of cell `lock` died, as it left it ({@link abandonCell}); else undefined. */
export async function ownerDeathNote(
  config: KernelConfig,
  session: string,
  lock: CellLock,
): Promise<string | undefined> {
  const note = await sessionOption(config, session, OWNER_DEATH_OPTION).catch(() => undefined);
  const prefix = `${lock.cell_id} ${lock.owner.pid} `;
  return note?.startsWith(prefix) ? note.slice(prefix.length) : undefined;
}

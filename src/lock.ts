/**
 * The active cell's lock: one file per session, created with O_EXCL before anything is typed.
 * Ending a cell *claims* the lock by renaming it away, so exactly one party (the watcher, `k int`,
 * `k kill`) writes the cell's final result.
 * @module
 */

import { KttyError } from "./errors.ts";
import type { ProcessId } from "./proc.ts";
import {
  assertCellId,
  createExclusive,
  readJsonFile,
  removeIfExists,
  type SessionPaths,
} from "./state.ts";
import { isRecord } from "./types.ts";

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
  /** The output budget in characters. */
  max_output: number;
}

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

/** Where a claimed lock waits while its claimer writes the result. */
export function closingPath(paths: SessionPaths, cellId: string): string {
  assertCellId(cellId);
  return `${paths.cells}/${cellId}.closing`;
}

/**
 * Claims the lock of cell `cellId` so the caller alone may write its final result. Returns false
 * when the lock is gone or belongs to another cell (which keeps it). Call {@link finishClaim}
 * after writing the result.
 */
export async function claimLock(paths: SessionPaths, cellId: string): Promise<boolean> {
  const closing = closingPath(paths, cellId);
  // Link, check, then unlink: the lock never goes missing while it is being checked, and a
  // second claimer of the same cell fails at the link (it never overwrites).
  try {
    Deno.linkSync(paths.lock, closing);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.AlreadyExists) return false;
    throw e;
  }
  let owner: string | undefined;
  try {
    const value = await readJsonFile(closing);
    owner = isRecord(value) && typeof value.cell_id === "string" ? value.cell_id : undefined;
  } catch {
    owner = undefined; // corrupt: whoever claims it may end it
  }
  if (owner !== undefined && owner !== cellId) {
    await removeIfExists(closing); // another cell's lock: left as it was
    return false;
  }
  await removeIfExists(paths.lock);
  return true;
}

/** Claims whatever lock the session has, corrupt or not (for `k int`/`k kill` recovery). */
export async function claimAnyLock(paths: SessionPaths): Promise<CellLock | "corrupt" | undefined> {
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
  // A claim left by a claimer that died mid-way would block the cell forever: `k int` is the
  // recovery tool, so it clears a claim older than a live claimer could be.
  const closing = closingPath(paths, lock.cell_id);
  const age = await Deno.stat(closing).then((i) => Date.now() - (i.mtime?.getTime() ?? 0), () => 0);
  if (age < STALE_CLAIM_MS) return undefined;
  await removeIfExists(closing);
  return (await claimLock(paths, lock.cell_id)) ? lock : undefined;
}

/** A claim is held for milliseconds; one this old was left by a process that died. */
const STALE_CLAIM_MS = 5000;

/** Ends a claim once the result is written. */
export async function finishClaim(paths: SessionPaths, cellId: string): Promise<void> {
  await removeIfExists(closingPath(paths, cellId));
}

/** Whether a cell holds the session's lock now (a synchronous look: every cell pays it). */
export function lockHeld(paths: SessionPaths): boolean {
  try {
    Deno.lstatSync(paths.lock);
    return true;
  } catch {
    return false;
  }
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

/**
 * Ending sessions: `k kill` (watcher, tmux session, the pane's process tree, state) and
 * `k ls --prune` (stale state whose tmux session is gone), each appending `closed` first so
 * followers see it.
 * @module
 */

import { NoSessionError } from "../errors.ts";
import { errorResult } from "../cell/record.ts";
import { appendEvent, cellAnnounced } from "../events/log.ts";
import { claimAnyLock, endClaimedCell, finishClaim, readLock } from "../lock.ts";
import {
  type EndedProcess,
  endProcesses,
  type EndStep,
  processTree,
  type TreeProcess,
} from "../proc.ts";
import {
  ioError,
  type KernelConfig,
  pathsIn,
  type SessionPaths,
  sessionPaths,
  socketDir,
} from "../state.ts";
import { hasSession, killSession, killViews } from "../tmux.ts";
import { readMetaIfAny } from "./meta.ts";
import { listSessions, type SessionStatus } from "./status.ts";
import { dropFromWatcher } from "../watcher_queue.ts";

/** Removes a session's state directory; nothing to remove is no error. */
export async function removeState(paths: SessionPaths): Promise<void> {
  // A racing `fire` may add a file while the tree is removed ("directory not empty"): try again.
  for (let attempt = 1;; attempt++) {
    try {
      await Deno.remove(paths.dir, { recursive: true });
      return;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      if (attempt >= REMOVE_ATTEMPTS) throw ioError("remove", paths.dir, e);
    }
  }
}

const REMOVE_ATTEMPTS = 5;

/** What `kill` did to the session's processes, beyond closing its terminal. */
export interface KillResult {
  /**
   * The processes of the pane's tree that outlived the terminal's hangup, each with the signal
   * that ended it (`SIGTERM`, else `SIGKILL`); empty when the hangup ended them all.
   */
  ended: EndedProcess[];
  /**
   * The processes of the pane's tree still alive after SIGKILL (an uninterruptible wait); empty
   * when the whole tree is gone.
   */
  survivors: { command: string; pid: number }[];
}

/** Options of {@link killSessionAndState}. */
export interface KillOptions {
  /**
   * Keep the session's history: its metadata, event log and results stay (so `history`, `poll`
   * and `km --from` answer for it) until `k ls --prune`; a new session of the name continues its
   * log. Default false: everything goes.
   */
  keep?: boolean;
}

/** What `k kill --keep` leaves of a session's state: what history, poll and km read. */
const HISTORY_FILES = new Set(["meta.json", "events.jsonl", "events.start", "cells", "kept"]);

/** Removes a session's state but its history ({@link HISTORY_FILES}). */
export async function removeAllButHistory(paths: SessionPaths): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(paths.dir)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw ioError("read", paths.dir, e);
  }
  for (const entry of entries) {
    if (HISTORY_FILES.has(entry.name)) continue;
    await Deno.remove(`${paths.dir}/${entry.name}`, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw ioError("remove", paths.dir, e);
    });
  }
}

/** Records the active cell, if any, as ended by the kill, so `poll` answers for it later. */
async function endActiveCell(paths: SessionPaths, name: string): Promise<void> {
  const lock = await claimAnyLock(paths).catch(() => undefined);
  if (!lock || lock === "corrupt") return;
  if (!(await cellAnnounced(paths.events, lock.cell_id))) {
    await finishClaim(paths, lock.cell_id); // never typed (lock rule 6): no record
    return;
  }
  const result = errorResult(lock, `session '${name}' was killed while the cell was running`);
  await endClaimedCell(paths, name, lock, result, "error").catch(() => undefined);
}

/**
 * How the pane's tree is ended once tmux has closed its terminal: the hangup's own effect first
 * (a shell ends its jobs), then SIGTERM to what is left, then SIGKILL. Each step ends as soon as
 * nothing is left.
 */
const TREE_END_STEPS: readonly EndStep[] = [
  { signal: undefined, graceMs: 500 },
  { signal: "SIGTERM", graceMs: 1500 },
  { signal: "SIGKILL", graceMs: 1000 },
];

/**
 * Ends a session: its watcher, its tmux session, its pane's whole process tree and its state.
 * Appends `closed` first so event followers see it (with `keep`, after the running cell's end). The tree (the program `new` started and
 * every live descendant, in whatever process group or session) is read before tmux closes the
 * terminal, since its orphans are then reparented out of it. A session without ktty's state is
 * only closed (its terminal's hangup): ktty signals no process of a session it did not start.
 * With `keep`, the active cell is recorded as killed and the history stays (see
 * {@link KillOptions}). Throws {@link NoSessionError} when there was nothing to kill.
 */
export async function killSessionAndState(
  config: KernelConfig,
  name: string,
  options: KillOptions = {},
): Promise<KillResult> {
  const paths = sessionPaths(config, name);
  let hadState = true;
  try {
    await Deno.lstat(paths.dir);
  } catch {
    hadState = false;
  }
  let tree: TreeProcess[] = [];
  if (hadState) {
    const lock = await readLock(paths).catch(() => undefined);
    if (lock?.owner_kind === "fire") await dropFromWatcher(config, lock.cell_id, lock.owner);
    // Kept history tells how the running cell ended: its `error` goes in before `closed`, as a
    // cell whose session died (src/cell/watch.ts), since nothing is appended after `closed`.
    if (options.keep) await endActiveCell(paths, name);
    await appendEvent(paths.events, name, { status: "closed", reason: "killed" }).catch(() => {});
    // A `fire` that slipped in before `closed` gets its result (its event would come too late).
    if (options.keep) await endActiveCell(paths, name);
    const meta = await readMetaIfAny(paths).catch(() => undefined);
    if (meta) tree = await processTree(meta.pane);
  }
  // A peek or attach view shares the session's window and would keep its program running.
  await killViews(config, name);
  const killed = await killSession(config, name);
  if (hadState && options.keep) {
    await removeAllButHistory(paths);
    await Deno.writeTextFile(paths.kept, "", { mode: 0o600 }).catch((e) => {
      throw ioError("write", paths.kept, e);
    });
  } else if (hadState) await removeState(paths);
  if (!hadState && !killed) throw new NoSessionError(name);
  const { ended, survivors } = await endProcesses(tree, TREE_END_STEPS);
  return { ended, survivors: survivors.map(({ command, pid }) => ({ command, pid })) };
}

/**
 * Removes every stale session (state left, tmux session gone): appends `closed` (reason
 * `pruned`) to its event log, ends a watcher that may still hold its lock, and removes its state
 * directory. A session that comes back to life meanwhile (`k new` on the same name) is left
 * alone: the directory is first renamed aside and only removed if it is still the one listed.
 *
 * @returns the stale sessions as they were listed, each marked `pruned`, sorted by name
 */
export async function pruneStaleSessions(config: KernelConfig): Promise<SessionStatus[]> {
  const pruned: SessionStatus[] = [];
  for (const status of await listSessions(config)) {
    if (status.state !== "stale") continue;
    if (await pruneSession(config, status)) pruned.push({ ...status, pruned: true });
  }
  return pruned;
}

async function pruneSession(config: KernelConfig, status: SessionStatus): Promise<boolean> {
  const paths = sessionPaths(config, status.session);
  if (await hasSession(config, status.session)) return false;
  const aside = `${socketDir(config)}/.pruning-${status.session}-${crypto.randomUUID()}`;
  try {
    await Deno.rename(paths.dir, aside);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false; // someone else removed it
    throw e;
  }
  const movedPaths = pathsIn(aside);
  const meta = await readMetaIfAny(movedPaths).catch(() => undefined);
  if (meta?.created_at !== status.created_at || (await hasSession(config, status.session))) {
    // Not the stale session that was listed: a `k new` replaced it meanwhile. Put it back.
    await Deno.rename(aside, paths.dir).catch(() => {});
    return false;
  }
  const lock = await readLock(movedPaths).catch(() => undefined);
  if (lock?.owner_kind === "fire") await dropFromWatcher(config, lock.cell_id, lock.owner);
  await appendEvent(movedPaths.events, status.session, { status: "closed", reason: "pruned" })
    .catch(() => {});
  await Deno.remove(aside, { recursive: true });
  return true;
}

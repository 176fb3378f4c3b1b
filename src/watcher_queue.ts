/**
 * The shared background watcher's hand-over protocol. One watcher process per state dir and
 * socket (src/watcher.ts) watches every fired or handed-over cell of every session, so a fleet of
 * fired cells costs one process, not one each. Its files live in `<socket dir>/.watcher/` (not a
 * session name: a name never starts with a dot):
 *
 * - `owner`: the registered watcher's pid and start time, or empty; also the file whose `flock`
 *   serialises hand-overs with the watcher's decision to exit.
 * - `<cell_id>.json`: an entry, a cell handed to the watcher it names, written (under the flock)
 *   before the cell's lock is taken, so the lock's owner is that watcher from the start.
 * - `<cell_id>.ready`: the starter (`k fire`, a `k run` handing over) is done; the watcher looks at
 *   the lock then (or when the starter died: then an unannounced cell is given back, rule 6 of
 *   src/lock.ts).
 * - `<cell_id>.drop`: `k int`/`k kill` ended the cell; the watcher stops watching it (and closes
 *   its hook) and removes the entry, and goes on watching the others.
 *
 * Rules: a starter reads `owner` and writes its entry under the flock, and starts a watcher (and
 * registers it) when none lives; the watcher exits only under the flock, when no entry names it,
 * clearing `owner` first. So an entry is never written for a watcher that is leaving, and the
 * lock's owner is always the process that watches the cell (poll's "watcher died" stays right).
 * @module
 */

import { isAliveNow, type ProcessId, processStartNow } from "./proc.ts";
import { assertCellId, ioError, type KernelConfig, pathExists, socketDir } from "./state.ts";
import { watcherModule } from "./start.ts";
import { isRecord } from "./types.ts";

/** A cell handed to the shared watcher. */
export interface WatchEntry {
  /** The cell's session. */
  session: string;
  /** The cell's id. */
  cell_id: string;
  /** The watcher that watches it (the lock's owner). */
  watcher: ProcessId;
  /** The process that starts the cell or hands it over; its death counts as `ready`. */
  starter: ProcessId;
}

/** How long `k int` waits for the watcher to let go of a cell it dropped. */
const DROP_WAIT_MS = 1000;
const DROP_POLL_MS = 20;

/** The shared watcher's directory for socket `config`. */
export function watcherDir(config: KernelConfig): string {
  return `${socketDir(config)}/.watcher`;
}

/** Path of one of cell `cellId`'s protocol files (`json`, `ready`, `drop`). */
export function entryPath(
  config: KernelConfig,
  cellId: string,
  kind: "json" | "ready" | "drop",
): string {
  assertCellId(cellId);
  return `${watcherDir(config)}/${cellId}.${kind}`;
}

/** This process's identity. */
export function selfId(): ProcessId {
  return { pid: Deno.pid, start: processStartNow(Deno.pid) ?? "" };
}

/**
 * Runs `f` holding the exclusive flock on the watcher's `owner` file. `f` must be synchronous:
 * a second flock of the same file in this process would block the thread for good.
 */
export function underOwnerLock<T>(
  config: KernelConfig,
  f: (owner: Deno.FsFile) => T,
  create = true,
): T {
  const dir = watcherDir(config);
  const path = `${dir}/owner`;
  let file: Deno.FsFile;
  try {
    // The socket's dir exists (a session's state is in it); only `.watcher` may be made here.
    if (create) Deno.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw ioError("write", dir, e);
  }
  try {
    file = Deno.openSync(path, { read: true, write: true, create, mode: 0o600 });
  } catch (e) {
    throw ioError("open", path, e);
  }
  try {
    file.lockSync(true);
    return f(file);
  } finally {
    file.close(); // releases the flock
  }
}

/** The process `owner` names, if any (read under its flock). */
export function readOwner(file: Deno.FsFile): ProcessId | undefined {
  file.seekSync(0, Deno.SeekMode.Start);
  const buf = new Uint8Array(256);
  const n = file.readSync(buf) ?? 0;
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(buf.subarray(0, n)));
    if (isRecord(value) && typeof value.pid === "number" && typeof value.start === "string") {
      return { pid: value.pid, start: value.start };
    }
  } catch {
    // empty or torn: nobody
  }
  return undefined;
}

/** Makes `owner` name `id` (undefined: nobody). */
export function writeOwner(file: Deno.FsFile, id: ProcessId | undefined): void {
  file.truncateSync(0);
  file.seekSync(0, Deno.SeekMode.Start);
  if (id) file.writeSync(new TextEncoder().encode(JSON.stringify(id)));
}

/** Decodes an entry file's content; undefined when it is not one. */
export function decodeEntry(text: string): WatchEntry | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (
      isRecord(v) && typeof v.session === "string" && typeof v.cell_id === "string" &&
      isRecord(v.watcher) && typeof v.watcher.pid === "number" && isRecord(v.starter) &&
      typeof v.starter.pid === "number"
    ) {
      return v as unknown as WatchEntry;
    }
  } catch {
    // torn or foreign
  }
  return undefined;
}

/**
 * Hands cell `cellId` of `session` to the shared watcher, starting one when none lives, before
 * the cell's lock is taken; returns the watcher, which the lock must name as owner. Call
 * {@link markReady} once the cell is typed (or was refused, or handed over).
 */
export function handCell(config: KernelConfig, session: string, cellId: string): ProcessId {
  const path = entryPath(config, cellId, "json");
  return underOwnerLock(config, (file) => {
    let watcher = readOwner(file);
    let started: ProcessId | undefined;
    let writing = `${watcherDir(config)}/owner`;
    try {
      if (!watcher || !isAliveNow(watcher)) {
        watcher = started = spawnWatcher(config);
        writeOwner(file, watcher);
      }
      writing = path;
      const entry: WatchEntry = { session, cell_id: cellId, watcher, starter: selfId() };
      Deno.writeTextFileSync(path, JSON.stringify(entry), { mode: 0o600 });
    } catch (e) {
      // A full disk: the watcher just started has nothing to watch and is not registered.
      if (started) signalNow(started.pid, "SIGTERM");
      throw ioError("write", writing, e);
    }
    return watcher;
  });
}

function signalNow(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // gone already
  }
}

/** Tells the watcher that the starter of cell `cellId` is done with it. */
export function markReady(config: KernelConfig, cellId: string): void {
  try {
    Deno.writeTextFileSync(entryPath(config, cellId, "ready"), "", { mode: 0o600 });
  } catch {
    // the watcher then learns it from the starter's exit
  }
}

/** Starts a detached shared watcher (synchronous: its caller holds the flock). */
function spawnWatcher(config: KernelConfig): ProcessId {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", "--no-config", ...watcherModule()],
    env: { K_HOME: config.home, K_SOCKET: config.socket },
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  child.unref();
  child.status.catch(() => {}); // reaped by the runtime; nobody waits for it here
  return { pid: child.pid, start: processStartNow(child.pid) ?? "" };
}

/**
 * For `k int`/`k kill`, which ended (claimed) cell `cellId` that `owner` watched: tells the
 * shared watcher to stop watching it and waits (bounded) until it has let go, so the cell's hook
 * is closed; the watcher goes on with its other cells. Nothing to do when the owner is gone.
 */
export async function dropFromWatcher(
  config: KernelConfig,
  cellId: string,
  owner: ProcessId,
): Promise<void> {
  const entry = entryPath(config, cellId, "json");
  const drop = entryPath(config, cellId, "drop");
  if (!isAliveNow(owner) || !pathExists(entry)) return;
  try {
    Deno.writeTextFileSync(drop, "", { mode: 0o600 });
  } catch {
    return; // the watcher notices the claim on its own (its lock check)
  }
  const deadline = Date.now() + DROP_WAIT_MS;
  while (pathExists(entry) && isAliveNow(owner) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, DROP_POLL_MS));
  }
  try {
    Deno.removeSync(drop);
  } catch {
    // removed by the watcher
  }
}

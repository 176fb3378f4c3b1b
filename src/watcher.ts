/**
 * Entry point of the shared background watcher (`watcher.ts`, started detached by the first
 * `fire` or hand-over of a socket that has none running): one process watches every fired or
 * handed-over cell of the socket's sessions, learning of new ones from entry files in its
 * directory through one file watch (the protocol: src/watcher_queue.ts). A cell is watched once
 * its starter is done (`.ready`, or the starter died), if the lock names this process as owner.
 * A timed-out cell is watched on until it ends or the bound of `watchEnd` (src/lock.ts) passes;
 * the timeout is stored once. `k int` drops one cell (`.drop`); the others go on. With nothing
 * left to watch for {@link LINGER_MS}, it exits (under the owner flock, so no cell is handed to
 * it meanwhile).
 * @module
 */

import { abandonCell, type CellLock, giveBackUnannounced, readLock } from "./lock.ts";
import { readMeta } from "./session/meta.ts";
import { isAliveNow, type ProcessId } from "./proc.ts";
import { configFromEnv, type KernelConfig, message, pathExists, sessionPaths } from "./state.ts";
import { watchCell } from "./cell/watch.ts";
import {
  decodeEntry,
  entryPath,
  readOwner,
  selfId,
  underOwnerLock,
  type WatchEntry,
  watcherDir,
  writeOwner,
} from "./watcher_queue.ts";

/** How long the watcher stays with nothing to watch, so a burst of fires reuses it. */
const LINGER_MS = 2000;
/** How often a cell whose starter is still typing is looked at (the starter may die). */
const STARTER_CHECK_MS = 200;
/** The fallback wake-up when the directory cannot be watched (said once in watcher.log). */
const NO_WATCH_POLL_MS = 500;

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // gone already
  }
}

/** The entries in the directory, each with its id. */
function listEntries(dir: string): WatchEntry[] {
  const out: WatchEntry[] = [];
  let items: Deno.DirEntry[];
  try {
    items = [...Deno.readDirSync(dir)];
  } catch {
    return out; // removed with the state dir
  }
  for (const item of items) {
    if (!item.isFile || !item.name.endsWith(".json")) continue;
    let text: string;
    try {
      text = Deno.readTextFileSync(`${dir}/${item.name}`);
    } catch {
      continue; // removed meanwhile
    }
    const entry = decodeEntry(text);
    if (entry && item.name === `${entry.cell_id}.json`) out.push(entry);
  }
  return out;
}

function forgetEntry(config: KernelConfig, cellId: string): void {
  for (const kind of ["json", "ready", "drop"] as const) {
    removeQuietly(entryPath(config, cellId, kind));
  }
}

function log(config: KernelConfig, line: string): void {
  try {
    Deno.writeTextFileSync(
      `${watcherDir(config)}/watcher.log`,
      `${new Date().toISOString()} ${line}\n`,
      { append: true, mode: 0o600 },
    );
  } catch {
    // nowhere to say it
  }
}

/** Watches one handed-over cell, as the per-cell watcher did. */
async function watchOne(
  config: KernelConfig,
  entry: WatchEntry,
  signal: AbortSignal,
  fatal: AbortController,
) {
  const { session: name, cell_id: cellId } = entry;
  let lock: CellLock | undefined;
  let paths;
  try {
    paths = sessionPaths(config, name);
    lock = await readLock(paths);
    if (!lock || lock.cell_id !== cellId || lock.owner.pid !== Deno.pid) return;
    // The starter is done or dead: if it died before announcing the cell, nothing was typed.
    if (await giveBackUnannounced(paths, lock)) return;
    const meta = await readMeta(paths, name);
    await watchCell({
      config,
      paths,
      meta,
      lock,
      reportTimeout: false,
      afterTimeout: "watch",
      signal,
    });
  } catch (e) {
    // Nobody reads our stderr: the cell ends as an error saying why (the lock is not left
    // behind), or, if even that fails, the reason is left where poll finds it (src/lock.ts,
    // rule 7). A trace beside the session's state too, if it can be written.
    if (paths && lock?.cell_id === cellId && lock.owner.pid === Deno.pid) {
      // Still holding a lock it cannot release nor watch (a read-only file system): this process
      // must die so its lock's owner is proved dead (poll: `watcher died`, with the reason).
      if (!(await abandonCell(config, paths, name, lock, e))) fatal.abort();
    }
    const line = `${new Date().toISOString()} watcher ${cellId}: ${message(e)}\n`;
    if (paths) {
      await Deno.writeTextFile(`${paths.dir}/watcher.log`, line, { append: true, mode: 0o600 })
        .catch(() => {});
    }
  } finally {
    forgetEntry(config, cellId);
  }
}

/**
 * Under the owner flock: exits (returns true, `owner` cleared) unless an entry names this
 * process; a starter that found it registered has written its entry before this looks.
 */
function tryLeave(config: KernelConfig, me: ProcessId): boolean {
  try {
    return underOwnerLock(config, (file) => {
      if (listEntries(watcherDir(config)).some((e) => e.watcher.pid === me.pid)) return false;
      if (readOwner(file)?.pid === me.pid) writeOwner(file, undefined);
      return true;
    }, false);
  } catch {
    // The directory is gone or unwritable: no starter can hand a cell to anyone through it.
    return true;
  }
}

/** Runs the shared watcher of the socket in `K_HOME`/`K_SOCKET`; resolves to its exit status. */
export async function main(): Promise<number> {
  const config = configFromEnv();
  const dir = watcherDir(config);
  const me = selfId();
  let wake: (() => void) | undefined;
  const kick = () => wake?.();
  let fsWatch: Deno.FsWatcher | undefined;
  try {
    fsWatch = Deno.watchFs(dir, { recursive: false });
  } catch (e) {
    log(config, `cannot watch ${dir} (${message(e)}); looking every ${NO_WATCH_POLL_MS} ms`);
  }
  const pumping = (async () => {
    if (!fsWatch) return;
    try {
      for await (const _ of fsWatch) kick();
    } catch {
      // closed
    }
  })();
  const cells = new Map<string, { stop: AbortController; done: Promise<void> }>();
  const all = new AbortController();
  const stopAll = () => {
    all.abort();
    for (const { stop } of cells.values()) stop.abort();
    kick();
  };
  Deno.addSignalListener("SIGTERM", stopAll);
  // A cell left locked and unwatched: stop the others and exit without leaving cleanly (the
  // state dir is not writable), so every lock naming this process is seen as its watcher's death.
  const fatal = new AbortController();
  fatal.signal.addEventListener("abort", stopAll);
  let idleSince: number | undefined;
  while (true) {
    let pending = 0;
    for (const entry of listEntries(dir)) {
      const id = entry.cell_id;
      if (entry.watcher.pid !== me.pid) {
        // A watcher that died (SIGKILL) left it: its cells show `watcher died`, k int ends them.
        if (!isAliveNow(entry.watcher)) forgetEntry(config, id);
        continue;
      }
      const dropped = pathExists(entryPath(config, id, "drop"));
      const running = cells.get(id);
      if (running) {
        if (dropped) running.stop.abort();
        continue;
      }
      if (all.signal.aborted) {
        forgetEntry(config, id);
        continue;
      }
      if (!dropped && !pathExists(entryPath(config, id, "ready")) && isAliveNow(entry.starter)) {
        pending++;
        continue;
      }
      const stop = new AbortController();
      if (dropped) stop.abort();
      const done = watchOne(config, entry, stop.signal, fatal).finally(() => {
        cells.delete(id);
        kick();
      });
      cells.set(id, { stop, done });
    }
    const now = Date.now();
    if (fatal.signal.aborted && cells.size === 0) break;
    if (cells.size === 0 && pending === 0) {
      idleSince ??= now;
      if ((all.signal.aborted || now - idleSince >= LINGER_MS) && tryLeave(config, me)) break;
    } else {
      idleSince = undefined;
    }
    let waitMs: number | undefined;
    if (pending > 0) waitMs = STARTER_CHECK_MS;
    else if (cells.size === 0) waitMs = Math.max(0, LINGER_MS - (now - (idleSince ?? now)));
    if (!fsWatch) waitMs = Math.min(waitMs ?? NO_WATCH_POLL_MS, NO_WATCH_POLL_MS);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      wake = resolve;
      if (waitMs !== undefined) timer = setTimeout(resolve, waitMs);
    });
    clearTimeout(timer);
    wake = undefined;
  }
  try {
    fsWatch?.close();
  } catch {
    // closed
  }
  await pumping;
  return fatal.signal.aborted ? 1 : 0;
}

if (import.meta.main) {
  const code = await main();
  Deno.exit(code); // a signal listener would keep the process alive
}

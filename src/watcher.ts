/**
 * Entry point of the background watcher that `fire` starts (detached): `watcher.ts <session>
 * <cell_id>`. It waits for its stdin to close (the `k fire` process is done typing, or gave up),
 * then watches the cell if the lock names it as owner, and exits. A timed-out cell is watched on
 * until it ends or the bound of `watchEnd` (src/lock.ts) passes; the timeout is stored once (by
 * this watcher, or by the `k run` that handed the cell over after its timeout).
 * @module
 */

import { abandonCell, type CellLock, giveBackUnannounced, readLock } from "./lock.ts";
import { readMeta } from "./session/meta.ts";
import { configFromEnv, message, sessionPaths } from "./state.ts";
import { watchCell } from "./cell/watch.ts";

async function drain(stream: ReadableStream<Uint8Array>): Promise<void> {
  const reader = stream.getReader();
  try {
    while (!(await reader.read()).done) {
      // nothing is sent: only the close matters
    }
  } finally {
    reader.releaseLock();
  }
}

async function main(): Promise<void> {
  const [name, cellId] = Deno.args;
  if (name === undefined || cellId === undefined) return;
  const config = configFromEnv();
  await drain(Deno.stdin.readable);
  const paths = sessionPaths(config, name);
  let lock: CellLock | undefined;
  try {
    lock = await readLock(paths);
    if (!lock || lock.cell_id !== cellId || lock.owner.pid !== Deno.pid) return;
    // `k fire` is done or dead: if it died before announcing the cell, nothing was typed.
    if (await giveBackUnannounced(paths, lock)) return;
    const meta = await readMeta(paths, name);
    // `k int`/`k kill` send SIGTERM: stop watching and close the hook before exiting.
    const stop = new AbortController();
    Deno.addSignalListener("SIGTERM", () => stop.abort());
    await watchCell({
      config,
      paths,
      meta,
      lock,
      reportTimeout: false,
      afterTimeout: "watch",
      signal: stop.signal,
    });
  } catch (e) {
    // Nobody reads our stderr: the cell ends as an error saying why (the lock is not left
    // behind), or, if even that fails, the reason is left where poll finds it (src/lock.ts,
    // rule 7). A trace beside the session's state too, if it can be written.
    if (lock?.cell_id === cellId && lock.owner.pid === Deno.pid) {
      await abandonCell(config, paths, name, lock, e);
    }
    const line = `${new Date().toISOString()} watcher ${cellId}: ${message(e)}\n`;
    await Deno.writeTextFile(`${paths.dir}/watcher.log`, line, { append: true, mode: 0o600 })
      .catch(() => {});
  }
}

if (import.meta.main) {
  await main();
  Deno.exit(0); // a signal listener would keep the process alive
}

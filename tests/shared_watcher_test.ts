// One background watcher per socket: fired cells of many sessions share one process
// (src/watcher.ts, protocol in src/watcher_queue.ts). Real tmux, real processes, counted from /proc.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import {
  assertJsonError,
  exists,
  findProcesses,
  isRunning,
  type ProcInfo,
  waitFor,
  type World,
  worldTest,
} from "./harness.ts";

/** The world's live background watchers. */
function watchers(w: World): Promise<ProcInfo[]> {
  return findProcesses((p) => p.cmdline.includes("watcher.ts") && p.environ.K_HOME === w.home);
}

const N = 10;
const names = Array.from({ length: N }, (_, i) => `s${i}`);

worldTest(
  "10 sessions fire at once: one watcher records every cell; k int on one leaves the others; idle exit",
  async (w) => {
    await Promise.all(names.map((s) => w.kernel.create(s, { cwd: w.base })));
    // The short cells end on their own; s0 and s1 run long (k int on s0, s1 is left watched).
    const fired = await Promise.all(names.map((s, i) => {
      const code = i < 2 ? `sleep 30; echo never-${s}` : `sleep 1; echo out-${s}`;
      return w.kStrictJson(["fire", s, code]);
    }));
    fired.forEach((f, i) => equal(f.status, "fired", `fire in ${names[i]}`));
    const locks = await Promise.all(names.slice(0, 2).map((s) => w.readLockFile(s)));
    const owners = await watchers(w);
    equal(owners.length, 1, `one watcher process: ${owners.map((p) => p.cmdline).join("; ")}`);
    for (const l of locks) equal(l?.owner.pid, owners[0]?.pid, "the lock names the shared watcher");
    for (const [i, s] of names.entries()) {
      if (i < 2) continue;
      const p = await waitFor(`${s}'s cell recorded`, async () => {
        const p = await w.kStrictJson(["poll", s, String(fired[i]?.cell_id)]);
        return p.status === "done" ? p : undefined;
      }, 20_000);
      equal(p.output, `out-${s}`);
    }
    const int = await w.k(["int", "s0"]);
    equal(int.code, 0, int.stderr);
    equal((await watchers(w)).length, 1, "the watcher survives k int of one of its cells");
    const entry = `${w.home}/${w.socket}/.watcher/${fired[0]?.cell_id}.json`;
    ok(!(await exists(entry)), "k int made the watcher drop s0's cell");
    equal((await w.kStrictJson(["poll", "s1"])).status, "running", "s1 still watched");
    // s1's cell still ends through the watcher: shorten it by interrupting the sleep only.
    await w.tmux(["send-keys", "-t", "s1", "C-c"]);
    const p1 = await waitFor("s1's cell recorded by the watcher", async () => {
      const p = await w.kStrictJson(["poll", "s1", String(fired[1]?.cell_id)]);
      return p.status === "done" ? p : undefined;
    }, 10_000);
    equal(p1.status, "done");
    const pid = owners[0]?.pid ?? 0;
    await waitFor("the idle watcher exits", async () => !(await isRunning(pid)), 10_000);
    // A later fire starts a new one, which records its cell too.
    const again = await w.kStrictJson(["fire", "s2", "echo again"]);
    const p2 = await waitFor("a new watcher records a new cell", async () => {
      const p = await w.kStrictJson(["poll", "s2", String(again.cell_id)]);
      return p.status === "done" ? p : undefined;
    }, 10_000);
    equal(p2.output, "again");
  },
  { timeoutMs: 90_000 },
);

worldTest(
  "the shared watcher SIGKILLed: every cell shows watcher died, k int recovers each",
  async (w) => {
    const few = names.slice(0, 3);
    await Promise.all(few.map((s) => w.kernel.create(s, { cwd: w.base })));
    const fired = await Promise.all(few.map((s) => w.kStrictJson(["fire", s, "sleep 30"])));
    const owners = await watchers(w);
    equal(owners.length, 1, "one watcher process");
    const watcher = owners[0];
    ok(watcher);
    await waitFor("every lock names the watcher", async () => {
      const locks = await Promise.all(few.map((s) => w.readLockFile(s)));
      return locks.every((l) => l?.owner.pid === watcher.pid) || undefined;
    });
    Deno.kill(watcher.pid, "SIGKILL");
    await waitFor("watcher gone", async () => !(await isRunning(watcher.pid)));
    for (const [i, s] of few.entries()) {
      const p = await w.kStrictJson(["poll", s]);
      assertJsonError(p, new RegExp(`^watcher died: .*use k int ${s} to recover$`), `poll ${s}`);
      equal(p.cell_id, fired[i]?.cell_id);
      const int = await w.k(["int", s]);
      deepEqual([int.code, int.stdout.trim()], [
        0,
        `OK ${s} (interrupted cell ${fired[i]?.cell_id})`,
      ]);
      const back = await w.kStrictJson(["run", "-j", "-t", "10", s, `echo back-${s}`]);
      deepEqual([back.status, back.output], ["done", `back-${s}`]);
    }
    // A fire after the death starts a new watcher: the dead one's entries do not confuse it.
    const next = await w.kStrictJson(["fire", "s0", "echo next"]);
    const p = await waitFor("the new watcher records it", async () => {
      const p = await w.kStrictJson(["poll", "s0", String(next.cell_id)]);
      return p.status === "done" ? p : undefined;
    }, 10_000);
    match(String(p.output), /^next$/);
  },
  { timeoutMs: 60_000 },
);

// Fault injection, part 4: hostile hooks (`--prompt=./hook`): one that hangs (even ignoring
// SIGTERM), one whose children outlive it, one that exits at once, one that floods stdout and
// stderr. Every cell stays bounded by its time limit, `k int`/`k kill` end the hook and the
// watcher, and nothing the hook prints reaches k's output.
import { deepEqual, equal, ok } from "node:assert/strict";
import {
  type Cleanup,
  collect,
  count,
  DeadlineError,
  findProcesses,
  parseOneJson,
  PLAIN_BASH,
  type ProcInfo,
  timed,
  waitFor,
  withDeadline,
  type World,
  worldTest,
} from "./harness.ts";

/** A hook that never exits and ignores SIGTERM. */
const HANG_IGNORING_TERM = "#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 0.2; done\n";

async function hookSession(w: World, name: string, body: string): Promise<string> {
  const path = await w.writeScript(`hook-${name}`, body);
  await w.kernel.create(name, { command: PLAIN_BASH, prompt: path });
  return path;
}

/** The hook's processes: its own (by path) and any child of it that carries `marker`. */
function hookProcesses(w: World, path: string, marker = path): Promise<ProcInfo[]> {
  return findProcesses((p) =>
    p.cmdline.includes(path) ||
    (p.environ.K_SOCKET === w.socket && p.cmdline.includes(marker))
  );
}

async function assertNothingLeft(w: World, path: string, what: string, marker = path) {
  await waitFor(
    `no watcher or hook left (${what})`,
    async () => {
      return (await w.watchers()).length === 0 &&
        (await hookProcesses(w, path, marker)).length === 0;
    },
    5_000,
    100,
  ).catch(async (e) => {
    const left = [...await w.watchers(), ...await hookProcesses(w, path, marker)];
    throw new Error(`${e.message}; left: ${left.map((p) => `${p.pid} ${p.cmdline}`).join(" | ")}`);
  });
}

/** Waits for a spawned k to finish within `ms`; undefined (and the child killed) if it does not. */
async function finishWithin(child: Deno.ChildProcess, ms: number, cleanup: Cleanup) {
  cleanup.add(() => child.kill("SIGKILL"));
  const out = await withDeadline(collect(child), ms, "k did not finish").catch((e) => {
    if (e instanceof DeadlineError) return undefined;
    throw e;
  });
  if (out === undefined) {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
  }
  return out;
}

worldTest(
  "a hook that hangs (ignoring SIGTERM): k run's time limit still holds",
  async (w, cleanup) => {
    const hang = await hookSession(w, "h", HANG_IGNORING_TERM);
    const child = w.spawnK(["run", "-j", "-t", "2", "h", "echo x"]);
    const ran = await finishWithin(child, 8_000, cleanup);
    ok(ran, "k run -t 2 with a hanging hook did not return within 8 s");
    const r = parseOneJson(ran, "run with a hanging hook");
    deepEqual([ran.code, r.status], [0, "timeout"], ran.stdout);
    const { ms, value: int } = await timed(() => w.k(["int", "h"]));
    equal(int.code, 0, int.stderr);
    ok(ms < 5_000, `int took ${ms} ms`);
    await assertNothingLeft(w, hang, "after the run's timeout and int");
  },
);

worldTest(
  "a hook that hangs: a fired cell times out; k int ends its watcher and hook",
  async (w) => {
    const hang = await hookSession(w, "h", HANG_IGNORING_TERM);
    const fired = await w.kStrictJson(["fire", "-t", "2", "h", "echo y"]);
    equal(fired.status, "fired");
    const p = await waitFor("the fired cell times out", async () => {
      const p = await w.kStrictJson(["poll", "h"]);
      return p.status === "timeout" ? p : undefined;
    }, 8_000);
    equal(p.cell_id, fired.cell_id);
    const { ms, value: int } = await timed(() => w.k(["int", "h"]));
    deepEqual([int.code, int.stdout.trim()], [0, `OK h (interrupted cell ${fired.cell_id})`]);
    ok(ms < 5_000, `int took ${ms} ms`);
    await assertNothingLeft(w, hang, "after int");
    equal((await w.kStrictJson(["run", "-j", "-t", "2", "h", "echo z"])).status, "timeout");
  },
);

worldTest(
  "a hook that hangs: k kill mid-cell is bounded and leaves no watcher or hook",
  async (w) => {
    const hang = await hookSession(w, "h", HANG_IGNORING_TERM);
    await w.kStrictJson(["fire", "-t", "30", "h", "sleep 20"]);
    await waitFor("hook started", async () => (await hookProcesses(w, hang)).length > 0);
    const { ms, value: killed } = await timed(() => w.k(["kill", "h"]));
    equal(killed.code, 0, killed.stderr);
    ok(ms < 5_000, `kill took ${ms} ms`);
    await assertNothingLeft(w, hang, "after kill");
  },
);

worldTest("a hook's own children end with it", async (w) => {
  // A plain hanging hook (SIGTERM ends it) whose child would outlive it if only the hook's pid
  // were signalled.
  const hook = await hookSession(w, "c", "#!/bin/sh\nsleep 299.5\n");
  const r = await w.kStrictJson(["run", "-j", "-t", "2", "c", "echo x"]);
  deepEqual([r.code, r.status], [0, "timeout"]);
  equal((await w.k(["int", "c"])).code, 0);
  await assertNothingLeft(w, hook, "the hook's sleep child", "sleep 299.5");
});

worldTest(
  "a hook that exits at once: cells end at once, the session is never wedged",
  async (w) => {
    const quick = await hookSession(w, "q", "#!/bin/sh\nexit 0\n");
    const { value: r, ms } = await timed(() =>
      w.kStrictJson(["run", "-j", "-t", "10", "q", "sleep 1; echo one"])
    );
    ok(ms < 5_000, `took ${ms} ms`);
    ok(r.status === "done" || r.status === "error", JSON.stringify(r));
    // The cell ended with the hook, its `sleep 1` did not: let it finish before the next cells.
    await waitFor(
      "the first cell's output",
      async () => /[\r\n]one\r\n/.test(await w.paneLog("q")), // not the echo: " one"
    );
    for (let i = 0; i < 3; i++) {
      const again = await w.kStrictJson(["run", "-j", "-t", "10", "q", `echo again-${i}`]);
      ok(again.status === "done" || again.status === "error", JSON.stringify(again));
      ok(!String(again.output).startsWith("active cell"), `wedged: ${JSON.stringify(again)}`);
    }
    const fired = await w.kStrictJson(["fire", "q", "echo fired"]);
    equal(fired.status, "fired");
    await waitFor("fired cell ends", async () => {
      return (await w.kStrictJson(["poll", "q", String(fired.cell_id)])).status !== "running";
    }, 5_000);
    await assertNothingLeft(w, quick, "quick hook");
  },
);

worldTest("a hook that floods stdout and stderr: its noise never reaches k's output", async (w) => {
  const noisy = await hookSession(
    w,
    "n",
    "#!/bin/sh\nhead -c 1000000 /dev/zero | tr '\\0' N\necho HOOK-NOISE-OUT\n" +
      "echo HOOK-NOISE-ERR >&2\nhead -c 1000000 /dev/zero | tr '\\0' E >&2\n" +
      'while read l; do echo "seen $l"; case "$l" in "K>"*) exit 0;; esac; done\n',
  );
  const ran = await w.k(["run", "-j", "-t", "10", "n", "echo hi; echo there"]);
  const r = parseOneJson(ran, "run with a noisy hook");
  deepEqual([ran.code, r.status, r.output], [0, "done", "hi\nthere"]);
  equal(ran.stderr, "", "hook stderr leaked into k's stderr");
  ok(!ran.stdout.includes("HOOK-NOISE"), "hook stdout leaked into k's stdout");
  const fired = await w.kStrictJson(["fire", "n", "echo fired"]);
  const done = await waitFor("fired cell done", async () => {
    const p = await w.kStrictJson(["poll", "n", String(fired.cell_id)]);
    return p.status !== "running" ? p : undefined;
  });
  deepEqual([done.status, done.output], ["done", "fired"]);
  equal(count(await w.paneLog("n"), "HOOK-NOISE"), 0, "hook output reached the pane");
  await assertNothingLeft(w, noisy, "noisy hook");
});

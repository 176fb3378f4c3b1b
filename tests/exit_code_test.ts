// k run's exit status in text mode is the cell's (like `ssh host cmd`): its exit code where the
// frame mode knows it, 0 when it cannot, 124 on a timeout, 1 on an error. With -j it stays 0
// whenever k did what was asked. A k run stopped by a signal names the cell it handed over.

import { deepEqual, equal, match } from "node:assert/strict";
import { collect, parseOneJson, PLAIN_BASH, waitFor, type World, worldTest } from "./harness.ts";

/** `k run <session> <code>` in text mode, run in the world's directory. */
function run(w: World, session: string, code: string, ...flags: string[]) {
  return w.k(["run", ...flags, session, code], {}, w.base);
}

worldTest("k run in text mode exits with a bash cell's exit code", async (w) => {
  await w.kernel.create("w", { cwd: w.base });
  const ls = await run(w, "w", "ls /nonexistent");
  equal(ls.code, 2, ls.stderr);
  match(ls.stdout, /nonexistent/);
  equal(ls.stderr, "");
  deepEqual([(await run(w, "w", "false")).code, (await run(w, "w", "(exit 3)")).code], [1, 3]);
  const ok = await run(w, "w", "echo fine");
  deepEqual([ok.code, ok.stdout], [0, "fine\n"]);
  // -j keeps its rule: 0 whenever k did what was asked; the code is in the JSON.
  const json = parseOneJson(await run(w, "w", "ls /nonexistent", "-j"), "k run -j");
  deepEqual([json.status, json.exit_code], ["done", 2]);
  equal((await run(w, "w", "ls /nonexistent", "-j")).code, 0);
});

worldTest("k run in text mode exits 1 for a python cell that raised, 0 otherwise", async (w) => {
  await w.kernel.create("py", { command: "python3", cwd: w.base });
  const raised = await run(w, "py", "1/0");
  equal(raised.code, 1);
  match(raised.stdout, /ZeroDivisionError/);
  equal((await run(w, "py", "print(6 * 7)")).code, 0);
});

worldTest(
  "k run in text mode exits 0 for a done cell whose code is unknown (repeat mode)",
  async (w) => {
    await w.kernel.create("r", { command: PLAIN_BASH, prompt: "repeat", cwd: w.base });
    const r = await run(w, "r", "ls /nonexistent");
    deepEqual([r.code, r.stderr], [0, ""]);
    match(r.stdout, /nonexistent/);
  },
);

worldTest("k run in text mode exits 124 on a timeout, naming the cell to poll", async (w) => {
  await w.kernel.create("w", { cwd: w.base });
  const r = await run(w, "w", "sleep 30", "-t", "1");
  equal(r.code, 124);
  const polled = await w.kJson(["poll", "w"]);
  equal(polled.status, "timeout");
  const id = String(polled.cell_id);
  match(r.stderr, new RegExp(`^k: cell ${id} timed out .*k poll w ${id}\\b.*\\n$`));
  // -j: a timeout is a result k was asked for.
  equal((await w.k(["int", "w"])).code, 0);
  const json = await w.kJson(["run", "-j", "-t", "1", "w", "sleep 30"]);
  deepEqual([json.code, json.status], [0, "timeout"]);
  equal((await w.k(["int", "w"])).code, 0);
});

worldTest("k run in text mode exits 1 on an error, its message on stderr", async (w) => {
  const missing = await run(w, "nope", "echo hi");
  deepEqual([missing.code, missing.stdout, missing.stderr], [
    1,
    "",
    "k: no session 'nope'; use k new nope bash\n",
  ]);
  await w.kernel.create("w", { cwd: w.base });
  const fired = await w.kJson(["fire", "w", "sleep 30"]);
  const busy = await run(w, "w", "echo hi");
  deepEqual([busy.code, busy.stderr], [1, `k: active cell '${fired.cell_id}'\n`]);
  equal((await w.k(["int", "w"])).code, 0);
});

/** Starts `k run [flags] w <code>` and waits until its cell is typed (the lock names it). */
async function runUntilTyped(w: World, code: string, flags: string[] = []) {
  const child = w.spawnK(["run", ...flags, "w", code]);
  await waitFor(
    "the cell typed (its lock names k run)",
    async () => {
      const lock = await Deno.readTextFile(w.lockPath("w")).catch(() => "");
      return lock.includes(`"pid":${child.pid}`);
    },
    10_000,
    20,
  );
  const lock = await w.readLockFile("w");
  return { child, cellId: String(lock?.cell_id) };
}

/** Polls the cell until it is done; returns its output. */
async function doneOutput(w: World, cellId: string): Promise<string> {
  const done = await waitFor("the handed-over cell done", async () => {
    const p = await w.kJson(["poll", "w", cellId]);
    return p.status === "done" ? p : undefined;
  }, 15_000);
  return String(done.output);
}

worldTest(
  "k run stopped by a signal names the cell it handed over; poll finishes it",
  async (w) => {
    await w.kernel.create("w", { cwd: w.base });
    const text = await runUntilTyped(w, "sleep 1; echo survived-text");
    text.child.kill("SIGTERM");
    const stopped = await collect(text.child);
    equal(stopped.code, 143);
    equal(
      stopped.stderr,
      `k: stopped by SIGTERM; cell ${text.cellId} handed over and goes on: k poll w ${text.cellId}\n`,
    );
    equal(await doneOutput(w, text.cellId), "survived-text");

    // -j: one JSON object, the cell handed over as a fired one.
    const json = await runUntilTyped(w, "sleep 1; echo survived-json", ["-j"]);
    json.child.kill("SIGHUP");
    const out = await collect(json.child);
    equal(out.code, 129);
    deepEqual(parseOneJson(out, "k run -j stopped"), { cell_id: json.cellId, status: "fired" });
    equal(await doneOutput(w, json.cellId), "survived-json");
  },
  { timeoutMs: 45_000 },
);

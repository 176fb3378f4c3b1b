/**
 * Soft timeouts under real tmux: a timeout ends the wait, not the cell. The cell goes on under a
 * background watcher, later polls show its output so far, and its end is recorded as `done` with
 * the whole output, exit code and timing (a `done` event after the `timeout` one); km waits for
 * that end; a poll finds the end in the log when no watcher runs any more; `k int` still ends it;
 * past the watching bound every message says so truthfully.
 * @module
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import type { KttyEvent, StalledEvent } from "../mod.ts";
import {
  type CliResult,
  collect,
  followsEvents,
  procInfo,
  waitFor,
  withDeadline,
  type World,
  worldTest,
} from "./harness.ts";

/** About three seconds of output, then an exit status the result must carry. */
const LOOP = "for i in 1 2 3; do echo $i; sleep 1; done; (exit 3)";
const ALL = "1\n2\n3";

/** A km run's printed events. */
function kmLines(r: CliResult): Record<string, unknown>[] {
  return r.stdout.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/** The statuses of a cell's events in the session's log, in order. */
async function cellEvents(w: World, session: string, cellId: string): Promise<string[]> {
  const text = await Deno.readTextFile(`${w.sessionDir(session)}/events.jsonl`);
  return text.trim().split("\n").map((l) => JSON.parse(l))
    .filter((e) => e.cell_id === cellId).map((e) => e.status);
}

/** The output at the time limit is a beginning of the whole output, never all of it. */
function assertPartial(output: unknown, what: string): void {
  const text = String(output);
  ok(text !== ALL && ALL.startsWith(text) && text.startsWith("1"), `${what}: ${text}`);
}

/** Polls until the timed-out cell shows more than `before` while still timed out. */
async function awaitMoreOutput(w: World, session: string, before: string) {
  return await waitFor("a later poll: timeout with more output", async () => {
    const p = await w.kJson(["poll", "-o", "1000", session]);
    if (p.status === "done") throw new Error(`done before a later poll saw it run: ${p.output}`);
    const out = String(p.output);
    return p.status === "timeout" && out.length > before.length && ALL.startsWith(out)
      ? p
      : undefined;
  });
}

/** Polls until the cell is done; checks the whole output, the exit code and the timing. */
async function awaitDone(w: World, session: string, cellId: string, startedAt: unknown) {
  const done = await waitFor("done", async () => {
    const p = await w.kJson(["poll", session, cellId]);
    return p.status === "done" ? p : undefined;
  });
  deepEqual([done.output, done.exit_code, done.truncated], [ALL, 3, false]);
  equal(done.started_at, startedAt);
  const ms = Date.parse(String(done.ended_at)) - Date.parse(String(done.started_at));
  ok(Math.abs(ms - Number(done.duration_ms)) <= 2, `${done.ended_at} vs ${done.duration_ms}`);
  ok(Number(done.duration_ms) >= 2_900, `duration ${done.duration_ms}`);
  return done;
}

worldTest(
  "k run -t 1: timeout with partial output, then polls, km and the record see done",
  async (w) => {
    await w.kernel.create("w");
    const anyCell = w.spawnKm(["w", "-1"]); // started before the cell
    await waitFor("km following the log", () => followsEvents(anyCell.pid, w.sessionDir("w")));
    const r = await w.kJson(["run", "-j", "-t", "1", "w", LOOP]);
    deepEqual([r.code, r.status], [0, "timeout"]);
    assertPartial(r.output, "the run's timeout");
    ok(Number(r.duration_ms) >= 1_000 && typeof r.started_at === "string");
    const cellId = String(r.cell_id);
    const thisCell = w.spawnKm(["w", cellId, "-1"]); // before the cell's end
    // The cell went to a background watcher; the lock stays meanwhile.
    const lock = await w.readLockFile("w");
    deepEqual([lock?.cell_id, lock?.owner_kind], [cellId, "fire"]);
    ok((await procInfo(lock!.owner.pid))?.cmdline.includes("watcher.ts"), "a watcher owns it");
    const status = await w.kJson(["status", "-j", "w"]);
    deepEqual([status.state, status.watcher_pid], ["timeout", lock!.owner.pid]);

    await awaitMoreOutput(w, "w", String(r.output));
    await awaitDone(w, "w", cellId, r.started_at);
    deepEqual(await cellEvents(w, "w", cellId), ["fired", "timeout", "done"]);
    equal(await w.readLockFile("w"), undefined, "the lock is released at the end");
    equal((await w.kJson(["status", "-j", "w"])).state, "idle");

    for (const [km, what] of [[anyCell, "km w -1"], [thisCell, "km w <cell> -1"]] as const) {
      const out = await withDeadline(collect(km), 10_000, `${what} did not exit after done`);
      equal(out.code, 0, `${what}: ${out.stderr}`);
      const lines = kmLines(out);
      deepEqual(lines.map((l) => [l.status, l.cell_id]), [
        ["timeout", cellId],
        ["done", cellId],
      ], what);
      equal(lines[1]!.exit_code, 3, what);
    }
    equal((await w.kJson(["run", "-j", "w", "echo next"])).output, "next");
  },
  { timeoutMs: 40_000 },
);

worldTest("fire -t 1: the same, and Session.events waits past the timeout", async (w) => {
  await w.kernel.create("w");
  const fired = await w.kJson(["fire", "-t", "1", "w", LOOP]);
  const cellId = String(fired.cell_id);
  const seen: (KttyEvent | StalledEvent)[] = [];
  const stream = (async () => {
    for await (const e of w.kernel.session("w").events({ cellId, once: true })) seen.push(e);
  })();
  const first = await waitFor("the first report: timeout", async () => {
    const p = await w.kJson(["poll", "w"]);
    return p.status === "timeout" ? p : undefined;
  });
  equal(first.cell_id, cellId);
  assertPartial(first.output, "the first report");
  ok(typeof first.started_at === "string" && Number(first.duration_ms) >= 1_000);
  await awaitMoreOutput(w, "w", String(first.output));
  await awaitDone(w, "w", cellId, first.started_at);
  await withDeadline(stream, 10_000, "Session.events did not end after done");
  deepEqual(seen.map((e) => e.status), ["timeout", "done"]);
  deepEqual(await cellEvents(w, "w", cellId), ["fired", "timeout", "done"]);
  equal(await w.readLockFile("w"), undefined);
}, { timeoutMs: 40_000 });

worldTest(
  "Session.run times out; its background watcher SIGKILLed: poll still finds the end in the log",
  async (w) => {
    await w.kernel.create("w");
    const r = await w.kernel.session("w").run(LOOP, { timeoutMs: 1_000 });
    equal(r.status, "timeout");
    const cellId = r.cell_id;
    const lock = await waitFor("the handed-over lock", async () => {
      const l = await w.readLockFile("w");
      return l?.owner_kind === "fire" ? l : undefined;
    });
    Deno.kill(lock.owner.pid, "SIGKILL");
    await waitFor("the watcher gone", async () => !(await procInfo(lock.owner.pid)));
    const p = await w.kJson(["poll", "w"]);
    if (p.status === "error") match(String(p.output), /^watcher died: .*use k int w to recover$/);
    else equal(p.status, "done", "before the end nobody watches it, and poll says so");
    const done = await awaitDone(w, "w", cellId, r.started_at);
    equal(done.cell_id, cellId);
    deepEqual(await cellEvents(w, "w", cellId), ["fired", "timeout", "done"]);
    equal(await w.readLockFile("w"), undefined, "the poll ended the cell and released the lock");
    equal((await w.kJson(["poll", "w", cellId])).status, "done");
    equal((await w.kJson(["run", "-j", "w", "echo next"])).output, "next");
  },
  { timeoutMs: 40_000 },
);

worldTest(
  "k int during a soft timeout ends the cell as interrupted; km -1 sees that",
  async (w) => {
    await w.kernel.create("w");
    const r = await w.kJson(["run", "-j", "-t", "1", "w", "echo before; sleep 30"]);
    equal(r.status, "timeout");
    const km = w.spawnKm(["w", String(r.cell_id), "-1"]);
    const int = await w.k(["int", "w"]);
    deepEqual([int.code, int.stdout.trim()], [0, `OK w (interrupted cell ${r.cell_id})`]);
    const out = await withDeadline(collect(km), 10_000, "km -1 did not exit after int");
    deepEqual(kmLines(out).map((l) => l.status), ["timeout", "interrupted"]);
    deepEqual(await cellEvents(w, "w", String(r.cell_id)), ["fired", "timeout", "interrupted"]);
    await waitFor("the watcher gone", async () => (await w.watchers()).length === 0);
  },
);

worldTest("km --timeout stops waiting: exit 2, nothing more printed", async (w) => {
  await w.kernel.create("w");
  const fired = await w.kJson(["fire", "w", "sleep 30"]);
  const started = Date.now();
  const out = await withDeadline(
    collect(w.spawnKm(["w", String(fired.cell_id), "-1", "--timeout", "1"])),
    10_000,
    "km --timeout 1 did not exit",
  );
  deepEqual([out.code, out.stdout, out.stderr], [2, "", ""]);
  ok(Date.now() - started >= 1_000);
  const bad = await collect(w.spawnKm(["w", "--timeout", "0"]));
  equal(bad.code, 1);
  match(bad.stdout, /--timeout must be a positive number of seconds/);
  equal((await w.k(["int", "w"])).code, 0);
});

worldTest(
  "past the watching bound: poll, status and a busy run say so, k int recovers",
  async (w) => {
    await w.kernel.create("w");
    const fired = await w.kJson(["fire", "-t", "1", "w", "sleep 30"]);
    await waitFor("the timeout", async () => (await w.kJson(["poll", "w"])).status === "timeout");
    const lock = (await w.readLockFile("w"))!;
    // The watcher exits at the bound: here it is killed, and the cell made 7 h old.
    Deno.kill(lock.owner.pid, "SIGKILL");
    await waitFor("the watcher gone", async () => !(await procInfo(lock.owner.pid)));
    const startedMs = Date.now() - 7 * 3600_000;
    const old = { ...lock, started_ms: startedMs, started_at: new Date(startedMs).toISOString() };
    await Deno.writeTextFile(w.lockPath("w"), JSON.stringify(old));
    const p = await w.kJson(["poll", "w"]);
    deepEqual([p.code, p.status, p.cell_id], [1, "error", fired.cell_id]);
    match(String(p.output), /^no longer watched after 6 h: .*use k int w to recover$/);
    const status = await w.k(["status", "w"]);
    match(status.stdout, /^state: timeout$/m);
    match(status.stdout, /^next: k int w .*no longer watched after 6 h/m);
    const busy = await w.kJson(["run", "-j", "w", "echo nope"]);
    equal(busy.output, `active cell '${fired.cell_id}' (no longer watched after 6 h; use k int w)`);
    equal((await w.k(["int", "w"])).code, 0);
    equal((await w.kJson(["run", "-j", "w", "echo back"])).output, "back");
  },
);

worldTest(
  "a flood of one-character lines (yes): its time limit holds, and another session's cell is not held up",
  async (w) => {
    // The watcher read on while there was more to read, and each line leaving the output's tail
    // copied it (~25,000 one-character lines): `k run -t 2 y yes` never returned, and the one
    // watcher of every fired cell on the socket fell behind with it.
    await Promise.all([w.kernel.create("y"), w.kernel.create("a"), w.kernel.create("b")]);
    const started = Date.now();
    const run = await w.kJson(["run", "-j", "-t", "2", "y", "yes"]);
    equal(run.status, "timeout", JSON.stringify(run).slice(0, 200));
    ok(Date.now() - started < 10_000, `k run -t 2 returned after ${Date.now() - started} ms`);
    equal((await w.k(["int", "y"])).code, 0);
    // Fired: one watcher for both sessions.
    const flood = await w.kJson(["fire", "-t", "2", "a", "yes"]);
    await waitFor("the flood past its limit", async () => {
      return (await w.kJson(["poll", "a", String(flood.cell_id)])).status === "timeout";
    }, 10_000);
    const quick = await w.kJson(["fire", "b", "echo quick"]);
    const done = await waitFor("the quick cell's end", async () => {
      const p = await w.kJson(["poll", "b", String(quick.cell_id)]);
      return p.status === "done" ? p : undefined;
    }, 10_000);
    equal(done.output, "quick");
    ok(Number(done.duration_ms) < 5_000, `a quick cell recorded as ${done.duration_ms} ms`);
    equal((await w.k(["int", "a"])).code, 0);
    equal((await w.kJson(["run", "-j", "a", "echo back"])).output, "back");
  },
  { timeoutMs: 60_000 },
);

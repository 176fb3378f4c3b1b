/**
 * Bounded disk, kept history (issue 16), against real tmux sessions: with small limits the pane
 * log, event log and results are trimmed at cells' ends while the active cell's output, the kept
 * results and `seq` survive; `km --from` after a trim replays what is left and says where it
 * starts; `k kill --keep` keeps what history, poll and km read, and a new session of the name
 * continues the log after a `started` event.
 * @module
 */

import assert from "node:assert/strict";
import { sessionPaths } from "../src/state.ts";
import { trimAfterCell } from "../src/session/disk.ts";
import { PLAIN_BASH, waitFor, type World, worldTest } from "./harness.ts";

type Event = { seq: number; status: string; cell_id?: string; [key: string]: unknown };

/** Runs `km <args>` to its end (the session closed); its events and stderr. */
async function km(w: World, args: string[]): Promise<{ events: Event[]; stderr: string }> {
  const r = await w.km(args);
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Event);
  return { events, stderr: r.stderr };
}

/** Bytes a file holds on disk (holes excluded). */
async function used(path: string): Promise<number> {
  return ((await Deno.stat(path)).blocks ?? 0) * 512;
}

/** The session's events as `k history -j` gives them. */
async function history(w: World, session: string, n = 1000): Promise<Event[]> {
  const r = await w.k(["history", "-j", "-n", String(n), session]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Event);
}

function assertGapFree(events: Event[]): void {
  for (let i = 1; i < events.length; i++) {
    assert.equal(events[i]?.seq, (events[i - 1]?.seq ?? 0) + 1, "seq has a gap");
  }
}

const SMALL = { K_LOG_MAX: "65536", K_EVENTS_MAX: "8192", K_RESULTS_KEEP: "5" };

worldTest(
  "disk: small limits trim the logs and results; seq and the last results survive",
  async (w) => {
    await w.kernel.create("s", { command: PLAIN_BASH, cwd: w.base });
    const s = w.kernel.session("s");
    const paths = sessionPaths(w.kernel.config, "s");
    const saved = Object.fromEntries(Object.keys(SMALL).map((k) => [k, Deno.env.get(k)]));
    for (const [k, v] of Object.entries({ ...SMALL, K_RESULTS_DAYS: "0" })) Deno.env.set(k, v);
    const ids: string[] = [];
    try {
      for (let i = 0; i < 40; i++) {
        // ~19 KB of output each: the pane log passes 64 KiB every few cells.
        const r = await s.run(`seq ${i * 100000} ${i * 100000 + 2999}`);
        assert.equal(r.status, "done", JSON.stringify(r));
        ids.push((r as { cell_id: string }).cell_id);
      }
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
      }
      Deno.env.delete("K_RESULTS_DAYS");
    }
    const log = await Deno.stat(paths.log);
    assert.ok(log.size > 4 * 65536, `the pane log grew (${log.size} bytes written)`);
    assert.ok(
      await used(paths.log) <= 65536 + 4096,
      `pane.log holds ${await used(paths.log)} bytes`,
    );
    assert.ok(
      await used(paths.events) <= 8192 + 4096,
      `events.jsonl holds ${await used(paths.events)}`,
    );
    // The last results are kept (pollable, unread or not); the oldest are gone.
    const kept = [...Deno.readDirSync(paths.cells)].filter((e) => e.name.endsWith(".json")).length;
    assert.ok(kept >= 5 && kept < 40, `${kept} results kept`);
    for (const id of ids.slice(-5)) {
      const r = await w.kJson(["poll", "-j", "s", id]);
      assert.equal(r.status, "done", JSON.stringify(r));
    }
    const last = await w.kJson(["poll", "-j", "s", ids.at(-1) as string]);
    assert.match(String(last.output), /^3900000\n/);
    // The session goes on reading its output after the trims.
    const after = await s.run("echo still-here");
    assert.equal(after.status === "done" && after.output, "still-here");

    // km --from 1 replays what is left, gap-free, and says where it starts.
    assert.equal((await w.k(["kill", "--keep", "s"])).code, 0);
    const { events, stderr } = await km(w, ["s", "--from", "1"]);
    const first = events[0]?.seq ?? 0;
    assert.ok(first > 1, `the replay starts after the trim (at seq ${first})`);
    assertGapFree(events);
    assert.equal(events.at(-1)?.status, "closed");
    assert.match(stderr, new RegExp(`trimmed .*starts at seq ${first} `));
    // By time, too: a time before the session began.
    const byTime = await km(w, ["s", "--from", "2000-01-01T00:00:00Z"]);
    assert.equal(byTime.events[0]?.seq, first);
    assert.match(byTime.stderr, /starts at seq/);
  },
  { timeoutMs: 90_000 },
);

worldTest("disk: a trim never touches the active cell's output", async (w) => {
  await w.kernel.create("s", { command: PLAIN_BASH, cwd: w.base });
  const s = w.kernel.session("s");
  const paths = sessionPaths(w.kernel.config, "s");
  await s.run("seq 1 30000"); // ~170 KB before the cell
  const fired = await s.fire("seq 500001 530000; sleep 30");
  assert.equal(fired.status, "fired");
  await waitFor("the cell's output in the log", async () => {
    const r = await s.poll(fired.status === "fired" ? fired.cell_id : "");
    return r.status === "running" && r.output.includes("530000") ? r : undefined;
  });
  const limits = { logMaxBytes: 65536, eventsMaxBytes: 8192, resultsKeep: 1, resultsDays: 0 };
  await trimAfterCell(paths, "s", undefined, limits);
  assert.ok(await used(paths.log) < 400_000, "the log before the cell was trimmed");
  const r = await s.poll(fired.status === "fired" ? fired.cell_id : "");
  assert.equal(r.status, "running");
  assert.match(r.output, /^500001\n500002\n/, "the running cell's output starts intact");
  assert.ok(!r.output.includes("\0"), "no zeros in the running cell's output");
  await s.interrupt();
}, { timeoutMs: 60_000 });

worldTest("disk: kill --keep keeps history, poll and km; new continues the log", async (w) => {
  assert.equal((await w.k(["new", "s", PLAIN_BASH], {}, w.base)).code, 0);
  const one = await w.kJson(["run", "-j", "s", "echo one"]);
  assert.equal(one.output, "one");
  const started = (await history(w, "s"))[0];
  assert.equal(started?.seq, 1);
  assert.equal(started?.status, "started");
  assert.equal(started?.program, "bash");
  assert.equal(started?.mode, "integration");
  assert.equal(typeof started?.pid, "number");
  assert.equal(typeof started?.user, "string");
  assert.equal(started?.continued, undefined);
  const text = await w.k(["history", "s"]);
  assert.match(text.stdout, /^1 \S+ started env PS1=.* \[bash, integration\] by /);

  assert.equal((await w.k(["kill", "--keep", "s"])).code, 0);
  assert.deepEqual(await w.tmuxSessions(), []);
  assert.deepEqual((await history(w, "s")).map((e) => e.status), [
    "started",
    "fired",
    "done",
    "closed",
  ]);
  const polled = await w.kJson(["poll", "-j", "s", String(one.cell_id)]);
  assert.deepEqual([polled.status, polled.output], ["done", "one"]);
  // Without an id, the most recent cell (it said "no cells yet": its `last` file was not kept).
  const latest = await w.kJson(["poll", "-j", "s"]);
  assert.deepEqual([latest.cell_id, latest.output], [one.cell_id, "one"]);
  const replay = await km(w, ["s", "--from", "1"]);
  assert.deepEqual(replay.events.map((e) => e.seq), [1, 2, 3, 4]);
  assert.equal(replay.stderr, "");

  // A new session of the name continues the log; the old cell stays pollable.
  assert.equal((await w.k(["new", "s", PLAIN_BASH], {}, w.base)).code, 0);
  assert.equal((await w.kJson(["poll", "-j", "s"])).cell_id, one.cell_id);
  const two = await w.kJson(["run", "-j", "s", "echo two"]);
  assert.equal(two.output, "two");
  const events = await history(w, "s");
  assertGapFree(events);
  assert.deepEqual(events.map((e) => e.status), [
    "started",
    "fired",
    "done",
    "closed",
    "started",
    "fired",
    "done",
  ]);
  assert.equal(events[4]?.continued, true);
  const again = await w.kJson(["poll", "-j", "s", String(one.cell_id)]);
  assert.deepEqual([again.status, again.output], ["done", "one"]);

  // Until k ls --prune: a kept, dead session is pruned like any stale one.
  assert.equal((await w.k(["kill", "--keep", "s"])).code, 0);
  assert.equal((await w.k(["ls", "--prune"])).code, 0);
  const gone = await w.k(["history", "s"]);
  assert.notEqual(gone.code, 0);
}, { timeoutMs: 60_000 });

worldTest("disk: kill --keep records the running cell as killed", async (w) => {
  assert.equal((await w.k(["new", "s", PLAIN_BASH], {}, w.base)).code, 0);
  const fired = await w.kJson(["fire", "s", "sleep 30"]);
  assert.equal(fired.status, "fired");
  assert.equal((await w.k(["kill", "--keep", "s"])).code, 0);
  const polled = await w.kJson(["poll", "-j", "s", String(fired.cell_id)]);
  assert.equal(polled.status, "error");
  assert.match(String(polled.output), /was killed while the cell was running/);
});

worldTest("disk: a plain kill still removes everything", async (w) => {
  assert.equal((await w.k(["new", "s", PLAIN_BASH], {}, w.base)).code, 0);
  assert.equal((await w.k(["kill", "s"])).code, 0);
  assert.equal(await Deno.stat(w.sessionDir("s")).then(() => true, () => false), false);
  assert.equal((await w.k(["new", "s", PLAIN_BASH], {}, w.base)).code, 0);
  const events = await history(w, "s");
  assert.deepEqual(events.map((e) => [e.seq, e.status]), [[1, "started"]]);
});

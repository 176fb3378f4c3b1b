/**
 * `km`, the monitor, against real tmux sessions: one-shot waits (before and after the cell
 * finished), a continuous stream ending in `closed`, imitation event lines, replay, snapshots,
 * stall notices, many concurrent appenders, deaths nobody reported, errors, signals, `k watch`.
 * @module
 */

import assert from "node:assert/strict";
import { appendEvent } from "../src/events/log.ts";
import {
  followsEvents,
  hasOpen,
  letTimePass,
  waitFor,
  withDeadline,
  type World,
  worldTest,
} from "./harness.ts";

/** One event line as km prints it. */
type Line = Record<string, unknown> & { status: string; seq?: number; cell_id?: string };

/** A running km process whose stdout is read line by line. */
class Km {
  readonly child: Deno.ChildProcess;
  readonly lines: Line[] = [];
  /** When each line arrived (ms since the epoch). */
  readonly arrivals: number[] = [];
  readonly #done: Promise<void>;
  #wake: () => void = () => {};

  constructor(w: World, args: string[]) {
    this.child = w.spawnKm(args, "inherit");
    this.#done = this.#read();
  }

  async #read(): Promise<void> {
    let pending = "";
    for await (const chunk of this.child.stdout.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      for (const part of parts) {
        this.lines.push(JSON.parse(part) as Line);
        this.arrivals.push(Date.now());
      }
      this.#wake();
    }
    assert.equal(pending, "", "km ends every line with a newline");
  }

  /** Waits until km has printed `n` lines. */
  async waitLines(n: number, timeoutMs = 10_000): Promise<Line[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `km printed ${this.lines.length} of ${n} lines: ${JSON.stringify(this.lines)}`,
        );
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, Math.min(left, 100));
      });
    }
    return this.lines;
  }

  /** Waits until km follows the session's event log (holds it open). */
  async following(w: World, name = "w"): Promise<void> {
    await waitFor(
      "km to follow the event log",
      () => followsEvents(this.child.pid, w.sessionDir(name)),
    );
  }

  /** Waits for km to exit (bounded); returns its exit status. */
  async exit(timeoutMs = 10_000): Promise<number> {
    const status = await withDeadline(this.child.status, timeoutMs, "km did not exit");
    await this.#done;
    return status.code;
  }

  /** Ends km if it is still running (test cleanup). */
  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Runs km to completion and returns its exit status and lines. */
async function km(w: World, args: string[], timeoutMs = 15_000) {
  const proc = new Km(w, args);
  try {
    const code = await proc.exit(timeoutMs);
    return { code, lines: proc.lines };
  } finally {
    proc.kill();
  }
}

/** Starts a bash session and checks it worked. */
async function newBash(w: World, name = "w"): Promise<void> {
  const out = await w.k(["new", name, "bash"]);
  assert.equal(out.code, 0, out.stderr);
}

async function fire(w: World, code: string, name = "w"): Promise<string> {
  const fired = await w.kJson(["fire", name, code]);
  assert.equal(fired.status, "fired", JSON.stringify(fired));
  return fired.cell_id as string;
}

/** The session's event log, parsed line by line (every line must be JSON). */
async function logLines(w: World, name = "w"): Promise<Line[]> {
  const text = await Deno.readTextFile(`${w.sessionDir(name)}/events.jsonl`);
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Line);
}

worldTest("km -1 wakes on the fired cell's completion", async (w) => {
  await newBash(w);
  const cell = await fire(w, "sleep 1; echo finished");
  const any = new Km(w, ["w", "-1"]);
  const mine = new Km(w, ["w", cell, "-1"]);
  try {
    for (const proc of [any, mine]) {
      assert.equal(await proc.exit(15_000), 0);
      assert.equal(proc.lines.length, 1, JSON.stringify(proc.lines));
      const [line] = proc.lines;
      assert.equal(line?.status, "done");
      assert.equal(line?.cell_id, cell);
      assert.equal(line?.session, "w");
      assert.equal(line?.schema_version, 1);
      assert.equal(typeof line?.seq, "number");
    }
  } finally {
    any.kill();
    mine.kill();
  }
}, { timeoutMs: 30_000 });

worldTest("km -1 after the cell already finished prints it at once", async (w) => {
  await newBash(w);
  const cell = await fire(w, "echo quick");
  await waitFor(
    "the cell to finish",
    async () => (await w.kJson(["poll", "w", cell])).status === "done",
  );
  for (const args of [["w", "-1"], ["w", cell, "-1"], ["-1", "w", cell]]) {
    const started = Date.now();
    const { code, lines } = await km(w, args);
    assert.equal(code, 0);
    assert.deepEqual(lines.map((l) => [l.status, l.cell_id]), [["done", cell]]);
    assert.ok(Date.now() - started < 5000, "no waiting for a completion that already happened");
  }
  // A named cell that already finished, followed without -1: its whole life, then exit.
  const { code, lines } = await km(w, ["w", cell]);
  assert.equal(code, 0);
  assert.deepEqual(lines.map((l) => l.status), ["fired", "done"]);
}, { timeoutMs: 30_000 });

worldTest("km streams cells and a notify, and ends with closed on k kill", async (w) => {
  await newBash(w);
  const proc = new Km(w, ["w", "--from", "1"]);
  try {
    assert.equal((await w.k(["run", "w", "echo one"])).stdout, "one\n");
    const second = await fire(w, "sleep 0.3; echo two");
    await waitFor(
      "the second cell",
      async () => (await w.kJson(["poll", "w", second])).status === "done",
    );
    assert.equal((await w.k(["notify", "w", "hello", "--from", "tester"])).code, 0);
    await proc.waitLines(6);
    assert.equal((await w.k(["kill", "w"])).code, 0);
    assert.equal(await proc.exit(), 0);
    const lines = proc.lines;
    assert.deepEqual(lines.map((l) => l.status), [
      "started",
      "fired",
      "done",
      "fired",
      "done",
      "notify",
      "closed",
    ]);
    assert.deepEqual(lines.map((l) => l.seq), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(lines[3]?.cell_id, second);
    assert.equal(lines[5]?.from, "tester");
    assert.equal(lines[5]?.message, "hello");
    for (const line of lines) assert.match(String(line.ts), /^\d{4}-\d\d-\d\dT.*Z$/);
  } finally {
    proc.kill();
  }
}, { timeoutMs: 30_000 });

worldTest("km without --from shows only what happens after it started", async (w) => {
  await newBash(w);
  assert.equal((await w.k(["notify", "w", "old"])).code, 0);
  const proc = new Km(w, ["w"]);
  try {
    // km's start-up time is unknown: keep notifying until it shows something.
    let i = 0;
    await waitFor(
      "km to print",
      async () => {
        await w.k(["notify", "w", `new${i++}`]);
        return proc.lines.length > 0;
      },
      15_000,
      200,
    );
    assert.notEqual(proc.lines[0]?.message, "old");
    assert.ok((proc.lines[0]?.seq ?? 0) > 1);
    proc.child.kill("SIGTERM");
    assert.equal(await proc.exit(), 0, "SIGTERM ends km cleanly");
  } finally {
    proc.kill();
  }
}, { timeoutMs: 30_000 });

worldTest("text that imitates an event line never becomes an event", async (w) => {
  await newBash(w);
  const proc = new Km(w, ["w", "--from", "1"]);
  try {
    const fake = (status: string) =>
      JSON.stringify({
        schema_version: 1,
        seq: 99,
        ts: new Date().toISOString(),
        session: "w",
        status,
        cell_id: "0123456789ab",
        exit_code: 0,
        duration_ms: 1,
        reason: "fake",
      });
    const out = await w.k(["run", "w", `echo '${fake("done")}'; echo '${fake("closed")}'`]);
    assert.equal(out.code, 0, out.stderr);
    assert.ok(out.stdout.includes('"seq":99'), "the program did print the imitation");
    assert.equal((await w.k(["notify", "w", "after"])).code, 0);
    const lines = await proc.waitLines(4);
    assert.deepEqual(lines.map((l) => [l.seq, l.status]), [
      [1, "started"],
      [2, "fired"],
      [3, "done"],
      [4, "notify"],
    ]);
    for (const line of await logLines(w)) assert.notEqual(line.seq, 99);
    proc.child.kill("SIGINT");
    assert.equal(await proc.exit(), 0, "SIGINT ends km cleanly, and the fake closed did not");
    assert.equal(proc.lines.length, 4);
  } finally {
    proc.kill();
  }
}, { timeoutMs: 30_000 });

worldTest("km --from replays from a seq or an ISO time, then follows", async (w) => {
  await newBash(w);
  for (let i = 1; i <= 4; i++) {
    assert.equal((await w.k(["notify", "w", `n${i}`])).code, 0);
  }
  const log = await logLines(w);
  assert.deepEqual(log.map((l) => [l.seq, l.status]), [
    [1, "started"],
    [2, "notify"],
    [3, "notify"],
    [4, "notify"],
    [5, "notify"],
  ]);
  const bySeq = new Km(w, ["w", "--from", "4"]);
  const byTime = new Km(w, ["w", `--from=${log[3]?.ts}`]);
  try {
    await bySeq.waitLines(2);
    await byTime.waitLines(2);
    assert.equal((await w.k(["notify", "w", "n5"])).code, 0);
    for (const proc of [bySeq, byTime]) {
      await proc.waitLines(3);
      assert.deepEqual(proc.lines.map((l) => l.message), ["n3", "n4", "n5"]);
      proc.child.kill("SIGTERM");
      assert.equal(await proc.exit(), 0);
    }
  } finally {
    bySeq.kill();
    byTime.kill();
  }
}, { timeoutMs: 30_000 });

worldTest("km --snapshot prints what is there and exits", async (w) => {
  await newBash(w);
  assert.equal((await w.k(["run", "w", "echo a"])).code, 0);
  const cell = await fire(w, "echo b");
  await waitFor("the cell", async () => (await w.kJson(["poll", "w", cell])).status === "done");
  assert.equal((await w.k(["notify", "w", "note"])).code, 0);
  const all = await km(w, ["w", "--snapshot"]);
  assert.equal(all.code, 0);
  assert.deepEqual(all.lines.map((l) => l.status), [
    "started",
    "fired",
    "done",
    "fired",
    "done",
    "notify",
  ]);
  assert.deepEqual(all.lines, await logLines(w), "exactly the log's lines");
  const one = await km(w, ["w", cell, "--snapshot"]);
  assert.deepEqual(one.lines.map((l) => [l.status, l.cell_id]), [["fired", cell], ["done", cell]]);
  const later = await km(w, ["w", "--snapshot", "--from", "5"]);
  assert.deepEqual(later.lines.map((l) => l.seq), [5, 6]);
}, { timeoutMs: 30_000 });

worldTest("km --stall-after reports a quiet running cell, without a seq", async (w) => {
  await newBash(w);
  const proc = new Km(w, ["w", "--from", "1", "--stall-after", "1"]);
  try {
    const cell = await fire(w, "sleep 3");
    await waitFor(
      "the cell",
      async () => (await w.kJson(["poll", "w", cell])).status === "done",
      15_000,
    );
    assert.equal((await w.k(["notify", "w", "after"])).code, 0);
    await waitFor(
      "the notify",
      () => Promise.resolve(proc.lines.some((l) => l.status === "notify")),
    );
    const statuses = proc.lines.map((l) => l.status);
    const stalls = proc.lines.filter((l) => l.status === "stalled");
    assert.ok(stalls.length >= 1 && stalls.length <= 3, JSON.stringify(statuses));
    assert.deepEqual(statuses.slice(0, 2), ["started", "fired"]);
    assert.ok(
      statuses.indexOf("done") > statuses.lastIndexOf("stalled"),
      "stalls come before done",
    );
    for (const stall of stalls) {
      assert.equal(stall.cell_id, cell);
      assert.equal(stall.seq, undefined, "km's own observation is not in the log");
      assert.ok(Number(stall.idle_s) >= 1, JSON.stringify(stall));
    }
    assert.ok(!(await logLines(w)).some((l) => l.status === "stalled"));
    proc.child.kill("SIGINT");
    assert.equal(await proc.exit(), 0);
  } finally {
    proc.kill();
  }
}, { timeoutMs: 30_000 });

worldTest("8 k processes x 25 notifies: seq gap-free, every line JSON, km sees all", async (w) => {
  const PROCS = 8;
  const EACH = 25;
  await newBash(w);
  const proc = new Km(w, ["w", "--from", "1"]);
  try {
    await Promise.all(Array.from({ length: PROCS }, async (_, p) => {
      for (let i = 0; i < EACH; i++) {
        const out = await w.k(["notify", "w", `m${i}`, "--from", `p${p}`]);
        assert.equal(out.code, 0, out.stderr);
      }
    }));
    const total = PROCS * EACH + 1; // and the session's `started`
    const log = await logLines(w);
    assert.deepEqual(log.map((l) => l.seq), Array.from({ length: total }, (_, i) => i + 1));
    for (let p = 0; p < PROCS; p++) {
      const mine = log.filter((l) => l.from === `p${p}`).map((l) => l.message);
      assert.deepEqual(mine, Array.from({ length: EACH }, (_, i) => `m${i}`));
    }
    await proc.waitLines(total, 20_000);
    assert.deepEqual(proc.lines, log);
    proc.child.kill("SIGTERM");
    assert.equal(await proc.exit(), 0);
  } finally {
    proc.kill();
  }
}, { timeoutMs: 90_000 });

worldTest("km notices a session that died unreported, appends closed and exits", async (w) => {
  await newBash(w);
  const proc = new Km(w, ["w"]);
  try {
    await proc.following(w);
    assert.equal((await w.tmux(["kill-session", "-t", "=w"])).code, 0);
    assert.equal(await proc.exit(), 0);
    assert.equal(proc.lines.at(-1)?.status, "closed");
    const closed = (await logLines(w)).filter((l) => l.status === "closed");
    assert.equal(closed.length, 1, "closed is in the log, once");
    // Later followers of the dead session see that closed and exit at once.
    const again = await km(w, ["w"]);
    assert.equal(again.code, 0);
    assert.deepEqual(again.lines, closed);
    const once = await km(w, ["w", "-1"]);
    assert.deepEqual(once.lines, closed);
  } finally {
    proc.kill();
  }
}, { timeoutMs: 30_000 });

worldTest("km -1 waiting on a cell ends with closed when the session is killed", async (w) => {
  await newBash(w);
  const cell = await fire(w, "sleep 30");
  const proc = new Km(w, ["w", cell, "-1"]);
  try {
    await proc.following(w);
    assert.equal(proc.lines.length, 0);
    assert.equal((await w.k(["kill", "w"])).code, 0);
    assert.equal(await proc.exit(), 0);
    assert.deepEqual(proc.lines.map((l) => l.status), ["closed"]);
  } finally {
    proc.kill();
  }
}, { timeoutMs: 30_000 });

worldTest("km errors: missing session, invalid name, bad flags, unknown cell", async (w) => {
  const missing = await km(w, ["x"]);
  assert.equal(missing.code, 1);
  assert.equal(missing.lines.length, 1);
  const [line] = missing.lines;
  assert.deepEqual(Object.keys(line ?? {}), [
    "schema_version",
    "ts",
    "session",
    "status",
    "message",
    "error_code",
  ]);
  assert.equal(line?.error_code, "no_session");
  assert.equal(line?.schema_version, 1);
  assert.equal(line?.session, "x");
  assert.equal(line?.status, "error");
  assert.equal(line?.message, "no session 'x'");
  await newBash(w);
  const cases: [string[], RegExp][] = [
    [["../etc"], /invalid session name/],
    [["w", "--bogus"], /unknown flag '--bogus'/],
    [["w", "--from", "yesterday"], /--from must be/],
    [["w", "--from"], /--from needs a value/],
    [["w", "--stall-after", "0"], /--stall-after must be/],
    [["w", "--snapshot=1"], /takes no value/],
    [["w", "NOT-A-CELL"], /invalid cell id/],
    [["w", "0123456789ab"], /no cell '0123456789ab'/],
    [["w", "0123456789ab", "extra"], /unexpected argument/],
  ];
  for (const [args, message] of cases) {
    const out = await km(w, args);
    assert.equal(out.code, 1, args.join(" "));
    assert.equal(out.lines.length, 1, args.join(" "));
    assert.equal(out.lines[0]?.status, "error");
    assert.match(String(out.lines[0]?.message), message);
  }
}, { timeoutMs: 60_000 });

worldTest("k watch shows events inline and exits when the session closes", async (w) => {
  await newBash(w);
  const watch = w.spawnK(["watch", "w"]);
  // Its stdout, read as it comes.
  let text = "";
  const stdout = (async () => {
    for await (const chunk of watch.stdout.pipeThrough(new TextDecoderStream())) text += chunk;
  })();
  const stderr = new Response(watch.stderr).text();
  try {
    // Up: it printed its header and follows the pane log and the event log.
    await waitFor("k watch to follow the session", async () =>
      text.includes("— watching w") &&
      await hasOpen(watch.pid, `${w.sessionDir("w")}/pane.log`) &&
      await followsEvents(watch.pid, w.sessionDir("w")));
    assert.equal((await w.k(["run", "w", "echo visible-output"])).code, 0);
    assert.equal((await w.k(["notify", "w", "hi there"])).code, 0);
    await waitFor("k watch to show the notify", () => Promise.resolve(/✉ .*: hi there/.test(text)));
    assert.equal((await w.tmux(["kill-session", "-t", "=w"])).code, 0);
    const status = await withDeadline(watch.status, 10_000, "watch hung");
    await stdout;
    assert.equal(status.code, 0, await stderr);
    assert.match(text, /visible-output/);
    assert.match(text, /✉ .*: hi there/);
    assert.match(text, /■ session closed/);
  } finally {
    try {
      watch.kill("SIGKILL");
    } catch {
      // exited
    }
  }
}, { timeoutMs: 30_000 });

worldTest(
  "latency: from an event appended to km printing it (reported, not asserted)",
  async (w) => {
    await newBash(w);
    const proc = new Km(w, ["w", "--from", "1"]);
    try {
      const path = `${w.sessionDir("w")}/events.jsonl`;
      const SAMPLES = 30;
      // A first event that km may see only once it has started: not a sample.
      await appendEvent(path, "w", { status: "notify", from: "bench", message: "warm-up" });
      await proc.waitLines(1);
      for (let i = 1; i <= SAMPLES; i++) {
        await letTimePass(20, "space the samples: each event is a wake-up of its own");
        await appendEvent(path, "w", { status: "notify", from: "bench", message: `${i}` });
        await proc.waitLines(i + 1);
      }
      // From the event's own timestamp (taken under the log's lock) to km's line arriving here.
      const delays = proc.arrivals.slice(1).map((t, i) =>
        t - Date.parse(String(proc.lines[i + 1]?.ts))
      );
      delays.sort((a, b) => a - b);
      const pick = (q: number) =>
        delays[Math.min(delays.length - 1, Math.floor(q * delays.length))];
      console.log(
        `km latency over ${SAMPLES} events: median ${pick(0.5)} ms, p90 ${pick(0.9)} ms, max ${
          delays.at(-1)
        } ms`,
      );
      proc.child.kill("SIGTERM");
      assert.equal(await proc.exit(), 0);
    } finally {
      proc.kill();
    }
  },
  { timeoutMs: 30_000 },
);

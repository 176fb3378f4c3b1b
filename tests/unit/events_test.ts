/**
 * The event log (src/events/) on plain files, without tmux: appends under many processes, following a growing log
 * (partial lines, a log that does not exist yet, torn and foreign lines), replay from a seq or a
 * time, snapshots, cancellation, removal, and a death noticed by the follower; km's lines decoded.
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { followEvents } from "../../src/events/follow.ts";
import {
  appendEvent,
  eventsBackwards,
  lastEvent,
  readEvents,
  readLastEvents,
} from "../../src/events/log.ts";
import { isCompletion } from "../../src/events/stream.ts";
import { unstoredEnd } from "../../src/cell/poll.ts";
import { pathsIn } from "../../src/state.ts";
import {
  decodeMonitorEvent,
  encodeMonitorEvent,
  type KttyEvent,
  type MonitorEvent,
} from "../../src/types.ts";
import { dirTest, hasOpen, letTimePass, waitFor } from "../harness.ts";

const EVENTS_MODULE = fileURLToPath(new URL("../../src/events/log.ts", import.meta.url));

/** A session dir with no log yet. */
async function sessionDir(base: string): Promise<string> {
  const dir = `${base}/s`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Collects a stream's events in the background. */
function collect(stream: AsyncIterable<KttyEvent>): { events: KttyEvent[]; done: Promise<void> } {
  const events: KttyEvent[] = [];
  const done = (async () => {
    for await (const event of stream) events.push(event);
  })();
  return { events, done };
}

function notify(message: string) {
  return { status: "notify" as const, from: "test", message };
}

dirTest("appendEvent: seq from 1, one JSON line each, nothing after closed", async (dir) => {
  const path = `${await sessionDir(dir)}/events.jsonl`;
  const a = await appendEvent(path, "s", notify("a"));
  const b = await appendEvent(path, "s", { status: "fired", cell_id: "0123456789ab" });
  assert.equal(a?.seq, 1);
  assert.equal(b?.seq, 2);
  assert.equal((await appendEvent(path, "s", { status: "closed", reason: "x" }))?.seq, 3);
  assert.equal(await appendEvent(path, "s", { status: "closed", reason: "again" }), undefined);
  assert.equal(await appendEvent(path, "s", notify("late")), undefined);
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  assert.equal(lines.length, 3);
  for (const line of lines) JSON.parse(line);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  // A session whose state is gone takes no events and creates nothing.
  assert.equal(await appendEvent(`${dir}/gone/events.jsonl`, "gone", notify("x")), undefined);
});

dirTest("appendEvent: a torn last line does not swallow the next event", async (dir) => {
  const path = `${await sessionDir(dir)}/events.jsonl`;
  await appendEvent(path, "s", notify("a"));
  await Deno.writeTextFile(path, '{"schema_version":1,"seq":2,"ts"', { append: true });
  const next = await appendEvent(path, "s", notify("b"));
  assert.equal(next?.seq, 2);
  const events = await readEvents(path);
  assert.deepEqual(events.map((e) => e.seq), [1, 2]);
});

dirTest(
  "followEvents: waits for the log, joins partial lines, skips foreign lines",
  async (dir) => {
    const path = `${await sessionDir(dir)}/events.jsonl`;
    const ac = new AbortController();
    const { events, done } = collect(followEvents(path, "s", { from: 1, signal: ac.signal }));
    await letTimePass(100, "the follower starts on a log that does not exist yet");
    const line = JSON.stringify({
      schema_version: 1,
      seq: 1,
      ts: new Date().toISOString(),
      session: "s",
      status: "notify",
      from: "t",
      message: "split",
    });
    await Deno.writeTextFile(path, line.slice(0, 20), { mode: 0o600 });
    await letTimePass(150, "half a line stays no event, however long it waits");
    assert.equal(events.length, 0, "half a line is not an event yet");
    await Deno.writeTextFile(path, line.slice(20) + "\n", { append: true });
    await waitFor("the joined line", () => Promise.resolve(events.length === 1), 5000, 10);
    // Text that is not an event (or not JSON) is skipped, never guessed at.
    await Deno.writeTextFile(path, 'not json\n{"status":"done"}\n', { append: true });
    await appendEvent(path, "s", notify("after"));
    await waitFor("the next event", () => Promise.resolve(events.length === 2), 5000, 10);
    assert.deepEqual(events.map((e) => e.seq), [1, 2]);
    ac.abort();
    await done;
  },
);

dirTest("followEvents: from a seq, a time, or now; snapshot; ends with closed", async (dir) => {
  const path = `${await sessionDir(dir)}/events.jsonl`;
  for (let i = 1; i <= 5; i++) {
    await appendEvent(path, "s", notify(`n${i}`));
    await letTimePass(5, "distinct timestamps");
  }
  const all = await readEvents(path);
  const snapshot = async (from?: number | Date) =>
    (await Array.fromAsync(followEvents(path, "s", { from, follow: false }))).map((e) => e.seq);
  assert.deepEqual(await snapshot(3), [3, 4, 5]);
  assert.deepEqual(await snapshot(new Date(all[3]!.ts)), [4, 5]);
  assert.deepEqual(await snapshot(1), [1, 2, 3, 4, 5]);
  assert.deepEqual(await snapshot(), [], "from now: nothing yet");

  const ac = new AbortController();
  const now = collect(followEvents(path, "s", { signal: ac.signal }));
  // "From now" is fixed once the follower has the log open (its first read follows at once).
  await waitFor("the follower to open the log", () => hasOpen(Deno.pid, path), 5000, 10);
  await appendEvent(path, "s", notify("n6"));
  await appendEvent(path, "s", { status: "closed", reason: "test" });
  await now.done; // ends by itself after closed
  assert.deepEqual(now.events.map((e) => [e.seq, e.status]), [[6, "notify"], [7, "closed"]]);
  // A follower that starts on a closed log sees `closed` even from "now", and ends.
  assert.deepEqual(
    (await Array.fromAsync(followEvents(path, "s"))).map((e) => e.status),
    ["closed"],
  );
});

dirTest("followEvents: ends on abort and when the session's state is removed", async (dir) => {
  const session = await sessionDir(dir);
  const path = `${session}/events.jsonl`;
  await appendEvent(path, "s", notify("a"));
  const ac = new AbortController();
  const aborted = collect(followEvents(path, "s", { from: 1, signal: ac.signal }));
  await waitFor("the first event", () => Promise.resolve(aborted.events.length === 1), 5000, 10);
  ac.abort();
  await aborted.done;

  const removed = collect(followEvents(path, "s", { from: 1 }));
  await waitFor("the first event", () => Promise.resolve(removed.events.length === 1), 5000, 10);
  await Deno.remove(session, { recursive: true });
  await removed.done; // no closed in the log, yet the stream ends cleanly
  assert.deepEqual(removed.events.map((e) => e.seq), [1]);

  // A log that never appears in a directory that is gone: nothing to wait for.
  assert.deepEqual(await Array.fromAsync(followEvents(path, "s")), []);
});

dirTest("followEvents: a death the probe notices is appended as closed, once", async (dir) => {
  const path = `${await sessionDir(dir)}/events.jsonl`;
  let dead = false;
  let probes = 0;
  // Looked at again every 20 ms (a real probe is woken by the pipe's sign instead).
  const ended = {
    file: "pane.log.pipe",
    check: () => {
      probes++;
      return Promise.resolve({ why: dead ? "program exited" : undefined, recheckMs: 20 });
    },
  };
  const stream = collect(followEvents(path, "s", { ended }));
  // The follower is running and has asked once (alive); the death comes after.
  await waitFor("the follower to probe", () => Promise.resolve(probes > 0), 5000, 10);
  dead = true;
  await stream.done;
  assert.equal(stream.events.length, 1);
  assert.equal(stream.events[0]?.status, "closed");
  const log = await readEvents(path);
  assert.deepEqual(log.map((e) => [e.seq, e.status]), [[1, "closed"]]);
  // A second follower of the dead session adds nothing.
  await Array.fromAsync(followEvents(path, "s", {
    ended: { file: "pane.log.pipe", check: () => Promise.resolve({ why: "again", recheckMs: 20 }) },
  }));
  assert.equal((await readEvents(path)).length, 1);
});

dirTest(
  "appendEvent: 8 processes x 100 appends keep seq gap-free, every line JSON",
  async (dir) => {
    const path = `${await sessionDir(dir)}/events.jsonl`;
    const PROCS = 8;
    const EACH = 100;
    const follower = collect(followEvents(path, "s", { from: 1 }));
    // All start together: each says it is ready, then waits (bounded) for the go file.
    const go = `${dir}/go`;
    const script = `
    import { appendEvent } from ${JSON.stringify(`file://${EVENTS_MODULE}`)};
    const [path, who, go, ready] = Deno.args;
    Deno.writeTextFileSync(ready, "");
    const deadline = Date.now() + 20_000;
    while (!(await Deno.stat(go).then(() => true, () => false))) {
      if (Date.now() > deadline) throw new Error("no go");
      await new Promise((r) => setTimeout(r, 2));
    }
    for (let i = 0; i < ${EACH}; i++) {
      await appendEvent(path, "s", { status: "notify", from: who, message: "m" + i });
    }`;
    const children = Array.from({ length: PROCS }, (_, p) =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", "--no-lock", script, path, `p${p}`, go, `${dir}/ready-p${p}`],
        stdout: "null",
        stderr: "piped",
      }).output());
    await waitFor(
      "every appender ready",
      async () => {
        const ready = await Array.fromAsync(Deno.readDir(dir));
        return ready.filter((e) => e.name.startsWith("ready-")).length === PROCS;
      },
      20_000,
      10,
    );
    await Deno.writeTextFile(go, "");
    for (const out of await Promise.all(children)) {
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    }
    const lines = (await Deno.readTextFile(path)).split("\n");
    assert.equal(lines.pop(), "", "the log ends with a newline");
    assert.equal(lines.length, PROCS * EACH);
    const seqs = lines.map((line) => (JSON.parse(line) as KttyEvent).seq);
    assert.deepEqual(seqs, Array.from({ length: PROCS * EACH }, (_, i) => i + 1));
    // Each process's own events are in its own order.
    for (let p = 0; p < PROCS; p++) {
      const mine = lines.map((l) => JSON.parse(l)).filter((e) => e.from === `p${p}`);
      assert.deepEqual(mine.map((e) => e.message), Array.from({ length: EACH }, (_, i) => `m${i}`));
    }
    await appendEvent(path, "s", { status: "closed", reason: "test" });
    await follower.done;
    assert.deepEqual(
      follower.events.map((e) => e.seq),
      Array.from({ length: PROCS * EACH + 1 }, (_, i) => i + 1),
    );
  },
);

dirTest(
  "events: read backwards, a line longer than a chunk included, equals reading forwards",
  async (dir) => {
    const path = `${dir}/events.jsonl`;
    {
      for (let i = 0; i < 3000; i++) {
        const message = i === 1500 ? "x".repeat(150_000) : `message ${i}`;
        await appendEvent(path, "w", { status: "notify", from: "t", message });
      }
      await Deno.writeTextFile(path, '{"torn":\n', { append: true });
      await appendEvent(path, "w", { status: "notify", from: "t", message: "after torn" });
      const forwards = await readEvents(path);
      const backwards: number[] = [];
      for await (const placed of eventsBackwards(path)) backwards.push(placed.event.seq);
      assert.deepEqual(backwards, forwards.map((e) => e.seq).reverse());
      const last = await readLastEvents(path, 3);
      assert.deepEqual(last.map((e) => e.seq), [2999, 3000, 3001]);
      assert.equal((last.at(-1) as { message: string }).message, "after torn");
      // Each placed offset is where that event's line starts.
      const text = await Deno.readTextFile(path);
      for await (const { event, offset } of eventsBackwards(path)) {
        if (event.seq % 500 !== 0 && event.seq !== 1501) continue;
        const bytes = new TextEncoder().encode(text).subarray(offset);
        const line = new TextDecoder().decode(bytes).split("\n")[0];
        assert.equal(JSON.parse(line!).seq, event.seq);
      }
    }
  },
);

dirTest(
  "events: a missing log reads as empty; readLastEvents takes at most n, oldest first",
  async (dir) => {
    const path = `${dir}/events.jsonl`;
    assert.deepEqual(await readEvents(path), []);
    assert.deepEqual(await readLastEvents(path, 3), []);
    assert.deepEqual(await Array.fromAsync(eventsBackwards(path)), []);
    for (let i = 1; i <= 4; i++) await appendEvent(path, "s", notify(`n${i}`));
    assert.deepEqual((await readLastEvents(path, 0)).map((e) => e.seq), []);
    assert.deepEqual((await readLastEvents(path, 2)).map((e) => e.seq), [3, 4]);
    assert.deepEqual((await readLastEvents(path, 10)).map((e) => e.seq), [1, 2, 3, 4]);
  },
);

dirTest("appendEvent: 200 appends at once in one process keep seq gap-free", async (dir) => {
  const path = `${await sessionDir(dir)}/events.jsonl`;
  const made = await Promise.all(
    Array.from({ length: 200 }, (_, i) => appendEvent(path, "s", notify(`m${i}`))),
  );
  assert.deepEqual(made.map((e) => e?.seq).sort((a, b) => a! - b!), range(200));
  assert.deepEqual((await readEvents(path)).map((e) => e.seq), range(200));
});

dirTest("lastEvent: read from the tail of the log", async (dir) => {
  const path = `${dir}/events.jsonl`;
  assert.equal(await lastEvent(path), undefined);
  const line = (seq: number) =>
    JSON.stringify({
      schema_version: 1,
      seq,
      ts: new Date(seq * 1000).toISOString(),
      session: "w",
      status: "notify",
      from: "t",
      message: "x".repeat(100),
    }) + "\n";
  let text = "";
  for (let seq = 1; seq <= 20_000; seq++) text += line(seq);
  await Deno.writeTextFile(path, text + '{"schema_version":1,"seq":20001,"ts"'); // torn
  assert.equal((await lastEvent(path))?.seq, 20_000);
  // A last event longer than the first read still comes back whole.
  const long = line(20_001).replace("x".repeat(100), "y".repeat(10_000));
  await Deno.writeTextFile(path, text + long);
  assert.equal((await lastEvent(path))?.seq, 20_001);
  await Deno.writeTextFile(path, line(1).trimEnd());
  assert.equal((await lastEvent(path))?.seq, 1);
  // However long: a notify of 300 KB is still the last event (k status shows it, as append sees it).
  const huge = line(20_001).replace("x".repeat(100), "z".repeat(300_000));
  await Deno.writeTextFile(path, text + huge);
  assert.equal((await lastEvent(path))?.seq, 20_001);
  assert.equal((await appendEvent(path, "w", notify("next")))?.seq, 20_002);
});

/** 1..n. */
function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

Deno.test("events: a timeout is not a completion (the cell goes on); done, interrupted, a cell's error are", () => {
  const env = { schema_version: 1, seq: 1, ts: "2026-01-01T00:00:00.000Z", session: "w" } as const;
  const cell_id = "0123456789ab";
  const events: [KttyEvent, boolean][] = [
    [{ ...env, status: "fired", cell_id }, false],
    [{ ...env, status: "timeout", cell_id, duration_ms: 1000 }, false],
    [{ ...env, status: "done", cell_id, exit_code: 0, duration_ms: 2000 }, true],
    [{ ...env, status: "interrupted", cell_id }, true],
    [{ ...env, status: "error", cell_id, message: "x" }, true],
    [{ ...env, status: "error", message: "no session" }, false],
    [{ ...env, status: "closed", reason: "killed" }, false],
  ];
  for (const [event, want] of events) assert.equal(isCompletion(event), want, event.status);
});

Deno.test("decodeMonitorEvent reads back every line km writes, and nothing else", () => {
  const ts = new Date().toISOString();
  const lines: MonitorEvent[] = [
    {
      schema_version: 1,
      seq: 3,
      ts,
      session: "w",
      status: "done",
      cell_id: "0123456789ab",
      exit_code: 0,
      duration_ms: 5,
    },
    {
      schema_version: 1,
      seq: 4,
      ts,
      session: "w",
      status: "error",
      cell_id: "0123456789ab",
      message: "died",
    },
    { schema_version: 1, ts, session: "w", status: "stalled", cell_id: "0123456789ab", idle_s: 30 },
    {
      schema_version: 1,
      ts,
      session: "x",
      status: "error",
      message: "no session 'x'",
      error_code: "no_session",
    },
    { schema_version: 1, ts, session: "", status: "error", message: "internal error: boom" },
  ];
  for (const line of lines) assert.deepEqual(decodeMonitorEvent(encodeMonitorEvent(line)), line);
  for (
    const bad of [
      "not json",
      "[1]",
      JSON.stringify({ schema_version: 1, ts, session: "w", status: "stalled", cell_id: "x" }),
      JSON.stringify({
        schema_version: 1,
        ts,
        session: "w",
        status: "error",
        message: "m",
        error_code: "made_up",
      }),
      JSON.stringify({ schema_version: 1, seq: 1, ts, session: "w", status: "made_up" }),
      JSON.stringify({ schema_version: 2, ts, session: "w", status: "error", message: "m" }),
    ]
  ) {
    assert.throws(
      () => decodeMonitorEvent(bad),
      (e: unknown) => (e as { code?: string }).code === "state_corrupt",
      bad,
    );
  }
});

dirTest("unstoredEnd: a cell's error message, also when a send to it came after", async (dir) => {
  const paths = pathsIn(await sessionDir(dir));
  const cell = "0123456789ab";
  await appendEvent(paths.events, "s", { status: "fired", cell_id: cell });
  assert.equal(await unstoredEnd(paths, cell), undefined);
  await appendEvent(paths.events, "s", { status: "error", cell_id: cell, message: "disk full" });
  await appendEvent(paths.events, "s", { status: "send", cell_id: cell, preview: "y" });
  await appendEvent(paths.events, "s", notify("later"));
  assert.equal(await unstoredEnd(paths, cell), "disk full");
});

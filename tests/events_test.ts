/**
 * The event log itself, without tmux: appends under many processes, following a growing log
 * (partial lines, a log that does not exist yet, torn and foreign lines), replay from a seq or a
 * time, snapshots, cancellation, removal, and a death noticed by the follower.
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  appendEvent,
  eventsBackwards,
  followEvents,
  readEvents,
  readLastEvents,
} from "../src/events.ts";
import type { KttyEvent } from "../src/types.ts";
import { waitFor, worldTest } from "./harness.ts";

const EVENTS_MODULE = fileURLToPath(new URL("../src/events.ts", import.meta.url));

/** A session dir with no log yet. */
async function sessionDir(home: string): Promise<string> {
  const dir = `${home}/s`;
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

worldTest("appendEvent: seq from 1, one JSON line each, nothing after closed", async (w) => {
  const path = `${await sessionDir(w.home)}/events.jsonl`;
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
  assert.equal(await appendEvent(`${w.home}/gone/events.jsonl`, "gone", notify("x")), undefined);
});

worldTest("appendEvent: a torn last line does not swallow the next event", async (w) => {
  const path = `${await sessionDir(w.home)}/events.jsonl`;
  await appendEvent(path, "s", notify("a"));
  await Deno.writeTextFile(path, '{"schema_version":1,"seq":2,"ts"', { append: true });
  const next = await appendEvent(path, "s", notify("b"));
  assert.equal(next?.seq, 2);
  const events = await readEvents(path);
  assert.deepEqual(events.map((e) => e.seq), [1, 2]);
});

worldTest(
  "followEvents: waits for the log, joins partial lines, skips foreign lines",
  async (w) => {
    const dir = await sessionDir(w.home);
    const path = `${dir}/events.jsonl`;
    const ac = new AbortController();
    const { events, done } = collect(followEvents(path, "s", { from: 1, signal: ac.signal }));
    await new Promise((r) => setTimeout(r, 100)); // the log does not exist yet
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
    await new Promise((r) => setTimeout(r, 150));
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

worldTest("followEvents: from a seq, a time, or now; snapshot; ends with closed", async (w) => {
  const path = `${await sessionDir(w.home)}/events.jsonl`;
  for (let i = 1; i <= 5; i++) {
    await appendEvent(path, "s", notify(`n${i}`));
    await new Promise((r) => setTimeout(r, 5)); // distinct timestamps
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
  await new Promise((r) => setTimeout(r, 100));
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

worldTest("followEvents: ends on abort and when the session's state is removed", async (w) => {
  const dir = await sessionDir(w.home);
  const path = `${dir}/events.jsonl`;
  await appendEvent(path, "s", notify("a"));
  const ac = new AbortController();
  const aborted = collect(followEvents(path, "s", { from: 1, signal: ac.signal }));
  await waitFor("the first event", () => Promise.resolve(aborted.events.length === 1), 5000, 10);
  ac.abort();
  await aborted.done;

  const removed = collect(followEvents(path, "s", { from: 1 }));
  await waitFor("the first event", () => Promise.resolve(removed.events.length === 1), 5000, 10);
  await Deno.remove(dir, { recursive: true });
  await removed.done; // no closed in the log, yet the stream ends cleanly
  assert.deepEqual(removed.events.map((e) => e.seq), [1]);

  // A log that never appears in a directory that is gone: nothing to wait for.
  assert.deepEqual(await Array.fromAsync(followEvents(path, "s")), []);
});

worldTest("followEvents: a death the probe notices is appended as closed, once", async (w) => {
  const path = `${await sessionDir(w.home)}/events.jsonl`;
  let dead = false;
  const stream = collect(
    followEvents(path, "s", { ended: () => Promise.resolve(dead ? "program exited" : undefined) }),
  );
  await new Promise((r) => setTimeout(r, 300));
  dead = true;
  await stream.done;
  assert.equal(stream.events.length, 1);
  assert.equal(stream.events[0]?.status, "closed");
  const log = await readEvents(path);
  assert.deepEqual(log.map((e) => [e.seq, e.status]), [[1, "closed"]]);
  // A second follower of the dead session adds nothing.
  await Array.fromAsync(followEvents(path, "s", { ended: () => Promise.resolve("again") }));
  assert.equal((await readEvents(path)).length, 1);
});

worldTest(
  "appendEvent: 8 processes x 100 appends keep seq gap-free, every line JSON",
  async (w) => {
    const path = `${await sessionDir(w.home)}/events.jsonl`;
    const PROCS = 8;
    const EACH = 100;
    const follower = collect(followEvents(path, "s", { from: 1 }));
    const script = `
    import { appendEvent } from ${JSON.stringify(`file://${EVENTS_MODULE}`)};
    const [path, who, startAt] = Deno.args;
    await new Promise((r) => setTimeout(r, Number(startAt) - Date.now())); // all start together
    for (let i = 0; i < ${EACH}; i++) {
      await appendEvent(path, "s", { status: "notify", from: who, message: "m" + i });
    }`;
    const startAt = String(Date.now() + 1500);
    const children = Array.from({ length: PROCS }, (_, p) =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", "--no-lock", script, path, `p${p}`, startAt],
        stdout: "null",
        stderr: "piped",
      }).output());
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

Deno.test("events: read backwards, a line longer than a chunk included, equals reading forwards", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/events.jsonl`;
  try {
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
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

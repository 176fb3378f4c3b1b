/**
 * Quiet at scale (issue 16), against real tmux sessions: an idle follower spawns nothing and still
 * learns of a session's death at once; one `km --all` or `km -s` follows many sessions (those
 * made later too) with one file watch; `-1` across sessions; the library's `Kernel.events`.
 * @module
 */

import assert from "node:assert/strict";
import {
  followsEvents,
  letTimePass,
  PLAIN_BASH,
  waitFor,
  withDeadline,
  type World,
  worldTest,
} from "./harness.ts";

/** One event line as km prints it. */
type Line = { status: string; session: string; seq?: number; cell_id?: string; reason?: string };

/** A km process whose lines are collected as they come, each with its arrival time. */
class Monitor {
  readonly child: Deno.ChildProcess;
  readonly lines: { line: Line; atMs: number }[] = [];
  readonly #reading: Promise<void>;

  constructor(w: World, args: string[]) {
    const child = w.spawnKm(args, "inherit");
    this.child = child;
    this.#reading = (async () => {
      let pending = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        const parts = (pending + chunk).split("\n");
        pending = parts.pop() ?? "";
        for (const part of parts) this.lines.push({ line: JSON.parse(part), atMs: Date.now() });
      }
    })();
  }

  /** Waits (bounded) for a line that `match` accepts; returns it with its arrival time. */
  async line(what: string, match: (l: Line) => boolean): Promise<{ line: Line; atMs: number }> {
    return await waitFor(what, () => Promise.resolve(this.lines.find((l) => match(l.line))));
  }

  async exit(): Promise<number> {
    const { code } = await withDeadline(this.child.status, 10_000, "km did not exit");
    await this.#reading;
    return code;
  }

  stop(): void {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Minor faults of the children a process reaped (/proc/<pid>/stat `cminflt`): each spawn adds. */
async function reapedChildFaults(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[8]);
}

/** How many inotify instances a process holds. */
async function inotifyInstances(pid: number): Promise<number> {
  let n = 0;
  for await (const fd of Deno.readDir(`/proc/${pid}/fd`)) {
    const target = await Deno.readLink(`/proc/${pid}/fd/${fd.name}`).catch(() => "");
    if (target === "anon_inode:inotify") n++;
  }
  return n;
}

async function newSession(w: World, name: string): Promise<void> {
  const out = await w.k(["new", name, PLAIN_BASH], {}, w.base);
  assert.equal(out.code, 0, out.stderr);
}

/** Waits until km follows the session (holds its log open, or watches for it). */
async function following(w: World, km: Monitor, name: string): Promise<void> {
  await waitFor(`km to follow ${name}`, () => followsEvents(km.child.pid, w.sessionDir(name)));
}

worldTest(
  "an idle km spawns nothing, and learns of its session's death within a second",
  async (w) => {
    await newSession(w, "w");
    const km = new Monitor(w, ["w"]);
    try {
      await following(w, km, "w");
      const before = await reapedChildFaults(km.child.pid);
      // The follower this replaces asked tmux about once a second: 2.5 s would show 2 spawns.
      await letTimePass(2500, "an idle period over which a polling follower would spawn tmux");
      assert.equal(
        await reapedChildFaults(km.child.pid),
        before,
        "km spawned a process while idle",
      );
      const killedAt = Date.now();
      assert.equal((await w.tmux(["kill-session", "-t", "=w"])).code, 0);
      const closed = await km.line("closed", (l) => l.status === "closed");
      assert.ok(closed.atMs - killedAt < 1000, `closed came ${closed.atMs - killedAt} ms after`);
      assert.equal(await km.exit(), 0);
    } finally {
      km.stop();
    }
  },
  { timeoutMs: 60_000 },
);

worldTest(
  "km --all follows every session, those made later too, with one file watch",
  async (w) => {
    await newSession(w, "a");
    const km = new Monitor(w, ["--all"]);
    try {
      await following(w, km, "a");
      await newSession(w, "b"); // made after km started: joins from its first event
      await following(w, km, "b");
      for (const name of ["a", "b"]) {
        const ran = await w.kJson(["run", "-j", name, "echo hi"]);
        assert.equal(ran.status, "done");
        await km.line(`${name}'s done`, (l) => l.session === name && l.status === "done");
      }
      assert.equal(await inotifyInstances(km.child.pid), 1, "one inotify instance for all");
      // One session's end is told; the stream goes on for the others.
      assert.equal((await w.k(["kill", "a"])).code, 0);
      await km.line("a's closed", (l) => l.session === "a" && l.status === "closed");
      const before = await reapedChildFaults(km.child.pid);
      await w.kJson(["run", "-j", "b", "echo again"]);
      await km.line("b's second done", (l) =>
        l.session === "b" && l.status === "done" &&
        km.lines.filter((x) => x.line.session === "b" && x.line.status === "done").length === 2);
      assert.equal(await reapedChildFaults(km.child.pid), before, "km spawned nothing meanwhile");
    } finally {
      km.stop();
    }
  },
  { timeoutMs: 90_000 },
);

worldTest(
  "km -s a,b -1 exits at the first completion in either; --from takes no seq",
  async (w) => {
    await newSession(w, "a");
    await newSession(w, "b");
    const fired = await w.kJson(["fire", "b", "sleep 1; echo b"]);
    assert.equal(fired.status, "fired");
    const km = new Monitor(w, ["-s", "a,b", "-1", "--timeout", "30s"]);
    try {
      assert.equal(await km.exit(), 0);
      assert.deepEqual(
        km.lines.map((l) => [l.line.session, l.line.status, l.line.cell_id]),
        [["b", "done", fired.cell_id]],
      );
    } finally {
      km.stop();
    }
    const seq = new Monitor(w, ["-s", "a", "-s", "b", "--from", "3"]);
    try {
      assert.equal(await seq.exit(), 1);
      assert.match(seq.lines[0]?.line.status ?? "", /^error$/);
    } finally {
      seq.stop();
    }
    // Durations: 500ms of waiting on an idle session ends with status 2; a unit km does not know
    // is refused.
    const timed = new Monitor(w, ["-s", "a", "--timeout", "500ms"]);
    try {
      assert.equal(await timed.exit(), 2);
    } finally {
      timed.stop();
    }
    const badUnit = new Monitor(w, ["-s", "a", "--stall-after", "8x"]);
    try {
      assert.equal(await badUnit.exit(), 1);
    } finally {
      badUnit.stop();
    }
    // The library: the same stream, a snapshot of both sessions, oldest first.
    const events = await Array.fromAsync(w.kernel.events({ sessions: ["a", "b"], follow: false }));
    assert.deepEqual(
      events.filter((e) => e.status === "done").map((e) => e.session),
      ["b"],
    );
  },
  { timeoutMs: 60_000 },
);

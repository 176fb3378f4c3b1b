// The cell lifecycle under real tmux: lock, timeout, interrupt, fire/poll, dead watchers and
// sessions dying under a cell.
import { deepEqual as assertEquals, equal, match, ok } from "node:assert/strict";
import { waitFor, worldTest } from "./harness.ts";

worldTest("new returns when the first prompt is up: new + run needs no sleep", async (w) => {
  const created = await w.k(["new", "w", "bash"]);
  assertEquals([created.code, created.stdout.trim()], [0, "OK w (integration mode)"]);
  const r = await w.kJson(["run", "-j", "w", "echo first"]);
  equal(r.output, "first");
  const again = await w.k(["new", "w", "bash"]);
  assertEquals([again.code, again.stdout.trim()], [0, "OK w (alive)"]);
});

worldTest("a rejected run/fire types nothing and changes nothing", async (w) => {
  await w.kernel.create("w");
  const fired = await w.kJson(["fire", "w", "sleep 2; echo first-done"]);
  equal(fired.status, "fired");
  const lockBefore = await Deno.readTextFile(`${w.sessionDir("w")}/lock`);
  const run = await w.kJson(["run", "-j", "w", "echo SHOULD_NOT_APPEAR"]);
  assertEquals([run.code, run.status, run.output], [1, "error", `active cell '${fired.cell_id}'`]);
  const fire = await w.kJson(["fire", "w", "echo SHOULD_NOT_APPEAR_EITHER"]);
  assertEquals([fire.code, fire.status], [1, "error"]);
  equal(await Deno.readTextFile(`${w.sessionDir("w")}/lock`), lockBefore);
  const done = await waitFor("first cell done", async () => {
    const p = await w.kJson(["poll", "w", String(fired.cell_id)]);
    return p.status === "done" ? p : undefined;
  });
  equal(done.output, "first-done");
  const log = await Deno.readTextFile(`${w.sessionDir("w")}/pane.log`);
  ok(!log.includes("SHOULD_NOT_APPEAR"), "rejected code reached the terminal");
});

worldTest("fire, poll while running shows progress, poll when done", async (w) => {
  await w.kernel.create("w");
  const fired = await w.kJson(["fire", "w", "echo step1; sleep 1; echo step2"]);
  equal(fired.code, 0);
  const running = await waitFor("progress", async () => {
    const p = await w.kJson(["poll", "w"]);
    return p.status === "running" && String(p.output).includes("step1") ? p : undefined;
  });
  equal(running.cell_id, fired.cell_id);
  const done = await waitFor("done", async () => {
    const p = await w.kJson(["poll", "w", String(fired.cell_id)]);
    return p.status === "done" ? p : undefined;
  });
  equal(done.output, "step1\nstep2");
  // The cell id alone (no session) works when only one session is live.
  const byId = await w.kJson(["poll", String(fired.cell_id)]);
  equal(byId.status, "done");
});

worldTest("timeout keeps the lock; later polls show the output so far; int ends it", async (w) => {
  await w.kernel.create("w");
  const r = await w.kJson(["run", "-j", "-t", "1", "w", "echo before; sleep 30"]);
  assertEquals([r.code, r.status, r.output], [0, "timeout", "before"]);
  const p = await w.kJson(["poll", "w"]);
  assertEquals([p.status, p.output], ["timeout", "before"]);
  const status = await w.kJson(["status", "-j", "w"]);
  assertEquals([status.state, status.cell_id], ["timeout", r.cell_id]);
  // The cell goes on under a background watcher: a busy run says so, not "watcher died".
  const busy = await w.kJson(["run", "-j", "w", "echo nope"]);
  assertEquals([busy.status, busy.output], ["error", `active cell '${r.cell_id}'`]);
  const int = await w.k(["int", "w"]);
  assertEquals([int.code, int.stdout.trim()], [0, `OK w (interrupted cell ${r.cell_id})`]);
  const after = await w.kJson(["poll", "w", String(r.cell_id)]);
  assertEquals([after.status, after.output], ["error", "interrupted"]);
  equal((await w.kJson(["run", "-j", "w", "echo recovered"])).output, "recovered");
});

worldTest(
  "fire timeout: first poll reports the timeout with output, later polls the output so far",
  async (w) => {
    await w.kernel.create("w");
    const fired = await w.kJson(["fire", "-t", "1", "w", "echo partial; sleep 30"]);
    const first = await waitFor("timeout", async () => {
      const p = await w.kJson(["poll", "w"]);
      return p.status === "timeout" ? p : undefined;
    });
    assertEquals([first.cell_id, first.output], [fired.cell_id, "partial"]);
    ok("duration_ms" in first, "the first report is a final result, with its timing");
    const later = await w.kJson(["poll", "w"]);
    assertEquals([later.status, later.output, "duration_ms" in later], [
      "timeout",
      "partial",
      false,
    ]);
    equal((await w.k(["int", "w"])).code, 0);
    equal((await w.kJson(["run", "-j", "w", "echo ok"])).output, "ok");
  },
);

worldTest("background watcher killed: poll says watcher died, int recovers", async (w) => {
  await w.kernel.create("w");
  const fired = await w.kJson(["fire", "w", "sleep 30"]);
  const lock = await waitFor("lock", () => w.readLockFile("w"));
  equal(lock.cell_id, fired.cell_id);
  Deno.kill(lock.owner.pid, "SIGKILL");
  const p = await waitFor("watcher died", async () => {
    const p = await w.kJson(["poll", "w"]);
    return p.status === "error" ? p : undefined;
  });
  match(String(p.output), /^watcher died: .*use k int w to recover$/);
  equal(p.code, 1);
  equal((await w.kJson(["status", "-j", "w"])).state, "watcher-dead");
  equal((await w.k(["int", "w"])).code, 0);
  equal((await w.kJson(["run", "-j", "w", "echo back"])).output, "back");
});

worldTest("k run process killed mid-cell: reported, and int brings the session back", async (w) => {
  await w.kernel.create("w");
  const child = w.spawnK(["run", "w", "sleep 30"]);
  const lock = await waitFor("lock", () => w.readLockFile("w"));
  equal(lock.owner.pid, child.pid);
  // Mid-cell: its code typed (a lock whose `fired` event never came was never typed, and is
  // released without a record: see faults_load_test.ts).
  const events = `${w.sessionDir("w")}/events.jsonl`;
  await waitFor("the cell's fired event", async () => {
    return (await Deno.readTextFile(events).catch(() => "")).includes(lock.cell_id);
  });
  child.kill("SIGKILL");
  await child.status;
  const p = await w.kJson(["poll", "w"]);
  assertEquals([p.status, p.code], ["error", 1]);
  match(String(p.output), /watcher died/);
  equal((await w.k(["int", "w"])).code, 0);
  equal((await w.kJson(["run", "-j", "w", "echo alive"])).output, "alive");
});

worldTest(
  "tmux server killed under a running cell: error, then no session, then new works",
  async (w) => {
    await w.kernel.create("w");
    const fired = await w.kJson(["fire", "w", "sleep 30"]);
    await w.tmux(["kill-server"]);
    const p = await waitFor("cell error", async () => {
      const p = await w.kJson(["poll", "w", String(fired.cell_id)]);
      return p.status === "error" ? p : undefined;
    });
    match(String(p.output), /session 'w' ended while the cell was running/);
    const run = await w.kJson(["run", "-j", "w", "echo x"]);
    assertEquals([run.code, run.status, run.output], [
      1,
      "error",
      "no session 'w'; use k new w bash",
    ]);
    equal((await w.k(["new", "w", "bash"])).code, 0);
    equal((await w.kJson(["run", "-j", "w", "echo again"])).output, "again");
  },
);

worldTest("the program exiting under a cell is an error naming it", async (w) => {
  await w.kernel.create("w");
  const r = await w.kJson(["run", "-j", "-t", "10", "w", "exit"]);
  assertEquals([r.code, r.status], [1, "error"]);
  match(String(r.output), /session 'w' ended/);
  const status = await w.kJson(["status", "-j", "w"]);
  assertEquals([status.alive, status.state], [false, "stale"]);
});

worldTest("int without an active cell sends C-c and says so", async (w) => {
  await w.kernel.create("w");
  const r = await w.k(["int", "w"]);
  assertEquals([r.code, r.stdout.trim()], [0, "OK w (no active cell; sent C-c)"]);
});

worldTest(
  "kill ends the tmux session and removes the state; a second kill is an error",
  async (w) => {
    await w.kernel.create("w");
    const k = await w.k(["kill", "w"]);
    assertEquals([k.code, k.stdout.trim()], [0, "OK w (killed)"]);
    equal((await w.tmux(["has-session", "-t", "=w"])).code, 1);
    await Deno.lstat(w.sessionDir("w")).then(() => ok(false, "state left behind"), () => {});
    const again = await w.k(["kill", "w"]);
    assertEquals([again.code, again.stderr.trim()], [1, "k: no session 'w'; use k new w bash"]);
  },
);

worldTest("a program that exits at once: clear error, nothing left behind", async (w) => {
  const r = await w.k(["new", "w", "false"]);
  equal(r.code, 1);
  match(r.stderr, /^k: program 'false' exited before showing a prompt/);
  await Deno.lstat(w.sessionDir("w")).then(() => ok(false, "state left behind"), () => {});
});

worldTest("sessions never see each other's output; a.b is not a or a_b", async (w) => {
  await Promise.all(["a", "a.b", "a_b"].map((s) => w.kernel.create(s)));
  const results = await Promise.all(
    ["a", "a.b", "a_b"].map((s) => w.kJson(["run", "-j", s, `echo "I am ${s}"`])),
  );
  assertEquals(results.map((r) => r.output), ["I am a", "I am a.b", "I am a_b"]);
  await w.k(["kill", "a.b"]);
  equal((await w.kJson(["run", "-j", "a", "echo still"])).output, "still");
  equal((await w.kJson(["run", "-j", "a_b", "echo still"])).output, "still");
});

// Repeat mode types its Enters ahead, and `read` would take one; exact mode types none.
worldTest("send types into the running cell", async (w) => {
  await w.kernel.create("w", { command: "env PS1='K> ' bash --norc --noprofile", prompt: "K>" });
  const fired = await w.kJson(["fire", "w", "read -p 'name? ' n; echo \"got $n\""]);
  await waitFor(
    "prompt",
    async () => String((await w.kJson(["poll", "w"])).output).includes("name?"),
  );
  const s = await w.k(["send", "w", "ktty"]);
  assertEquals([s.code, s.stdout.trim()], [0, `OK w (sent to cell ${fired.cell_id})`]);
  const done = await waitFor("done", async () => {
    const p = await w.kJson(["poll", "w"]);
    return p.status === "done" ? p : undefined;
  });
  ok(String(done.output).endsWith("got ktty"), String(done.output));
  const none = await w.k(["send", "w", "x"]);
  assertEquals([none.code, none.stderr.trim()], [
    1,
    "k: no active cell in session 'w', and its program is at its prompt; use k run",
  ]);
});

// Fault injection, part 1: processes that die (the k process, the background watcher and its
// process group, the tmux server, the program itself), races between concurrent k processes, and
// disk trouble (corrupt lock/result/meta files, a read-only state dir, a full disk). Real tmux,
// real processes; every test bounded in time. Names, ids and state dirs: faults_input_test.ts;
// hostile code and output: faults_io_test.ts; hostile hooks: faults_hooks_test.ts.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import {
  assertCliError,
  assertJsonError,
  type Cleanup,
  CLI,
  collect,
  count,
  exists,
  findProcesses,
  isRunning,
  letTimePass,
  parseOneJson,
  PLAIN_BASH,
  procInfo,
  runCommand,
  timed,
  waitFor,
  type World,
  worldTest,
} from "./harness.ts";

type Mode = "integration" | "repeat";
const MODES: Mode[] = ["integration", "repeat"];

function modeOptions(mode: Mode): { prompt?: string } {
  return mode === "repeat" ? { prompt: "repeat" } : {};
}

/** Polls until the cell is no longer running; returns the final poll. */
async function pollUntilFinal(
  w: World,
  session: string,
  cellId: string,
  timeoutMs = 10_000,
): Promise<Record<string, unknown> & { code: number }> {
  return await waitFor(
    `cell ${cellId} of '${session}' to finish`,
    async () => {
      const p = await w.kStrictJson(["poll", session, cellId]);
      return p.status !== "running" ? p : undefined;
    },
    timeoutMs,
    100,
  );
}

/** Waits until the session's lock names a cell whose code is visible in the pane log. */
async function waitTyped(w: World, session: string, marker: string) {
  return await waitFor(`cell typed in '${session}'`, async () => {
    const lock = await w.readLockFile(session);
    return lock && (await w.paneLog(session)).includes(marker) ? lock : undefined;
  });
}

async function assertNoWatchers(w: World, what: string): Promise<void> {
  await waitFor(
    `no background watcher left (${what})`,
    async () => {
      return (await w.watchers()).length === 0;
    },
    8_000,
    100,
  );
}

// ---------------------------------------------------------------------------------------------
// Processes that die

for (const mode of MODES) {
  worldTest(
    `k run SIGKILLed mid-cell (${mode}): owner proved dead by pid+start time, k int recovers`,
    async (w, cleanup) => {
      await w.kernel.create("w", modeOptions(mode));
      const child = w.spawnK(["run", "-j", "-t", "60", "w", "sleep 30; echo NEVER"]);
      cleanup.add(() => child.kill("SIGKILL"));
      const lock = await waitTyped(w, "w", "sleep 30; echo NEVER");
      // The lock names the k process itself, with its start time from /proc.
      equal(lock.owner.pid, child.pid, "lock owner is the k run process");
      equal(lock.owner_kind, "run");
      const info = await procInfo(child.pid);
      ok(info, "k run is alive");
      equal(lock.owner.start, info.start, "lock records the owner's start time");
      child.kill("SIGKILL");
      await collect(child);

      const p = await w.kStrictJson(["poll", "w"]);
      assertJsonError(p, /^watcher died: .*k run.*use k int w to recover$/, "poll after SIGKILL");
      equal(p.cell_id, lock.cell_id);
      const st = await w.kStrictJson(["status", "-j", "w"]);
      deepEqual([st.state, st.cell_id], ["watcher-dead", lock.cell_id]);

      // pid reuse: a live process with the owner's pid but another start time is not the owner.
      const decoy = new Deno.Command("sleep", { args: ["60"] }).spawn();
      cleanup.add(() => decoy.kill("SIGKILL"));
      const decoyInfo = await procInfo(decoy.pid);
      ok(decoyInfo);
      const original = await Deno.readTextFile(w.lockPath("w"));
      const reused = {
        ...lock,
        owner: { pid: decoy.pid, start: String(Number(decoyInfo.start) - 7) },
      };
      await Deno.writeTextFile(w.lockPath("w"), JSON.stringify(reused));
      const p2 = await w.kStrictJson(["poll", "w"]);
      assertJsonError(p2, /^watcher died/, "poll with a reused pid (other start time)");
      // …while the very same process (pid and start time) counts as alive: the check is real.
      const alive = { ...lock, owner: { pid: decoy.pid, start: decoyInfo.start } };
      await Deno.writeTextFile(w.lockPath("w"), JSON.stringify(alive));
      equal((await w.kStrictJson(["poll", "w"])).status, "running", "live owner is running");
      await Deno.writeTextFile(w.lockPath("w"), original);

      const { value: int, ms } = await timed(() => w.k(["int", "w"]));
      deepEqual([int.code, int.stdout.trim()], [0, `OK w (interrupted cell ${lock.cell_id})`]);
      ok(ms < 5_000, `k int took ${ms} ms`);
      ok(!(await exists(w.lockPath("w"))), "lock released");
      const after = await w.kStrictJson(["poll", "w", lock.cell_id]);
      deepEqual([after.status, after.output], ["error", "interrupted"]);
      const back = await timed(() => w.kStrictJson(["run", "-j", "-t", "10", "w", "echo back"]));
      deepEqual([back.value.status, back.value.output], ["done", "back"]);
      ok(back.ms < 5_000, "the killed cell's sleep was interrupted");
      ok(!(await w.paneLog("w")).includes("\nNEVER"), "the killed cell's code did not go on");
    },
  );
}

worldTest(
  "background watcher SIGKILLed with its whole process group (integration and hook): k int recovers",
  async (w) => {
    const hook = await w.writeScript(
      "detect",
      '#!/bin/sh\nwhile read l; do case "$l" in "K>"*) exit 0;; esac; done\n',
    );
    await Promise.all([
      w.kernel.create("w"),
      w.kernel.create("h", { command: PLAIN_BASH, prompt: hook }),
    ]);
    for (const s of ["w", "h"]) {
      const fired = await w.kStrictJson(["fire", s, "sleep 30"]);
      equal(fired.status, "fired", `fire in ${s}`);
      const lock = await waitFor(`lock of ${s}`, async () => {
        const l = await w.readLockFile(s);
        return l?.cell_id === fired.cell_id ? l : undefined;
      });
      equal(lock.owner_kind, "fire");
      const watcher = await procInfo(lock.owner.pid);
      ok(watcher, `watcher of ${s} alive`);
      ok(watcher.cmdline.includes("watcher.ts"), watcher.cmdline);
      equal(lock.owner.start, watcher.start, "lock records the watcher's start time");
      equal(watcher.pgrp, watcher.pid, "the detached watcher leads its own process group");
      if (s === "h") {
        await waitFor("hook running in the watcher's group", async () => {
          const procs = await findProcesses((p) => p.pgrp === watcher.pgrp);
          return procs.some((p) => p.cmdline.includes(hook));
        });
      }
      Deno.kill(-watcher.pgrp, "SIGKILL");
      await waitFor(`process group of ${s}'s watcher gone`, async () => {
        return (await findProcesses((p) => p.pgrp === watcher.pgrp)).length === 0;
      });
      const p = await w.kStrictJson(["poll", s]);
      assertJsonError(p, new RegExp(`^watcher died: .*use k int ${s} to recover$`), `poll ${s}`);
      equal(p.cell_id, fired.cell_id);
      equal((await w.kStrictJson(["status", "-j", s])).state, "watcher-dead");
      const int = await w.k(["int", s]);
      deepEqual([int.code, int.stdout.trim()], [0, `OK ${s} (interrupted cell ${fired.cell_id})`]);
      const back = await w.kStrictJson(["run", "-j", "-t", "10", s, `echo back-${s}`]);
      deepEqual([back.status, back.output], ["done", `back-${s}`]);
    }
  },
);

worldTest(
  "tmux server killed under running cells: errors name it, run/fire say no session, new works",
  async (w) => {
    await Promise.all([w.kernel.create("w"), w.kernel.create("v", { prompt: "repeat" })]);
    const fired = await w.kStrictJson(["fire", "w", "sleep 30"]);
    const firedLock = await waitTyped(w, "w", "sleep 30");
    const runner = w.spawnK(["run", "-j", "-t", "60", "v", "sleep 31"]);
    await waitTyped(w, "v", "sleep 31");
    await w.tmux(["kill-server"]);

    // The k run watching in-process notices promptly, not at its 60 s timeout.
    const { value: ran, ms } = await timed(() => collect(runner));
    ok(ms < 8_000, `k run noticed the dead server only after ${ms} ms`);
    const r = parseOneJson(ran, "k run under a killed server");
    deepEqual([ran.code, r.status], [1, "error"], ran.stdout);
    match(String(r.output), /session 'v' ended while the cell was running.*tmux/);

    const p = await waitFor("fired cell ends as an error", async () => {
      const p = await w.kStrictJson(["poll", "w", String(fired.cell_id)]);
      return p.status === "error" ? p : undefined;
    }, 8_000);
    match(String(p.output), /session 'w' ended while the cell was running.*tmux/);
    await waitFor(
      "the fired cell's watcher exits",
      async () => !(await isRunning(firedLock.owner.pid)),
    );
    const events = await Deno.readTextFile(`${w.sessionDir("w")}/events.jsonl`);
    ok(events.includes('"status":"closed"'), "closed appended to the event log");
    const st = await w.kStrictJson(["status", "-j", "w"]);
    deepEqual([st.alive, st.state], [false, "stale"]);

    for (const s of ["w", "v"]) {
      const run = await w.kStrictJson(["run", "-j", s, "echo x"]);
      deepEqual([run.code, run.status, run.output], [
        1,
        "error",
        `no session '${s}'; use k new ${s} bash`,
      ]);
      const fire = await w.kStrictJson(["fire", s, "echo x"]);
      deepEqual([fire.code, fire.status, fire.output], [
        1,
        "error",
        `no session '${s}'; use k new ${s} bash`,
      ]);
    }
    await assertNoWatchers(w, "after fires on dead sessions");
    deepEqual(await w.tmuxSessions(), [], "nothing restarted tmux behind our back");

    const again = await w.k(["new", "w", "bash"]);
    deepEqual([again.code, again.stdout.trim()], [0, "OK w (integration mode)"]);
    const againV = await w.k(["new", "v", "bash", "--prompt=repeat"]);
    deepEqual([againV.code, againV.stdout.trim()], [0, "OK v (repeat mode)"]);
    equal((await w.kStrictJson(["run", "-j", "w", "echo again-w"])).output, "again-w");
    equal((await w.kStrictJson(["run", "-j", "v", "echo again-v"])).output, "again-v");
  },
);

worldTest(
  "the program exiting (exit in bash): error naming it, run/fire/int say no session, new makes it again",
  async (w) => {
    await Promise.all([w.kernel.create("w"), w.kernel.create("r", { prompt: "repeat" })]);
    const { value: ran, ms } = await timed(() =>
      w.kStrictJson(["run", "-j", "-t", "20", "w", "exit"])
    );
    assertJsonError(ran, /^session 'w' ended while the cell was running.*exit/, "run exit");
    ok(ms < 8_000, `run noticed the exit only after ${ms} ms`);
    const fired = await w.kStrictJson(["fire", "r", "exit 3"]);
    equal(fired.status, "fired");
    const p = await pollUntilFinal(w, "r", String(fired.cell_id), 8_000);
    assertJsonError(p, /^session 'r' ended while the cell was running.*exit/, "poll after exit 3");
    for (const s of ["w", "r"]) {
      equal((await w.tmux(["has-session", "-t", `=${s}`])).code, 1, `tmux session ${s} gone`);
      const run = await w.kStrictJson(["run", "-j", s, "echo x"]);
      deepEqual([run.code, run.status, run.output], [
        1,
        "error",
        `no session '${s}'; use k new ${s} bash`,
      ]);
      const fire = await w.kStrictJson(["fire", s, "echo x"]);
      deepEqual([fire.code, fire.status, fire.output], [
        1,
        "error",
        `no session '${s}'; use k new ${s} bash`,
      ]);
      assertCliError(await w.k(["int", s]), new RegExp(`^k: no session '${s}'`), `int ${s}`);
      const st = await w.kStrictJson(["status", "-j", s]);
      deepEqual([st.alive, st.state], [false, "stale"]);
    }
    await assertNoWatchers(w, "after fires on dead sessions");
    const again = await w.k(["new", "w", "bash"]);
    deepEqual([again.code, again.stdout.trim()], [0, "OK w (integration mode)"]);
    const againR = await w.k(["new", "r", "bash", "--prompt=repeat"]);
    deepEqual([againR.code, againR.stdout.trim()], [0, "OK r (repeat mode)"]);
    equal((await w.kStrictJson(["run", "-j", "w", "echo again"])).output, "again");
    equal((await w.kStrictJson(["run", "-j", "r", "echo again"])).output, "again");
  },
);

// ---------------------------------------------------------------------------------------------
// Races

worldTest(
  "eight simultaneous fires: exactly one accepted, exactly one piece of code typed",
  async (w) => {
    await Promise.all([w.kernel.create("w"), w.kernel.create("r", { prompt: "repeat" })]);
    for (const s of ["w", "r"]) {
      // The cell sleeps first so the winner still holds the lock when the slowest of the eight k
      // processes gets to it: a later fire is then refused, not merely queued behind a finished one.
      const results = await Promise.all(
        Array.from(
          { length: 8 },
          (_, i) => w.kStrictJson(["fire", s, `sleep 3; echo F${i}-$((6*7))`]),
        ),
      );
      const accepted = results.filter((r) => r.status === "fired");
      equal(accepted.length, 1, `${s}: accepted ${JSON.stringify(results)}`);
      const winner = accepted[0]!;
      equal(winner.code, 0);
      for (const r of results) {
        if (r === winner) continue;
        deepEqual(
          [r.code, r.status, r.output, r.active_cell_id],
          [1, "error", `active cell '${winner.cell_id}'`, winner.cell_id],
          `${s}: a rejected fire must name the active cell`,
        );
      }
      const done = await pollUntilFinal(w, s, String(winner.cell_id));
      const i = results.indexOf(winner);
      deepEqual([done.status, done.output], ["done", `F${i}-42`]);
      const log = await w.paneLog(s);
      equal(count(log, "$((6*7))"), 1, `${s}: exactly one piece of code typed`);
      equal(
        count(log, `F${i}-42`),
        1,
        `${s}: exactly one piece of code ran; log: ${JSON.stringify(log)}`,
      );
      await assertNoWatchers(w, `${s}: the seven rejected fires`);
      ok(!(await w.readLockFile(s)), `${s}: lock released`);
    }
  },
  { timeoutMs: 40_000 },
);

worldTest(
  "simultaneous int and poll: every poll is valid, one result, session usable",
  async (w) => {
    await Promise.all([w.kernel.create("w"), w.kernel.create("r", { prompt: "repeat" })]);
    for (let round = 0; round < 6; round++) {
      const s = round % 3 === 2 ? "r" : "w";
      const fired = await w.kStrictJson(["fire", s, `sleep 30 # round ${round}`]);
      const id = String(fired.cell_id);
      await waitTyped(w, s, `sleep 30 # round ${round}`);
      const [int, ...polls] = await Promise.all([
        w.k(["int", s]),
        ...Array.from({ length: 4 }, () => w.kStrictJson(["poll", s])),
        w.kStrictJson(["poll", s, id]),
        w.kStrictJson(["status", "-j", s]),
      ]);
      deepEqual(
        [int!.code, int!.stdout.trim()],
        [0, `OK ${s} (interrupted cell ${id})`],
        `round ${round}: int said ${JSON.stringify(int)}`,
      );
      for (const p of polls) {
        if (p.session !== undefined) {
          equal(p.code, 0, `status during int: ${JSON.stringify(p)}`);
          continue;
        }
        equal(p.cell_id, id, `round ${round}: ${JSON.stringify(p)}`);
        const fine = (p.status === "running" && p.code === 0) ||
          (p.status === "error" && p.output === "interrupted" && p.code === 1);
        ok(fine, `round ${round}: poll during int said ${JSON.stringify(p)}`);
      }
      const after = await w.kStrictJson(["poll", s, id]);
      deepEqual([after.status, after.output], ["error", "interrupted"]);
      ok(!(await w.readLockFile(s)), "lock released");
      ok(!(await exists(`${w.sessionDir(s)}/cells/${id}.closing`)), "no claim left behind");
      equal(
        (await w.kStrictJson(["run", "-j", "-t", "10", s, `echo r${round}`])).output,
        `r${round}`,
      );
    }
    // Two ints at once: exactly one ends the cell; one interrupted event.
    const fired = await w.kStrictJson(["fire", "w", "sleep 30 # two ints"]);
    await waitTyped(w, "w", "sleep 30 # two ints");
    const ints = await Promise.all([w.k(["int", "w"]), w.k(["int", "w"])]);
    deepEqual(ints.map((r) => r.code), [0, 0]);
    const said = ints.map((r) => r.stdout.trim()).sort();
    deepEqual(said, [
      `OK w (interrupted cell ${fired.cell_id})`,
      "OK w (no active cell; sent C-c)",
    ]);
    const events = await Deno.readTextFile(`${w.sessionDir("w")}/events.jsonl`);
    equal(count(events, `"status":"interrupted","cell_id":"${fired.cell_id}"`), 1);
    await assertNoWatchers(w, "after the ints");
  },
  { timeoutMs: 40_000 },
);

worldTest(
  "simultaneous kill and fire: kill wins cleanly, nothing left behind, new works",
  async (w) => {
    for (let round = 0; round < 4; round++) {
      await w.kernel.create("w", round % 2 ? { prompt: "repeat" } : {});
      const [killed, fired] = await Promise.all([
        (async () => {
          await letTimePass(round * 25, "stagger the kill against the fire, later each round");
          return await w.k(["kill", "w"]);
        })(),
        w.kStrictJson(["fire", "w", `echo RACE${round}; sleep 20`]),
      ]);
      deepEqual(
        [killed.code, killed.stdout.trim()],
        [0, "OK w (killed)"],
        `round ${round}: ${killed.stderr}`,
      );
      if (fired.status !== "fired") {
        // Lost before its cell was announced (kill claimed it: nothing typed), or after.
        assertJsonError(
          fired,
          /^no session 'w'|^cell [0-9a-f]{12} was ended \(k int, k kill\) before it was typed/,
          `round ${round}: fire that lost the race`,
        );
      } else equal(fired.code, 0);
      deepEqual(await w.tmuxSessions(), [], `round ${round}: tmux session left`);
      await assertNoWatchers(w, `round ${round}`);
      // Nothing recreated the session's state after kill removed it.
      await letTimePass(200, "a late writer would have recreated the state dir by now");
      ok(!(await exists(w.sessionDir("w"))), `round ${round}: state dir left behind or recreated`);
      const again = await w.k(["new", "w", "bash"]);
      deepEqual(
        [again.code, again.stdout.trim()],
        [0, "OK w (integration mode)"],
        `round ${round}`,
      );
      equal((await w.kStrictJson(["run", "-j", "-t", "10", "w", "echo fresh"])).output, "fresh");
      equal((await w.k(["kill", "w"])).code, 0);
    }
  },
  { timeoutMs: 45_000 },
);

worldTest("many sessions driven in parallel never see each other's output", async (w) => {
  const names = ["a", "a.b", "a_b", "ab", "A", "a-b"];
  await Promise.all(names.map((n, i) => w.kernel.create(n, i % 2 ? { prompt: "repeat" } : {})));
  for (let round = 0; round < 3; round++) {
    await Promise.all(names.map(async (n, i) => {
      const tag = `S${i}R${round}`;
      const code = `for i in 1 2 3; do echo "${tag}-$i"; done`;
      let result: Record<string, unknown>;
      if ((round + i) % 2 === 0) {
        result = await w.kStrictJson(["run", "-j", "-t", "20", n, code]);
      } else {
        const fired = await w.kStrictJson(["fire", n, code]);
        equal(fired.status, "fired", `${n}: ${JSON.stringify(fired)}`);
        result = await pollUntilFinal(w, n, String(fired.cell_id), 20_000);
      }
      deepEqual([result.status, result.output], ["done", `${tag}-1\n${tag}-2\n${tag}-3`], n);
    }));
  }
  for (const [i, n] of names.entries()) {
    const log = await w.paneLog(n);
    for (const [j] of names.entries()) {
      if (j !== i) equal(count(log, `S${j}R`), 0, `session ${n} saw session ${names[j]}'s text`);
    }
  }
}, { timeoutMs: 45_000 });

// ---------------------------------------------------------------------------------------------
// Disk trouble: corrupt files

const CORRUPT_LOCKS: [string, (real: string) => string][] = [
  ["garbage", () => "{not json"],
  ["empty", () => ""],
  ["truncated", (real) => real.slice(0, Math.floor(real.length / 2))],
  ["wrong shape", () => '{"cell_id":42,"owner":"me"}'],
  ["cell id that is a path", (real) => JSON.stringify({ ...JSON.parse(real), cell_id: "../x" })],
  ["invalid UTF-8", () => "\ufffd\u0000\u0001{"],
];

worldTest(
  "a corrupt or truncated lock file is reported, not crashed on; k int recovers",
  async (w) => {
    await w.kernel.create("w");
    for (const [kind, corrupt] of CORRUPT_LOCKS) {
      // A real cell with a live watcher, whose lock then goes bad.
      const fired = await w.kStrictJson(["fire", "w", `sleep 30 # ${kind}`]);
      equal(fired.status, "fired", kind);
      await waitTyped(w, "w", `sleep 30 # ${kind}`);
      const real = await Deno.readTextFile(w.lockPath("w"));
      await Deno.writeTextFile(w.lockPath("w"), corrupt(real));

      const p = await w.kStrictJson(["poll", "w"]);
      assertJsonError(p, /corrupt.*(k int|k kill)/, `poll, ${kind} lock`);
      ok(!String(p.output).startsWith("internal error"), `poll, ${kind} lock: ${p.output}`);
      const st = await w.k(["status", "-j", "w"]);
      equal(st.code, 0, `status, ${kind} lock: ${st.stdout}${st.stderr}`);
      equal((await w.k(["ls", "-j"])).code, 0, `ls, ${kind} lock`);
      const token = `CORRUPT_${kind.replaceAll(" ", "_")}`;
      const run = await w.kStrictJson(["run", "-j", "w", `echo ${token}`]);
      assertJsonError(run, /corrupt|active cell/, `run, ${kind} lock`);
      const fire = await w.kStrictJson(["fire", "w", `echo ${token}`]);
      assertJsonError(fire, /corrupt|active cell/, `fire, ${kind} lock`);

      const int = await w.k(["int", "w"]);
      equal(int.code, 0, `int, ${kind} lock: ${int.stderr}`);
      ok(!(await exists(w.lockPath("w"))), `int removed the ${kind} lock`);
      await assertNoWatchers(w, `${kind} lock: the cell's watcher and the rejected fire's`);
      await letTimePass(200, "rejected code, had it been typed, would be in the pane log by now");
      ok(!(await w.paneLog("w")).includes(token), `${kind} lock: rejected code was typed`);
      const back = await w.kStrictJson(["run", "-j", "-t", "10", "w", "echo back"]);
      deepEqual([back.status, back.output], ["done", "back"], `${kind} lock: session usable`);
      ok(!(await exists(`${w.sessionDir("w")}/x.json`)), "a result was written at cells/../x");
      ok(!(await exists(`${w.sessionDir("w")}/x.closing`)), "a claim was made at cells/../x");
    }
    // k kill recovers too.
    await Deno.writeTextFile(w.lockPath("w"), "{not json");
    const killed = await w.k(["kill", "w"]);
    deepEqual([killed.code, killed.stdout.trim()], [0, "OK w (killed)"], killed.stderr);
    deepEqual(await w.tmuxSessions(), []);
    ok(!(await exists(w.sessionDir("w"))));
    equal((await w.k(["new", "w", "bash"])).code, 0);
    equal((await w.kStrictJson(["run", "-j", "w", "echo new"])).output, "new");
  },
  { timeoutMs: 60_000 },
);

worldTest(
  "a corrupt or truncated result file is reported, not crashed on; int/kill recover",
  async (w) => {
    await w.kernel.create("w");
    const variants: [string, string | ((real: string) => string)][] = [
      ["truncated", (real) => real.slice(0, Math.floor(real.length / 2))],
      ["empty", ""],
      ["garbage", "\u0000\u0001 not json"],
      ["wrong shape", '{"result":{"status":"done"}}'],
      ["an array", "[]"],
    ];
    for (const [kind, content] of variants) {
      const r = await w.kStrictJson(["run", "-j", "w", `echo result-${kind.length}`]);
      const id = String(r.cell_id);
      const path = `${w.sessionDir("w")}/cells/${id}.json`;
      const real = await Deno.readTextFile(path);
      await Deno.writeTextFile(path, typeof content === "string" ? content : content(real));
      const p = await w.kStrictJson(["poll", "w", id]);
      assertJsonError(p, /corrupt/, `poll of a ${kind} result`);
      ok(!String(p.output).startsWith("internal error"), `${kind}: ${p.output}`);
      const last = await w.kStrictJson(["poll", "w"]);
      assertJsonError(last, /corrupt/, `poll (last) of a ${kind} result`);
      const hist = await w.k(["history", "-j", "w"]);
      equal(hist.code, 0, `history with a ${kind} result: ${hist.stderr}`);
      equal((await w.k(["status", "-j", "w"])).code, 0);
      const back = await w.kStrictJson(["run", "-j", "w", "echo still"]);
      deepEqual([back.status, back.output], ["done", "still"], kind);
      await Deno.writeTextFile(path, typeof content === "string" ? content : content(real));
      equal((await w.k(["int", "w"])).code, 0, `int with a ${kind} result`);
    }
    equal((await w.k(["kill", "w"])).code, 0);
    ok(!(await exists(w.sessionDir("w"))));
  },
);

worldTest("a corrupt session file is reported; k kill recovers and new works", async (w) => {
  await w.kernel.create("w");
  await Deno.writeTextFile(`${w.sessionDir("w")}/meta.json`, '{"name":');
  const run = await w.kStrictJson(["run", "-j", "w", "echo x"]);
  assertJsonError(run, /corrupt.*k kill/, "run with corrupt meta");
  const poll = await w.kStrictJson(["poll", "w"]);
  assertJsonError(poll, /corrupt/, "poll with corrupt meta");
  equal((await w.k(["ls"])).code, 0, "ls with a corrupt session");
  const killed = await w.k(["kill", "w"]);
  equal(killed.code, 0, killed.stderr);
  deepEqual(await w.tmuxSessions(), []);
  equal((await w.k(["new", "w", "bash"])).code, 0);
  equal((await w.kStrictJson(["run", "-j", "w", "echo ok"])).output, "ok");
});

// ---------------------------------------------------------------------------------------------
// Disk trouble: a read-only state dir, a full disk

/**
 * How this machine can make a directory really unwritable. As root, chmod 0500 does not stop
 * writes (CAP_DAC_OVERRIDE), so root uses the immutable attribute (`chattr +i`, ext2/3/4, xfs,
 * btrfs…), which stops even root: no entry can be created, removed or renamed in the directory.
 * Others use chmod 0500.
 */
async function probeReadOnly(): Promise<"chattr" | "chmod" | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "ktty-ro-probe-" });
  const method = Deno.uid() === 0 ? "chattr" : "chmod";
  try {
    const made = method === "chattr"
      ? (await runCommand("chattr", ["+i", dir])).code === 0
      : await Deno.chmod(dir, 0o500).then(() => true, () => false);
    if (!made) return undefined;
    const blocked = await Deno.writeTextFile(`${dir}/x`, "x").then(() => false, () => true);
    return blocked ? method : undefined;
  } finally {
    if (method === "chattr") await runCommand("chattr", ["-i", dir]);
    else await Deno.chmod(dir, 0o700).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

const READ_ONLY = await probeReadOnly();

async function makeReadOnly(path: string, cleanup: Cleanup): Promise<void> {
  if (READ_ONLY === "chattr") {
    equal((await runCommand("chattr", ["+i", path])).code, 0);
    cleanup.add(() => runCommand("chattr", ["-i", path]));
  } else {
    await Deno.chmod(path, 0o500);
    cleanup.add(() => Deno.chmod(path, 0o700));
  }
  const blocked = await Deno.writeTextFile(`${path}/probe`, "x").then(() => false, () => true);
  ok(blocked, `${path} is not read-only after all`);
}

async function makeWritable(path: string): Promise<void> {
  if (READ_ONLY === "chattr") await runCommand("chattr", ["-i", path]);
  else await Deno.chmod(path, 0o700);
}

const DISK_CAUSE = /not permitted|permission denied|read-only|no space/i;

/** A clear disk error: names the cause and a path in the state dir, and is not an "internal error". */
function assertDiskError(message: string, w: World, what: string): void {
  ok(DISK_CAUSE.test(message), `${what}: no cause in ${JSON.stringify(message)}`);
  ok(message.includes(w.home), `${what}: no state path in ${JSON.stringify(message)}`);
  ok(!/internal error/.test(message), `${what}: disk trouble reported as a bug: ${message}`);
}

worldTest("a read-only state dir gives a clear error and types nothing", async (w, cleanup) => {
  // 1. A fresh K_HOME that cannot be written: new fails clearly, starts nothing.
  await Deno.mkdir(w.home, { recursive: true, mode: 0o700 });
  await makeReadOnly(w.home, cleanup);
  const created = await w.k(["new", "w", "bash"]);
  assertCliError(created, /^k: /, "new in a read-only K_HOME");
  assertDiskError(created.stderr, w, "new in a read-only K_HOME");
  deepEqual(await w.tmuxSessions(), [], "new started a tmux session anyway");
  await makeWritable(w.home);

  // 2. A live session whose directory turns read-only: run and fire fail clearly, type nothing.
  await w.kernel.create("w");
  await makeReadOnly(w.sessionDir("w"), cleanup);
  const run = await w.kStrictJson(["run", "-j", "w", "echo RO_RUN"]);
  assertJsonError(run, /./, "run in a read-only session dir");
  assertDiskError(String(run.output), w, "run in a read-only session dir");
  const fire = await w.kStrictJson(["fire", "w", "echo RO_FIRE"]);
  assertJsonError(fire, /./, "fire in a read-only session dir");
  assertDiskError(String(fire.output), w, "fire in a read-only session dir");
  await assertNoWatchers(w, "the failed fire");
  await letTimePass(200, "code typed despite the failed lock would be in the pane log by now");
  const log = await w.paneLog("w");
  ok(!log.includes("RO_RUN") && !log.includes("RO_FIRE"), "code typed although the lock failed");
  equal((await w.k(["status", "-j", "w"])).code, 0);
  await makeWritable(w.sessionDir("w"));
  equal((await w.kStrictJson(["run", "-j", "w", "echo writable"])).output, "writable");

  // 3. Results cannot be stored (cells dir read-only): bounded, clear, and recoverable.
  await makeReadOnly(`${w.sessionDir("w")}/cells`, cleanup);
  const { value: stuck, ms } = await timed(() =>
    w.kStrictJson(["run", "-j", "-t", "10", "w", "echo CELLS_RO"])
  );
  ok(ms < 9_000, `run with unwritable results took ${ms} ms`);
  assertJsonError(stuck, /./, "run whose result cannot be stored");
  assertDiskError(String(stuck.output), w, "run whose result cannot be stored");
  await makeWritable(`${w.sessionDir("w")}/cells`);
  equal((await w.k(["int", "w"])).code, 0);
  equal((await w.kStrictJson(["run", "-j", "w", "echo recovered"])).output, "recovered");
}, { skip: READ_ONLY ? false : "no way to make a directory read-only here" });

async function probeUnshare(): Promise<boolean> {
  if (Deno.uid() !== 0) return false;
  const dir = await Deno.makeTempDir({ prefix: "ktty-mnt-probe-" });
  try {
    const r = await runCommand("unshare", [
      "-m",
      "sh",
      "-c",
      `mount -t tmpfs -o size=64k tmpfs '${dir}'`,
    ]);
    return r.code === 0;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

const CAN_MOUNT = await probeUnshare();

worldTest("a full disk gives a clear error, not a hang", async (w) => {
  // A private mount namespace with a 1 MB tmpfs as K_HOME; the tmux server started inside keeps
  // the namespace alive until the world is disposed. A file then fills the tmpfs.
  const base = w.base;
  await Deno.mkdir(w.home, { mode: 0o700 });
  const k = `'${Deno.execPath()}' run -A --no-lock '${CLI}'`;
  const script = `
set -u
mount -t tmpfs -o size=1m,mode=0700 tmpfs "$K_HOME" || exit 90
${k} new w bash > "${base}/new.out" 2>&1 || exit 91
head -c 4m /dev/zero > "$K_HOME/fill" 2>/dev/null
${k} run -j -t 10 w 'echo FULL_RUN' > "${base}/run.json" 2> "${base}/run.err"; echo $? > "${base}/run.rc"
${k} fire w 'echo FULL_FIRE' > "${base}/fire.json" 2> "${base}/fire.err"; echo $? > "${base}/fire.rc"
rm -f "$K_HOME/fill"
exit 0
`;
  const { value: out, ms } = await timed(() =>
    new Deno.Command("unshare", {
      args: ["-m", "sh", "-c", script],
      env: w.env(),
      stdout: "piped",
      stderr: "piped",
    }).output()
  );
  equal(out.code, 0, `setup failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`);
  ok(ms < 20_000, `took ${ms} ms`);
  const runRc = (await Deno.readTextFile(`${base}/run.rc`)).trim();
  const runOut = await Deno.readTextFile(`${base}/run.json`);
  const run = parseOneJson({ code: Number(runRc), stdout: runOut, stderr: "" }, "run, disk full");
  deepEqual([runRc, run.status], ["1", "error"], runOut);
  assertDiskError(String(run.output), w, "run on a full disk");
  const fireRc = (await Deno.readTextFile(`${base}/fire.rc`)).trim();
  const fireOut = await Deno.readTextFile(`${base}/fire.json`);
  const fire = parseOneJson({ code: Number(fireRc), stdout: fireOut, stderr: "" }, "fire, full");
  deepEqual([fireRc, fire.status], ["1", "error"], fireOut);
  assertDiskError(String(fire.output), w, "fire on a full disk");
  await assertNoWatchers(w, "the failed fire");
}, { skip: CAN_MOUNT ? false : "needs root and unshare -m to mount a small tmpfs" });

// k kill ends the pane's whole process tree, not only what the terminal's hangup ends: a process
// deaf to SIGHUP, one that left the pane's session (setsid), one deaf to SIGTERM too. Nothing
// outside the tree is signalled: a process of the test, a daemon that double-forked away.

import { deepEqual, equal, match, ok } from "node:assert/strict";
import {
  type Cleanup,
  findProcesses,
  isRunning,
  timed,
  waitFor,
  type World,
  worldTest,
} from "./harness.ts";

/** A tag no other test's `sleep` carries, so the processes of this test are found by argv. */
function sleepTag(): string {
  return String(700_000 + Math.floor(Math.random() * 99_000));
}

/** The pid of the one live `sleep <seconds>` process. */
async function sleepPid(seconds: string): Promise<number> {
  const found = await waitFor(`sleep ${seconds} to run`, async () => {
    const procs = await findProcesses((p) => p.cmdline === `sleep ${seconds}`);
    return procs.length === 1 ? procs : undefined;
  });
  return found[0]!.pid;
}

/** Starts `sleep <seconds>` from the test itself: outside every session's tree. */
function outsider(seconds: string, cleanup: Cleanup): number {
  const child = new Deno.Command("sleep", { args: [seconds], stdin: "null" }).spawn();
  cleanup.add(async () => {
    child.kill("SIGKILL");
    await child.status;
  });
  return child.pid;
}

/** Kills `pid` at cleanup, whatever happened. */
function killAtCleanup(pid: number, cleanup: Cleanup): void {
  cleanup.add(() => Deno.kill(pid, "SIGKILL"));
}

async function sessionWithStubbornTree(w: World, tag: string) {
  await w.kernel.create("w", { cwd: w.base });
  const jobs = await w.kJson([
    "run",
    "-j",
    "w",
    [
      `(trap '' HUP; exec sleep ${tag}1) &`, // deaf to the hangup: SIGTERM ends it
      `setsid -w sleep ${tag}2 &`, // its own session, still a descendant (setsid -w waits)
      `(trap '' HUP TERM; exec sleep ${tag}3) &`, // deaf to SIGTERM too: SIGKILL ends it
      `setsid -f sleep ${tag}4`, // a daemon: forked away, reparented outside the tree
    ].join("\n"),
  ]);
  equal(jobs.status, "done");
  // The cell's program in the foreground, deaf to the hangup.
  const fired = await w.kJson(["fire", "w", `(trap '' HUP; exec sleep ${tag}5)`]);
  equal(fired.status, "fired");
}

worldTest(
  "k kill ends what outlives the hangup: SIGTERM, then SIGKILL, and says so",
  async (w, cleanup) => {
    const tag = sleepTag();
    await sessionWithStubbornTree(w, tag);
    const [hupDeaf, setsid, termDeaf, daemon, foreground] = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => sleepPid(`${tag}${n}`)),
    );
    for (const pid of [hupDeaf!, setsid!, termDeaf!, daemon!, foreground!]) {
      killAtCleanup(pid, cleanup);
    }
    const mine = outsider(`${tag}6`, cleanup);
    // Stopped, a process acts on no SIGTERM until it is continued: SIGCONT follows SIGTERM.
    Deno.kill(setsid!, "SIGSTOP");

    const killed = await w.k(["kill", "w"]);
    equal(killed.code, 0, killed.stderr);
    const line = killed.stdout.trim();
    match(line, /^OK w \(killed; .*\)$/);
    const said = line.slice("OK w (killed; ".length, -1).split("; ").sort();
    deepEqual(
      said,
      [
        `sleep (pid ${hupDeaf}) ended by SIGTERM`,
        `sleep (pid ${setsid}) ended by SIGTERM`,
        `sleep (pid ${termDeaf}) ended by SIGKILL`,
        `sleep (pid ${foreground}) ended by SIGTERM`,
      ].sort(),
    );
    for (const pid of [hupDeaf!, setsid!, termDeaf!, foreground!]) {
      equal(await isRunning(pid), false, `pid ${pid} outlived k kill`);
    }
    // Outside the tree: never signalled. The daemon left the tree before k kill (documented).
    ok(await isRunning(mine), "a process outside the session was ended");
    ok(await isRunning(daemon!), "the double-forked daemon was ended");
  },
  { timeoutMs: 45_000 },
);

worldTest(
  "k kill -j reports what it ended and what survived as one JSON object",
  async (w, cleanup) => {
    const tag = sleepTag();
    await w.kernel.create("w", { cwd: w.base });
    await w.kJson(["fire", "w", `(trap '' HUP; exec sleep ${tag}1)`]);
    const pid = await sleepPid(`${tag}1`);
    killAtCleanup(pid, cleanup);
    const killed = await w.kStrictJson(["kill", "-j", "w"]);
    deepEqual(killed, {
      session: "w",
      status: "killed",
      ended: [{ command: "sleep", pid, signal: "SIGTERM" }],
      survivors: [],
      code: 0,
      stderr: "",
    });
    equal(await isRunning(pid), false);
    const again = await w.kJson(["kill", "-j", "w"]);
    deepEqual([again.code, again.status, again.output], [
      1,
      "error",
      "no session 'w'; use k new w bash",
    ]);
  },
);

worldTest(
  "k kill of a session whose programs all end with the hangup signals nothing and is quick",
  async (w) => {
    await w.kernel.create("w", { cwd: w.base });
    // A foreground program and a background job, both ended by the hangup.
    await w.kJson(["run", "-j", "w", "sleep 600 &"]);
    await w.kJson(["fire", "w", "sleep 601"]);
    const { value: killed, ms } = await timed(() => w.kJson(["kill", "-j", "w"]));
    deepEqual([killed.code, killed.ended, killed.survivors], [0, [], []]);
    ok(ms < 1500, `k kill took ${ms} ms`);
  },
);

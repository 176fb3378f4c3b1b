// Faults under load (issue 14): a `k run` SIGKILLed at any point after it took the lock, a disk
// that fills up while cells run, a state file system that turns read-only under a background
// watcher. The disk faults are real: a small tmpfs mounted as the world's K_HOME (root only;
// as root a refused mount fails the test, it is never skipped).
import { deepEqual, equal, match, ok } from "node:assert/strict";
import {
  type Cleanup,
  collect,
  exists,
  isRunning,
  letTimePass,
  parseOneJson,
  runCommand,
  waitFor,
  type World,
  worldTest,
} from "./harness.ts";

/** The events of a session's log, as km prints them (a snapshot of the whole log). */
async function kmSnapshot(w: World, session: string): Promise<Record<string, unknown>[]> {
  const out = await w.km([session, "--snapshot"]);
  equal(out.code, 0, `km --snapshot: ${out.stdout}${out.stderr}`);
  return out.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/** The statuses of one cell's events, in order. */
function cellEvents(events: Record<string, unknown>[], cellId: string): string[] {
  return events.filter((e) => e.cell_id === cellId).map((e) => String(e.status));
}

/** Reads the session's `last` file (undefined when there is none). */
async function lastCell(w: World, session: string): Promise<string | undefined> {
  return (await Deno.readTextFile(`${w.sessionDir(session)}/last`).catch(() => "")).trim() ||
    undefined;
}

// ---------------------------------------------------------------------------------------------
// A k run (or k fire) SIGKILLed right after it took the lock

/** Delays after the lock appears at which the starter is SIGKILLed: 0 to 6 ms in 0.25 ms steps. */
const KILL_DELAYS_MS = Array.from({ length: 25 }, (_, i) => i * 0.25);

/** Spins (no timer: they are ms-coarse) until `ms` have passed since `from`. */
function spinUntil(from: number, ms: number): void {
  while (performance.now() - from < ms) {
    // busy: the point is sub-millisecond placement
  }
}

/** What one kill left, as the log and the pane show it. */
interface KillOutcome {
  /** False when inotify missed the lock (the starter then ran to its end, unkilled). */
  killed: boolean;
  cellId: string;
  typed: boolean;
  fired: boolean;
}

/**
 * Starts `k <verb>` of `echo KILLED""<i>` and SIGKILLs it `delayMs` after its lock appears (seen
 * through inotify); then lets a tmux client it had started finish typing.
 */
async function killAfterLock(
  w: World,
  verb: "run" | "fire",
  i: number,
  delayMs: number,
): Promise<KillOutcome> {
  const dir = w.sessionDir("w");
  const watcher = Deno.watchFs(dir, { recursive: false });
  const child = w.spawnK([verb, "-t", "20", "w", `echo KILLED""${i}`]);
  // A starter that ends without a lock (it never should) must not leave the loop waiting.
  const ended = child.status.then(() => watcher.close()).catch(() => {});
  let sawLock = false;
  for await (const event of watcher) {
    if (event.kind === "create" && event.paths.includes(`${dir}/lock`)) {
      const at = performance.now();
      sawLock = true;
      spinUntil(at, delayMs);
      child.kill("SIGKILL");
      break;
    }
  }
  await collect(child);
  await ended;
  const lock = await w.readLockFile("w");
  const cellId = lock?.cell_id ?? await lastCell(w, "w");
  ok(cellId, `${verb} +${delayMs} ms: no cell id found (lock seen: ${sawLock})`);
  await letTimePass(300, "a tmux client started before the kill finishes typing");
  const announced = async () => cellEvents(await kmSnapshot(w, "w"), cellId).includes("fired");
  // A fired cell's watcher outlives its k fire: it gives back a cell never announced, or watches
  // an announced one (typed or not: it cannot tell) until it ends or k int stops it.
  await waitFor(
    "the watcher gone, or the cell announced",
    async () => (await w.watchers()).length === 0 || await announced(),
    8_000,
  );
  const typed = (await w.paneLog("w")).includes(`echo KILLED""${i}`);
  return { killed: sawLock, cellId, typed, fired: await announced() };
}

/**
 * After a kill: poll, then k int; the log (as km shows it), poll and int must tell one story, and
 * the session must take the next cell at once. Returns what went wrong.
 */
async function checkAgreement(w: World, tag: string, i: number, kill: KillOutcome) {
  const failures: string[] = [];
  const { cellId, typed, fired } = kill;
  const before = cellEvents(await kmSnapshot(w, "w"), cellId);
  if (typed && !fired) failures.push(`${tag}: cell ${cellId} was typed but has no fired event`);
  if (before.length > 0 && before[0] !== "fired") {
    failures.push(`${tag}: cell ${cellId}'s events do not start with fired: ${before}`);
  }
  const polled = await w.kStrictJson(["poll", "-j", "w", cellId]);
  const int = await w.k(["int", "w"]);
  if (int.code !== 0) failures.push(`${tag}: k int failed: ${int.stdout}${int.stderr}`);
  if (await exists(w.lockPath("w"))) failures.push(`${tag}: a lock is left after k int`);
  await waitFor("no watcher left after k int", async () => (await w.watchers()).length === 0);
  const after = cellEvents(await kmSnapshot(w, "w"), cellId);
  const final = await w.kStrictJson(["poll", "-j", "w", cellId]);
  const said = `(int said ${int.stdout.trim()}; poll said ${JSON.stringify(final)})`;
  if (fired) {
    const ends = after.filter((s) => ["done", "interrupted", "error"].includes(s));
    if (after[0] !== "fired" || ends.length !== 1) {
      failures.push(`${tag}: fired cell ${cellId} has events ${after} ${said}`);
    }
    const want = ends[0] === "done" ? ["done"] : ["error", "interrupted"];
    if (final.status !== want[0] || (want[1] && final.output !== want[1])) {
      failures.push(`${tag}: km says ${ends[0]} ${said}`);
    }
    if (ends[0] === "interrupted" && !int.stdout.includes(cellId)) {
      failures.push(`${tag}: k int did not name the cell it interrupted ${said}`);
    }
  } else {
    // Never announced, so never typed: nobody records anything for it, poll knows no such cell.
    if (after.length > 0) {
      failures.push(`${tag}: cell ${cellId}, never fired, got ${after} ${said}`);
    }
    if (final.status !== "error" || polled.status !== "error") {
      failures.push(
        `${tag}: the untyped cell ${cellId} polled as ${JSON.stringify(polled)} ${said}`,
      );
    }
  }
  const next = await w.kStrictJson(["run", "-j", "-t", "10", "w", `echo next${i}`]);
  if (next.output !== `next${i}`) failures.push(`${tag}: next run: ${JSON.stringify(next)}`);
  return failures;
}

worldTest(
  "k run and k fire SIGKILLed at many points after taking the lock: every typed cell has its fired event; poll, int and km agree",
  async (w) => {
    await w.kernel.create("w", { cwd: w.base });
    const failures: string[] = [];
    const seen = {
      run: { fired: 0, unfired: 0, missed: 0 },
      fire: { fired: 0, unfired: 0, missed: 0 },
    };
    let i = 0;
    const plan: ["run" | "fire", number][] = [
      ...KILL_DELAYS_MS.map((d) => ["run", d] as ["run", number]),
      ...KILL_DELAYS_MS.filter((_, j) => j % 2 === 0).map((d) => ["fire", d] as ["fire", number]),
    ];
    for (const [verb, delay] of plan) {
      const tag = `${verb} killed +${delay} ms`;
      const kill = await killAfterLock(w, verb, ++i, delay);
      seen[verb][!kill.killed ? "missed" : kill.fired ? "fired" : "unfired"]++;
      failures.push(...await checkAgreement(w, tag, i, kill));
    }
    console.log(`kill points: ${JSON.stringify(seen)}`);
    ok(failures.length === 0, `${failures.length} failures:\n${failures.join("\n")}`);
    // The kills must have landed on both sides of the announcement to prove anything.
    ok(
      seen.run.fired > 0 && seen.run.unfired > 0,
      `kill points too narrow: ${JSON.stringify(seen)}`,
    );
  },
  { timeoutMs: 240_000 },
);

// ---------------------------------------------------------------------------------------------
// A full disk, a read-only file system (a real tmpfs as K_HOME)

const IS_ROOT = Deno.uid() === 0;

/** Whether this machine lets us mount a tmpfs (root only); why not, when it does not. */
async function probeMount(): Promise<string | undefined> {
  if (!IS_ROOT) return "mounting a tmpfs needs root";
  const dir = await Deno.makeTempDir({ prefix: "ktty-mount-probe-" });
  try {
    const r = await runCommand("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]);
    if (r.code !== 0) return `mount -t tmpfs failed: ${r.stderr.trim()}`;
    await runCommand("umount", [dir]);
    return undefined;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

const MOUNT_REFUSED = await probeMount();
/** Not root: the tests are ignored, with the reason printed. Root: they run, and fail if mount does. */
const MOUNT_SKIP = IS_ROOT ? false : MOUNT_REFUSED;

/** Mounts a tmpfs of `size` as the world's K_HOME; unmounted in cleanup whatever happens. */
async function mountHome(w: World, cleanup: Cleanup, size: string): Promise<void> {
  ok(
    MOUNT_REFUSED === undefined,
    `running as root, yet a tmpfs cannot be mounted here (${MOUNT_REFUSED}): these tests need it`,
  );
  await Deno.mkdir(w.home, { recursive: true, mode: 0o700 });
  const r = await runCommand("mount", [
    "-t",
    "tmpfs",
    "-o",
    `size=${size},mode=0700`,
    "tmpfs",
    w.home,
  ]);
  equal(r.code, 0, `mount: ${r.stderr}`);
  // Lazy: the tmux server and its pipe still hold files open; the world's disposal ends them.
  cleanup.add(() => runCommand("umount", ["-l", w.home]));
}

/**
 * Turns the world's K_HOME read-only under its running processes. A `remount,ro` of the tmpfs is
 * refused while files are open for writing (the pane log's pipe is), so a read-only bind mount is
 * stacked on it: every open, create, link and rename through K_HOME then fails with EROFS, as on a
 * file system remounted read-only; descriptors open already write on (the pane log goes on).
 */
async function makeReadOnly(w: World, cleanup: Cleanup): Promise<void> {
  const bind = await runCommand("mount", ["--bind", w.home, w.home]);
  equal(bind.code, 0, `mount --bind: ${bind.stderr}`);
  cleanup.add(() => runCommand("umount", ["-l", w.home]));
  const ro = await runCommand("mount", ["-o", "remount,bind,ro", w.home]);
  equal(ro.code, 0, `remount,bind,ro: ${ro.stderr}`);
  const blocked = await Deno.writeTextFile(`${w.home}/probe`, "x").then(() => false, () => true);
  ok(blocked, `${w.home} is not read-only after all`);
}

/** Fills the file system of `path` (a file that takes every free page). */
async function fillDisk(path: string): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const block = new Uint8Array(64 * 1024);
  try {
    while (true) await file.write(block);
  } catch (e) {
    ok(/No space left/.test(String(e)), `filling ${path}: ${e}`);
  } finally {
    file.close();
  }
}

/**
 * Reserves room for the files a cell's watching appends to (the pane log, the event log), so a
 * full disk fails the result writes, not the pane's own output: `fallocate --keep-size`.
 */
async function reserveRoom(w: World, session: string): Promise<void> {
  for (const name of ["pane.log", "events.jsonl"]) {
    const path = `${w.sessionDir(session)}/${name}`;
    await Deno.writeFile(path, new Uint8Array(0), { append: true, mode: 0o600 });
    const r = await runCommand("fallocate", ["-n", "-l", "256KiB", path]);
    equal(r.code, 0, `fallocate ${name}: ${r.stderr}`);
  }
}

/** Every file of a session's state with its bytes (to prove another session is untouched). */
async function snapshotFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const sub of ["", "/cells"]) {
    for await (const e of Deno.readDir(`${dir}${sub}`)) {
      if (!e.isFile || e.name === "pane.log") continue;
      out[`${sub}/${e.name}`] = await Deno.readTextFile(`${dir}${sub}/${e.name}`);
    }
  }
  return out;
}

/** A disk error: names `pathPart` and the cause, and is no "internal error". */
function assertNamesPath(message: string, pathPart: string, cause: RegExp, what: string): void {
  ok(message.includes(pathPart), `${what}: '${pathPart}' not named in ${JSON.stringify(message)}`);
  ok(cause.test(message), `${what}: no cause in ${JSON.stringify(message)}`);
  ok(!/internal error/.test(message), `${what}: reported as a bug: ${message}`);
}

const NO_SPACE = /No space left on device/;

worldTest(
  "a disk that fills up under cells: errors name the path, no lock is left, int and kill recover, other sessions untouched",
  async (w, cleanup) => {
    await mountHome(w, cleanup, "2m");
    await Promise.all([
      w.kernel.create("w", { cwd: w.base }),
      w.kernel.create("other", { cwd: w.base }),
    ]);
    equal((await w.kStrictJson(["run", "-j", "other", "echo before"])).output, "before");
    const otherBefore = await snapshotFiles(w.sessionDir("other"));
    await reserveRoom(w, "w");
    const fill = `${w.home}/fill`;

    // 1. The disk fills while the cell runs; its result cannot be stored.
    const stored = await w.kStrictJson([
      "run",
      "-j",
      "-t",
      "20",
      "w",
      `head -c 4m /dev/zero > ${fill} 2>/dev/null; echo filled`,
    ]);
    equal(stored.code, 1, JSON.stringify(stored));
    assertNamesPath(String(stored.output), `${w.sessionDir("w")}/cells/`, NO_SPACE, "result");
    ok(!(await exists(w.lockPath("w"))), "the k run that hit the full disk left its lock");
    let events = await kmSnapshot(w, "w");
    const first = events.filter((e) => e.status === "fired").at(-1)?.cell_id as string;
    deepEqual(cellEvents(events, first), ["fired", "error"], "km: the cell's end");
    const told = events.findLast((e) => e.cell_id === first)?.message as string;
    match(told, NO_SPACE);
    const polled = await w.kStrictJson(["poll", "-j", "w", first]);
    deepEqual([polled.status, polled.output], ["error", told], "poll agrees with km");

    // 2. Output outgrowing its budget goes to a file, which cannot be written either.
    await Deno.remove(fill);
    const spilled = await w.kStrictJson([
      "run",
      "-j",
      "-t",
      "20",
      "-o",
      "100",
      "w",
      `head -c 4m /dev/zero > ${fill} 2>/dev/null; seq 1 2000`,
    ]);
    equal(spilled.code, 1, JSON.stringify(spilled));
    assertNamesPath(String(spilled.output), ".out'", NO_SPACE, "spilled output");
    ok(!(await exists(w.lockPath("w"))), "the k run whose output file failed left its lock");
    events = await kmSnapshot(w, "w");
    const second = events.filter((e) => e.status === "fired").at(-1)?.cell_id as string;
    ok(second !== first);
    deepEqual(cellEvents(events, second), ["fired", "error"], "km: the spilled cell's end");

    // 3. k int on a full disk: the session comes back, and k int says the result is lost.
    await Deno.remove(fill);
    const fired = await w.kStrictJson(["fire", "w", "sleep 30"]);
    equal(fired.status, "fired", JSON.stringify(fired));
    await waitFor("sleep runs", async () => (await w.foreground("w")) === "sleep");
    await fillDisk(fill);
    const int = await w.k(["int", "w"]);
    equal(int.code, 1, `k int on a full disk: ${int.stdout}${int.stderr}`);
    assertNamesPath(int.stderr, `${w.sessionDir("w")}/cells/`, NO_SPACE, "k int");
    match(int.stderr, new RegExp(`cell ${fired.cell_id} interrupted; its lock is released`));
    ok(!(await exists(w.lockPath("w"))), "k int on a full disk left the lock");
    await waitFor("the watcher ends", async () => (await w.watchers()).length === 0, 8_000);
    events = await kmSnapshot(w, "w");
    deepEqual(cellEvents(events, String(fired.cell_id)), ["fired", "error"]);
    const intPoll = await w.kStrictJson(["poll", "-j", "w", String(fired.cell_id)]);
    equal(intPoll.status, "error");
    match(String(intPoll.output), /^interrupted; its result could not be stored: /);

    // 4. k kill on a full disk, with a cell running: the session is gone, k new makes it again.
    const fired2 = await w.kStrictJson(["fire", "w", "sleep 30"]);
    equal(fired2.status, "error", "fire on a full disk must fail");
    await Deno.remove(fill);
    equal((await w.kStrictJson(["fire", "w", "sleep 30"])).status, "fired");
    await waitFor("sleep runs", async () => (await w.foreground("w")) === "sleep");
    await fillDisk(fill);
    const kill = await w.k(["kill", "w"]);
    equal(kill.code, 0, `k kill on a full disk: ${kill.stdout}${kill.stderr}`);
    deepEqual(await w.tmuxSessions(), ["other"]);
    await Deno.remove(fill);
    equal((await w.k(["new", "w", "bash"], {}, w.base)).code, 0);
    equal((await w.kStrictJson(["run", "-j", "w", "echo back"])).output, "back");

    // Another session's results and events were never touched.
    deepEqual(await snapshotFiles(w.sessionDir("other")), otherBefore);
    equal((await w.kStrictJson(["run", "-j", "other", "echo after"])).output, "after");
  },
  { timeoutMs: 90_000, skip: MOUNT_SKIP },
);

worldTest(
  "a background watcher that dies of an error (its file system turned read-only) leaves its reason for poll",
  async (w, cleanup) => {
    await mountHome(w, cleanup, "4m");
    await w.kernel.create("w", { cwd: w.base });
    // Its limit comes once the file system is read-only (a loaded machine takes a while to get
    // there: with 1 s, the timeout was stored before, and the watcher died of something else).
    const fired = await w.kStrictJson(["fire", "-t", "3", "w", "sleep 8; echo late"]);
    equal(fired.status, "fired", JSON.stringify(fired));
    const [watcher] = await waitFor("the watcher", async () => {
      const found = await w.watchers();
      return found.length === 1 ? found : undefined;
    });
    ok(watcher);
    await waitFor("sleep runs", async () => (await w.foreground("w")) === "sleep");
    await makeReadOnly(w, cleanup);
    // At its time limit the watcher cannot store the timeout: it dies of that.
    await waitFor("the watcher dies", async () => !(await isRunning(watcher.pid)), 12_000);
    const polled = await w.k(["poll", "-j", "w", String(fired.cell_id)]);
    const result = parseOneJson(polled, "poll after the watcher died");
    equal(result.status, "error", JSON.stringify(result));
    assertNamesPath(
      String(result.output),
      w.sessionDir("w"),
      /^watcher died: cannot write '[^']+': Read-only file system; use k int w/,
      "poll",
    );
    // k int cannot release a lock on a read-only file system: it says so, naming the path.
    const int = await w.k(["int", "w"]);
    equal(int.code, 1, `${int.stdout}${int.stderr}`);
    assertNamesPath(int.stderr, w.sessionDir("w"), /Read-only file system/, "k int, read-only");
    // Writable again: k int brings the session back.
    const rw = await runCommand("mount", ["-o", "remount,bind,rw", w.home]);
    equal(rw.code, 0, `remount,bind,rw: ${rw.stderr}`);
    const again = await w.k(["int", "w"]);
    equal(again.code, 0, `${again.stdout}${again.stderr}`);
    ok(!(await exists(w.lockPath("w"))));
    equal((await w.kStrictJson(["run", "-j", "w", "echo writable"])).output, "writable");
  },
  { timeoutMs: 60_000, skip: MOUNT_SKIP },
);

worldTest(
  "a watcher that notices its session's death only after k new made it again leaves the new log alone",
  async (w, cleanup) => {
    await w.kernel.create("w", { cwd: w.base });
    const fired = await w.kStrictJson(["fire", "w", "sleep 30"]);
    equal(fired.status, "fired", JSON.stringify(fired));
    const [watcher] = await waitFor("the watcher", async () => {
      const found = await w.watchers();
      return found.length === 1 ? found : undefined;
    });
    ok(watcher);
    // The watcher is held still (a loaded machine) while the session dies and is made again.
    Deno.kill(watcher.pid, "SIGSTOP");
    cleanup.add(() => Deno.kill(watcher.pid, "SIGKILL"));
    await w.tmux(["kill-server"]);
    equal((await w.k(["new", "w", "bash"], {}, w.base)).code, 0);
    Deno.kill(watcher.pid, "SIGCONT");
    await waitFor("the old watcher ends", async () => !(await isRunning(watcher.pid)), 8_000);
    const events = await kmSnapshot(w, "w");
    deepEqual(
      events.map((e) => e.status),
      ["started"],
      "the old session's end went into the new log",
    );
    const run = await w.kStrictJson(["run", "-j", "w", "echo again"]);
    deepEqual([run.status, run.output], ["done", "again"], JSON.stringify(run));
    const after = (await kmSnapshot(w, "w")).map((e) => e.status);
    deepEqual(after, ["started", "fired", "done"]);
  },
  { timeoutMs: 30_000 },
);

worldTest(
  "fire racing k int: each cell ends interrupted, or done with what it did; none runs after its end",
  async (w) => {
    // Seen before: a cell recorded `done` 130 in 20 ms, its code then run outside any cell (the
    // terminal's echo of keys typed ahead of the Ctrl-C's new prompt was taken for the code's).
    await w.kernel.create("r", { cwd: w.base });
    const results: string[] = [];
    const notRun: number[] = [];
    for (let j = 1; j <= 12; j++) {
      const [fired] = await Promise.all([
        w.k(["fire", "r", `sleep 0.3; echo RUN${j}`]),
        w.k(["int", "r"]),
      ]);
      if (fired.code !== 0) continue; // refused: the interrupt took its unannounced cell
      const id = String(parseOneJson(fired, "k fire").cell_id);
      const end = await waitFor(`cell ${j} to end`, async () => {
        const p = await w.kJson(["poll", "r", id]);
        return p.status === "running" || p.status === "timeout" ? undefined : p;
      }, 10_000);
      const said = `${j}: ${JSON.stringify(end)}`;
      results.push(said);
      // Interrupted (k int took the cell), or done: it ran and printed its line, or the Ctrl-C
      // stopped it first (the shell's 130; or its keys were cut: a Ctrl-C among a cell's keys
      // may cost it a letter, as the README says) and it printed no line of its own.
      if (end.status === "error") equal(end.output, "interrupted", said);
      else if (!String(end.output).includes(`RUN${j}`)) {
        equal(end.status, "done", said);
        notRun.push(j);
      }
      await w.k(["int", "r"]); // whatever is left at the prompt
    }
    const log = await w.paneLog("r");
    for (const j of notRun) {
      // Its output line, not its echo (`echo RUN…`): after a newline or a marker's end.
      const ran = new RegExp(`(?:^|[\\n\\x07])RUN${j}\\r?\\n`).test(log);
      ok(!ran, `${j}: its code ran after its end was recorded\n${results.join("\n")}`);
    }
  },
  { timeoutMs: 90_000 },
);

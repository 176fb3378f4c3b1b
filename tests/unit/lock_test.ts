// The lock protocol on plain files, without tmux: acquire, claim, give back, hand over and end
// raced in one process and across processes; exactly one party wins each race.

import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { readCellRecord } from "../../src/cell/record.ts";
import { ResultNotStoredError } from "../../src/errors.ts";
import { appendEvent, cellAnnounced, readEvents } from "../../src/events/log.ts";
import {
  acquireLock,
  announceCell,
  type CellLock,
  claimAnyLock,
  claimLock,
  endCell,
  endClaimedCell,
  finishClaim,
  giveBack,
  giveBackUnannounced,
  handOver,
  isClosing,
  lockHeld,
  ownerGone,
  pastWatchEnd,
  readLock,
  WATCH_BOUND_MS,
  watchEnd,
} from "../../src/lock.ts";
import { type SessionPaths, sessionPaths } from "../../src/state.ts";
import type { DoneResult } from "../../src/types.ts";

/** A session directory on plain files, removed after `fn`. */
async function withPaths(fn: (paths: SessionPaths) => Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "ktty-lock-" });
  try {
    const paths = sessionPaths({ home, socket: "s" }, "w");
    await Deno.mkdir(paths.cells, { recursive: true });
    await fn(paths);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

function cellLock(cellId: string, pid = 1): CellLock {
  return {
    cell_id: cellId,
    offset: 0,
    owner: { pid, start: "1" },
    owner_kind: "run",
    started_at: new Date(0).toISOString(),
    started_ms: 0,
    timeout_ms: 1000,
    lines: ["echo hi"],
    max_output: 100,
  };
}

function done(cellId: string, output: string): DoneResult {
  return {
    cell_id: cellId,
    status: "done",
    output,
    truncated: false,
    exit_code: 0,
    started_at: new Date(0).toISOString(),
    ended_at: new Date(1).toISOString(),
    duration_ms: 1,
  };
}

function readyCount(dir: string): number {
  return [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("ready-")).length;
}

const ID = "0123456789ab";
const OTHER = "ba9876543210";

Deno.test("lock: of many acquires at once, exactly one wins and its lock is the one on disk", () =>
  withPaths(async (paths) => {
    const ids = Array.from({ length: 16 }, (_, i) => i.toString(16).padStart(12, "0"));
    const won = await Promise.all(ids.map((id) => acquireLock(paths, cellLock(id))));
    equal(won.filter(Boolean).length, 1);
    const winner = ids[won.indexOf(true)];
    equal((await readLock(paths))?.cell_id, winner);
    ok(lockHeld(paths));
  }));

Deno.test("lock: of many claims of one cell, exactly one wins; the claim lasts until finished", () =>
  withPaths(async (paths) => {
    ok(await acquireLock(paths, cellLock(ID)));
    const won = await Promise.all(Array.from({ length: 16 }, () => claimLock(paths, ID)));
    equal(won.filter(Boolean).length, 1);
    ok(!lockHeld(paths));
    ok(await isClosing(paths, ID));
    await finishClaim(paths, ID);
    ok(!(await isClosing(paths, ID)));
  }));

Deno.test("lock: a claim for another cell leaves the lock as it was", () =>
  withPaths(async (paths) => {
    ok(await acquireLock(paths, cellLock(ID)));
    ok(!(await claimLock(paths, OTHER)));
    equal((await readLock(paths))?.cell_id, ID);
    ok(!(await isClosing(paths, OTHER)));
  }));

Deno.test("lock: racing ends of one cell store one record and append one event", () =>
  withPaths(async (paths) => {
    const lock = cellLock(ID);
    ok(await acquireLock(paths, lock));
    const ends = Array.from(
      { length: 8 },
      (_, i) => endCell(paths, "w", lock, done(ID, `end ${i}`), "done"),
    );
    const results = await Promise.all([...ends, claimAnyLock(paths)]);
    const record = await readCellRecord(paths, ID);
    const events = (await readEvents(paths.events)).filter((e) => e.status !== "fired");
    const anyWon = typeof results[8] === "object";
    if (anyWon) {
      // k int won: it holds a claim, so no end may have written anything.
      equal(record, undefined);
      equal(events.length, 0);
    } else {
      if (record === undefined) throw new Error("no record stored");
      equal(events.length, 1);
      equal(events[0]?.status, "done");
      // Every racer returns the result that stands.
      const stands = record.result;
      for (const r of results.slice(0, 8)) deepEqual(r, stands);
    }
    ok(!lockHeld(paths));
  }));

Deno.test("lock: give back a cell never typed: no record, no event; false once ended elsewhere", () =>
  withPaths(async (paths) => {
    ok(await acquireLock(paths, cellLock(ID)));
    ok(await giveBack(paths, ID));
    ok(!lockHeld(paths) && !(await isClosing(paths, ID)));
    equal(await readCellRecord(paths, ID), undefined);
    equal((await readEvents(paths.events)).length, 0);
    ok(await acquireLock(paths, cellLock(ID)));
    ok(typeof (await claimAnyLock(paths)) === "object");
    ok(!(await giveBack(paths, ID)));
  }));

Deno.test("lock: hand over changes the owner of the active cell only", () =>
  withPaths(async (paths) => {
    ok(await acquireLock(paths, cellLock(ID, 100)));
    const watcher = { pid: 200, start: "2" };
    ok(!(await handOver(paths, OTHER, watcher)));
    equal((await readLock(paths))?.owner.pid, 100);
    ok(await handOver(paths, ID, watcher));
    const lock = await readLock(paths);
    deepEqual([lock?.owner, lock?.owner_kind], [watcher, "fire"]);
    ok(await claimLock(paths, ID));
    await finishClaim(paths, ID);
    ok(!(await handOver(paths, ID, watcher)));
    ok(!lockHeld(paths));
  }));

Deno.test("lock: k int's claim takes a corrupt lock, and a claim left by a dead claimer once stale", () =>
  withPaths(async (paths) => {
    await Deno.writeTextFile(paths.lock, "{not json");
    equal(await claimAnyLock(paths), "corrupt");
    ok(!lockHeld(paths));

    // A claimer that died between its link and its unlink leaves both files.
    ok(await acquireLock(paths, cellLock(ID)));
    await Deno.link(paths.lock, `${paths.cells}/${ID}.closing`);
    equal(await claimAnyLock(paths), undefined, "a fresh claim may be alive: left alone");
    const later = () => Date.now() + 60_000;
    equal((await claimAnyLock(paths, later) as CellLock).cell_id, ID);
    ok(!lockHeld(paths));
  }));

Deno.test("lock: claims raced by separate processes: exactly one wins", async () => {
  await withPaths(async (paths) => {
    ok(await acquireLock(paths, cellLock(ID)));
    const go = `${paths.dir}/go`;
    const script = `
      import { claimLock } from ${
      JSON.stringify(new URL("../../src/lock.ts", import.meta.url).href)
    };
      const paths = JSON.parse(Deno.args[0]);
      Deno.writeTextFileSync(paths.dir + "/ready-" + Deno.pid, "");
      while (true) { try { Deno.statSync(${JSON.stringify(go)}); break; } catch { /* not yet */ } }
      console.log(await claimLock(paths, ${JSON.stringify(ID)}) ? "won" : "lost");`;
    const racers = Array.from({ length: 6 }, () =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", script, JSON.stringify(paths)],
        stdout: "piped",
        stderr: "inherit",
      }).spawn());
    // Every racer is up and spinning before the start: their claims really overlap.
    const deadline = Date.now() + 30_000;
    while (readyCount(paths.dir) < racers.length) {
      ok(Date.now() < deadline, "the racers did not start");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await Deno.writeTextFile(go, "");
    const outs = await Promise.all(racers.map(async (c) => {
      const out = await c.output();
      return new TextDecoder().decode(out.stdout).trim();
    }));
    equal(outs.filter((o) => o === "won").length, 1, outs.join(","));
    equal(outs.filter((o) => o === "lost").length, 5, outs.join(","));
  });
});

Deno.test("lock: a timed-out cell is watched until 6 h after its start, or its own longer limit", () => {
  const hour = 3600_000;
  equal(WATCH_BOUND_MS, 6 * hour);
  const start = 1_000_000;
  const cell = { started_ms: start, timeout_ms: 30_000 };
  equal(watchEnd(cell), start + 6 * hour);
  deepEqual(
    [pastWatchEnd(cell, start + 6 * hour - 1), pastWatchEnd(cell, start + 6 * hour)],
    [false, true],
  );
  equal(watchEnd({ started_ms: start, timeout_ms: 8 * hour }), start + 8 * hour);
  const lock = {
    cell_id: "0123456789ab",
    offset: 0,
    owner: { pid: 1, start: "" },
    owner_kind: "fire",
    started_at: new Date(start).toISOString(),
    lines: [],
    max_output: 100,
    ...cell,
  } satisfies CellLock;
  deepEqual(
    [ownerGone(lock, start + hour), ownerGone(lock, start + 7 * hour)],
    ["its watcher died", "no longer watched after 6 h"],
  );
});

// Rule 6: announced before typed; rule 3: a result that cannot be stored still frees the session.

Deno.test("lock: a cell is announced only while the lock is its own", () =>
  withPaths(async (paths) => {
    equal(await announceCell(paths, "w", ID), "ended", "announced without a lock");
    ok(await acquireLock(paths, cellLock(ID)));
    equal(await announceCell(paths, "w", OTHER), "ended", "announced another cell's lock");
    equal(await announceCell(paths, "w", ID), "announced");
    deepEqual((await readEvents(paths.events)).map((e) => e.status), ["fired"]);
    // Claimed meanwhile (k int): no fired, so nothing may be typed.
    ok(await claimLock(paths, ID));
    equal(await announceCell(paths, "w", ID), "ended");
    equal((await readEvents(paths.events)).length, 1);
    // A closed session (k kill) takes no cell, even with its lock.
    ok(await acquireLock(paths, cellLock(OTHER)));
    await appendEvent(paths.events, "w", { status: "closed", reason: "killed" });
    equal(await announceCell(paths, "w", OTHER), "closed");
  }));

Deno.test("lock: the active cell's fired is found past notes, never past another cell", () =>
  withPaths(async (paths) => {
    ok(!(await cellAnnounced(paths.events, ID)), "no log: not announced");
    await appendEvent(paths.events, "w", { status: "fired", cell_id: OTHER });
    const end = { status: "done", cell_id: OTHER, exit_code: 0, duration_ms: 1 } as const;
    await appendEvent(paths.events, "w", end);
    ok(!(await cellAnnounced(paths.events, ID)));
    await appendEvent(paths.events, "w", { status: "fired", cell_id: ID });
    for (let i = 0; i < 200; i++) {
      await appendEvent(paths.events, "w", { status: "notify", from: "t", message: `note ${i}` });
    }
    await appendEvent(paths.events, "w", { status: "timeout", cell_id: ID, duration_ms: 5 });
    ok(await cellAnnounced(paths.events, ID), "fired behind 200 notes and a timeout");
    ok(!(await cellAnnounced(paths.events, OTHER)), "an earlier cell is not the active one");
    // A torn last line (a writer killed mid-write) hides nothing.
    await Deno.writeTextFile(paths.events, '{"schema_version":1,"seq":', { append: true });
    ok(await cellAnnounced(paths.events, ID));
  }));

Deno.test("lock: an unannounced cell is given back without a trace; an announced one stays", () =>
  withPaths(async (paths) => {
    ok(await acquireLock(paths, cellLock(ID)));
    ok(await giveBackUnannounced(paths, cellLock(ID)));
    ok(!lockHeld(paths), "the lock of a cell never announced is left");
    equal((await readEvents(paths.events)).length, 0);
    ok(await acquireLock(paths, cellLock(OTHER)));
    equal(await announceCell(paths, "w", OTHER), "announced");
    ok(!(await giveBackUnannounced(paths, cellLock(OTHER))));
    ok(lockHeld(paths), "an announced cell was given back");
    equal((await Deno.readTextFile(paths.last)).trim(), OTHER, "last names the announced cell");
  }));

Deno.test("lock: a result that cannot be stored frees the session and says why", () =>
  withPaths(async (paths) => {
    const lock = cellLock(ID);
    ok(await acquireLock(paths, lock));
    equal(await announceCell(paths, "w", ID), "announced");
    ok(await claimLock(paths, ID));
    // The record cannot be renamed into place: a directory holds its name.
    const record = `${paths.cells}/${ID}.json`;
    await Deno.mkdir(record);
    const result = {
      cell_id: ID,
      status: "error" as const,
      output: "interrupted",
      truncated: false,
    };
    await rejects(endClaimedCell(paths, "w", lock, result, "interrupted"), (e: unknown) => {
      ok(e instanceof ResultNotStoredError, String(e));
      equal(e.cellId, ID);
      ok(e.message.includes(record), e.message);
      return true;
    });
    ok(!(await isClosing(paths, ID)), "the claim was left");
    ok(!lockHeld(paths));
    const last = (await readEvents(paths.events)).at(-1);
    ok(
      last?.status === "error" &&
        last.message.startsWith("interrupted; its result could not be stored: "),
      JSON.stringify(last),
    );
  }));

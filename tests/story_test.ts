/**
 * The event log tells the whole story (issue 16), against real tmux sessions: a cell ended by
 * `k kill --keep` has its end before `closed`; what `k send` typed into a running cell (a
 * preview, none when the terminal does not echo); the exit status of a shell that ended its
 * session; and a follower that cannot watch files says so once and still follows.
 * @module
 */

import assert from "node:assert/strict";
import { PLAIN_BASH, type World, worldTest } from "./harness.ts";

type Event = { seq: number; status: string; cell_id?: string; [key: string]: unknown };

/** The session's events, read from its log. */
async function events(w: World, session: string): Promise<Event[]> {
  const text = await Deno.readTextFile(`${w.sessionDir(session)}/events.jsonl`).catch(() => "");
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Event);
}

worldTest("kill --keep: the running cell's end is in the log, before closed", async (w) => {
  assert.equal((await w.k(["new", "s", PLAIN_BASH], {}, w.base)).code, 0);
  const fired = await w.kJson(["fire", "s", "sleep 30"]);
  assert.equal(fired.status, "fired");
  assert.equal((await w.k(["kill", "--keep", "s"])).code, 0);
  const log = await events(w, "s");
  assert.deepEqual(log.map((e) => [e.status, e.cell_id]), [
    ["started", undefined],
    ["fired", fired.cell_id],
    ["error", fired.cell_id],
    ["closed", undefined],
  ]);
  assert.match(String(log[2]?.message), /session 's' was killed while the cell was running/);
  assert.equal(log[3]?.reason, "killed");
  // The same end in its result, and for a follower replaying the log.
  const polled = await w.kJson(["poll", "-j", "s", String(fired.cell_id)]);
  assert.deepEqual([polled.status, polled.output], ["error", log[2]?.message]);
  const replay = await w.km(["s", "--from", "1"]);
  assert.deepEqual(
    replay.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l).status),
    ["started", "fired", "error", "closed"],
  );
}, { timeoutMs: 60_000 });

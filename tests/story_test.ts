/**
 * The event log tells the whole story (issue 16), against real tmux sessions: a cell ended by
 * `k kill --keep` has its end before `closed`; what `k send` typed into a running cell (a
 * preview, none when the terminal does not echo); the exit status of a shell that ended its
 * session; and a follower that cannot watch files says so once and still follows.
 * @module
 */

import assert from "node:assert/strict";
import { PLAIN_BASH, waitFor, type World, worldTest } from "./harness.ts";

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

worldTest(
  "k send: a send event with a preview while the terminal echoes, none for a secret",
  async (w) => {
    assert.equal((await w.k(["new", "s", PLAIN_BASH], {}, w.base)).code, 0);
    const secret = "hunter2-do-not-log";
    const fired = await w.kJson([
      "fire",
      "s",
      `read -s -p 'password: ' pw; echo; read -p 'name: ' name; read -p 'key: ' k; echo "$name \${#pw} $k"`,
    ]);
    assert.equal(fired.status, "fired");
    const prompt = (what: string) =>
      waitFor(what, async () => (await w.paneLog("s")).includes(what) || undefined);
    await prompt("password: ");
    assert.equal((await w.k(["send", "s", secret])).code, 0);
    await prompt("name: ");
    const name = "a name that is longer than the preview shows, by some way";
    assert.equal((await w.k(["send", "s", name])).code, 0);
    await prompt("key: ");
    assert.equal((await w.k(["send", "s", "--keys", "y,Enter"])).code, 0);
    const done = await waitFor("the cell's end", async () => {
      const poll = await w.kJson(["poll", "s", String(fired.cell_id)]);
      return poll.status === "running" ? undefined : poll;
    });
    assert.equal(done.status, "done", JSON.stringify(done));
    assert.match(String(done.output), new RegExp(`${name} ${secret.length} y`));
    const sends = (await events(w, "s")).filter((e) => e.status === "send");
    const shape = ({ seq: _s, ts: _t, schema_version: _v, session: _n, ...rest }: Event) => rest;
    assert.deepEqual(sends.map(shape), [
      { status: "send", cell_id: fired.cell_id, preview: null },
      { status: "send", cell_id: fired.cell_id, preview: `${name.slice(0, 40)}…`, length: 57 },
      { status: "send", cell_id: fired.cell_id, preview: "y Enter", length: 2, keys: true },
    ]);
    const log = await Deno.readTextFile(`${w.sessionDir("s")}/events.jsonl`);
    assert.ok(!log.includes("hunter2"), "the secret is not in the event log");
    // k history shows them, the hidden one as such.
    const history = (await w.k(["history", "s"])).stdout;
    assert.match(history, / send [0-9a-f]{12} \(hidden: the terminal did not echo\)/);
    assert.match(history, / send [0-9a-f]{12} "a name that is longer/);
  },
  { timeoutMs: 60_000 },
);

/** The session's `closed` event, once it is in the log. */
function closedOf(w: World, session: string): Promise<Event> {
  return waitFor(
    `${session}'s closed`,
    async () => (await events(w, session)).find((e) => e.status === "closed"),
  );
}

for (
  const [shell, command] of [
    ["bash", PLAIN_BASH],
    ["sh", "sh"],
    ["zsh", "zsh -f"],
  ] as const
) {
  worldTest(`closed carries the exit status of ${shell} ended by exit 3`, async (w) => {
    await w.kernel.create("e", { command, cwd: w.base });
    assert.equal((await w.kJson(["run", "-j", "e", "true"])).status, "done");
    const out = await w.kJson(["run", "-j", "e", "exit 3"]);
    assert.equal(out.status, "error");
    const closed = await closedOf(w, "e");
    assert.deepEqual([closed.reason, closed.exit_status], ["program exited", 3]);
    // A follower that notices (no cell running) says the same: the status of the last command.
    await w.kernel.create("f", { command, cwd: w.base });
    assert.equal((await w.kJson(["run", "-j", "f", "false"])).status, "done");
    const km = w.spawnKm(["f"]);
    await waitFor("km following f", async () => (await events(w, "f")).length >= 3 || undefined);
    assert.equal((await w.tmux(["send-keys", "-t", "=f:", "C-d"])).code, 0); // end of input
    const ended = await km.output();
    const last = JSON.parse(new TextDecoder().decode(ended.stdout).trim().split("\n").at(-1)!);
    assert.deepEqual([last.status, last.reason, last.exit_status], ["closed", "program exited", 1]);
  }, {
    timeoutMs: 60_000,
    skip: shell !== "zsh" || Deno.statSync("/usr/bin/zsh").isFile ? false : "needs zsh",
  });
}

worldTest("closed: null where the status cannot be learnt, none for a kill", async (w) => {
  // Not a shell: python's exit(3) leaves nothing ktty reads.
  await w.kernel.create("p", { command: "python3 -q", cwd: w.base });
  assert.equal((await w.kJson(["run", "-j", "p", "exit(3)"])).status, "error");
  const py = await closedOf(w, "p");
  assert.deepEqual([py.reason, py.exit_status], ["program exited", null]);
  // A shell ended by its terminal's hangup (tmux kill-session by hand): no status, not a 0.
  await w.kernel.create("h", { command: PLAIN_BASH, cwd: w.base });
  const fired = await w.kJson(["fire", "h", "sleep 30"]);
  assert.equal(fired.status, "fired");
  assert.equal((await w.tmux(["kill-session", "-t", "=h"])).code, 0);
  const hung = await closedOf(w, "h");
  assert.equal(hung.exit_status, null);
  // k kill: the session was ended, not its program.
  await w.kernel.create("k", { command: PLAIN_BASH, cwd: w.base });
  assert.equal((await w.k(["kill", "--keep", "k"])).code, 0);
  const killed = await closedOf(w, "k");
  assert.deepEqual([killed.reason, "exit_status" in killed], ["killed", false]);
}, { timeoutMs: 60_000 });

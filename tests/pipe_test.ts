// The pane's output pipe (tmux pipe-pane: the process that appends the pane's output to the pane
// log) killed, idle or mid-cell: noticed without polling, re-armed, the cell that was running ends
// at once with a clear error, km sees that end, and the session goes on. Processes are killed by
// pid, never by name: other worlds' pipes run on this machine too.

import { deepEqual, equal, match, ok } from "node:assert/strict";
import {
  collect,
  findProcesses,
  hasOpen,
  isRunning,
  waitFor,
  withDeadline,
  type World,
  worldTest,
} from "./harness.ts";
import { Kernel } from "../mod.ts";

/** The pid of this world's tmux server. */
async function serverPid(w: World): Promise<number> {
  const out = await w.tmux(["display-message", "-p", "-t", "=s:", "#{pid}"]);
  const pid = Number(out.stdout.trim());
  ok(out.code === 0 && pid > 0, `no tmux server pid: ${out.stdout}${out.stderr}`);
  return pid;
}

/**
 * The processes of session `s`'s output pipe (in the tmux server's process group): the cat that
 * writes the pane log, and the shell tmux started it with when that shell stayed.
 */
async function pipeProcesses(w: World): Promise<{ writer: number; shell?: number }> {
  const server = await serverPid(w);
  const log = `${w.sessionDir("s")}/pane.log`;
  const group = await findProcesses((p) => p.pgrp === server && p.pid !== server);
  // The shell holds the log too while cat runs (dash redirects before it forks).
  const writers: number[] = [];
  for (const p of group) if (p.cmdline === "cat" && await hasOpen(p.pid, log)) writers.push(p.pid);
  const shown = group.map((p) => `${p.pid} ${p.cmdline}`).join("; ");
  equal(writers.length, 1, `one cat writes the pane log: ${shown}`);
  const shell = group.find((p) => p.cmdline.startsWith("sh -c ") && p.cmdline.includes(log));
  return { writer: writers[0]!, shell: shell?.pid };
}

async function killPipe(w: World, signal: Deno.Signal = "SIGKILL"): Promise<number> {
  const { writer } = await pipeProcesses(w);
  Deno.kill(writer, signal);
  await waitFor("the pipe's writer gone", async () => !(await isRunning(writer)), 5_000);
  return writer;
}

async function newSession(w: World): Promise<void> {
  const out = await w.k(["new", "s", "bash"], {}, w.base);
  equal(out.code, 0, out.stderr);
}

async function runs(w: World, code: string, want: string): Promise<void> {
  const r = await w.kJson(["run", "-j", "-t", "15", "s", code]);
  deepEqual([r.status, r.output], ["done", want], JSON.stringify(r));
}

async function events(w: World): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(`${w.sessionDir("s")}/events.jsonl`);
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

worldTest(
  "pipe killed while idle: k status says so and re-arms it, the next cell runs",
  async (w) => {
    await newSession(w);
    await runs(w, "echo first", "first");
    await killPipe(w);
    const status = await w.kJson(["status", "-j", "s"]);
    equal(status.state, "idle");
    equal(status.pipe, "re-armed", JSON.stringify(status));
    match(String(status.hint), /output pipe .*died.* re-armed.*lost/);
    // Re-armed: a new writer appends to the same log, and the next status finds it well.
    await pipeProcesses(w);
    equal((await w.kJson(["status", "-j", "s"])).pipe, "ok");
    await runs(w, "echo after", "after");
    match(await w.paneLog("s"), /first[\s\S]*after/);
  },
);

worldTest("pipe killed while idle: the next cell re-arms it itself and runs", async (w) => {
  await newSession(w);
  await killPipe(w, "SIGTERM");
  await runs(w, "echo one; echo two", "one\ntwo");
  await runs(w, "echo three", "three");
  // The death is kept in the event log (k history, km), with what was lost.
  const note = (await events(w)).find((e) => e.status === "notify");
  ok(note, "a note of the pipe's death");
  equal(note.from, "ktty");
  match(String(note.message), /output pipe .*SIGTERM.*re-armed.*lost/);
});

worldTest(
  "pipe killed mid-cell: the cell ends at once with pipe_died, keeping its output",
  async (w) => {
    await newSession(w);
    const child = w.spawnK(["run", "-j", "-t", "60", "s", "echo be''fore; sleep 5; echo af''ter"]);
    await waitFor("the cell's first line", async () => (await w.paneLog("s")).includes("before"));
    const killedAt = Date.now();
    await killPipe(w);
    const out = await withDeadline(collect(child), 4_000, "k run did not end after the pipe died");
    ok(Date.now() - killedAt < 4_000);
    const r = JSON.parse(out.stdout);
    deepEqual([r.status, r.error_code, out.code], ["error", "pipe_died", 1], out.stdout);
    match(r.output, /^session 's': its output pipe .*died.*re-armed.*usable/);
    match(r.output_so_far, /^before$/m);
    // The same result for k poll, and the cell's end in the event log.
    const polled = await w.kJson(["poll", "s", r.cell_id]);
    deepEqual([polled.status, polled.error_code], ["error", "pipe_died"]);
    ok((await events(w)).some((e) => e.status === "error" && e.cell_id === r.cell_id));
    // The pipe was re-armed: the rest of the cell's output reaches the log; then cells run.
    await waitFor("the old cell's last line", async () => (await w.paneLog("s")).includes("after"));
    await waitFor("the program back at its prompt", async () => {
      return (await w.kJson(["status", "-j", "s"])).hint === null;
    });
    await runs(w, "echo next", "next");
  },
  { timeoutMs: 40_000 },
);

worldTest("pipe killed under a fired cell: km -1 sees its end", async (w) => {
  await newSession(w);
  const fired = await w.kJson(["fire", "s", "sleep 30"]);
  const cell = String(fired.cell_id);
  const km = w.spawnKm(["s", cell, "-1"]);
  await waitFor("the cell's sleep", async () => (await w.foreground("s")) === "sleep");
  await killPipe(w);
  const out = await withDeadline(collect(km), 5_000, "km did not see the cell's end");
  const lines = out.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  const end = lines.at(-1);
  deepEqual([end?.status, end?.cell_id], ["error", cell], out.stdout);
  match(String(end?.message), /output pipe/);
  const polled = await w.kJson(["poll", "s", cell]);
  deepEqual([polled.status, polled.error_code], ["error", "pipe_died"]);
  equal((await w.k(["int", "s"])).code, 0);
  await runs(w, "echo on", "on");
});

worldTest("pipe killed under a timed-out cell: its background watcher ends it", async (w) => {
  await newSession(w);
  const timedOut = await w.kJson(["run", "-j", "-t", "1", "s", "sleep 30"]);
  equal(timedOut.status, "timeout");
  const cell = String(timedOut.cell_id);
  await waitFor("a background watcher", async () => (await w.watchers()).length === 1);
  await killPipe(w);
  const polled = await waitFor("the cell's end", async () => {
    const r = await w.kJson(["poll", "s", cell]);
    return r.status === "error" ? r : undefined;
  }, 5_000);
  equal(polled.error_code, "pipe_died");
  equal((await w.k(["int", "s"])).code, 0);
  await runs(w, "echo on", "on");
});

worldTest(
  "the pipe's shell outlives a TERM (a pkill -f of the pipe's command line): the pipe lives on",
  async (w) => {
    await newSession(w);
    const { writer, shell } = await pipeProcesses(w);
    ok(shell !== undefined, "the pipe runs under a shell that stays");
    Deno.kill(shell, "SIGTERM");
    await runs(w, "echo still", "still");
    ok(await isRunning(shell) && await isRunning(writer));
    equal((await w.kJson(["status", "-j", "s"])).pipe, "ok");
  },
);

worldTest("pipe and its shell both killed (no sign left): k status still re-arms it", async (w) => {
  await newSession(w);
  const { shell } = await pipeProcesses(w);
  ok(shell !== undefined);
  Deno.kill(shell, "SIGKILL");
  await killPipe(w);
  const status = await waitFor("status to see the dead pipe", async () => {
    const r = await w.kJson(["status", "-j", "s"]);
    return r.pipe !== "ok" ? r : undefined;
  }, 5_000);
  equal(status.pipe, "re-armed", JSON.stringify(status));
  await runs(w, "echo back", "back");
});

worldTest("pipe and its shell both killed mid-run: the run ends with pipe_died", async (w) => {
  await newSession(w);
  const child = w.spawnK(["run", "-j", "-t", "60", "s", "echo star''ted; sleep 30"]);
  await waitFor("the cell's first line", async () => (await w.paneLog("s")).includes("started"));
  const { shell } = await pipeProcesses(w);
  ok(shell !== undefined);
  Deno.kill(shell, "SIGKILL");
  await killPipe(w);
  const out = await withDeadline(collect(child), 5_000, "k run did not end after the pipe died");
  const r = JSON.parse(out.stdout);
  deepEqual([r.status, r.error_code], ["error", "pipe_died"], out.stdout);
  equal((await w.k(["int", "s"])).code, 0);
  await runs(w, "echo again", "again");
}, { timeoutMs: 40_000 });

worldTest(
  "pipe and its shell both killed under a timed-out cell: k status tells its watcher, which ends it",
  async (w) => {
    await newSession(w);
    const timedOut = await w.kJson(["run", "-j", "-t", "1", "s", "sleep 30"]);
    equal(timedOut.status, "timeout");
    const cell = String(timedOut.cell_id);
    await waitFor("a background watcher", async () => (await w.watchers()).length === 1);
    const { shell } = await pipeProcesses(w);
    ok(shell !== undefined);
    Deno.kill(shell, "SIGKILL");
    await killPipe(w);
    // The background watcher spawns no tmux: it learns of a death without a sign from k status.
    const status = await w.kJson(["status", "-j", "s"]);
    deepEqual([status.state, status.pipe], ["timeout", "dead"], JSON.stringify(status));
    match(String(status.hint), /its watcher re-arms it and ends the cell/);
    const polled = await waitFor("the cell's end", async () => {
      const r = await w.kJson(["poll", "s", cell]);
      return r.status === "error" ? r : undefined;
    }, 5_000);
    equal(polled.error_code, "pipe_died");
    equal((await w.kJson(["status", "-j", "s"])).pipe, "ok");
    equal((await w.k(["int", "s"])).code, 0);
    await runs(w, "echo on", "on");
  },
);

worldTest("the session's end leaves the pipe's sign saying end of file, not a death", async (w) => {
  await newSession(w);
  const pane = Number((await w.kJson(["status", "-j", "s"])).pane_pid);
  const sign = `${w.sessionDir("s")}/pane.log.pipe`;
  equal((await w.tmux(["kill-session", "-t", "=s"])).code, 0);
  // While the pipe runs the sign reads `- <pid>`; once it ended, its status.
  const text = await waitFor("the sign of the pipe's end", async () => {
    const now = await Deno.readTextFile(sign).catch(() => undefined);
    return now?.startsWith("-") ? undefined : now;
  });
  equal(text, `0 ${pane}\n`);
});

worldTest(
  "a state dir whose path holds % and #: the pipe writes the right log, and re-arms",
  async (w) => {
    // tmux expands strftime's % sequences and its own #{…} formats in a pipe's command.
    const kernel = new Kernel({ home: `${w.base}/h%s#{pane_pid}`, socket: w.socket });
    await kernel.create("s", { cwd: w.base });
    const s = kernel.session("s");
    const first = await s.run("echo one", { timeoutMs: 15_000 });
    deepEqual([first.status, first.output], ["done", "one"]);
    const server = await serverPid(w);
    const cats = await findProcesses((p) => p.pgrp === server && p.cmdline === "cat");
    equal(cats.length, 1);
    Deno.kill(cats[0]!.pid, "SIGKILL");
    await waitFor("the cat gone", async () => !(await isRunning(cats[0]!.pid)));
    equal((await s.status()).pipe, "re-armed");
    const second = await s.run("echo two", { timeoutMs: 15_000 });
    deepEqual([second.status, second.output], ["done", "two"]);
  },
);

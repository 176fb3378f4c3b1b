/**
 * The fleet (issue 16), against real tmux sessions: `k ls -j` over many sessions in one tmux
 * call, each row what `k status` says of that session; and the event log telling the whole
 * story: what `k send` typed into a running cell (a preview, none when the terminal's echo is
 * off), and the exit status of a program that ended its session.
 * @module
 */

import assert from "node:assert/strict";
import { CLI, PLAIN_BASH, waitFor, type World, worldTest } from "./harness.ts";

/**
 * A `tmux` first on PATH that notes each call's first argument after the socket's (`-f /dev/null
 * -L <socket> <verb>`) in `log` and runs the real one: counts a `k` run's tmux calls.
 */
async function countingTmux(w: World): Promise<{ path: string; calls: () => Promise<string[]> }> {
  const real = (await new Deno.Command("sh", { args: ["-c", "command -v tmux"] }).output()).stdout;
  const bin = `${w.base}/bin`;
  const log = `${w.base}/tmux-calls`;
  await Deno.mkdir(bin, { recursive: true });
  // Logs the tmux command: the word after `-L <socket>`, wherever ktty's options put it.
  const script = `#!/bin/sh\nsub() { while [ $# -gt 0 ]; do if [ "$1" = -L ]; then ` +
    `echo "$3"; return; fi; shift; done; }\nsub "$@" >> '${log}'\nexec '${
      new TextDecoder().decode(real).trim()
    }' "$@"\n`;
  await Deno.writeTextFile(`${bin}/tmux`, script, { mode: 0o755 });
  const calls = async () =>
    (await Deno.readTextFile(log).catch(() => "")).split("\n").filter((l) => l !== "");
  return { path: `${bin}:${Deno.env.get("PATH") ?? ""}`, calls };
}

/** The fields of a status row that do not move with the clock. */
function steady(row: Record<string, unknown>): Record<string, unknown> {
  const { idle_s: _i, cell_age_s: _c, last_event_age_s: _l, ...rest } = row;
  return rest;
}

async function sessions(w: World, names: string[]): Promise<void> {
  for (let i = 0; i < names.length; i += 5) {
    await Promise.all(
      names.slice(i, i + 5).map((name) =>
        w.kernel.create(name, { command: PLAIN_BASH, cwd: w.base })
      ),
    );
  }
}

worldTest("k ls -j: twenty sessions in one tmux call, each row as k status says", async (w) => {
  const names = Array.from({ length: 20 }, (_, i) => `f${String(i).padStart(2, "0")}`);
  await sessions(w, names);
  // Variety: a running cell, a pager holding the terminal, a stale session, a hand-made one.
  const fired = await w.kJson(["fire", "f01", "sleep 30"]);
  assert.equal(fired.status, "fired");
  assert.equal((await w.kJson(["fire", "f02", "seq 1 500 | less"])).status, "fired");
  await waitFor("less holds f02", async () => {
    const status = await w.kJson(["status", "-j", "f02"]);
    return (status.foreground as { command?: string } | null)?.command === "less" || undefined;
  });
  assert.equal((await w.tmux(["kill-session", "-t", "=f03"])).code, 0);
  assert.equal((await w.tmux(["new-session", "-d", "-s", "byhand", "sleep 300"])).code, 0);
  assert.equal((await w.tmux(["new-session", "-d", "-s", "Zz", "sleep 300"])).code, 0);

  const tmux = await countingTmux(w);
  const ls = await w.k(["ls", "-j"], { PATH: tmux.path });
  assert.equal(ls.code, 0, ls.stderr);
  assert.deepEqual(await tmux.calls(), ["list-sessions"], "one tmux call for the whole fleet");
  const rows = JSON.parse(ls.stdout) as Record<string, unknown>[];
  // By code unit (Zz first), as `LC_ALL=C sort` does: no collator loaded for the listing.
  assert.deepEqual(rows.map((r) => r.session), [...names, "byhand", "Zz"].sort());
  const byName = new Map(rows.map((r) => [r.session as string, r]));
  assert.equal(byName.get("f00")?.state, "idle");
  assert.equal(byName.get("f01")?.state, "running");
  assert.equal(byName.get("f01")?.cell_id, fired.cell_id);
  assert.deepEqual(byName.get("f02")?.foreground, {
    command: "less",
    pid: (byName.get("f02")?.foreground as { pid: number }).pid,
  });
  assert.match(String(byName.get("f02")?.hint), /less is a pager/);
  assert.equal(byName.get("f03")?.state, "stale");
  assert.equal(byName.get("byhand")?.state, "unmanaged");
  for (const name of ["f00", "f01", "f02", "f03", "f19"]) {
    const status = await w.kJson(["status", "-j", name]);
    const { code: _code, ...row } = status;
    assert.deepEqual(steady(byName.get(name)!), steady(row), `k ls row of ${name} = k status`);
  }
  await w.k(["int", "f01"]);
}, { timeoutMs: 90_000 });

/** Whether strace can trace a child here (installed, and ptrace allowed). */
const CAN_STRACE = await new Deno.Command("strace", { args: ["-o", "/dev/null", "true"] })
  .output().then((o) => o.success).catch(() => false);

/**
 * Runs `k <args>` under `strace -f -ff` (one file per thread: no call split across lines) and
 * returns the traced calls (`openat`, `execve`) of every thread and child, one per line.
 */
async function tracedK(w: World, args: string[]): Promise<{ stdout: string; calls: string[] }> {
  const prefix = `${w.base}/trace`;
  const out = await new Deno.Command("strace", {
    args: ["-f", "-ff", "-o", prefix, "-e", "trace=openat,execve", "-s", "256", Deno.execPath()]
      .concat(["run", "-A", "--no-lock", CLI, ...args]),
    env: w.env(),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const calls: string[] = [];
  for await (const entry of Deno.readDir(w.base)) {
    if (!entry.name.startsWith("trace.")) continue;
    calls.push(...(await Deno.readTextFile(`${w.base}/${entry.name}`)).split("\n"));
  }
  return { stdout: new TextDecoder().decode(out.stdout), calls };
}

worldTest(
  "k ls -j reads each session's files once: one /proc read per pane, no failed open, one tmux",
  async (w) => {
    const names = ["r0", "r1", "r2", "r3"];
    await sessions(w, names);
    const { stdout, calls } = await tracedK(w, ["ls", "-j"]);
    const rows = JSON.parse(stdout) as { session: string; pane_pid: number }[];
    assert.deepEqual(rows.map((r) => r.session), names);
    const opened = (path: string) =>
      calls.filter((c) => c.startsWith(`openat(AT_FDCWD, "${path}"`)).length;
    const execs = calls.filter((c) => c.startsWith("execve(") && !c.includes("= -1 "));
    assert.deepEqual(
      execs.filter((c) => /\/tmux"/.test(c)).map((c) => /"list-sessions"/.test(c)),
      [true],
      "one tmux call, list-sessions",
    );
    const inSessions = names.map((name) => `"${w.sessionDir(name)}/`);
    const failed = calls.filter((c) =>
      inSessions.some((dir) => c.includes(dir)) && c.includes("= -1 ENOENT")
    );
    assert.deepEqual(failed, [], "no open of a session's file that is not there");
    for (const { session, pane_pid: pid } of rows) {
      assert.equal(opened(`/proc/${pid}/stat`), 1, `${session}: its pane's stat, read once`);
      assert.equal(opened(`/proc/${pid}/comm`), 0, `${session}: its name comes from that read`);
      for (const file of ["meta.json", "events.jsonl", "pane.log"]) {
        assert.ok(opened(`${w.sessionDir(session)}/${file}`) <= 1, `${session}: ${file} once`);
      }
    }
  },
  { timeoutMs: 60_000, skip: CAN_STRACE ? false : "needs strace (and ptrace allowed)" },
);

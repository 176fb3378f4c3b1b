// A session's environment is its caller's (not the tmux server's), less what describes the
// caller's own terminal, plus K_SESSION/K_HOME/K_SOCKET, the agent defaults and `--env`; values
// never travel in argv. And `new` never ends a tmux session ktty did not start.

import { deepEqual, equal, match, ok } from "node:assert/strict";
import {
  assertCliError,
  CLI,
  collect,
  exists,
  runCommand,
  waitFor,
  type World,
  worldTest,
} from "./harness.ts";

/** Runs `code` in session `s` through `k run -j` and returns its output (asserting `done`). */
async function output(w: World, s: string, code: string): Promise<string> {
  const r = await w.kJson(["run", "-j", s, code]);
  equal(r.status, "done", `${code}: ${JSON.stringify(r)}`);
  return String(r.output);
}

/** Every process's argv on the machine, joined. */
async function allArgv(): Promise<string> {
  let all = "";
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    all += await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
  }
  return all;
}

worldTest("environment: each session gets its caller's, not the tmux server's", async (w) => {
  const secret = `secret-${crypto.randomUUID()}`;
  equal((await w.k(["new", "a"], { FOO: "first", WHO: "a" }, w.base)).code, 0);
  const b = await w.k(
    ["new", "b"],
    { WHO: "b", API_KEY: `${secret} it's "quoted"\nline 2` },
    w.base,
  );
  equal(b.code, 0, b.stderr);
  equal(await output(w, "a", "echo $FOO $WHO"), "first a");
  // b's caller had no FOO: the server's environment (a's caller's) does not leak into b.
  equal(await output(w, "b", 'echo "[$FOO]" $WHO'), "[] b");
  equal(await output(w, "b", 'printf %s "$API_KEY"'), `${secret} it's "quoted"\nline 2`);
  // What the program got (its startup files may change PATH after).
  const path = await output(w, "b", "tr '\\0' '\\n' </proc/$$/environ | grep '^PATH='");
  equal(path, `PATH=${Deno.env.get("PATH")}`);
  ok(!(await allArgv()).includes(secret), "a value travelled in some process's argv");
  ok(!(await exists(`${w.sessionDir("b")}/environment`)), "the environment file was left");
});

worldTest("environment: the caller's terminal and an enclosing session stay out", async (w) => {
  const caller = {
    TERM: "xterm-caller",
    TERM_PROGRAM: "vscode",
    TMUX: "/tmp/the-users-own-tmux,1,0",
    TMUX_PANE: "%99",
    COLUMNS: "33",
    LINES: "7",
    K_SESSION: "outer",
    PWD: "/nonexistent-caller-dir",
  };
  equal((await w.k(["new", "s"], caller, w.base)).code, 0);
  const env = JSON.parse(
    await output(w, "s", `python3 -c 'import json,os; print(json.dumps(dict(os.environ)))'`),
  ) as Record<string, string>;
  match(env.TERM ?? "", /^(tmux|screen)/, "TERM is tmux's, not the caller's");
  ok(env.TERM_PROGRAM !== "vscode", `TERM_PROGRAM ${env.TERM_PROGRAM}`);
  ok(env.TMUX?.includes(`/${w.socket},`), `TMUX ${env.TMUX} is not the session's own server`);
  ok(env.TMUX_PANE !== "%99");
  deepEqual([env.COLUMNS, env.LINES], [undefined, undefined]);
  deepEqual([env.K_SESSION, env.K_HOME, env.K_SOCKET], ["s", w.home, w.socket]);
  equal(env.PWD, w.base);
  // A cell's `tmux` reaches ktty's server, where the cell runs.
  equal(await output(w, "s", "tmux display-message -p '#{session_name}'"), "s");
});

worldTest(
  "environment: agent defaults where unset, --env wins, and they can be turned off",
  async (w) => {
    equal((await w.k(["new", "d"], { PAGER: "less" }, w.base)).code, 0);
    const show = 'echo "$PAGER|$GIT_PAGER|$GIT_EDITOR|$GIT_TERMINAL_PROMPT|$PROMPT_TOOLKIT_NO_CPR"';
    equal(await output(w, "d", show), "less|cat|true|0|1");
    const e = await w.k(["new", "--env", "GIT_PAGER=more", "--env=X=a=b", "e"], {}, w.base);
    equal(e.code, 0, e.stderr);
    equal(await output(w, "e", `${show}; echo "$X"`), "cat|more|true|0|1\na=b");
    equal((await w.k(["new", "--no-agent-defaults", "n"], {}, w.base)).code, 0);
    equal(await output(w, "n", 'echo "[${GIT_PAGER-unset}]"'), "[unset]");
    assertCliError(await w.k(["new", "--env", "1X=2", "x"]), /--env takes NAME=value/, "bad --env");
    assertCliError(await w.k(["new", "--env", "TMUX=x", "x"]), /set by tmux/, "--env TMUX");
    assertCliError(await w.k(["new", "--bogus", "x"]), /unknown flag '--bogus'/, "unknown flag");
    // What the defaults are for: git neither pages nor opens an editor, it fails at once.
    const git = "git -c user.name=k -c user.email=k@k init -q r && cd r && " +
      "for i in $(seq 80); do git -c user.name=k -c user.email=k@k commit -q --allow-empty -m c$i; done";
    equal(await output(w, "d", git), "");
    equal(
      await output(w, "d", "git log --oneline | wc -l; git log --oneline | head -1 | cut -c9-"),
      "80\nc80",
    );
    const r = await w.kJson([
      "run",
      "-j",
      "-t",
      "10",
      "d",
      "git -c user.name=k -c user.email=k@k commit --allow-empty; echo rc=$?",
    ]);
    equal(r.status, "done", JSON.stringify(r));
    match(String(r.output), /empty commit message[\s\S]*rc=1$/);
  },
);

worldTest("environment: node's REPL history stays in the session", async (w) => {
  const home = `${w.base}/home-dir`;
  await Deno.mkdir(home);
  equal((await w.k(["new", "n", "node"], { HOME: home }, w.base)).code, 0);
  equal(await output(w, "n", "'node-history-' + 42"), "'node-history-42'");
  await waitFor("node's history file", async () => {
    const text = await Deno.readTextFile(`${w.sessionDir("n")}/history`).catch(() => "");
    return text.includes("'node-history-' + 42");
  });
  ok(!(await exists(`${home}/.node_repl_history`)), "node wrote the user's history file");
});

worldTest("new: a tmux session ktty did not start is never ended", async (w) => {
  equal((await w.tmux(["new-session", "-d", "-s", "mine", "sleep", "600"])).code, 0);
  const r = await w.k(["new", "mine"], {}, w.base);
  assertCliError(r, /tmux session 'mine' .* not started by ktty.*kill-session -t '=mine'/, "new");
  deepEqual(await w.tmuxSessions(), ["mine"]);
  const pane = await w.tmux(["display-message", "-p", "-t", "=mine:", "#{pane_current_command}"]);
  equal(pane.stdout.trim(), "sleep");
  // ktty's own sessions (a stray one whose state is gone) are still replaced.
  equal((await w.k(["new", "own"], {}, w.base)).code, 0);
  await Deno.remove(w.sessionDir("own"), { recursive: true });
  const again = await w.k(["new", "own"], {}, w.base);
  equal(again.code, 0, again.stderr);
  equal(await output(w, "own", "echo ok"), "ok");
});

for (const program of ["bash", "python3"]) {
  worldTest(`new: k int and k run while ${program} is still starting wait for it`, async (w) => {
    const code = program === "bash" ? "echo $((6*7))" : "print(6*7)";
    for (const verb of ["int", "run"]) {
      const name = `s-${verb}`;
      const creating = w.spawnK(["new", name, program]);
      // The moment `new` holds the name (its creation file exists), before the first prompt.
      await waitFor(
        "k new to start",
        () => exists(`${w.home}/${w.socket}/.${name}.creating`),
        10_000,
        2,
      );
      const r = verb === "int" ? await w.k(["int", name]) : await w.k(["run", name, code]);
      const created = await collect(creating);
      equal(created.code, 0, created.stderr);
      match(created.stdout, /integration mode/, `${verb}: ${created.stdout}`);
      equal(r.code, 0, `${verb}: ${r.stderr}`);
      if (verb === "run") equal(r.stdout, "42\n");
      equal(await output(w, name, code), "42");
    }
  });
}

worldTest(
  "environment: a caller with a bare environment (a CI runner, env -i) gets a working session",
  async (w) => {
    // No SHELL, no LANG, no USER: only PATH and HOME, as `env -i` or a service gives.
    const bare = { ...w.env(), PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: w.base };
    const k = (args: string[]) =>
      runCommand(Deno.execPath(), ["run", "-A", "--no-lock", CLI, ...args], {
        env: bare,
        clearEnv: true,
        cwd: w.base,
      });
    const kJson = async (args: string[]) =>
      JSON.parse((await k(args)).stdout) as Record<string, unknown>;
    const made = await k(["new", "s"]);
    equal(made.code, 0, made.stderr);
    // The table parses (tmux in the C locale printed its tabs as '_').
    const [row] = JSON.parse((await k(["ls", "-j"])).stdout) as Record<string, unknown>[];
    deepEqual([row?.session, row?.alive, row?.state], ["s", true, "idle"]);
    // The login shell, not dash, runs the command line: the pane's process is bash itself.
    equal(row?.pane_command, "bash");
    // A UTF-8 locale: one character is one character.
    const r = await kJson(["run", "-j", "s", "v=é; echo ${#v} $LANG"]);
    equal(r.output, "1 C.UTF-8");
    // The hangup ends bash itself: nothing left to signal.
    const killed = await kJson(["kill", "-j", "s"]);
    deepEqual([killed.ended, killed.survivors], [[], []]);
  },
);

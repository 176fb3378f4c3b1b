// The operator's view: the fleet table (k ls), status hints, help text that matches the README,
// and a person's own terminal on a session: k peek (read-only) and k attach (takeover), run under
// a real pseudo-terminal (a pane of a separate "observer" tmux server).
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  CLI,
  type CliResult,
  isRunning,
  removeTmuxSocket,
  waitFor,
  type World,
  worldTest,
} from "./harness.ts";
import { INTEGRATION_COLUMNS } from "../src/frame/mod.ts";
import { PANE_ROWS } from "../src/session/create.ts";

const README = fileURLToPath(new URL("../README.md", import.meta.url));
// The agent sessions here run bash in integration mode.
const AGENT_SIZE = `${INTEGRATION_COLUMNS}x${PANE_ROWS}`;

type Row = Record<string, unknown>;

async function lsJson(w: World, args: string[] = []): Promise<Row[]> {
  const out = await w.k(["ls", "-j", ...args]);
  equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout) as Row[];
}

function bySession(rows: Row[]): Map<string, Row> {
  return new Map(rows.map((r) => [String(r.session), r]));
}

/** The agent window's size as tmux has it. */
async function windowSize(w: World, name: string): Promise<string> {
  const out = await w.tmux([
    "display-message",
    "-p",
    "-t",
    `=${name}:`,
    "#{window_width}x#{window_height}",
  ]);
  equal(out.code, 0, out.stderr);
  return out.stdout.trim();
}

async function views(w: World): Promise<string[]> {
  return (await w.tmuxSessions()).filter((s) => /%(peek|attach)-[0-9a-f]{8}$/.test(s));
}

/** Clients attached on the agent's socket: their session and flags. */
async function clients(w: World): Promise<{ session: string; flags: string }[]> {
  const out = await w.tmux(["list-clients", "-F", "#{client_session}\t#{client_flags}"]);
  if (out.code !== 0) return [];
  return out.stdout.split("\n").filter((l) => l !== "").map((l) => {
    const [session = "", flags = ""] = l.split("\t");
    return { session, flags };
  });
}

/**
 * A person's terminal: an 80x24 pane of a separate tmux server, running `k <args>` and then
 * printing its exit status (`k-exit=N`), so the test can type into it and read its screen.
 */
class Observer {
  readonly socket: string;
  readonly #w: World;

  private constructor(w: World) {
    this.#w = w;
    this.socket = `${w.socket}-obs`;
  }

  static async start(w: World, args: string[]): Promise<Observer> {
    const obs = new Observer(w);
    const script = 'd=$1; c=$2; shift 2; "$d" run -A --no-lock "$c" "$@"; echo "k-exit=$?"; ' +
      "exec sleep 600";
    const out = await obs.tmux([
      "new-session",
      "-d",
      "-s",
      "obs",
      "-x",
      "80",
      "-y",
      "24",
      "-e",
      `K_HOME=${w.home}`,
      "-e",
      `K_SOCKET=${w.socket}`,
      "sh",
      "-c",
      script,
      "sh",
      Deno.execPath(),
      CLI,
      ...args,
    ]);
    equal(out.code, 0, out.stderr);
    return obs;
  }

  async tmux(args: string[]): Promise<CliResult> {
    const out = await new Deno.Command("tmux", {
      args: ["-u", "-f", "/dev/null", "-L", this.socket, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  }

  /** What the person's terminal shows. */
  async screen(): Promise<string> {
    return (await this.tmux(["capture-pane", "-p", "-t", "=obs:"])).stdout;
  }

  /** Types literal text into the person's terminal. */
  async type(text: string): Promise<void> {
    equal((await this.tmux(["send-keys", "-t", "=obs:", "-l", text])).code, 0);
  }

  /** Presses one key (tmux key name) in the person's terminal. */
  async press(key: string): Promise<void> {
    equal((await this.tmux(["send-keys", "-t", "=obs:", key])).code, 0);
  }

  /** k's exit status once it printed it, else undefined. */
  async exitCode(): Promise<number | undefined> {
    const m = /k-exit=(\d+)/.exec(await this.screen());
    return m ? Number(m[1]) : undefined;
  }

  /**
   * Presses the tmux detach key, C-b then d, as a person would: two separate key presses (keys
   * arriving within tmux's assume-paste-time are taken as pasted text, not as a key binding).
   * Returns k's exit status.
   */
  async detach(): Promise<number> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      await this.press("C-b");
      await this.press("d");
      const code = await waitFor("k to exit after the detach key", async () => {
        const code = await this.exitCode();
        return code === undefined ? false : { code };
      }, 2_000).catch(() => undefined);
      if (code) return code.code;
    }
    throw new Error(`the detach key did not end k; screen:\n${await this.screen()}`);
  }

  async kill(): Promise<void> {
    await this.tmux(["kill-server"]);
    await removeTmuxSocket(this.socket);
  }
}

/** Runs `fn` with an observer running `k <args>`, which is killed whatever happens. */
async function withObserver(
  w: World,
  args: string[],
  fn: (obs: Observer) => Promise<void>,
): Promise<void> {
  const obs = await Observer.start(w, args);
  try {
    await fn(obs);
  } finally {
    await obs.kill();
  }
}

worldTest(
  "k peek: the person sees the live terminal, typing does not reach it, size kept",
  async (w) => {
    await w.kernel.create("w");
    equal(await windowSize(w, "w"), AGENT_SIZE);
    equal((await w.kJson(["run", "-j", "w", "echo BEFORE_$((6*7))"])).output, "BEFORE_42");
    await withObserver(w, ["peek", "w"], async (obs) => {
      const client = await waitFor("a read-only client on a view session", async () => {
        const found = (await clients(w)).find((c) => c.session.includes("%peek-"));
        return found?.flags.includes("attached") ? found : undefined;
      }, 20_000);
      match(client.flags, /read-only/);
      await waitFor("the person's terminal to show the agent's screen", async () => {
        return (await obs.screen()).includes("BEFORE_42");
      });
      // The view is a session of the agent's group, not a row of its own: it counts as a client.
      const [view] = await views(w);
      ok(view?.startsWith("w%peek-"), view);
      const group = await w.tmux(["display-message", "-p", "-t", `=${view}:`, "#{session_group}"]);
      equal(group.stdout.trim(), "w");
      const rows = await lsJson(w);
      deepEqual(rows.map((r) => [r.session, r.state, r.clients]), [["w", "idle", 1]]);
      equal(await windowSize(w, "w"), AGENT_SIZE, "pane resized by the attach");

      // A person types a command and Enter, then Ctrl-C: none of it reaches the agent's pane.
      await obs.type("echo TYPED_$((6*7))");
      await obs.press("Enter");
      await obs.press("C-c");
      equal(await windowSize(w, "w"), AGENT_SIZE, "pane resized while attached");
      // The detach key comes after those keys on the same terminal, so once k has exited tmux
      // has read (and dropped) every one of them.
      equal(await obs.detach(), 0);
      await waitFor("the view session to be gone", async () => (await views(w)).length === 0);
    });
    const log = await Deno.readTextFile(`${w.sessionDir("w")}/pane.log`);
    ok(!log.includes("TYPED"), "typed text reached the agent's pane log");
    const screen = await w.tmux(["capture-pane", "-p", "-t", "=w:"]);
    ok(!screen.stdout.includes("TYPED"), "typed text is on the agent's screen");
    equal(await windowSize(w, "w"), AGENT_SIZE, "pane resized after detach");
    const after = await w.kJson(["run", "-j", "w", "echo AFTER"]);
    deepEqual([after.status, after.output, after.exit_code], ["done", "AFTER", 0]);
    deepEqual(await w.tmuxSessions(), ["w"]);
  },
);

worldTest("k attach: the explicit takeover types into the session and is announced", async (w) => {
  await w.kernel.create("w");
  const events = `${w.sessionDir("w")}/events.jsonl`;
  await withObserver(w, ["attach", "w"], async (obs) => {
    const client = await waitFor("an interactive client on a view session", async () => {
      const found = (await clients(w)).find((c) => c.session.includes("%attach-"));
      return found?.flags.includes("attached") ? found : undefined;
    }, 20_000);
    ok(!client.flags.includes("read-only"), client.flags);
    await obs.type("echo ATTACHED_$((6*7))");
    await obs.press("Enter");
    // Run, and ended: its end marker follows its output (the person's command is a command like
    // any other; the agent's next cell waits for the prompt it leaves).
    await waitFor("the typed command to run in the agent's pane, and end", async () => {
      const log = await w.paneLog("w");
      const at = log.indexOf("ATTACHED_42");
      return at >= 0 && log.indexOf("\x1b]133;D;", at) > at;
    });
    equal(await windowSize(w, "w"), AGENT_SIZE, "an interactive client resized the pane");
    const attached = (await Deno.readTextFile(events)).trim().split("\n").map((l) => JSON.parse(l));
    match(String(attached.at(-1)?.message), /attached; keys typed there reach the session/);
    equal(attached.at(-1)?.status, "notify");
    // The person's terminal goes away (a closed window): the view goes with it.
  });
  await waitFor("the view session to be gone", async () => (await views(w)).length === 0);
  await waitFor("a detached notice in the event log", async () => {
    return (await Deno.readTextFile(events)).includes("detached");
  });
  equal(await windowSize(w, "w"), AGENT_SIZE);
  const after = await w.kJson(["run", "-j", "w", "echo AFTER"]);
  deepEqual([after.status, after.output], ["done", "AFTER"]);
});

worldTest("k kill while someone peeks ends the program, the view and the peek", async (w) => {
  await w.kernel.create("w");
  const status = await w.kJson(["status", "-j", "w"]);
  const panePid = Number(status.pane_pid);
  await withObserver(w, ["peek", "w"], async (obs) => {
    await waitFor("the peek to attach", async () => {
      return (await clients(w)).some((c) => c.session.includes("%peek-"));
    }, 20_000);
    equal((await w.k(["kill", "w"])).code, 0);
    await waitFor("k peek to exit", async () => (await obs.exitCode()) !== undefined);
    deepEqual(await w.tmuxSessions(), []);
    await waitFor("the agent's program to be gone", async () => {
      return !(await Deno.stat(`/proc/${panePid}`).then(() => true, () => false));
    });
  });
});

worldTest(
  "peek and attach refuse without a terminal, and on missing or stale sessions",
  async (w) => {
    await w.kernel.create("w");
    for (const args of [["peek", "w"], ["attach", "w"], ["attach", "-r", "w"], ["peek"]]) {
      const out = await w.k(args); // stdin is /dev/null: not a terminal
      equal(out.code, 1, args.join(" "));
      match(out.stderr, /^k: k (peek|attach) needs a terminal \(stdin is not a TTY\)/);
      equal(out.stderr.trim().split("\n").length, 1);
    }
    deepEqual(await w.tmuxSessions(), ["w"]);
    const missing = await w.k(["peek", "nope"]);
    deepEqual([missing.code, missing.stderr.trim()], [
      1,
      "k: no session 'nope'; use k new nope bash",
    ]);
    await w.kernel.create("st");
    await w.tmux(["kill-session", "-t", "=st"]);
    const stale = await w.k(["attach", "st"]);
    equal(stale.code, 1);
    match(stale.stderr, /^k: session 'st' is stale .*k ls --prune/);
    const extra = await w.k(["peek", "w", "x"]);
    deepEqual([extra.code, extra.stderr.trim()], [1, "k: usage: k peek [session]"]);
  },
);

worldTest(
  "k ls: live, busy, timed-out, watcher-dead, dead, stale and hand-made sessions",
  async (w) => {
    const names = ["live", "busy", "to", "wd", "dead", "st"];
    await Promise.all(names.map((n) => w.kernel.create(n)));
    equal((await w.kJson(["run", "-j", "live", "echo hi"])).output, "hi");
    // First the watcher-dead cell: one watcher watches every fired cell of the socket, so its
    // death is made before busy and to hand theirs to a new one.
    equal((await w.kJson(["fire", "wd", "sleep 30"])).status, "fired");
    const wdPid = Number((await w.kJson(["status", "-j", "wd"])).watcher_pid);
    Deno.kill(wdPid, "SIGKILL");
    await waitFor("wd's watcher gone", async () => !(await isRunning(wdPid)));
    const fired = await w.kJson(["fire", "busy", "sleep 30"]);
    equal(fired.status, "fired");
    const timedOut = await w.kJson(["run", "-j", "-t", "1", "to", "sleep 30"]);
    equal(timedOut.status, "timeout");
    const died = await w.kJson(["run", "-j", "dead", "exit"]);
    match(String(died.output), /ended while the cell was running/);
    equal((await w.tmux(["kill-session", "-t", "=st"])).code, 0);
    equal((await w.tmux(["new-session", "-d", "-s", "hand"])).code, 0);
    await waitFor("the busy pane to run sleep", async () => {
      return (await w.kJson(["status", "-j", "busy"])).pane_command === "sleep";
    });
    await waitFor("the watcher-dead state", async () => {
      return (await w.kJson(["status", "-j", "wd"])).state === "watcher-dead";
    });

    const rows = bySession(await lsJson(w));
    deepEqual([...rows.keys()], ["busy", "dead", "hand", "live", "st", "to", "wd"]);
    const state = (n: string) => [rows.get(n)?.state, rows.get(n)?.alive];
    deepEqual(
      ["live", "busy", "to", "wd", "dead", "st", "hand"].map(state),
      [
        ["idle", true],
        ["running", true],
        ["timeout", true],
        ["watcher-dead", true],
        ["stale", false],
        ["stale", false],
        ["unmanaged", true],
      ],
    );
    const host = Deno.hostname();
    for (const [name, row] of rows) {
      deepEqual([row.host, row.socket], [host, w.socket], name);
      ok(typeof row.user === "string" && row.user !== "", name);
      ok(typeof row.next === "string" && row.next !== "", name);
      if (name === "hand") continue;
      for (
        const key of [
          "session",
          "alive",
          "state",
          "cell_id",
          "cell_age_s",
          "watcher_pid",
          "pane_pid",
          "pane_command",
          "idle_s",
          "clients",
          "mode",
          "fallback",
          "command",
          "created_at",
          "last_event",
          "last_event_seq",
          "last_event_at",
          "last_event_age_s",
          "next",
        ]
      ) ok(key in row, `${name}: ${key}`);
      equal(row.mode, "integration", name);
    }
    const live = rows.get("live")!;
    deepEqual(
      [live.cell_id, live.cell_age_s, live.pane_command, live.last_event, live.last_event_seq],
      [null, null, "bash", "done", 3],
    );
    ok(typeof live.pane_pid === "number" && typeof live.last_event_age_s === "number");
    const busy = rows.get("busy")!;
    deepEqual(
      [busy.cell_id, busy.pane_command, busy.last_event],
      [fired.cell_id, "sleep", "fired"],
    );
    ok(typeof busy.cell_age_s === "number" && typeof busy.watcher_pid === "number");
    deepEqual([rows.get("to")?.cell_id, rows.get("to")?.last_event], [timedOut.cell_id, "timeout"]);
    const dead = rows.get("dead")!;
    deepEqual(
      [dead.pane_pid, dead.pane_command, dead.clients, dead.last_event],
      [null, null, 0, "closed"],
    );
    deepEqual([rows.get("st")?.last_event, rows.get("st")?.pane_pid], ["started", null]);
    const hand = rows.get("hand")!;
    deepEqual([hand.pane_command, hand.mode, hand.cell_id], ["bash", undefined, undefined]);
    match(String(hand.next), /no ktty state/);

    // The table: the same sessions and states, one row each.
    const table = await w.k(["ls"]);
    equal(table.code, 0);
    const [header, ...lines] = table.stdout.trim().split("\n");
    match(header!, /^SESSION +STATE +CELL +AGE +IDLE +LAST +PROGRAM +PID +CLIENTS +MODE +WHERE$/);
    const cells = lines.map((l) => l.split(/ {2,}/));
    deepEqual(cells.map((c) => [c[0], c[1]]), [
      ["busy", "running"],
      ["dead", "stale"],
      ["hand", "unmanaged"],
      ["live", "idle"],
      ["st", "stale"],
      ["to", "timeout"],
      ["wd", "watcher-dead"],
    ]);
    const busyRow = cells[0]!;
    deepEqual([busyRow[2], busyRow[6]], [fired.cell_id, "sleep"]);
    match(busyRow[5]!, /^fired \d+s$/);
    match(cells[1]![5]!, /^closed \d+s$/);
    ok(lines.every((l) => l.trimEnd().endsWith(`@${host}`)));

    // Text status names the next useful command in every state.
    const next = async (n: string) => {
      const out = await w.k(["status", n]);
      return /^next: (.*)$/m.exec(out.stdout)?.[1] ?? "";
    };
    match(await next("live"), /^k run live '<code>'/);
    match(await next("busy"), /^k poll busy .*k int busy/);
    match(await next("to"), /^k poll to .*still runs.*k int to/);
    match(await next("wd"), /^k int wd /);
    match(await next("st"), /^k new st bash .*k ls --prune/);

    // --prune removes the stale ones, says so, and leaves everything else alone.
    const pruned = await w.k(["ls", "--prune"]);
    equal(pruned.code, 0, pruned.stderr);
    const [first, second, ...rest] = pruned.stdout.trim().split("\n");
    match(first!, /^pruned dead \(stale: its tmux session was gone; last event closed\)$/);
    match(second!, /^pruned st \(stale: its tmux session was gone; last event started\)$/);
    deepEqual(
      rest.slice(1).map((l) => l.split(/ {2,}/)[0]),
      ["busy", "hand", "live", "to", "wd"],
    );
    for (const n of ["dead", "st"]) {
      ok(!(await Deno.stat(w.sessionDir(n)).then(() => true, () => false)), `${n} still there`);
    }
    deepEqual(
      (await lsJson(w)).map((r) => [r.session, r.state]),
      [["busy", "running"], ["hand", "unmanaged"], ["live", "idle"], ["to", "timeout"], [
        "wd",
        "watcher-dead",
      ]],
    );
    equal((await w.kJson(["run", "-j", "live", "echo still"])).output, "still");
    equal((await w.k(["ls", "--prune"])).stdout.split("\n")[0], "nothing to prune");

    // With -j the pruned sessions are in the array, marked.
    await w.kernel.create("st2");
    await w.tmux(["kill-session", "-t", "=st2"]);
    const json = bySession(await lsJson(w, ["--prune"]));
    deepEqual([json.get("st2")?.state, json.get("st2")?.pruned], ["stale", true]);
    equal(json.get("live")?.pruned, undefined);
    ok(!(await lsJson(w)).some((r) => r.session === "st2"));
    for (const n of ["busy", "to", "wd"]) await w.k(["int", n]);
  },
);

/** The README's command table: the usage in each row's first code span, `\|` unescaped. */
async function readmeUsages(): Promise<string[]> {
  const readme = await Deno.readTextFile(README);
  const start = readme.indexOf("\n## Commands\n");
  ok(start >= 0, "README has no Commands section");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  // The first table of the section: its lines run from the first `|` to the first non-`|` line.
  const lines = section.split("\n");
  const first = lines.findIndex((l) => l.startsWith("|"));
  const after = lines.findIndex((l, i) => i > first && !l.startsWith("|"));
  const usages: string[] = [];
  for (const line of lines.slice(first, after < 0 ? undefined : after)) {
    const m = /^\| `((?:[^`\\]|\\.)+)`/.exec(line);
    if (m?.[1]) usages.push(m[1].replaceAll("\\|", "|"));
  }
  return usages;
}

worldTest("help: every verb's usage and example; the README's table matches k help", async (w) => {
  const overview = await w.k(["help"]);
  equal(overview.code, 0);
  const usages = overview.stdout.split("\n")
    .map((l) => /^ {2}(k \S.*?)(?: {2,}.*)?$/.exec(l)?.[1])
    .filter((u): u is string => u !== undefined);
  ok(usages.length >= 16, `only ${usages.length} verbs in k help`);
  deepEqual(await readmeUsages(), usages, "README command table differs from k help");
  for (const usage of usages) {
    const verb = usage.split(" ")[1]!;
    const help = await w.k(["help", verb]);
    equal(help.code, 0, verb);
    ok(help.stdout.startsWith(`usage: ${usage}\n`), `${verb}: ${help.stdout}`);
    match(help.stdout, /\nexample:\n {2}k /, verb);
    const flag = await w.k([verb, "--help"]);
    deepEqual([flag.code, flag.stdout], [0, help.stdout], `${verb} --help`);
  }
  match((await w.k(["help", "attach"])).stdout, /the only verb through which a person types/i);
  match((await w.k(["help", "await"])).stdout, /^usage: k run /);
  equal((await w.k(["run", "-h"])).stdout, (await w.k(["help", "run"])).stdout);
  const bad = await w.k(["help", "frobnicate"]);
  deepEqual([bad.code, bad.stderr.trim()], [1, "k: unknown verb 'frobnicate'; see k help"]);
});

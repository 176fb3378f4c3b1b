/**
 * `k`: the ktty command. Parses arguments, calls the library, prints JSON or text, exits 0 when it
 * did what was asked (a timeout included) and 1 on an error result or bad input.
 * @module
 */

import {
  type CellOptions,
  type CellResult,
  type FleetEntry,
  Kernel,
  KttyError,
  UsageError,
  VERSION,
} from "../mod.ts";
import { looksLikeCellId, sessionPaths } from "./state.ts";
import { mark } from "./trace.ts";
import { watchSession } from "./view.ts";

/** A verb's help: `k help <verb>` and `k <verb> --help`. */
interface VerbHelp {
  /** One line, exactly as in the README's command table. */
  usage: string;
  /** What it does, for the overview. */
  summary: string;
  /** More lines, if the summary is not enough. */
  details?: string[];
  /** Example command lines. */
  examples: string[];
}

/** Every verb's help, in the order `k help` lists them. The README's table follows it. */
const HELP: Record<string, VerbHelp> = {
  new: {
    usage: "k new <session> [cmd…] [--prompt=STR|./hook|repeat]",
    summary: "start a program (default bash) in a session",
    details: [
      "Returns once the program shows its first prompt. On a live session: OK s (alive).",
      "--prompt: STR = exact mode (a line equal to STR ends a cell), ./hook = hook mode,",
      "repeat = repeat mode; default: shell integration for bash, zsh, sh, python3, node.",
      "Everything after the name is the program's command line, run through the shell.",
    ],
    examples: ["k new work bash", "k new py python3", 'k new g gdb -q ./a.out --prompt="(gdb)"'],
  },
  run: {
    usage: "k run [-j] [-t N] [-o N] [session] <code>",
    summary: "run a cell, wait (default 30 s); alias: await",
    details: [
      "Text mode prints the output; -j prints the JSON result. -t N: time limit in seconds;",
      "on a timeout the cell keeps the session (k poll, k int). -o N: output budget.",
      "Code '-' is read from standard input (for code too long for an argument).",
    ],
    examples: [
      "k run work 'cd /tmp && ls'",
      "k run -j -t 120 work 'pytest -x'",
      "k run py - < script.py",
    ],
  },
  fire: {
    usage: "k fire [-t N] [-o N] [session] <code>",
    summary: "run a cell in the background (default 300 s); code '-' is read from stdin",
    examples: ["k fire work 'make -j2'   # then: k poll work, or km work -1"],
  },
  poll: {
    usage: "k poll [-o N] [session] [cell_id]",
    summary: "a cell's state as JSON, with its output so far",
    details: ["The given cell, else the active one, else the most recent."],
    examples: ["k poll work", "k poll work 3f2a9c01b7de"],
  },
  send: {
    usage: "k send [session] <text> [--no-enter] [--keys K…]",
    summary: "type into the program the active cell runs",
    details: [
      "Types text + Enter (--no-enter: no Enter) without a new cell, for a read -p, a [y/N],",
      "input(). --keys sends tmux key names instead (C-d, Escape, Up; several with commas).",
    ],
    examples: ["k send work y", "k send work --keys C-d"],
  },
  int: {
    usage: "k int [session]",
    summary: "Ctrl-C; end the active cell, free the session",
    examples: ["k int work"],
  },
  kill: {
    usage: "k kill <session>",
    summary: "end the session, its watcher, views and state",
    examples: ["k kill work"],
  },
  notify: {
    usage: "k notify [session] <message> [--from NAME]",
    summary: "append a notify event to the event log",
    examples: ["k notify work 'tests are green' --from ci"],
  },
  ls: {
    usage: "k ls [-j] [--prune]",
    summary: "every session on the socket (-j: a JSON array)",
    details: [
      "Joins tmux (alive, pane pid, the program in the pane, idle time, clients watching),",
      "the cell state (idle, running, timeout, watcher-dead; stale when the tmux session is",
      "gone but its state remains; active cell and its age) and the last event and its age.",
      "Tmux sessions without ktty state (made by hand) are listed as unmanaged.",
      "--prune removes the stale sessions' state and says which it removed.",
    ],
    examples: ["k ls", "k ls -j", "k ls --prune"],
  },
  status: {
    usage: "k status [-j] [session]",
    summary: "one session's state and the next useful command",
    examples: ["k status work", "k status -j work"],
  },
  watch: {
    usage: "k watch [session]",
    summary: "follow output and events as clean text",
    examples: ["k watch work"],
  },
  peek: {
    usage: "k peek [session]",
    summary: "watch the live terminal; typing is ignored",
    details: [
      "Same as k attach --read-only: your terminal shows the session's own screen, nothing",
      "you type reaches it, and the agent's pane keeps its size. C-b d leaves. Needs a terminal.",
    ],
    examples: ["k peek work"],
  },
  attach: {
    usage: "k attach [--read-only] [session]",
    summary: "take over the live terminal: you type into it",
    details: [
      "The only verb through which a person types into a session: keys go to its program",
      "as if the agent typed them, and a notify event in its log marks when you attach and",
      "detach. -r, --read-only: watch only (k peek). Goes through a throwaway tmux session",
      "grouped with the agent's, removed when you detach (C-b d); the agent's pane keeps its",
      "size (10000x50: you see the part around the cursor). Needs a terminal.",
    ],
    examples: ["k attach work", "k attach -r work"],
  },
  history: {
    usage: "k history [-n N] [-j] [session]",
    summary: "the last N (20) events, with their cells' code",
    examples: ["k history -n 5 work"],
  },
  version: {
    usage: "k version | --version | -V",
    summary: "print the version",
    examples: ["k --version"],
  },
  help: {
    usage: "k help [verb]",
    summary: "this overview, or a verb's usage and example",
    examples: ["k help run", "k run --help"],
  },
};

/** Another name for a verb. */
const VERB_ALIASES: Record<string, string> = {
  await: "run",
  "--version": "version",
  "-V": "version",
};

const USAGE_COLUMN = 46;

/** `k help`: every verb's usage and summary. */
function overview(): string {
  const lines = [`k — persistent terminal sessions for agents (ktty ${VERSION})`, ""];
  for (const { usage, summary } of Object.values(HELP)) {
    if (usage.length <= USAGE_COLUMN) lines.push(`  ${usage.padEnd(USAGE_COLUMN)}  ${summary}`);
    else lines.push(`  ${usage}`, `  ${"".padEnd(USAGE_COLUMN)}  ${summary}`);
  }
  lines.push(
    "",
    "Session: the argument, else $K_SESSION, else the only live one.",
    "-o N: output budget in characters (default $K_MAX_OUTPUT, else 50000); past it the head and",
    'tail are kept, "truncated":true, and "output_file" holds the whole output.',
    "Environment: K_HOME (state dir), K_SOCKET (tmux socket, default ktty), K_MAX_OUTPUT.",
    "k help <verb> (or k <verb> --help): one verb's usage with an example.",
  );
  return lines.join("\n");
}

/** `k help <verb>`: its usage, what it does, and examples. */
function verbHelp(verb: string): string | undefined {
  const name = VERB_ALIASES[verb] ?? verb;
  const help = Object.hasOwn(HELP, name) ? HELP[name] : undefined;
  if (!help) return undefined;
  const aliases = Object.keys(VERB_ALIASES).filter((a) => VERB_ALIASES[a] === name);
  return [
    `usage: ${help.usage}`,
    ...(aliases.length ? [`alias: ${aliases.join(", ")}`] : []),
    "",
    `${help.summary}.`,
    ...(help.details ?? []),
    "",
    "example:",
    ...help.examples.map((e) => `  ${e}`),
  ].join("\n");
}

/** Flags a verb accepts: name → takes a value. */
type FlagSpec = Record<string, boolean>;

interface Parsed {
  flags: Map<string, string>;
  positionals: string[];
}

const ALIASES: Record<string, string> = {
  "-j": "--json",
  "-t": "--timeout",
  "-n": "--count",
  "-o": "--max-output",
  "-r": "--read-only",
};

/**
 * Known flags are recognised anywhere before `--`; an unknown `-x` is an error before the first
 * positional and plain text after it (so `k run w -x` sends `-x`).
 */
function parse(args: string[], spec: FlagSpec, code = false): Parsed {
  const flags = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    // For code verbs, from the second word on (session, then code), everything is the code:
    // `k run w ls -t /tmp` runs `ls -t /tmp`.
    if (code && positionals.length >= 2) {
      positionals.push(arg);
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      const eq = arg.indexOf("=");
      let name = eq > 0 ? arg.slice(0, eq) : arg;
      let value: string | undefined = eq > 0 ? arg.slice(eq + 1) : undefined;
      if (/^-[tno]\d+$/.test(arg)) {
        name = arg.slice(0, 2);
        value = arg.slice(2);
      }
      name = ALIASES[name] ?? name;
      if (name in spec) {
        if (spec[name]) {
          if (value === undefined) {
            value = args[++i];
            if (value === undefined) throw new UsageError(`${name} needs a value`);
          }
        } else if (value !== undefined) throw new UsageError(`${name} takes no value`);
        flags.set(name, value ?? "");
        continue;
      }
      if (positionals.length === 0) throw new UsageError(`unknown flag '${arg}'`);
    }
    positionals.push(arg);
  }
  return { flags, positionals };
}

const VALUE_FLAGS = new Set(["-t", "-o", "-n", "--timeout", "--max-output", "--count", "--from"]);

/** Whether `-j` stands among the flags (before the code), for error output; never throws. */
function wantsJson(args: string[]): boolean {
  let words = 0;
  for (let i = 0; i < args.length && words < 2; i++) {
    const arg = args[i] as string;
    if (arg === "--") break;
    if (arg === "-j" || arg === "--json") return true;
    if (VALUE_FLAGS.has(arg)) i++;
    else if (!arg.startsWith("-")) words++;
  }
  return false;
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(value)) throw new UsageError(`${flag} must be a positive integer`);
  return Number(value);
}

const CELL_FLAGS: FlagSpec = { "--json": false, "--timeout": true, "--max-output": true };

/** `-t N` (seconds) and `-o N` (characters) as library options. */
function cellOptions(flags: Map<string, string>): CellOptions {
  const timeoutS = positiveInt(flags.get("--timeout"), "-t");
  const maxOutput = positiveInt(flags.get("--max-output"), "-o");
  const options: CellOptions = {};
  if (timeoutS) options.timeoutMs = timeoutS * 1000;
  if (maxOutput) options.maxOutput = maxOutput;
  return options;
}

/** A run/fire/send argument list: [session] <code…>. */
function sessionAndText(positionals: string[], what: string): { session?: string; text: string } {
  if (positionals.length === 0) throw new UsageError(`missing ${what}`);
  if (positionals.length === 1) return { text: positionals[0] as string };
  return { session: positionals[0], text: positionals.slice(1).join(" ") };
}

/** The code of run/fire: `-` reads it from standard input. */
async function codeFrom(text: string): Promise<string> {
  if (text !== "-") return text;
  return await new Response(Deno.stdin.readable).text();
}

function json(value: unknown): void {
  console.log(JSON.stringify(value));
}

function isFailure(result: { status: string }): boolean {
  return result.status === "error";
}

/** What a verb returns: the exit status. Output is printed by the verb. */
type Verb = (kernel: Kernel, args: string[]) => Promise<number>;

const verbs: Record<string, { json: boolean | "flag"; run: Verb }> = {
  new: {
    json: false,
    run: async (kernel, args) => {
      let prompt: string | undefined;
      const rest: string[] = [];
      for (let i = 0; i < args.length; i++) {
        const arg = args[i] as string;
        if (arg === "--" && rest.length === 0) {
          rest.push(...args.slice(i + 1));
          break;
        }
        if (arg.startsWith("--prompt=")) prompt = arg.slice("--prompt=".length);
        else if (arg === "--prompt" && rest.length === 0) {
          prompt = args[++i];
          if (prompt === undefined) throw new UsageError("--prompt needs a value");
        } else rest.push(arg);
      }
      const [name, ...command] = rest;
      if (name === undefined) throw new UsageError("missing session name; k new <session> [cmd…]");
      if (name.startsWith("-") && args[0] !== "--") throw new UsageError(`unknown flag '${name}'`);
      const result = await kernel.create(name, {
        command: command.join(" ") || undefined,
        prompt,
      });
      const { mode, fallback } = result.meta.frame;
      const note = fallback ? `; shell integration failed: ${fallback}` : "";
      console.log(`OK ${name} (${result.created ? `${mode} mode${note}` : "alive"})`);
      return 0;
    },
  },
  run: {
    json: "flag",
    run: async (kernel, args) => {
      const { flags, positionals } = parse(args, CELL_FLAGS, true);
      const options = cellOptions(flags);
      const { session, text } = sessionAndText(positionals, "code");
      const target = await kernel.resolve(session);
      const code = await codeFrom(text);
      // Killed mid-cell (a harness timeout, Ctrl-C): the cell goes on under a background watcher
      // and its result is recorded for k poll and km, instead of a lock held by a dead process.
      // A signal before the code is typed waits for the typing, so no lock is left untyped.
      let started = false;
      let stopStatus: number | undefined;
      const stop = () => {
        target.handOff().catch(() => undefined).finally(() => Deno.exit(stopStatus));
      };
      const stopOn = (signal: Deno.Signal, status: number) =>
        Deno.addSignalListener(signal, () => {
          if (stopStatus !== undefined) return;
          stopStatus = status;
          if (started) stop();
        });
      stopOn("SIGINT", 130);
      stopOn("SIGTERM", 143);
      stopOn("SIGHUP", 129);
      mark("args parsed");
      const result = await target.run(code, {
        ...options,
        onStarted: () => {
          started = true;
          if (stopStatus !== undefined) stop();
        },
      });
      if (stopStatus !== undefined) return stopStatus; // refused before typing: nothing to keep
      if (flags.has("--json")) {
        json(result);
        mark("printed");
        return isFailure(result) ? 1 : 0;
      }
      if (result.status === "error") {
        console.error(`k: ${result.output}`);
        return 1;
      }
      if (result.output !== "") console.log(result.output);
      mark("printed");
      if (result.status === "timeout") {
        console.error(
          `k: cell ${result.cell_id} timed out; it may still run: k poll ${target.name}, k int ${target.name}`,
        );
      }
      return 0;
    },
  },
  fire: {
    json: true,
    run: async (kernel, args) => {
      const { flags, positionals } = parse(args, CELL_FLAGS, true);
      const options = cellOptions(flags);
      const { session, text } = sessionAndText(positionals, "code");
      const target = await kernel.resolve(session);
      const result = await target.fire(await codeFrom(text), options);
      json(result);
      return isFailure(result) ? 1 : 0;
    },
  },
  poll: {
    json: true,
    run: async (kernel, args) => {
      const { flags, positionals } = parse(args, { "--json": false, "--max-output": true });
      const maxOutput = positiveInt(flags.get("--max-output"), "-o");
      if (positionals.length > 2) throw new UsageError("k poll [session] [cell_id]");
      let [session, cellId] = positionals;
      if (positionals.length === 1 && session !== undefined && looksLikeCellId(session)) {
        const isSession = await Deno.lstat(sessionPaths(kernel.config, session).dir).then(
          () => true,
          () => false,
        );
        if (!isSession) [session, cellId] = [undefined, session];
      }
      const target = await kernel.resolve(session);
      const result: CellResult = await target.poll(cellId, maxOutput ? { maxOutput } : {});
      json(result);
      return isFailure(result) ? 1 : 0;
    },
  },
  send: {
    json: false,
    run: async (kernel, args) => {
      const { flags, positionals } = parse(args, { "--no-enter": false, "--keys": true }, true);
      const keys = flags.get("--keys")?.split(/[\s,]+/).filter((k) => k !== "");
      let session: string | undefined;
      let text = "";
      if (keys) {
        if (positionals.length > 1) throw new UsageError("k send [session] --keys K…");
        session = positionals[0];
      } else ({ session, text } = sessionAndText(positionals, "text"));
      const target = await kernel.resolve(session);
      const cellId = await target.send(text, { enter: !flags.has("--no-enter"), keys });
      console.log(`OK ${target.name} (sent to cell ${cellId})`);
      return 0;
    },
  },
  int: {
    json: false,
    run: async (kernel, args) => {
      const { positionals } = parse(args, {});
      if (positionals.length > 1) throw new UsageError("k int [session]");
      const target = await kernel.resolve(positionals[0]);
      const result = await target.interrupt();
      console.log(
        result
          ? `OK ${target.name} (interrupted cell ${result.cell_id})`
          : `OK ${target.name} (no active cell; sent C-c)`,
      );
      return 0;
    },
  },
  kill: {
    json: false,
    run: async (kernel, args) => {
      const { positionals } = parse(args, {});
      if (positionals.length !== 1) throw new UsageError("k kill <session>");
      const target = kernel.session(positionals[0] as string);
      await target.kill();
      console.log(`OK ${target.name} (killed)`);
      return 0;
    },
  },
  notify: {
    json: false,
    run: async (kernel, args) => {
      const { flags, positionals } = parse(args, { "--from": true });
      const { session, text } = sessionAndText(positionals, "message");
      const target = await kernel.resolve(session);
      const event = await target.notify(text, flags.get("--from") ?? Deno.env.get("USER") ?? "k");
      console.log(`OK ${target.name} (event ${event.seq})`);
      return 0;
    },
  },
  ls: {
    json: "flag",
    run: async (kernel, args) => {
      const { flags, positionals } = parse(args, { "--json": false, "--prune": false });
      if (positionals.length > 0) throw new UsageError(`usage: ${HELP.ls?.usage}`);
      const pruned = flags.has("--prune") ? await kernel.prune() : [];
      const sessions: FleetEntry[] = await kernel.fleet();
      if (flags.has("--json")) {
        json([...pruned, ...sessions].sort((a, b) => a.session.localeCompare(b.session)));
        return 0;
      }
      if (flags.has("--prune")) {
        if (pruned.length === 0) console.log("nothing to prune");
        for (const s of pruned) {
          const last = s.last_event ? `; last event ${s.last_event}` : "";
          console.log(`pruned ${s.session} (stale: its tmux session was gone${last})`);
        }
      }
      printTable(sessions);
      return 0;
    },
  },
  status: {
    json: "flag",
    run: async (kernel, args) => {
      const { flags, positionals } = parse(args, { "--json": false });
      if (positionals.length > 1) throw new UsageError("k status [-j] [session]");
      const status = await (await kernel.resolve(positionals[0])).status();
      if (flags.has("--json")) json(status);
      else {
        for (const [key, value] of Object.entries(status)) console.log(`${key}: ${value ?? "-"}`);
      }
      return 0;
    },
  },
  attach: {
    json: false,
    run: async (kernel, args) => {
      const { flags, positionals } = parse(args, { "--read-only": false });
      if (positionals.length > 1) throw new UsageError(`usage: ${HELP.attach?.usage}`);
      const target = await kernel.resolve(positionals[0]);
      return await target.attach({ readOnly: flags.has("--read-only") });
    },
  },
  peek: {
    json: false,
    run: async (kernel, args) => {
      const { positionals } = parse(args, {});
      if (positionals.length > 1) throw new UsageError(`usage: ${HELP.peek?.usage}`);
      const target = await kernel.resolve(positionals[0]);
      return await target.attach({ readOnly: true });
    },
  },
  watch: {
    json: false,
    run: async (kernel, args) => {
      const { positionals } = parse(args, {});
      if (positionals.length > 1) throw new UsageError("k watch [session]");
      const target = await kernel.resolve(positionals[0]);
      await watchSession(target, (line) => console.log(line));
      return 0;
    },
  },
  history: {
    json: "flag",
    run: async (kernel, args) => {
      const { flags, positionals } = parse(args, { "--json": false, "--count": true });
      const n = positiveInt(flags.get("--count"), "-n") ?? 20;
      if (positionals.length > 1) throw new UsageError("k history [-n N] [session]");
      const entries = await (await kernel.resolve(positionals[0])).history(n);
      if (flags.has("--json")) {
        for (const entry of entries) {
          json(entry.code === undefined ? entry.event : { ...entry.event, code: entry.code });
        }
        return 0;
      }
      for (const { event, code } of entries) {
        const cell = "cell_id" in event && event.cell_id ? ` ${event.cell_id}` : "";
        const extra = event.status === "done"
          ? ` exit=${event.exit_code ?? "-"} ${event.duration_ms}ms`
          : event.status === "notify"
          ? ` ${event.from}: ${event.message}`
          : event.status === "error"
          ? ` ${event.message}`
          : event.status === "closed"
          ? ` (${event.reason})`
          : "";
        console.log(
          `${event.seq} ${event.ts} ${event.status}${cell}${extra}${code ? `  $ ${code}` : ""}`,
        );
      }
      return 0;
    },
  },
  version: {
    json: false,
    run: () => {
      console.log(`ktty ${VERSION}`);
      return Promise.resolve(0);
    },
  },
  help: {
    json: false,
    run: (_kernel, args) => {
      if (args.length > 1) throw new UsageError(`usage: ${HELP.help?.usage}`);
      if (args[0] === "--help" || args[0] === "-h") args = ["help"];
      if (args[0] === undefined) {
        console.log(overview());
        return Promise.resolve(0);
      }
      const text = verbHelp(args[0]);
      if (text === undefined) throw new UsageError(`unknown verb '${args[0]}'; see k help`);
      console.log(text);
      return Promise.resolve(0);
    },
  },
};
verbs.await = verbs.run as (typeof verbs)["run"];

/** A number of seconds as a short age: 42s, 7m, 3h, 2d. */
function age(seconds: number | null): string {
  if (seconds === null) return "-";
  if (seconds < 100) return `${seconds}s`;
  if (seconds < 100 * 60) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 48 * 3600) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** `k ls`: one row per session, columns aligned. */
function printTable(sessions: FleetEntry[]): void {
  if (sessions.length === 0) {
    console.log("no sessions");
    return;
  }
  const header = [
    "SESSION",
    "STATE",
    "CELL",
    "AGE",
    "IDLE",
    "LAST",
    "PROGRAM",
    "PID",
    "CLIENTS",
    "MODE",
    "WHERE",
  ];
  const rows = [
    header,
    ...sessions.map((s) =>
      s.state === "unmanaged"
        ? [s.session, s.state, "-", "-", age(s.idle_s), "-", s.pane_command, String(s.pane_pid)]
          .concat([String(s.clients), "-", `${s.user}@${s.host}`])
        : [
          s.session,
          s.state,
          s.cell_id ?? "-",
          age(s.cell_age_s),
          age(s.idle_s),
          s.last_event ? `${s.last_event} ${age(s.last_event_age_s)}` : "-",
          s.pane_command ?? "-",
          s.pane_pid === null ? "-" : String(s.pane_pid),
          String(s.clients),
          s.mode,
          `${s.user}@${s.host}`,
        ]
    ),
  ];
  const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  for (const row of rows) {
    console.log(row.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd());
  }
}

function printError(message: string, asJson: boolean): void {
  if (asJson) json({ status: "error", output: message });
  else console.error(`k: ${message}`);
}

/** Runs `k` with `argv`; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "-h" || first === "--help") {
    console.log(overview());
    return first === undefined ? 1 : 0;
  }
  const name = first === "--version" || first === "-V" ? "version" : first;
  const verb = Object.hasOwn(verbs, name) ? verbs[name] : undefined;
  if (!verb) {
    printError(`unknown verb '${first}'; see k --help`, false);
    return 1;
  }
  const asJson = verb.json === true ||
    (verb.json === "flag" && wantsJson(rest));
  // --help counts only among the leading flags: in `k run w df -h` it belongs to the code.
  const firstWord = rest.findIndex((a) => a === "--" || !a.startsWith("-"));
  const leading = firstWord < 0 ? rest : rest.slice(0, firstWord);
  if (name !== "help" && (leading.includes("--help") || leading.includes("-h"))) {
    console.log(verbHelp(name) ?? overview());
    return 0;
  }
  try {
    return await verb.run(new Kernel(), rest);
  } catch (e) {
    if (e instanceof KttyError) {
      printError(e.message, asJson);
      return e.exitCode;
    }
    // A file-system failure is the machine's, not ours: say what failed, without "internal".
    const fsError = Object.values(Deno.errors).some((kind) => e instanceof kind);
    const text = e instanceof Error ? e.message : String(e);
    printError(fsError ? text : `internal error: ${text}`, asJson);
    return 1;
  }
}

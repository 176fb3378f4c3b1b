/**
 * `k`: the ktty command. Parses arguments, calls the library, prints JSON or text, exits 0 when it
 * did what was asked (a timeout included) and 1 on an error result or bad input.
 * @module
 */

import {
  type CellOptions,
  type CellResult,
  Kernel,
  KttyError,
  type SessionStatus,
  UsageError,
  VERSION,
} from "./mod.ts";
import { looksLikeCellId, sessionPaths } from "./src/state.ts";
import { watchSession } from "./src/view.ts";

const USAGE = `k — persistent terminal sessions for agents (ktty ${VERSION})

  k new <session> [cmd…] [--prompt=STR|./hook|repeat]   start a program (default bash)
  k run [-j] [-t N] [-o N] [session] <code>  (alias: await)  run a cell, wait (default 30 s)
  k fire [-t N] [-o N] [session] <code>                  run a cell in the background (300 s)
  k poll [-o N] [session] [cell_id]                      state of a cell, JSON
  k send [session] <text> [--no-enter] [--keys K…]       type into the running cell
  k int [session]                                        Ctrl-C; ends the active cell
  k kill <session>                                       end the session and its state
  k notify [session] <message> [--from NAME]             append a notify event
  k ls [-j]                                              list sessions
  k status [-j] [session]                                one session's state
  k watch [session]                                      live view of the session
  k history [-n N] [-j] [session]                        recent events and cells
  k --version | -V | version

Session: the argument, else $K_SESSION, else the only live one.
-o N: output budget in characters (default $K_MAX_OUTPUT, else 50000); past it the head and
tail are kept, "truncated":true, and "output_file" holds the whole output.
Environment: K_HOME (state dir), K_SOCKET (tmux socket, default ktty), K_MAX_OUTPUT.`;

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
};

/**
 * Known flags are recognised anywhere before `--`; an unknown `-x` is an error before the first
 * positional and plain text after it (so `k run w -x` sends `-x`).
 */
function parse(args: string[], spec: FlagSpec): Parsed {
  const flags = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
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
      const { flags, positionals } = parse(args, CELL_FLAGS);
      const options = cellOptions(flags);
      const { session, text } = sessionAndText(positionals, "code");
      const target = await kernel.resolve(session);
      const result = await target.run(text, options);
      if (flags.has("--json")) {
        json(result);
        return isFailure(result) ? 1 : 0;
      }
      if (result.status === "error") {
        console.error(`k: ${result.output}`);
        return 1;
      }
      if (result.output !== "") console.log(result.output);
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
      const { flags, positionals } = parse(args, CELL_FLAGS);
      const options = cellOptions(flags);
      const { session, text } = sessionAndText(positionals, "code");
      const target = await kernel.resolve(session);
      const result = await target.fire(text, options);
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
      const { flags, positionals } = parse(args, { "--no-enter": false, "--keys": true });
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
      const { flags, positionals } = parse(args, { "--json": false });
      if (positionals.length > 0) throw new UsageError("k ls [-j]");
      const sessions = await kernel.list();
      if (flags.has("--json")) json(sessions);
      else printTable(sessions);
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
    run: () => {
      console.log(USAGE);
      return Promise.resolve(0);
    },
  },
};
verbs.await = verbs.run as (typeof verbs)["run"];

function printTable(sessions: SessionStatus[]): void {
  if (sessions.length === 0) {
    console.log("no sessions");
    return;
  }
  const rows = [
    ["SESSION", "STATE", "MODE", "CELL", "IDLE", "COMMAND"],
    ...sessions.map((s) => [
      s.session,
      s.state,
      s.mode,
      s.cell_id ?? "-",
      `${s.idle_s}s`,
      s.pane_command ?? s.command,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
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
    console.log(USAGE);
    return first === undefined ? 1 : 0;
  }
  const name = first === "--version" || first === "-V" ? "version" : first;
  const verb = Object.hasOwn(verbs, name) ? verbs[name] : undefined;
  if (!verb) {
    printError(`unknown verb '${first}'; see k --help`, false);
    return 1;
  }
  const asJson = verb.json === true ||
    (verb.json === "flag" && rest.some((a) => a === "-j" || a === "--json"));
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  try {
    return await verb.run(new Kernel(), rest);
  } catch (e) {
    if (e instanceof KttyError) {
      printError(e.message, asJson);
      return e.exitCode;
    }
    printError(`internal error: ${e instanceof Error ? e.message : String(e)}`, asJson);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

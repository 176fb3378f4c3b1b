/**
 * `k --host <target> <verb> …`: the verb runs on the remote host, by the ktty installed there
 * (`k host setup`), and prints what it prints there: the same JSON, the same text, the same
 * exit status. Loaded only when a host is given, so a local `k` pays nothing for it.
 *
 * - `run`/`fire` get a cell id chosen here (`--id`), so a connection lost mid-cell can name the
 *   cell, which runs on there under its remote lock (`k --host … poll` answers later). Nothing
 *   is ever sent twice.
 * - `-` (code from standard input) is read here and sent with the arguments.
 * - `ls` takes several hosts and merges their tables; each record gets `target`, the host as
 *   given, beside the remote's own `host` and `user`.
 * - `attach` gives the remote session this terminal (`ssh -t`).
 * @module
 */

import { KttyError, UsageError } from "../errors.ts";
import type { FleetEntry } from "../session/status.ts";
import { configFromEnv, newCellId } from "../state.ts";
import { artifactId, callRemote, callRemoteText, remoteCommand, writeStdout } from "./call.ts";
import { hostsFrom, spawnSsh } from "./ssh.ts";

/**
 * Prints what went wrong as `k` prints errors (src/cli/output.ts, which this module does not
 * import: it is loaded from the sources, and that module's graph is the whole library) and
 * returns the exit status.
 */
function report(e: unknown, asJson: boolean): number {
  const known = e instanceof KttyError ? e : undefined;
  const message = known?.message ?? `internal error: ${e instanceof Error ? e.message : e}`;
  if (!asJson) console.error(`k: ${message}`);
  else {
    const fields = known?.fields ?? {};
    console.log(
      JSON.stringify({ status: "error", output: message, error_code: known?.code, ...fields }),
    );
  }
  return asJson || !known ? 1 : known.exitCode;
}

/** Verbs that run on this machine only. */
const LOCAL_ONLY = ["host", "mcp", "help"];

/** The verbs that start a cell, and so get a cell id chosen here. */
const STARTS_CELL = ["run", "await", "fire"];

/** What `k`'s main read of a verb for a remote run. */
export interface RemoteVerb {
  /** The verb's name. */
  verb: string;
  /** The words after it, as given. */
  rest: readonly string[];
  /** Its positional arguments, as parsed here (the session of run/fire is the first of two). */
  positionals: readonly string[];
  /** Whether errors are printed as JSON. */
  asJson: boolean;
}

/**
 * Runs a verb on the hosts given (`--host`, several only for `ls`), else those of `K_HOST`;
 * resolves to the exit status.
 */
export async function remoteMain(
  given: readonly string[],
  { verb, rest, positionals, asJson }: RemoteVerb,
): Promise<number> {
  try {
    const hosts = hostsFrom(given);
    if (hosts.length === 0) throw new UsageError("K_HOST names no host");
    if (LOCAL_ONLY.includes(verb)) {
      throw new UsageError(`k ${verb} runs on this machine; drop --host`);
    }
    if (verb === "ls") return await fleet(hosts, rest);
    if (hosts.length > 1) {
      throw new UsageError(`one host for k ${verb} (several are for k ls and km)`);
    }
    const target = hosts[0] as string;
    if (verb === "attach") return await attach(target, rest);
    return await one(target, verb, rest, positionals);
  } catch (e) {
    return report(e, asJson);
  }
}

/** One verb on one host, its output streamed as it comes. */
async function one(
  target: string,
  verb: string,
  rest: readonly string[],
  positionals: readonly string[],
): Promise<number> {
  const session = positionals.length > 1 ? positionals[0] : undefined;
  let argv = [verb, ...rest];
  let cellId: string | undefined;
  if (STARTS_CELL.includes(verb)) {
    const given = rest.findIndex((w) => w === "--id" || w.startsWith("--id="));
    if (given < 0) {
      cellId = newCellId();
      argv = [verb, "--id", cellId, ...rest];
    } else {
      cellId = rest[given]?.startsWith("--id=") ? rest[given]?.slice(5) : rest[given + 1];
    }
  }
  // Code from standard input (`-`): read here, sent with the arguments.
  const readsCode = STARTS_CELL.includes(verb) && positionals.at(-1) === "-";
  const stdin = readsCode ? await new Response(Deno.stdin.readable).text() : undefined;
  const outcome = await callRemote(configFromEnv(), target, { command: "k", argv, stdin }, {
    stdout: writeStdout,
    stderr: (line) => console.error(line),
  }, { cellId, session });
  return outcome.code;
}

/** `k ls` over several hosts: one table, or one JSON array, with each record's target. */
async function fleet(hosts: readonly string[], rest: readonly string[]): Promise<number> {
  const json = rest.includes("-j") || rest.includes("--json");
  const argv = ["ls", "-j", ...rest.filter((w) => w !== "-j" && w !== "--json")];
  const config = configFromEnv();
  let failed = false;
  const tables = await Promise.all(hosts.map(async (target) => {
    try {
      const printed = await callRemoteText(config, target, { command: "k", argv });
      for (const line of printed.stderr) console.error(`${target}: ${line}`);
      const parsed = JSON.parse(printed.stdout) as FleetEntry[] | { output?: string };
      if (printed.code !== 0 || !Array.isArray(parsed)) {
        const said = (parsed as { output?: string }).output ?? printed.stdout;
        throw new KttyError("io", `${target}: ${said}`);
      }
      return parsed.map((entry) => ({ target, ...entry }));
    } catch (e) {
      failed = true;
      report(e, false);
      return [];
    }
  }));
  const all = tables.flat().sort((a, b) =>
    a.target.localeCompare(b.target) || a.session.localeCompare(b.session)
  );
  if (json) console.log(JSON.stringify(all));
  else printFleet(all);
  return failed ? 1 : 0;
}

/** The merged table: the target first, then what `k ls` shows. */
function printFleet(entries: (FleetEntry & { target: string })[]): void {
  if (entries.length === 0) {
    console.log("no sessions");
    return;
  }
  const header = ["TARGET", "SESSION", "STATE", "CELL", "PROGRAM", "WHERE"];
  const rows = [
    header,
    ...entries.map((s) => [
      s.target,
      s.session,
      s.state,
      "cell_id" in s && s.cell_id ? s.cell_id : "-",
      s.pane_command ?? "-",
      `${s.user}@${s.host}`,
    ]),
  ];
  const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd());
}

/** `k attach` on a remote session: ssh gives it this terminal. */
async function attach(target: string, rest: readonly string[]): Promise<number> {
  if (!Deno.stdin.isTerminal()) {
    throw new UsageError("k attach needs a terminal (run it in one)");
  }
  const id = artifactId();
  const command = remoteCommand(id, ["k", "attach", ...rest]);
  const ssh = await spawnSsh(configFromEnv(), target, command, { tty: true });
  return (await ssh.status).code;
}

// The verb definitions are the help (cliffy's way): `k help` and one verb's help, snapshot-tested,
// the rules every definition keeps, and the argument parser on its own. No tmux needed.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { VERSION } from "../mod.ts";
import { parseArguments, wantsJson } from "../src/cli/args.ts";
import { overview, verbHelp } from "../src/cli/help_text.ts";
import { main } from "../src/cli/main.ts";
import { CELL_FLAGS } from "../src/cli/run.ts";
import { VERBS } from "../src/cli/verbs.ts";

const OVERVIEW = `k — persistent terminal sessions for agents (ktty ${VERSION})

  k new [-j] [--env K=V]… [--no-agent-defaults] [--program=NAME] [--prompt-re=RE] [--cwd=DIR] <session> [cmd…] [--prompt=STR|./hook|repeat]
                                                  start a program (default bash) in a session
  k run [-j] [-t N] [-o N] [session] <code>       run a cell, wait (default 30 s); alias: await
  k fire [-t N] [-o N] [session] <code>           run a cell in the background (default 300 s); code '-' is read from stdin
  k poll [-o N] [session] [cell_id]               a cell's state as JSON, with its output so far
  k send [-j] [--no-enter] [--keys K…] [session] <text>
                                                  type into the program the active cell runs
  k screen [-j] [session]                         what the terminal shows now (-j: cursor, foreground)
  k int [-j] [session]                            Ctrl-C; end the active cell, free the session
  k kill [-j] [--keep] <session>                  end the session, its process tree, views and state
  k notify [-j] [session] <message> [--from NAME]
                                                  append a notify event to the event log
  k ls [-j] [--prune] [--host <target>]…          every session on the socket (-j: a JSON array)
  k status [-j] [session]                         one session's state and the next useful command
  k watch [session]                               follow output and events as clean text
  k peek [session]                                watch the live terminal; typing is ignored
  k attach [--read-only] [session]                take over the live terminal: you type into it
  k history [-n N] [-j] [session]                 the last N (20) events, with their cells' code
  k host setup [-j] <target>                      install this ktty on a host for k --host (checks Deno, tmux)
  k mcp [--max-wait N]                            serve the verbs to an agent as MCP tools (stdio)
  k version | --version | -V                      print the version
  k help [verb]                                   this overview, or a verb's usage and example

Session: the argument, else \$K_SESSION, else the only live one.
-o N: output budget in characters (default \$K_MAX_OUTPUT, else 50000); past it the head and
tail are kept, "truncated":true, and "output_file" holds the whole output.
Environment: K_HOME (state dir), K_SOCKET (tmux socket, default ktty), K_MAX_OUTPUT.
k --host <target> <verb> … (or K_HOST): the verb on that host over SSH (k host setup first).
k help <verb> (or k <verb> --help): one verb's usage with an example.`;

const RUN_HELP = `usage: k run [-j] [-t N] [-o N] [session] <code>
alias: await

run a cell, wait (default 30 s); alias: await.
Text mode prints the output and exits with the cell's exit code where it is known
(0 where the frame mode cannot know it), 124 on a timeout, 1 on an error;
-j prints the JSON result and exits 0 whenever k did what was asked.
-t N: time limit in seconds; a timeout ends the wait, not the cell: it goes on in the
background, keeping the session (k poll shows it, km <session> <cell_id> -1 waits for
its end, k int stops it). Stopped by a signal, k run hands its cell over the same way,
names it, and exits 128 + the signal's number. -o N: output budget.
Code '-' is read from standard input (for code too long for an argument).

example:
  k run work 'cd /tmp && ls'
  k run -j -t 120 work 'pytest -x'
  k run py - < script.py`;

/** What `main(argv)` prints on stdout, and its exit status (no kernel call: help only). */
async function captured(argv: string[]): Promise<[number, string]> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    const code = await main(argv);
    return [code, lines.join("\n")];
  } finally {
    console.log = log;
  }
}

Deno.test("k help: the overview, rendered from the verb definitions", async () => {
  equal(overview(VERBS), OVERVIEW);
  deepEqual(await captured(["help"]), [0, OVERVIEW]);
  deepEqual(await captured(["--help"]), [0, OVERVIEW]);
  deepEqual(await captured([]), [1, OVERVIEW]);
});

Deno.test("k help run: usage, alias, details, examples; the same for --help and await", async () => {
  const run = VERBS.find((v) => v.name === "run");
  ok(run);
  equal(verbHelp(run), RUN_HELP);
  for (const argv of [["help", "run"], ["help", "await"], ["run", "--help"], ["await", "-h"]]) {
    deepEqual(await captured(argv), [0, RUN_HELP], argv.join(" "));
  }
});

Deno.test("every verb: a unique name, its usage, an example, its flags in its usage", () => {
  const names = VERBS.flatMap((v) => [v.name, ...(v.aliases ?? [])]);
  deepEqual(names, [...new Set(names)]);
  for (const verb of VERBS) {
    ok(verb.usage.startsWith(`k ${verb.name}`), verb.usage);
    ok(verb.summary !== "" && !verb.summary.endsWith("."), verb.name);
    ok(verb.examples.length > 0, verb.name);
    for (const example of verb.examples) ok(example.startsWith("k "), example);
    const shorts = verb.flags.flatMap((f) => f.short ? [f.short] : []);
    deepEqual(shorts, [...new Set(shorts)], verb.name);
    for (const flag of verb.flags) {
      if (flag.hidden) continue;
      const shown = [`--${flag.name}`, ...(flag.short ? [`-${flag.short}`] : [])];
      ok(shown.some((s) => verb.usage.includes(s)), `${verb.name}: ${shown[0]} not in its usage`);
    }
  }
});

Deno.test("parseArguments: flags anywhere before --, -t5, code after the session", () => {
  const run = (args: string[]) => parseArguments(args, CELL_FLAGS, "code");
  const a = run(["-j", "w", "-t5", "ls", "-t", "/tmp"]);
  deepEqual([a.flags.has("json"), a.flags.integer("timeout"), a.positionals], [
    true,
    5,
    ["w", "ls", "-t", "/tmp"],
  ]);
  deepEqual(run(["py", "-1 + 3"]).positionals, ["py", "-1 + 3"]);
  deepEqual(run(["--", "-j"]).positionals, ["-j"]);
  equal(run(["--max-output=7", "w", "x"]).flags.integer("max-output"), 7);
  throws(() => run(["--bogus", "w", "x"]), /^UsageError: unknown flag '--bogus'$/);
  throws(() => run(["-t", "0", "w", "x"]), /^UsageError: -t must be a positive integer$/);
  throws(() => run(["-t"]), /^UsageError: --timeout needs a value$/);
  throws(() => run(["-j=1", "w", "x"]), /^UsageError: --json takes no value$/);
  ok(wantsJson(["-t", "5", "-j", "w"], CELL_FLAGS));
  ok(!wantsJson(["w", "x", "-j"], CELL_FLAGS));
});

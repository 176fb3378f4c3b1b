/**
 * `k run` (alias `await`): run a cell and wait for its result. Killed mid-cell, it hands the
 * cell to a background watcher, so the result is still recorded for `k poll` and `km`.
 * @module
 */

import type { CellOptions } from "../../mod.ts";
import { mark } from "../trace.ts";
import { codeFrom, type ParsedFlags, sessionAndText } from "./args.ts";
import { EXIT_FAILURE, EXIT_OK, exitStatusOf, printJson, printText } from "./output.ts";
import type { Flag, Verb } from "./verb.ts";

/** The flags of the verbs that start a cell (run, fire). */
export const CELL_FLAGS: readonly Flag[] = [
  { name: "json", short: "j", type: "boolean", description: "print the JSON result" },
  { name: "timeout", short: "t", type: "integer", description: "time limit in seconds" },
  {
    name: "max-output",
    short: "o",
    type: "integer",
    description: "output budget in characters (default $K_MAX_OUTPUT, else 50000)",
  },
];

/** `-t N` (seconds) and `-o N` (characters) as library options. */
export function cellOptions(flags: ParsedFlags): CellOptions {
  const timeoutS = flags.integer("timeout");
  const maxOutput = flags.integer("max-output");
  const options: CellOptions = {};
  if (timeoutS) options.timeoutMs = timeoutS * 1000;
  if (maxOutput) options.maxOutput = maxOutput;
  return options;
}

/** The exit statuses of a `k run` stopped by a signal: 128 + the signal's number. */
const STOP_SIGNALS: readonly [Deno.Signal, number][] = [
  ["SIGINT", 130],
  ["SIGTERM", 143],
  ["SIGHUP", 129],
];

/** `k run [-j] [-t N] [-o N] [session] <code>` */
export const run: Verb = {
  name: "run",
  aliases: ["await"],
  usage: "k run [-j] [-t N] [-o N] [session] <code>",
  summary: "run a cell, wait (default 30 s); alias: await",
  details: [
    "Text mode prints the output; -j prints the JSON result. -t N: time limit in seconds;",
    "a timeout ends the wait, not the cell: it goes on in the background, keeping the session",
    "(k poll shows it, km <session> <cell_id> -1 waits for its end, k int stops it).",
    "-o N: output budget.",
    "Code '-' is read from standard input (for code too long for an argument).",
  ],
  examples: [
    "k run work 'cd /tmp && ls'",
    "k run -j -t 120 work 'pytest -x'",
    "k run py - < script.py",
  ],
  flags: CELL_FLAGS,
  args: "code",
  json: "flag",
  async run({ kernel, flags, positionals }) {
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
    for (const [signal, status] of STOP_SIGNALS) {
      Deno.addSignalListener(signal, () => {
        if (stopStatus !== undefined) return;
        stopStatus = status;
        if (started) stop();
      });
    }
    mark("args parsed");
    const result = await target.run(code, {
      ...options,
      onStarted: () => {
        started = true;
        if (stopStatus !== undefined) stop();
      },
    });
    if (stopStatus !== undefined) return stopStatus; // refused before typing: nothing to keep
    if (flags.has("json")) {
      printJson(result);
      mark("printed");
      return exitStatusOf(result);
    }
    if (result.status === "error") {
      console.error(`k: ${result.output}`);
      return EXIT_FAILURE;
    }
    if (result.output !== "") printText(result.output);
    mark("printed");
    if (result.status === "timeout") {
      const name = target.name;
      console.error(
        `k: cell ${result.cell_id} timed out and goes on in the background: k poll ${name}, km ${name} ${result.cell_id} -1, k int ${name}`,
      );
    }
    return EXIT_OK;
  },
};

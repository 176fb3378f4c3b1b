/**
 * `k run` (alias `await`): run a cell and wait for its result; in text mode, exit with the cell's
 * exit code. Killed mid-cell, it hands the cell to a background watcher, so the result is still
 * recorded for `k poll` and `km`, and names the cell.
 * @module
 */

import type { CellOptions, CellResult, Session } from "../../mod.ts";
import { mark } from "../trace.ts";
import { codeFrom, type ParsedFlags, sessionAndText } from "./args.ts";
import { cellExitStatus, exitStatusOf, printJson, printText } from "./output.ts";
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
  {
    name: "id",
    type: "string",
    hidden: true, // k --host gives it (README: Remote hosts over SSH)
    description: "the cell's id (12 lowercase hex), chosen by the caller; default a fresh one",
  },
];

/** `-t N` (seconds) and `-o N` (characters) as library options. */
export function cellOptions(flags: ParsedFlags): CellOptions {
  const timeoutS = flags.integer("timeout");
  const maxOutput = flags.integer("max-output");
  const cellId = flags.string("id");
  const options: CellOptions = {};
  if (cellId !== undefined) options.cellId = cellId;
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
    "Text mode prints the output and exits with the cell's exit code where it is known",
    "(0 where the frame mode cannot know it), 124 on a timeout, 1 on an error;",
    "-j prints the JSON result and exits 0 whenever k did what was asked.",
    "-t N: time limit in seconds; a timeout ends the wait, not the cell: it goes on in the",
    "background, keeping the session (k poll shows it, km <session> <cell_id> -1 waits for",
    "its end, k int stops it). Stopped by a signal, k run hands its cell over the same way,",
    "names it, and exits 128 + the signal's number. -o N: output budget.",
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
    const asJson = flags.has("json");
    const { session, text } = sessionAndText(positionals, "code");
    const target = await kernel.resolve(session);
    const code = await codeFrom(text);
    // Killed mid-cell (a harness timeout, Ctrl-C): the cell goes on under a background watcher
    // and its result is recorded for k poll and km, instead of a lock held by a dead process.
    // A signal before the code is typed waits for the typing, so no lock is left untyped.
    let cellId: string | undefined;
    let signalled: StopSignal | undefined;
    let stopping: Promise<number> | undefined;
    let answered = false;
    const stop = (id: string, how: StopSignal) => {
      stopping ??= handOver(target, id, how, asJson);
      stopping.then((status) => Deno.exit(status));
    };
    for (const [signal, status] of STOP_SIGNALS) {
      Deno.addSignalListener(signal, () => {
        if (signalled !== undefined || answered) return;
        signalled = { signal, status };
        if (cellId !== undefined) stop(cellId, signalled);
      });
    }
    mark("args parsed");
    const result = await target.run(code, {
      ...options,
      onStarted: (id) => {
        cellId = id;
        if (signalled !== undefined) stop(id, signalled);
      },
    });
    if (stopping !== undefined) return await stopping;
    answered = true;
    if (asJson) {
      printJson(result);
      mark("printed");
      return signalled?.status ?? exitStatusOf(result);
    }
    if (result.status === "error") console.error(`k: ${result.output}`);
    else if (result.output !== "") printText(result.output);
    mark("printed");
    if (result.status === "timeout") {
      const name = target.name;
      const id = result.cell_id;
      console.error(
        `k: cell ${id} timed out and goes on in the background: k poll ${name} ${id}, km ${name} ${id} -1, k int ${name}`,
      );
    }
    return signalled?.status ?? cellExitStatus(result);
  },
};

/** A signal that stops `k run`, and the exit status it gives. */
interface StopSignal {
  signal: Deno.Signal;
  status: number;
}

/**
 * Hands the cell this `k run` watches to a background watcher and says so, naming the cell to
 * poll: as JSON, the cell as a fired one (`{"cell_id","status":"fired"}`), or its state if it had
 * ended meanwhile; in text, one line on stderr. Resolves to the exit status: 128 + the signal.
 */
async function handOver(
  target: Session,
  cellId: string,
  { signal, status }: StopSignal,
  asJson: boolean,
): Promise<number> {
  const poll = `k poll ${target.name} ${cellId}`;
  let answer: CellResult;
  let line: string;
  try {
    if ((await target.handOff()) === cellId) {
      answer = { cell_id: cellId, status: "fired" };
      line = `stopped by ${signal}; cell ${cellId} handed over and goes on: ${poll}`;
    } else {
      answer = await target.poll(cellId);
      line = `stopped by ${signal}; cell ${cellId} had ended: ${poll}`;
    }
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    line =
      `stopped by ${signal}; cell ${cellId} was not handed over (${why}): ${poll}, k int ${target.name}`;
    answer = { cell_id: cellId, status: "error", output: line };
  }
  if (asJson) printJson(answer);
  else console.error(`k: ${line}`);
  return status;
}

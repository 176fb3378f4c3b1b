/**
 * How `k` answers: JSON or text on stdout, one-line errors, and exit statuses. Every error a verb
 * throws becomes output here, in one place, in the library's words translated to `k`'s flags.
 * @module
 */

import { type BusyResult, type FinalResult, KttyError, ownKttyError } from "../../mod.ts";

/**
 * Exit status when `k` did what was asked (with JSON output, a cell's `timeout` result and a
 * failed command included: the JSON says how the cell ended).
 */
export const EXIT_OK = 0;
/** Exit status on an error result or bad input. */
export const EXIT_FAILURE = 1;
/** Exit status of `k run` in text mode when its cell ran past its time limit (as `timeout(1)`). */
export const EXIT_TIMEOUT = 124;

/** Prints `value` as one line of JSON on stdout. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value));
}

/** Prints `text` on stdout. */
export function printText(text: string): void {
  console.log(text);
}

/**
 * Prints an error: `{"status":"error","output":…,"error_code":…}` on stdout for JSON (the code
 * where the error has a stable one, and any fields it carries, such as a `cell_id`), else
 * `k: …` on stderr.
 */
export function printError(
  message: string,
  asJson: boolean,
  code?: string,
  fields: Record<string, unknown> = {},
): void {
  if (asJson) printJson({ status: "error", output: message, error_code: code, ...fields });
  else console.error(`k: ${message}`);
}

/** The exit status for a result the library returned: 1 for an `error` result, else 0. */
export function exitStatusOf(result: { status: string }): number {
  return result.status === "error" ? EXIT_FAILURE : EXIT_OK;
}

/**
 * The exit status of a cell's result in text mode, as `ssh host cmd` gives its command's: a
 * `done` cell's exit code where the frame mode knows it (0 where it cannot: repeat, exact and
 * hook modes), 124 for a `timeout`, 1 for an `error`.
 */
export function cellExitStatus(result: FinalResult | BusyResult): number {
  if (result.status === "timeout") return EXIT_TIMEOUT;
  if (result.status === "error") return EXIT_FAILURE;
  const code = result.exit_code ?? EXIT_OK;
  // A shell's $? is 0..255; anything else cannot be an exit status and must not read as success.
  return Number.isInteger(code) && code >= 0 && code <= 255 ? code : EXIT_FAILURE;
}

/**
 * Library option names that `k` spells as flags, for messages about bad arguments: the library
 * speaks of `timeoutMs`, `k` of `-t`.
 */
const FLAG_FOR_OPTION: readonly [option: string, flag: string][] = [
  ["timeoutMs", "-t"],
  ["maxOutput", "-o"],
  ["prompt", "--prompt"],
];

/** A library message about a bad argument, in `k`'s terms (`timeoutMs must be …` → `-t must be …`). */
export function inCliTerms(e: KttyError): string {
  if (e.code !== "invalid_argument") return e.message;
  for (const [option, flag] of FLAG_FOR_OPTION) {
    if (e.message.startsWith(`${option} `)) return `${flag}${e.message.slice(option.length)}`;
  }
  return e.message;
}

/**
 * Prints what a verb threw and returns the exit status: a `KttyError` as its message (and its
 * exit code); a file-system failure as what failed (the machine's, not ours); anything else as
 * an internal error.
 */
export function reportError(thrown: unknown, asJson: boolean): number {
  const e = ownKttyError(thrown); // also one from a module loaded beside the bundle
  if (e instanceof KttyError) {
    printError(inCliTerms(e), asJson, e.code, e.fields);
    // JSON: 1 on any error (the JSON says which); text: the error's own status (255 for ssh's).
    return asJson ? EXIT_FAILURE : e.exitCode;
  }
  const fsError = Object.values(Deno.errors).some((kind) => e instanceof kind);
  const text = e instanceof Error ? e.message : String(e);
  printError(fsError ? text : `internal error: ${text}`, asJson);
  return EXIT_FAILURE;
}

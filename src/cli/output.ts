/**
 * How `k` answers: JSON or text on stdout, one-line errors, and exit statuses. Every error a verb
 * throws becomes output here, in one place, in the library's words translated to `k`'s flags.
 * @module
 */

import { KttyError } from "../../mod.ts";

/** Exit status when `k` did what was asked (a cell's `timeout` result included). */
export const EXIT_OK = 0;
/** Exit status on an error result or bad input. */
export const EXIT_FAILURE = 1;

/** Prints `value` as one line of JSON on stdout. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value));
}

/** Prints `text` on stdout. */
export function printText(text: string): void {
  console.log(text);
}

/** Prints an error: `{"status":"error","output":…}` on stdout for JSON, else `k: …` on stderr. */
export function printError(message: string, asJson: boolean): void {
  if (asJson) printJson({ status: "error", output: message });
  else console.error(`k: ${message}`);
}

/** The exit status for a result the library returned: 1 for an `error` result, else 0. */
export function exitStatusOf(result: { status: string }): number {
  return result.status === "error" ? EXIT_FAILURE : EXIT_OK;
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
export function reportError(e: unknown, asJson: boolean): number {
  if (e instanceof KttyError) {
    printError(inCliTerms(e), asJson);
    return e.exitCode;
  }
  const fsError = Object.values(Deno.errors).some((kind) => e instanceof kind);
  const text = e instanceof Error ? e.message : String(e);
  printError(fsError ? text : `internal error: ${text}`, asJson);
  return EXIT_FAILURE;
}

/**
 * The integration markers, written once: how a program's integration script prints them, how the
 * watcher parses them, and the scanners that find them in the pane log's tail (the prompt check).
 * `ESC ] 133;C;k=<nonce> BEL` marks where a cell's output starts; `ESC ] 133;D;<status>;k=<nonce>
 * [;err=<type>] BEL` where it ends, before the prompt. Only a marker with the session's nonce counts.
 * @module
 */

import { randomHex } from "./state.ts";

/** The OSC number of the markers (the semantic-prompt number terminals know). */
const OSC_NUMBER = "133";
/** The OSC kind of the start marker. */
const START_KIND = "C";
/** The OSC kind of the end marker. */
const END_KIND = "D";
/** The field carrying the session's nonce. */
const NONCE_FIELD = "k=";
/** The optional field of an end marker naming the exception a REPL reported. */
const ERROR_FIELD = "err=";

/** A fresh per-session nonce: 16 hex characters. */
export function newNonce(): string {
  return randomHex(8);
}

/** The payload (between `ESC ]` and `BEL`) of the start marker. */
export function startPayload(nonce: string): string {
  return `${OSC_NUMBER};${START_KIND};${NONCE_FIELD}${nonce}`;
}

/**
 * The payload of an end marker. Integration scripts pass their own language's placeholders for
 * the parts known only at run time (`status: "%s"` for printf, `"$?"` in a prompt string, or a
 * string concatenation), so every script prints the one format {@link parseMarker} reads.
 *
 * @param status the exit status, or the placeholder that prints it
 * @param nonce the nonce, or the placeholder that prints it
 * @param error the exception type, or a placeholder; omitted: no error field
 */
export function endPayload(status: string, nonce: string, error?: string): string {
  const err = error === undefined ? "" : `;${ERROR_FIELD}${error}`;
  return `${OSC_NUMBER};${END_KIND};${status};${NONCE_FIELD}${nonce}${err}`;
}

/** The start marker as the terminal receives it. */
export function startMarker(nonce: string): string {
  return `\x1b]${startPayload(nonce)}\x07`;
}

/** A parsed marker. */
export type Marker =
  | { kind: "start" }
  | { kind: "end"; exitCode: number; error?: string };

/** Parses an OSC payload; undefined unless it is a marker carrying `nonce`. */
export function parseMarker(payload: string, nonce: string): Marker | undefined {
  if (!payload.startsWith(`${OSC_NUMBER};`)) return undefined;
  const parts = payload.split(";");
  if (!parts.includes(`${NONCE_FIELD}${nonce}`)) return undefined;
  if (parts[1] === START_KIND) return { kind: "start" };
  if (parts[1] === END_KIND) {
    const exitCode = Number(parts[2]);
    if (!Number.isInteger(exitCode)) return undefined;
    const err = parts.find((p) => p.startsWith(ERROR_FIELD))?.slice(ERROR_FIELD.length);
    return err ? { kind: "end", exitCode, error: err } : { kind: "end", exitCode };
  }
  return undefined;
}

const END_MARKER_PREFIX = `\x1b]${OSC_NUMBER};${END_KIND};`;

/**
 * Where the last end marker with `nonce` starts in `tail` (raw log text), or -1. Scans without a
 * regular expression: the prompt check runs before every cell.
 */
export function lastEndMarker(tail: string, nonce: string): number {
  const suffix = `;${NONCE_FIELD}${nonce}`;
  let i = tail.lastIndexOf(END_MARKER_PREFIX);
  while (i >= 0) {
    let j = i + END_MARKER_PREFIX.length;
    if (tail[j] === "-") j++;
    const digits = j;
    while (j < tail.length && tail.charCodeAt(j) >= 48 && tail.charCodeAt(j) <= 57) j++;
    if (j > digits && tail.startsWith(suffix, j)) return i;
    i = i === 0 ? -1 : tail.lastIndexOf(END_MARKER_PREFIX, i - 1);
  }
  return -1;
}

/** Where the last start marker with `nonce` starts in `tail`, or -1. */
export function lastStartMarker(tail: string, nonce: string): number {
  return tail.lastIndexOf(startMarker(nonce));
}

/** Whether the last marker with `nonce` in `tail` is a start marker. */
export function lastMarkerIsStart(tail: string, nonce: string): boolean {
  return lastStartMarker(tail, nonce) > lastEndMarker(tail, nonce);
}

/** Whether something was printed after the last end marker (its BEL): a prompt, say. */
export function printedAfterLastEnd(tail: string, nonce: string): boolean {
  const end = lastEndMarker(tail, nonce);
  if (end < 0) return false;
  const bell = tail.indexOf("\x07", end);
  return bell >= 0 && tail.slice(bell + 1).trim() !== "";
}

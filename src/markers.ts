/**
 * The integration markers, written once: how a program's integration script prints them, how the
 * watcher parses them, and the scanners that find them in the pane log's tail (the prompt check).
 * `ESC ] 133;C;k=<nonce> BEL` marks where a cell's output starts; `CAN ESC \ ESC ] 133;D;<status>;
 * k=<nonce>[;err=<type>] BEL` where it ends, before the prompt; `CAN ESC \ ESC ] 133;A;k=<nonce>
 * BEL` a shell's continuation prompt (it reads more of a command). Only a marker with the
 * session's nonce counts.
 * @module
 */

import { randomHex } from "./state.ts";

/** The OSC number of the markers (the semantic-prompt number terminals know). */
const OSC_NUMBER = "133";
/** The OSC kind of the start marker. */
const START_KIND = "C";
/** The OSC kind of the end marker. */
const END_KIND = "D";
/**
 * The OSC kind of the continuation marker, which a shell prints in its continuation prompt (PS2):
 * it reads more of a command than the cell's code held (an unclosed quote, bracket or block).
 */
const MORE_KIND = "A";
/** The field carrying the session's nonce. */
const NONCE_FIELD = "k=";
/** The optional field of an end marker naming the exception a REPL reported. */
const ERROR_FIELD = "err=";
/**
 * The optional last field of an end marker naming the program nested in the session's own that
 * now reads its cells (a debugger a cell reached: `in=pdb`).
 */
const NESTED_FIELD = "in=";

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
 * @param nested the nested program now reading cells, or a placeholder; omitted: none
 */
export function endPayload(
  status: string,
  nonce: string,
  error?: string,
  nested?: string,
): string {
  const err = error === undefined ? "" : `;${ERROR_FIELD}${error}`;
  const held = nested === undefined ? "" : `;${NESTED_FIELD}${nested}`;
  return `${OSC_NUMBER};${END_KIND};${status};${NONCE_FIELD}${nonce}${err}${held}`;
}

/**
 * What an end marker begins with: CAN ends whatever sequence the cell's output left unfinished (in
 * tmux's parser and in ktty's, so an unfinished look-alike of a marker cannot be completed), and
 * ST ends a DCS string, which tmux alone lets run on through CAN, ESC and newlines: a cell that
 * printed `ESC P q` and no terminator would otherwise leave tmux swallowing the prompt after it
 * (the screen stops, and so does its record of bracketed paste). Invisible to both parsers.
 */
export const MARKER_LEAD = "\x18\x1b\\";

/**
 * The end marker as the terminal receives it (its lead included), with the placeholders the
 * script's language fills at run time: see {@link endPayload}.
 */
export function endMarker(
  status: string,
  nonce: string,
  error?: string,
  nested?: string,
): string {
  return `${MARKER_LEAD}\x1b]${endPayload(status, nonce, error, nested)}\x07`;
}

/**
 * A printf format (in single quotes in a shell) that prints `text`: control characters as octal
 * escapes, backslashes doubled; `%` is left as it is, for the caller's placeholders.
 */
export function printfFormat(text: string): string {
  let format = "";
  for (const c of text) {
    const code = c.charCodeAt(0);
    if (c === "\\") format += "\\\\";
    else if (code < 0x20 || code === 0x7f) format += `\\${code.toString(8).padStart(3, "0")}`;
    else format += c;
  }
  return format;
}

/** The continuation marker (in a shell's PS2) as the terminal receives it, its lead included. */
export function continuationMarker(nonce: string): string {
  return `${MARKER_LEAD}\x1b]${OSC_NUMBER};${MORE_KIND};${NONCE_FIELD}${nonce}\x07`;
}

/** The start marker as the terminal receives it. */
export function startMarker(nonce: string): string {
  return `\x1b]${startPayload(nonce)}\x07`;
}

/** A parsed marker. */
export type Marker =
  | { kind: "start" }
  | { kind: "more" }
  | { kind: "end"; exitCode: number; error?: string; nested?: string };

/** An exit status as the markers carry it: an optional minus and up to 10 digits. */
const STATUS = /^-?[0-9]{1,10}$/;

/**
 * Parses an OSC payload; undefined unless it is exactly a marker carrying `nonce`:
 * `133;C;k=<nonce>` or `133;D;<status>;k=<nonce>[;err=<type>][;in=<program>]`. Nothing else
 * counts, so a
 * look-alike a program prints (another nonce, a field too many, a status `Number()` would take
 * but no script prints) can never end a cell.
 */
export function parseMarker(payload: string, nonce: string): Marker | undefined {
  const parts = payload.split(";");
  if (parts[0] !== OSC_NUMBER || hasControl(payload)) return undefined;
  const nonceField = `${NONCE_FIELD}${nonce}`;
  if (parts[1] === START_KIND || parts[1] === MORE_KIND) {
    if (parts.length !== 3 || parts[2] !== nonceField) return undefined;
    return { kind: parts[1] === START_KIND ? "start" : "more" };
  }
  if (parts[1] !== END_KIND || !STATUS.test(parts[2] ?? "") || parts[3] !== nonceField) {
    return undefined;
  }
  const end: Extract<Marker, { kind: "end" }> = { kind: "end", exitCode: Number(parts[2]) };
  const rest = parts.slice(4);
  const last = rest[rest.length - 1];
  if (last?.startsWith(NESTED_FIELD)) {
    rest.pop();
    const nested = last.slice(NESTED_FIELD.length);
    if (!/^[a-z][a-z0-9_-]{0,31}$/.test(nested)) return undefined;
    end.nested = nested;
  }
  if (rest.length === 0) return end;
  const err = rest.join(";");
  if (!err.startsWith(ERROR_FIELD)) return undefined;
  const error = err.slice(ERROR_FIELD.length);
  if (error) end.error = error;
  return end;
}

/** Whether `s` holds a C0 control character (a marker holds none; the tail scanners stop at one). */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20) return true;
  return false;
}

const MARKER_OPENER = `\x1b]${OSC_NUMBER};`;

/** Where a marker whose `ESC ]` is at `at` in `text` ends (past its BEL or ST), and what it is;
 * undefined unless a whole marker with `nonce` is there, as the terminal parser would read it. */
function markerAt(
  text: string,
  at: number,
  nonce: string,
): { marker: Marker; end: number } | undefined {
  let j = at + 2;
  // A marker holds no control character: the first one ends it (BEL, ST) or breaks it.
  while (j < text.length && text.charCodeAt(j) >= 0x20) j++;
  const terminator = text.charCodeAt(j);
  let end: number;
  if (terminator === 0x07) end = j + 1;
  else if (terminator === 0x1b && text[j + 1] === "\\") end = j + 2;
  else return undefined;
  const marker = parseMarker(text.slice(at + 2, j), nonce);
  return marker && { marker, end };
}

/** The last whole marker of `kind` with `nonce` in `tail` (raw log text): where it starts and
 * ends. Scans without a regular expression: the prompt check runs before every cell. */
function lastMarker(
  tail: string,
  nonce: string,
  kind: Marker["kind"],
): { start: number; end: number } | undefined {
  for (let i = tail.lastIndexOf(MARKER_OPENER); i >= 0;) {
    const found = markerAt(tail, i, nonce);
    if (found?.marker.kind === kind) return { start: i, end: found.end };
    i = i === 0 ? -1 : tail.lastIndexOf(MARKER_OPENER, i - 1);
  }
  return undefined;
}

/** Where the last end marker with `nonce` starts in `tail` (raw log text), or -1. */
export function lastEndMarker(tail: string, nonce: string): number {
  return lastMarker(tail, nonce, "end")?.start ?? -1;
}

/** Where the last start marker with `nonce` starts in `tail`, or -1. */
export function lastStartMarker(tail: string, nonce: string): number {
  return lastMarker(tail, nonce, "start")?.start ?? -1;
}

/**
 * Whether the last marker with `nonce` in `tail` is a start marker, or a continuation marker (the
 * shell reads the rest of a command): either way the program is not at its prompt.
 */
export function lastMarkerIsStart(tail: string, nonce: string): boolean {
  const begun = Math.max(lastStartMarker(tail, nonce), lastContinuationMarker(tail, nonce));
  return begun > lastEndMarker(tail, nonce);
}

/** Where the last continuation marker with `nonce` starts in `tail`, or -1. */
export function lastContinuationMarker(tail: string, nonce: string): number {
  return lastMarker(tail, nonce, "more")?.start ?? -1;
}

/** Whether something was printed after the last end marker: a prompt, say. */
export function printedAfterLastEnd(tail: string, nonce: string): boolean {
  const end = lastMarker(tail, nonce, "end");
  return end !== undefined && tail.slice(end.end).trim() !== "";
}

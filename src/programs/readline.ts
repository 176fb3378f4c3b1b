/**
 * What the profiles of readline programs share (psql, sqlite3, lua, R, gdb): their end marker
 * lives in the prompt, which readline prints only after it has turned bracketed paste on. The
 * prompt repeats that sequence after the marker, so the log tells, in order, what is true: the
 * program is back at its prompt, and its line editor reads with bracketed paste on (the prompt
 * check before a cell, `cell/prompt.ts`, looks for it after the end marker).
 * @module
 */

import { endMarker } from "../markers.ts";
import { PASTE_ON } from "../text.ts";

/**
 * The end marker as a readline prompt carries it (placeholders as for {@link endMarker}),
 * followed by the bracketed-paste sequence readline sent just before the prompt.
 */
export function promptEndMarker(status: string, nonce: string, error?: string): string {
  return endMarker(status, nonce, error) + PASTE_ON;
}

/**
 * `text` as the body of a quoted string with C-style escapes (psql's and sqlite3's quoted
 * arguments, Lua, R and Ruby strings): control characters as two-digit hex escapes (three-digit
 * octal ones for sqlite3, which knows no hex), backslashes and quotes escaped.
 */
export function escapedString(text: string, escapes: "hex" | "octal" = "hex"): string {
  let out = "";
  for (const c of text) {
    const code = c.charCodeAt(0);
    if (c === "\\" || c === "'" || c === '"') out += `\\${c}`;
    else if (code >= 0x20 && code !== 0x7f) out += c;
    else if (escapes === "octal") out += `\\${code.toString(8).padStart(3, "0")}`;
    else out += `\\x${code.toString(16).padStart(2, "0")}`;
  }
  return out;
}

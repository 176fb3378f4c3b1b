/**
 * What to type for a cell: the program's profile says how its integration takes a cell (one line,
 * a bracketed paste, a runner reading a file, an editor mode); modes without markers type the code
 * as written (Python reshaped for its REPL's block rules) and the mode's extra Enters.
 * @module
 */

import { UsageError } from "../errors.ts";
import { frameMode } from "../frame/mod.ts";
import { codeLines, type ProgramProfile, programProfile } from "../programs/mod.ts";
import type { TypingPlan } from "../programs/profile.ts";
import type { SessionMeta } from "../session/meta.ts";

export type { TypingPlan } from "../programs/profile.ts";

/** Plans the typing of `code` as cell `cellId` in a session described by `meta`. */
export function planCell(
  meta: SessionMeta,
  code: string,
  cellId: string,
  cellsDir: string,
): TypingPlan {
  const profile = programProfile(meta.kind);
  const integration = profile.integration;
  const typed = (text: string) => quoteTabs(text, profile);
  if (meta.frame.mode !== "integration" || !integration) {
    assertTypable(code, meta.kind);
    const lines = shapeCode(profile, code);
    if (profile.pasteCells && meta.bracketed_paste && lines.length > 1) {
      return { lines, text: lines.join("\n"), bracketed: true, drain: profile.drain };
    }
    const enters = frameMode(meta.frame.mode).extraEnters(meta.frame);
    const text = typed(lines.join("\n") + "\n" + "\n".repeat(enters));
    return { lines, text, bracketed: false, drain: profile.drain };
  }
  const plan = integration.typeCell(code, {
    cellId,
    cellsDir,
    bracketedPaste: meta.bracketed_paste === true,
  });
  if (!plan.codeFile) assertTypable(code, meta.kind);
  // A bracketed paste is text as it stands, followed by Enter; other text carries its own.
  const drain = profile.drain;
  if (plan.bracketed) return { ...plan, text: plan.lines.join("\n"), bracketed: true, drain };
  return { ...plan, text: typed(plan.lines.join("\n") + "\n"), bracketed: false, drain };
}

/**
 * A control character other than tab (a code file carries any: the runner line typed for it has
 * none). Typed, the terminal acts on it: Ctrl-C and Ctrl-\\ signal, Ctrl-S stops the output,
 * Ctrl-D ends an editor mode, Ctrl-A moves the cursor, DEL erases.
 */
// deno-lint-ignore no-control-regex -- control characters are what it finds
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;

/**
 * Throws a usage error naming `code`'s first control character and its line, before anything is
 * typed, unless the terminal can carry the code as written (its line ends aside: CRLF and a lone
 * CR end a line, as {@link codeLines} splits them). A plan whose code travels in a file types
 * none of it.
 */
function assertTypable(code: string, program: string): void {
  const text = code.replace(/\r\n?/g, "\n");
  const found = CONTROL.exec(text);
  if (!found) return;
  const unit = found[0].charCodeAt(0);
  const line = text.slice(0, found.index).split("\n").length;
  const hex = unit.toString(16).toUpperCase().padStart(4, "0");
  const key = unit === 0x7f ? "DEL" : `^${String.fromCharCode(unit + 0x40)}`;
  throw new UsageError(
    `code contains the control character U+${hex} (${key}) on line ${line}: typed into the ` +
      `terminal, it would act as a key instead of reaching ${program} as written; write it as ` +
      `an escape ${program} understands (e.g. \\x${hex.slice(2).toLowerCase()}); nothing was run`,
  );
}

/** The lines to type for `code` in a mode without markers. */
export function shapeCode(profile: ProgramProfile, code: string): string[] {
  return profile.shapeCode?.(code) ?? codeLines(code);
}

/**
 * Makes each tab typed literally: a tab typed into readline or zle asks for completion, so it is
 * preceded by Ctrl-V (quoted insert), which a terminal in cooked mode honours too.
 */
function quoteTabs(text: string, profile: ProgramProfile): string {
  return profile.quotedInsert ? text.replaceAll("\t", "\x16\t") : text;
}

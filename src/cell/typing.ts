/**
 * What to type for a cell: the program's profile says how its integration takes a cell (one line,
 * a bracketed paste, a runner reading a file, an editor mode); modes without markers type the code
 * as written (Python reshaped for its REPL's block rules) and the mode's extra Enters.
 * @module
 */

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
    const lines = shapeCode(profile, code);
    const enters = frameMode(meta.frame.mode).extraEnters(meta.frame);
    const text = typed(lines.join("\n") + "\n" + "\n".repeat(enters));
    return { lines, text, bracketed: false, drain: profile.drain };
  }
  const plan = integration.typeCell(code, {
    cellId,
    cellsDir,
    bracketedPaste: meta.bracketed_paste === true,
  });
  // A bracketed paste is text as it stands, followed by Enter; other text carries its own.
  const drain = profile.drain;
  if (plan.bracketed) return { ...plan, text: plan.lines.join("\n"), bracketed: true, drain };
  return { ...plan, text: typed(plan.lines.join("\n") + "\n"), bracketed: false, drain };
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

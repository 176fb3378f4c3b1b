/**
 * What to type for a cell, per session mode and program. Integration mode types the code so that
 * the program runs it as one input and prints exactly one end marker:
 * - bash/zsh: one line as is; several lines as one bracketed paste (one prompt, `$?` of the last
 *   command), or inside `{ … }` where the program has no bracketed paste;
 * - sh/dash: inside `__k_c; { … }; __k_r $?` (start marker, one prompt, exit status kept);
 * - python: a one-line call of the installed runner on a file holding the code, so blank lines,
 *   indentation and expression echo follow REPL rules exactly;
 * - node: the REPL's `.editor` mode, ended with Ctrl-D: the REPL evaluates the block as one input.
 * @module
 */

import { codeLines, shapeCode } from "../code.ts";
import { extraEnters } from "../frame/mod.ts";
import type { SessionMeta } from "../meta.ts";

/** How one cell is typed. */
export interface TypingPlan {
  /** The lines the terminal will echo (for the echo filter). */
  lines: string[];
  /** The text to paste. */
  text: string;
  /** Paste as a bracketed paste, then press Enter. */
  bracketed: boolean;
  /** tmux keys to send after the text (node's editor mode ends with C-d). */
  keys?: string[];
  /** A file the runner reads the code from (python, node). */
  codeFile?: { path: string; content: string };
}

/** Plans the typing of `code` as cell `cellId` in a session described by `meta`. */
export function planCell(
  meta: SessionMeta,
  code: string,
  cellId: string,
  cellsDir: string,
): TypingPlan {
  const frame = meta.frame;
  const typed = (text: string) => quoteTabs(text, meta.kind);
  if (frame.mode !== "integration") {
    const lines = shapeCode(meta.kind, code);
    return {
      lines,
      text: typed(lines.join("\n") + "\n" + "\n".repeat(extraEnters(frame.mode))),
      bracketed: false,
    };
  }
  const plain = (lines: string[]): TypingPlan => ({
    lines,
    text: typed(lines.join("\n") + "\n"),
    bracketed: false,
  });
  switch (meta.kind) {
    case "python":
      return {
        ...plain([`__k('${cellId}')`]),
        codeFile: { path: `${cellsDir}/${cellId}.py`, content: code },
      };
    case "node":
      return { ...plain([".editor", ...codeLines(code)]), keys: ["C-d"] };
    case "sh":
      return plain(["__k_c; {", ...codeLines(code), "}; __k_r $?"]);
    default: {
      const lines = codeLines(code);
      // A bracketed paste is one input, and a tab in it is text, never completion.
      if (meta.bracketed_paste && (lines.length > 1 || code.includes("\t"))) {
        return { lines, text: lines.join("\n"), bracketed: true };
      }
      if (lines.length === 1) return plain(lines);
      return plain(["{", ...lines, "}"]);
    }
  }
}

/** Programs whose line editor (readline, zle) or terminal takes Ctrl-V as "insert the next key". */
const QUOTED_INSERT_KINDS = new Set(["bash", "zsh", "sh", "python", "gdb"]);

/**
 * Makes each tab typed literally: a tab typed into readline or zle asks for completion, so it is
 * preceded by Ctrl-V (quoted insert), which a terminal in cooked mode honours too.
 */
export function quoteTabs(text: string, kind: string): string {
  return QUOTED_INSERT_KINDS.has(kind) ? text.replaceAll("\t", "\x16\t") : text;
}

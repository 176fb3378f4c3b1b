/**
 * `k screen`: what a person would see on a session's terminal now — the visible rows as text, the
 * cursor, whether a full-screen program holds the alternate screen, and the foreground program.
 * Takes no lock and types nothing, so it works on any live session, busy or not.
 * @module
 */

import { NoSessionError } from "../errors.ts";
import { type Foreground, foregroundOf, shownForeground } from "./foreground.ts";
import type { KernelConfig } from "../state.ts";
import { captureScreen } from "../tmux.ts";

/** A run of blanks this long inside a row is shown as a count (a pager's status line at the far
 * right of a 1000-column pane would otherwise cost a thousand characters). */
export const SCREEN_BLANK_RUN_CHARS = 16;
/** A row longer than this (after blank runs are counted) keeps its start and end around a count. */
export const SCREEN_ROW_MAX_CHARS = 400;

/** What a session's terminal shows now. */
export interface Screen {
  /** The session's name. */
  session: string;
  /**
   * The visible rows, top to bottom: trailing blanks trimmed, empty rows at the bottom dropped, a
   * run of {@link SCREEN_BLANK_RUN_CHARS} or more blanks shown as `[… N blanks …]`, a row longer
   * than {@link SCREEN_ROW_MAX_CHARS} cut in its middle with `[… N characters …]`.
   */
  rows: string[];
  /** Where the cursor is: 0-based row (within all visible rows) and column. */
  cursor: { row: number; col: number };
  /** Whether a full-screen program (less, vi, top) has switched to the alternate screen. */
  alternate_screen: boolean;
  /**
   * What holds the terminal when it is not the session's own program (a pager, an editor, a
   * job), as `k status` says it; null when the session's program holds it.
   */
  foreground: Foreground | null;
  /** The pane's size in columns and rows. */
  size: { columns: number; rows: number };
}

/** The screen of session `name`; {@link NoSessionError} when its tmux session is not there. */
export async function sessionScreen(config: KernelConfig, name: string): Promise<Screen> {
  const pane = await captureScreen(config, name);
  if (!pane) throw new NoSessionError(name);
  const rows = pane.rows.map(compactRow);
  while (rows.length > 0 && rows.at(-1) === "") rows.pop();
  return {
    session: name,
    rows,
    cursor: { row: pane.cursorY, col: pane.cursorX },
    alternate_screen: pane.alternate,
    foreground: shownForeground(foregroundOf(pane.panePid)),
    size: { columns: pane.width, rows: pane.height },
  };
}

const BLANK_RUN = new RegExp(` {${SCREEN_BLANK_RUN_CHARS},}`, "g");

/** One row as an agent reads it cheaply: see {@link Screen.rows}. */
export function compactRow(row: string): string {
  const text = row.trimEnd().replace(BLANK_RUN, (run) => ` [… ${run.length} blanks …] `);
  if (text.length <= SCREEN_ROW_MAX_CHARS) return text;
  const half = Math.floor(SCREEN_ROW_MAX_CHARS / 2);
  const cut = text.length - 2 * half;
  return `${text.slice(0, half)}[… ${cut} characters …]${text.slice(text.length - half)}`;
}

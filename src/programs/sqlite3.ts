/**
 * sqlite3's shell: its prompt cannot carry a marker (it keeps 20 characters of one), and it has no
 * variables nor conditionals, so files carry the state. A cell's code goes to the session's cell
 * file; two typed lines read a wrapper, which writes a status file saying failure, reads the cell
 * file (any lines, dot-commands included; a last statement without `;` runs, as in a script),
 * then rewrites the status file to say success (`.bail on` stops a read at its first error: the
 * rest is skipped, the shell goes on), and read the status file, which prints the end marker.
 * History goes to the session's file (`SQLITE_HISTORY`).
 * @module
 */

import { endMarker } from "../markers.ts";
import { CLEAR_LINE, type ProgramProfile } from "./profile.ts";
import { escapedString } from "./readline.ts";

/** In the session's directory (the parent of its cells directory): the script, the wrapper and
 * status file it writes, and the cell file (one per session: a cell at a time, under the lock). */
const FILE = "integration.sqlite3";
const WRAPPER = "cell.sqlite3";
const STATUS = "status.sqlite3";
const CELL_FILE = "cell.sql";

function sessionDir(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

/** The dot-command that prints the end marker of `status` (its newline is not output). */
function printEnd(nonce: string, status: number): string {
  return `.print "${escapedString(endMarker(String(status), nonce), "octal")}"`;
}

/**
 * Read once: writes an empty cell file, the wrapper and the status file (`.print` into
 * `.output` writes a file), then prints the end marker.
 */
function script(nonce: string, files: { cells: string }): string {
  const dir = sessionDir(files.cells);
  const status = (ok: boolean) => [
    `.output "${dir}/${STATUS}"`,
    `.print '${printEnd(nonce, ok ? 0 : 1)}'`,
    ".output stdout",
  ];
  const wrapper = [...status(false), `.read "${dir}/${CELL_FILE}"`, ...status(true)];
  return [
    ".bail on",
    `.output '${dir}/${CELL_FILE}'`,
    `.output '${dir}/${WRAPPER}'`,
    ...wrapper.map((line) => `.print "${escapedString(line, "octal")}"`),
    `.output '${dir}/${STATUS}'`,
    `.print '${printEnd(nonce, 0)}'`,
    ".output stdout",
    printEnd(nonce, 0),
    "",
  ].join("\n");
}

/** sqlite3. */
export const sqlite3: ProgramProfile = {
  kind: "sqlite3",
  names: /^sqlite3$/,
  // `sqlite3 file.db` stays interactive.
  interactiveWithArguments: true,
  bracketedPaste: true,
  quotedInsert: true,
  // The shell reads its history file before any integration is loaded.
  environment: (files) => ({ SQLITE_HISTORY: files.history }),
  drain: CLEAR_LINE,
  integration: {
    file: FILE,
    script,
    installLine: (path) => `.read '${path}'`,
    typeCell: (code, cell) => ({
      lines: [WRAPPER, STATUS].map((file) => `.read '${sessionDir(cell.cellsDir)}/${file}'`),
      codeFile: { path: `${sessionDir(cell.cellsDir)}/${CELL_FILE}`, content: code },
    }),
  },
};

/**
 * psql: `PROMPT1` carries the end marker, its status from a variable the cell sets and its error
 * field from `LAST_ERROR_SQLSTATE`; `PROMPT2` the continuation marker. A cell's code goes to a
 * private file, and one typed line prints the start marker, reads the file (`\i`: any lines,
 * meta-commands included; errors are reported as `psql:<file>:<line>: ERROR: …`; a last statement
 * without `;` runs, as in a script) and sets the status. The pager is off (a long result would
 * wait in `less`); history goes to the session's file (`PSQL_HISTORY`).
 * @module
 */

import { continuationMarker, startMarker } from "../markers.ts";
import { CLEAR_LINE, type ProgramProfile } from "./profile.ts";
import { escapedString, promptEndMarker } from "./readline.ts";

/** The variables the integration keeps in psql (a cell's code should leave them alone). */
const START = "__k_c";
const STATUS = "__k_ec";
const SELF = "__k_self";

function script(nonce: string): string {
  const end = promptEndMarker(`%:${STATUS}:`, nonce, "%:LAST_ERROR_SQLSTATE:");
  return `-- ktty integration for psql (session nonce inside; do not share)
-- Read once to install, then after each cell (non-interactively: psql then says nothing of the
-- commands an inactive branch skips).
\\if :{?${STATUS}}
  \\if :{?LAST_ERROR_SQLSTATE}
  \\else
    \\set ${STATUS} 0
  \\endif
\\else
  \\pset pager off
  \\set ${START} '${escapedString(startMarker(nonce))}'
  \\set ${STATUS} 0
  \\unset LAST_ERROR_SQLSTATE
  \\set PROMPT1 '%[${escapedString(end)}%]' :PROMPT1
  \\set PROMPT2 '%[${escapedString(continuationMarker(nonce))}%]' :PROMPT2
\\endif
`;
}

/**
 * The one line typed for a cell: the start marker, failure presumed (with `ON_ERROR_STOP` a failed
 * statement ends the file early), the last error forgotten, the cell's file read as psql reads a
 * script, then the integration script again, which says success when no statement failed.
 */
function cellLine(file: string): string {
  return `\\echo -n :${START} \\set ${STATUS} 1 \\unset LAST_ERROR_SQLSTATE ` +
    `\\i '${escapedString(file)}' \\i :${SELF}`;
}

/** psql. */
export const psql: ProgramProfile = {
  kind: "psql",
  names: /^psql$/,
  // `psql dbname` and `psql -h host db` stay interactive.
  interactiveWithArguments: true,
  bracketedPaste: true,
  quotedInsert: true,
  // psql reads its history file before any integration is loaded.
  environment: (files) => ({ PSQL_HISTORY: files.history }),
  drain: CLEAR_LINE,
  integration: {
    file: "integration.psql",
    script,
    installLine: (path) => `\\set ${SELF} '${escapedString(path)}' \\i :${SELF}`,
    // A file, not a paste: in one input psql reads a meta-command's arguments on over newlines.
    typeCell: (code, cell) => {
      const file = `${cell.cellsDir}/${cell.cellId}.sql`;
      return { lines: [cellLine(file)], codeFile: { path: file, content: code } };
    },
  },
};

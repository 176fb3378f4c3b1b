/**
 * Debuggers that repeat their last command on an empty Enter, known so that repeat mode types
 * none (`next` once, not six times): pdb (`pdb3 prog.py`) and perl's (`perl -d prog.pl`,
 * `perl -de0`). Their cells end when the first prompt is back (`(Pdb) `, `  DB<1> ` with any
 * counter). gdb is in gdb.ts.
 * @module
 */

import { CLEAR_LINE, type ProgramProfile } from "./profile.ts";

/** pdb run as its own command (`pdb3 prog.py`). */
export const pdb: ProgramProfile = {
  kind: "pdb",
  names: /^pdb3?(\.\d+)?$/,
  interactiveWithArguments: true,
  bracketedPaste: false,
  quotedInsert: false,
  noEmptyEnters: true,
  // readline; a cell may reach the program being debugged, which may be full-screen.
  drain: { ...CLEAR_LINE, unlessAlternateScreen: true },
};

/** perl: its debugger (`perl -de0`) repeats `n` and `s` on an empty Enter. */
export const perl: ProgramProfile = {
  kind: "perl",
  names: /^perl(5[.\d]*)?$/,
  interactiveWithArguments: true,
  bracketedPaste: false,
  quotedInsert: false,
  noEmptyEnters: true,
  drain: { ...CLEAR_LINE, unlessAlternateScreen: true },
};

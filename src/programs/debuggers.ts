/**
 * perl's debugger (`perl -d prog.pl`, `perl -de0`) repeats its last command on an empty Enter:
 * known so that repeat mode types none (`n` once, not six times); its cells end when the first
 * prompt is back (`  DB<1> ` with any counter). pdb is in pdb.ts, gdb in gdb.ts.
 * @module
 */

import { CLEAR_LINE, type ProgramProfile } from "./profile.ts";

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

/**
 * gdb: no integration; repeat mode without empty Enters (gdb repeats the last command on one),
 * or `--prompt="(gdb)"` for exact mode. Known only so that a tab is typed literally and `gdb ./a.out` is not taken for a
 * script run.
 * @module
 */

import { CLEAR_LINE, type ProgramProfile } from "./profile.ts";

/** gdb. */
export const gdb: ProgramProfile = {
  kind: "gdb",
  names: /^gdb$/,
  interactiveWithArguments: true,
  noEmptyEnters: true,
  bracketedPaste: false,
  quotedInsert: true,
  // readline; but a cell may be typed to the program being debugged, which may be full-screen.
  drain: { ...CLEAR_LINE, unlessAlternateScreen: true },
};

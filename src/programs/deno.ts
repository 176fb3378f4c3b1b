/**
 * deno's REPL (`deno repl`): no prompt ktty can set and no hook around an input, so no markers
 * (an input wrapped to print them would lose `let` declarations that persist and top-level
 * `await`). Repeat mode without empty Enters, which its line editor drops: a cell ends when its
 * `> ` prompt is back, as `new` first saw it. For the same reason a cell of several lines is one
 * bracketed paste, run as one input.
 * @module
 */

import { CLEAR_LINE, type ProgramProfile } from "./profile.ts";

/** deno (its REPL: `deno`, `deno repl`). */
export const deno: ProgramProfile = {
  kind: "deno",
  names: /^deno$/,
  // `deno repl` is its REPL; `deno run x.ts` is no prompt, but ends its cells as it exits.
  interactiveWithArguments: true,
  bracketedPaste: true,
  quotedInsert: false,
  noEmptyEnters: true,
  pasteCells: true,
  drain: CLEAR_LINE,
};

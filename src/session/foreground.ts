/**
 * What holds a session's terminal when it is not the session's own program at its prompt — a
 * pager, an editor, a nested REPL, a job — and the way out of each, in `k`'s verbs. Read from
 * /proc (the terminal's foreground process group), so it costs no tmux call.
 * @module
 */

import { commandName, foregroundGroup, processGroup } from "../proc.ts";
import type { HeldBy } from "../types.ts";

/** The program in a session's foreground, when it is not the session's own program. */
export interface Foreground {
  /** Its command name (`less`, `python3`). */
  command: string;
  /** Its pid: the leader of the terminal's foreground process group. */
  pid: number;
}

/**
 * The foreground of the terminal the session's program (`panePid`) runs on, when it is another
 * process group than the program's own (what a shell's job control gives the terminal to, or a
 * debugger's inferior); undefined when the program itself holds it, or it cannot be told.
 */
export function foregroundOf(panePid: number): Foreground | undefined {
  const own = processGroup(panePid);
  const foreground = foregroundGroup(panePid);
  if (own === undefined || foreground === undefined || foreground === own) return undefined;
  return { command: commandName(foreground), pid: foreground };
}

const PAGERS = /^(less|more|most|man|pager|pg)$/;
const EDITORS = /^(vi|vim|vim\..*|nvim|view|nano|pico|emacs|mg|joe|ed)$/;
/** Nested REPLs and the line that leaves each. */
const REPL_EXITS: readonly [RegExp, string][] = [
  [/^(python[0-9.]*|ipython[0-9]*)$/, "exit()"],
  [/^(node|nodejs|deno)$/, ".exit"],
  [/^psql$/, "\\q"],
  [/^(irb|R|sqlite3|mysql|redis-cli|lua|ghci)$/, "quit"],
  [/^(bash|zsh|sh|dash|fish|ksh)$/, "exit"],
  [/^gdb$/, "quit"],
];

/**
 * The way out for a program that holds session `session`'s terminal, in `k`'s verbs: a pager
 * (`q`), an editor, a nested REPL (its exit line), or the general ways (see it, answer it,
 * interrupt it; `k int` ends what ignores Ctrl-C).
 */
export function foregroundHint(command: string, session: string): string {
  if (PAGERS.test(command)) {
    return `${command} is a pager: k send ${session} --keys q to leave it, or k int ${session}`;
  }
  if (EDITORS.test(command)) {
    return `${command} is an editor: k screen ${session} to see it, k send ${session} to type into it, or k int ${session} to end it`;
  }
  const exit = REPL_EXITS.find(([names]) => names.test(command))?.[1];
  if (exit !== undefined) {
    return `${command} runs inside the session's program: use it with k send ${session} '…', leave it with k send ${session} '${exit}', or k int ${session}`;
  }
  return `${command} holds the terminal: k screen ${session} to see it, k send ${session} to answer it, or k int ${session} to end it`;
}

/** The `foreground` and `hint` fields of a running or timed-out cell's result (none when the
 * session's own program holds its terminal). */
export function heldBy(panePid: number, session: string): HeldBy {
  const foreground = foregroundOf(panePid);
  return foreground ? { foreground, hint: foregroundHint(foreground.command, session) } : {};
}

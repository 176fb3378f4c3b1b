/**
 * What holds a session's terminal when it is not the session's own program at its prompt — a
 * pager, an editor, a nested REPL, a job — and the way out of each, in `k`'s verbs. Read from
 * /proc (the terminal's foreground process group), so it costs no tmux call.
 * @module
 */

import {
  childrenOf,
  commandName,
  groupMembers,
  groupsOf,
  processGone,
  processGroup,
} from "../proc.ts";
import { type MarkerState, markerState, readsWithoutMarkers } from "../cell/prompt.ts";
import { programProfile } from "../programs/mod.ts";
import type { SessionPaths } from "../state.ts";
import type { HeldBy } from "../types.ts";
import type { SessionMeta } from "./meta.ts";

/** The program in a session's foreground, when it is not the session's own program. */
export interface Foreground {
  /** Its command name (`less`, `python3`). */
  command: string;
  /**
   * Its pid: the terminal's foreground process group's leader, or the program the leader waits
   * for in the same group (`git log` waiting for its pager: `less`).
   */
  pid: number;
}

/** What {@link foregroundOf} finds: the program, and the terminal's foreground process group. */
export interface ForegroundGroup extends Foreground {
  /** The terminal's foreground process group (its leader may be gone: `seq | less`). */
  group: number;
}

/**
 * The foreground of the terminal the session's program (`panePid`) runs on, when it is another
 * process group than the program's own (what a shell's job control gives the terminal to, or a
 * debugger's inferior); undefined when the program itself holds it, or it cannot be told.
 */
export function foregroundOf(panePid: number): ForegroundGroup | undefined {
  return paneProgram(panePid).foreground;
}

/** What one read of the session's program's `/proc/<pid>/stat` says (`k ls` reads it per session). */
export interface PaneProgram {
  /** What holds its terminal when another process group than its own does (see {@link foregroundOf}). */
  foreground: ForegroundGroup | undefined;
  /** Its command name, or "?" when it is gone. */
  command: string;
}

/** The session's program (`panePid`): what holds its terminal, and its name, from one read. */
export function paneProgram(panePid: number): PaneProgram {
  const { own, foreground, command } = groupsOf(panePid);
  return { foreground: foregroundIfOther(own, foreground), command: command ?? "?" };
}

/** The program of terminal foreground group `foreground` when it is not the group `own`. */
function foregroundIfOther(
  own: number | undefined,
  foreground: number | undefined,
): ForegroundGroup | undefined {
  if (own === undefined || foreground === undefined || foreground === own) return undefined;
  // The group's leader may be gone (`seq 1 200 | less`: seq ended): then its oldest live member.
  const live = processGone(foreground) ? groupMembers(foreground)[0] : foreground;
  if (live === undefined) return undefined;
  let pid: number = live;
  // Down the chain of lone children in the group: what the person sees (git's pager, a
  // wrapper script's program).
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    const inGroup = childrenOf(pid).filter((child) => processGroup(child) === foreground);
    if (inGroup.length !== 1) break;
    pid = inGroup[0]!;
  }
  return { command: commandName(pid), pid, group: foreground };
}

/** How far down a chain of lone children the foreground program is looked for. */
const MAX_CHAIN = 8;

const PAGERS = /^(less|more|most|man|pager|pg)$/;
const EDITORS = /^(vi|vim|vim\..*|nvim|view|nano|pico|emacs|mg|joe|ed)$/;
/** Nested REPLs and the line that leaves each. */
const REPL_EXITS: readonly [RegExp, string][] = [
  [/^(python[0-9.]*|ipython[0-9]*)$/, "exit()"],
  [/^(node|nodejs|deno)$/, ".exit"],
  [/^psql$/, "\\q"],
  [/^sqlite3$/, ".quit"],
  [/^R$/, "q()"],
  [/^lua[0-9.]*$/, "os.exit()"],
  [/^ghci$/, ":quit"],
  [/^(irb|mysql|redis-cli)$/, "exit"],
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

/**
 * Whether what reads the terminal is a shell of the session's own kind, with an integration:
 * the session's program itself (still that program: `exec zsh` in a bash session is not), or one
 * new shell of that kind in the foreground. Only such a shell may get the markers' loader typed.
 */
export function shellOfSessionKind(
  meta: SessionMeta,
  pane: PaneProgram = paneProgram(meta.pane.pid),
): boolean {
  const profile = programProfile(meta.kind);
  if (!profile.jobControl || !profile.integration) return false;
  return profile.names.test(pane.foreground ? pane.foreground.command : pane.command);
}

/**
 * The way back when the session's shell (or a new shell of its kind, alone in the foreground)
 * reads at a prompt without ktty's markers (`exec bash`, `unset PROMPT_COMMAND`); else undefined.
 */
export function markersLostHint(
  paths: SessionPaths,
  meta: SessionMeta,
  pane: PaneProgram = paneProgram(meta.pane.pid),
  state: () => MarkerState | undefined = () => markerState(paths, meta),
): string | undefined {
  if (!shellOfSessionKind(meta, pane)) return undefined;
  if (!readsWithoutMarkers(state())) return undefined;
  return `the shell reads at a prompt without ktty's markers (exec bash, a new shell, unset PROMPT_COMMAND?): k int ${meta.name} reinstalls them, keeping the shell's state (a read -e waiting for input looks the same: answer it with k send ${meta.name} '…')`;
}

/** A foreground as results show it: its command and pid, without the group. */
export function shownForeground(foreground: ForegroundGroup | undefined): Foreground | null {
  return foreground ? { command: foreground.command, pid: foreground.pid } : null;
}

/**
 * The `foreground` and `hint` fields of a running or timed-out cell's result, and of `status`:
 * what holds the terminal when it is not the session's own program, and the way out; or, when
 * the session's shell reads at a prompt without ktty's markers, the way back to them; or, for a
 * session with no cell active (`idle`), that its program is not back at its prompt. Empty when
 * the session's own program holds its terminal as expected. Reads the log's tail at most once.
 */
export function heldBy(paths: SessionPaths, meta: SessionMeta, idle = false): HeldBy {
  const pane = paneProgram(meta.pane.pid); // one /proc read for the foreground and the name
  let read: { state: MarkerState | undefined } | undefined;
  const state = () => (read ??= { state: markerState(paths, meta) }).state;
  const lost = markersLostHint(paths, meta, pane, state);
  const shown = shownForeground(pane.foreground);
  if (lost) return { ...(shown ? { foreground: shown } : {}), hint: lost };
  if (shown) return { foreground: shown, hint: foregroundHint(shown.command, meta.name) };
  const markers = idle ? state() : undefined;
  if (markers !== undefined && markers.marker !== "end") {
    // No cell, yet no end marker since the last one: something in the program holds it.
    return {
      hint:
        `the program in session '${meta.name}' is not back at its prompt: k screen ${meta.name} to see what holds it, k send ${meta.name} to type into it, or k int ${meta.name}`,
    };
  }
  return {};
}

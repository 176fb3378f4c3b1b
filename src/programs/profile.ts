/**
 * What a program profile is: how ktty recognises a program, installs its integration (the markers
 * and the one line that loads them) and types a cell into it. One file per program beside this
 * one; `mod.ts` is the registry.
 * @module
 */

import { shellQuote } from "../tmux.ts";

/**
 * A program family's name, as a session's meta stores it: one of the built-in profiles (`bash`,
 * `zsh`, `sh`, `python`, `ipython`, `pdb`, `node`, `gdb`, …), one an embedder registered, or
 * `other` (a program no profile knows).
 */
export type ProgramKind = string;

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
  /** A file the runner reads the code from (python). */
  codeFile?: { path: string; content: string };
  /** The keys typed before the text, in the same tmux call: the profile's {@link Drain}. */
  drain: Drain;
}

/** What a profile says of typing one cell; the text follows from it (see `cell/typing.ts`). */
export type CellTyping = Omit<TypingPlan, "text" | "bracketed" | "drain"> & {
  bracketed?: boolean;
};

/**
 * How a program's pending input is discarded before a cell is typed: what a previous cell's
 * program left there (a terminal's reply to a query it printed, `ESC[6n` → `ESC[50;1R`; keys it
 * was sent and did not read) would otherwise be typed in front of the code. The keys go in the
 * tmux call that types the cell, ahead of it, so they act on whatever came before them.
 */
export interface Drain {
  /** tmux key names that empty the line the program reads ([]: none). */
  readonly keys: readonly string[];
  /**
   * Typed only while the pane is not on the alternate screen: a full-screen program (vim, less)
   * gives Ctrl-U a meaning of its own (scroll up).
   */
  readonly unlessAlternateScreen?: boolean;
}

/**
 * A space, then Ctrl-U: empties the line in readline (`unix-line-discard`, emacs and vi insert
 * modes), zle, libedit, prompt_toolkit and Reline, and in a terminal's cooked mode (its VKILL
 * character, which the terminal itself acts on: the program never sees it). The space first,
 * because readline rings the bell at a Ctrl-U on an empty line; what the two keys print
 * (` \b\e[K`, or the terminal's ` \b \b`) draws nothing.
 */
export const CLEAR_LINE: Drain = { keys: ["Space", "C-u"] };

/** Where an integration script puts a session's files. */
export interface ScriptFiles {
  /** The session's directory (a program's own files that ktty keeps for it go there). */
  dir: string;
  /** The directory of cell files (python reads each cell's code from there). */
  cells: string;
  /** The session's own history file. */
  history: string;
  /**
   * Where a shell leaves its exit status when it exits with its terminal still there (see
   * {@link shellExitTrap}): what the session's `closed` event carries. Absent: none is left.
   */
  exitStatus?: string;
}

/**
 * The lines of a shell's integration (bash, zsh, sh) that leave the shell's exit status and pid in
 * `files.exitStatus` when it exits: an `EXIT` trap, so `exit 3` or the end of input is told in the
 * session's `closed` event. Only while its terminal is there (`[ -t 0 ]`): a shell ended by its
 * terminal's hangup (`tmux kill-session`) runs the trap with the last command's status, which is
 * not how it ended. A cell that sets its own `EXIT` trap replaces this one (then no status).
 */
export function shellExitTrap(files: ScriptFiles): string {
  if (files.exitStatus === undefined) return "";
  return `__k_exit_file=${shellQuote(files.exitStatus)}
trap '__k_s=$?; [ -t 0 ] && printf "%s %s\\n" "$__k_s" "$$" 2>/dev/null >"$__k_exit_file"' EXIT
`;
}

/**
 * The Python lines, 8 spaces in (the body of `run(cell_id)` in an integration's `__k_install`,
 * with `os` and `cells` in scope), that read a cell's code from its private file into `src` and
 * remove the file: gdb's and python's integrations (files named `<cell id>.<extension>`).
 */
export function pythonTakeCell(extension: string): string {
  return `        path = os.path.join(cells, cell_id + ".${extension}")
        with open(path, encoding="utf-8") as f:
            src = f.read()
        try:
            os.unlink(path)
        except OSError:
            pass`;
}

/** What a profile's integration needs to type one cell. */
export interface CellContext {
  /** The new cell's id. */
  cellId: string;
  /** The session's directory of cell files. */
  cellsDir: string;
  /** Whether the program's line editor takes bracketed pastes (seen at `new`). */
  bracketedPaste: boolean;
}

/** A program's shell integration: the markers it prints, and how a cell is typed with them. */
export interface Integration {
  /** The script file's name inside the session directory. */
  readonly file: string;
  /**
   * The script, for a session with `nonce`: its cell files live in `files.cells`, its command
   * history goes to `files.history` (never the user's own history file).
   */
  script(nonce: string, files: ScriptFiles): string;
  /** The line to type to load it (given the script's absolute path). */
  installLine(path: string): string;
  /** How `code` is typed so that the program runs it as one input and prints one end marker. */
  typeCell(code: string, cell: CellContext): CellTyping;
}

/** One program ktty knows. */
export interface ProgramProfile {
  /** The family's name, as stored in a session's meta. */
  readonly kind: ProgramKind;
  /**
   * Matches the program's file name: the first word of its command line past the launchers in
   * front of it (`env X=1`, `uv run`, `docker exec -it db`), without a directory.
   */
  readonly names: RegExp;
  /** Matches the module a python runs it as (`python3 -m pdb` → `pdb`); absent: none. */
  readonly modules?: RegExp;
  /**
   * Whether the program stays interactive with a non-option argument (`gdb ./a.out`); for the
   * others, an argument is a script to run, and the session gets no profile.
   */
  readonly interactiveWithArguments?: boolean;
  /**
   * Whether the program, given `args` (the words after its name, or after `-m NAME`), reads at
   * its prompt; default: `interactiveWithArguments`, else no argument but options.
   */
  interactive?(args: readonly string[]): boolean;
  /**
   * Variables the program needs in its environment from its start (whatever the mode), such as
   * where it keeps its history: never the user's own history file.
   */
  environment?(files: ScriptFiles): Record<string, string>;
  /** Its shell integration; absent: the session uses {@link prompt}, or repeat mode. */
  readonly integration?: Integration;
  /**
   * Without an integration: the prompt that ends a cell in exact mode (a line equal to it), as
   * `--prompt` would give it; absent: repeat mode. An explicit `--prompt` wins.
   */
  readonly prompt?: string;
  /**
   * Whether its line editor turns bracketed paste on as it starts reading a line (readline,
   * zle): `new` waits a moment for it, and cells are typed only once it is on.
   */
  readonly bracketedPaste: boolean;
  /**
   * Whether a tab must be typed after Ctrl-V (quoted insert): a tab typed into readline or zle
   * asks for completion.
   */
  readonly quotedInsert: boolean;
  /**
   * Whether it runs each command in a process group of its own and gives it the terminal (a
   * shell's job control): what holds the terminal then is a group apart from the program's.
   */
  readonly jobControl?: boolean;
  /**
   * Whether no empty Enter may follow a cell's code in repeat mode: the program repeats its last
   * command on one (pdb, gdb, perl's debugger) or drops typed-ahead input (deno's REPL). A cell
   * then ends when the program's first prompt is back.
   */
  readonly noEmptyEnters?: boolean;
  /**
   * Repeat mode: a cell of several lines is typed as one bracketed paste and one Enter, when the
   * editor took bracketed pastes at `new`: its editor drops what is typed ahead while a line
   * runs (deno's REPL), so lines typed one after another would be lost. Its echo shows the
   * pasted lines after the first without a prompt.
   */
  readonly pasteCells?: boolean;
  /** How its pending input is discarded before each cell (see {@link Drain}). */
  readonly drain: Drain;
  /** The lines to type in a mode without markers; default: the code's lines as written. */
  shapeCode?(code: string): string[];
}

/** Splits code into lines (`\r\n` → `\n`) without the trailing newlines. */
export function codeLines(code: string): string[] {
  return code.replace(/\r\n?/g, "\n").replace(/\n+$/, "").split("\n");
}

/**
 * A program profile as an embedder writes it (`new Kernel({ programs: [profile] })`): what the
 * kernel needs to recognise the program and to know where each cell ends. Everything but `kind`
 * and `names` is optional; without `integration` or `prompt` the program's cells use repeat mode.
 */
export interface ProgramDefinition {
  /**
   * The family's name, stored in each session's meta: lowercase letters, digits, `-` and `_`,
   * not a built-in one's.
   */
  readonly kind: string;
  /** Matches the program's file name (the command line's program, past `env`, `uv run`, …). */
  readonly names: RegExp;
  /** Matches the module a python runs it as (`python3 -m NAME`); absent: none. */
  readonly modules?: RegExp;
  /**
   * Whether the program, given `args` (the words after its name), reads at its prompt; default:
   * when no argument is a plain word (a plain word is a script it runs).
   */
  interactive?(args: readonly string[]): boolean;
  /**
   * Variables the program needs from its start, such as where it keeps its history (`files`
   * names the session's own history file).
   */
  environment?(files: ScriptFiles): Record<string, string>;
  /** Markers it prints: see {@link Integration}. */
  readonly integration?: ProgramIntegration;
  /** Without an integration: the prompt that ends a cell (exact mode). */
  readonly prompt?: string;
  /** Whether its line editor takes bracketed pastes. Default false. */
  readonly bracketedPaste?: boolean;
  /** Whether a tab must be typed after Ctrl-V (readline would complete it). Default false. */
  readonly quotedInsert?: boolean;
  /** The lines to type for `code` in a mode without markers; default: as written. */
  shapeCode?(code: string): string[];
}

/**
 * An embedder's integration: the script that makes the program print ktty's markers (see
 * `markers` in the README: a start marker before a cell's output, an end marker with its status
 * before the prompt, each carrying the session's nonce), the line that loads it, and the lines
 * that type one cell.
 */
export interface ProgramIntegration {
  /** The script file's name inside the session directory. */
  readonly file: string;
  /** The script, for a session with `nonce`. */
  script(nonce: string, files: ScriptFiles): string;
  /** The line to type to load it (given the script's absolute path). */
  installLine(path: string): string;
  /**
   * The lines to type so that the program runs `code` as one input, and optionally a file to
   * write first (the lines then name it).
   */
  typeCell(
    code: string,
    cell: CellContext,
  ): { lines: string[]; codeFile?: { path: string; content: string } };
}

/**
 * The registry of programs: which profile a session's command line gets. Adding a program is
 * adding its profile file and one entry in {@link PROGRAMS}.
 * @module
 */

import { bash } from "./bash.ts";
import { pdb, perl } from "./debuggers.ts";
import { deno } from "./deno.ts";
import { gdb } from "./gdb.ts";
import { node } from "./node.ts";
import { CLEAR_LINE, type ProgramKind, type ProgramProfile } from "./profile.ts";
import { python } from "./python.ts";
import { sh } from "./sh.ts";
import { zsh } from "./zsh.ts";

export type { CellContext, Drain, Integration, ProgramKind, ProgramProfile } from "./profile.ts";
export { codeLines } from "./profile.ts";

/** Every program ktty knows, in the order they are matched. */
export const PROGRAMS: readonly ProgramProfile[] = [
  bash,
  zsh,
  sh,
  python,
  node,
  gdb,
  deno,
  pdb,
  perl,
];

/** The profile of a program ktty knows nothing about: typed as written, repeat mode. */
const OTHER: ProgramProfile = {
  kind: "other",
  names: /$^/,
  bracketedPaste: false,
  quotedInsert: false,
  // Best effort: nearly every line reader empties its line at Ctrl-U (readline, libedit,
  // prompt_toolkit, Reline, linenoise, a terminal in cooked mode); a full-screen program does
  // not read lines, and gives Ctrl-U a meaning of its own.
  drain: { ...CLEAR_LINE, unlessAlternateScreen: true },
};

/** The profile stored under `kind` in a session's meta. */
export function programProfile(kind: ProgramKind): ProgramProfile {
  return PROGRAMS.find((p) => p.kind === kind) ?? OTHER;
}

/**
 * The profile of a session's command line (`env X=1 python3 -i` → python). A program given a
 * script to run (`python3 app.py`) is not at its prompt: it gets none, unless it stays
 * interactive with arguments (gdb).
 */
export function profileOf(command: string): ProgramProfile {
  const words = command.trim().split(/\s+/);
  let i = 0;
  if (basename(words[0] ?? "") === "env") {
    i = 1;
    while (
      i < words.length &&
      (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i] ?? "") || words[i]?.startsWith("-"))
    ) i++;
  }
  const program = basename(words[i] ?? "");
  const profile = PROGRAMS.find((p) => p.names.test(program));
  if (!profile) return OTHER;
  if (profile.interactiveWithArguments) return profile;
  const script = words.slice(i + 1).some((w) => w !== "" && !w.startsWith("-"));
  return script ? OTHER : profile;
}

/** The program family of a session's command line: see {@link profileOf}. */
export function programKind(command: string): ProgramKind {
  return profileOf(command).kind;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

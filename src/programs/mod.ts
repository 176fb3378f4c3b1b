/**
 * The registry of programs: which profile a session's command line gets. Adding a program is
 * adding its profile file and one entry in {@link PROGRAMS}; an embedder adds one at run time
 * with {@link registerProgram} (`new Kernel({ programs })`).
 * @module
 */

import { UsageError } from "../errors.ts";
import { bash } from "./bash.ts";
import { onlyOptions, programWords } from "./command_line.ts";
import { perl } from "./debuggers.ts";
import { deno } from "./deno.ts";
import { gdb } from "./gdb.ts";
import { ipython } from "./ipython.ts";
import { irb } from "./irb.ts";
import { lua } from "./lua.ts";
import { node } from "./node.ts";
import { pdb } from "./pdb.ts";
import { psql } from "./psql.ts";
import { pry } from "./pry.ts";
import {
  CLEAR_LINE,
  type ProgramDefinition,
  type ProgramKind,
  type ProgramProfile,
} from "./profile.ts";
import { python } from "./python.ts";
import { r } from "./r.ts";
import { sh } from "./sh.ts";
import { sqlite3 } from "./sqlite3.ts";
import { zsh } from "./zsh.ts";

export type {
  CellContext,
  Drain,
  Integration,
  ProgramDefinition,
  ProgramIntegration,
  ProgramKind,
  ProgramProfile,
  ScriptFiles,
} from "./profile.ts";
export { codeLines } from "./profile.ts";

/** Every program ktty knows, in the order they are matched. */
export const PROGRAMS: readonly ProgramProfile[] = [
  bash,
  zsh,
  sh,
  python,
  ipython,
  pdb,
  node,
  gdb,
  psql,
  sqlite3,
  lua,
  r,
  irb,
  deno,
  perl,
  pry,
];

/** The kind of a program no profile knows. */
export const OTHER_KIND = "other";

/** Best effort for a program ktty knows nothing about. */
const UNKNOWN_DRAIN = { ...CLEAR_LINE, unlessAlternateScreen: true };

/** The profile of a program ktty knows nothing about: typed as written, repeat mode. */
const OTHER: ProgramProfile = {
  kind: OTHER_KIND,
  names: /$^/,
  bracketedPaste: false,
  quotedInsert: false,
  // Best effort: nearly every line reader empties its line at Ctrl-U (readline, libedit,
  // prompt_toolkit, Reline, linenoise, a terminal in cooked mode); a full-screen program does
  // not read lines, and gives Ctrl-U a meaning of its own.
  drain: UNKNOWN_DRAIN,
};

/** Profiles an embedder added in this process, by kind (matched before the built-in ones). */
const added = new Map<string, ProgramProfile>();

const KIND = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * Adds an embedder's profile to this process's registry: sessions whose command line it
 * recognises get it, and sessions made with it (their meta names its kind) are typed with it.
 * Registering the same kind again replaces it.
 *
 * @param definition the profile
 * @throws {UsageError} a kind that is malformed or a built-in one's
 */
export function registerProgram(definition: ProgramDefinition): void {
  const kind = definition.kind;
  if (!KIND.test(kind) || kind === OTHER_KIND) {
    throw new UsageError(
      `program profile kind '${kind}' is not valid: use 1-32 of a-z, 0-9, '-', '_', ` +
        `starting with a letter`,
    );
  }
  if (PROGRAMS.some((p) => p.kind === kind)) {
    throw new UsageError(`program profile kind '${kind}' is built in; give yours another name`);
  }
  added.set(kind, {
    kind,
    names: definition.names,
    ...(definition.modules ? { modules: definition.modules } : {}),
    ...(definition.interactive ? { interactive: definition.interactive } : {}),
    ...(definition.environment ? { environment: definition.environment } : {}),
    ...(definition.integration ? { integration: definition.integration } : {}),
    ...(definition.prompt !== undefined ? { prompt: definition.prompt } : {}),
    ...(definition.shapeCode ? { shapeCode: definition.shapeCode } : {}),
    bracketedPaste: definition.bracketedPaste ?? false,
    quotedInsert: definition.quotedInsert ?? false,
    drain: UNKNOWN_DRAIN,
  });
}

/** Every profile, the embedder's first. */
function allPrograms(): ProgramProfile[] {
  return [...added.values(), ...PROGRAMS];
}

/** The profile named `kind`, or undefined when this process knows none by that name. */
export function knownProfile(kind: ProgramKind): ProgramProfile | undefined {
  if (kind === OTHER_KIND) return OTHER;
  return added.get(kind) ?? PROGRAMS.find((p) => p.kind === kind);
}

/**
 * The profile stored under `kind` in a session's meta. A kind this process does not know (a
 * profile an embedder registered in another process) gets the unknown program's: cells typed as
 * written; the markers its integration prints, if any, still end them (see {@link knownProfile}).
 */
export function programProfile(kind: ProgramKind): ProgramProfile {
  return knownProfile(kind) ?? OTHER;
}

/**
 * The profile `--program=NAME` asks for.
 *
 * @throws {UsageError} naming the known ones, when there is none by that name
 */
export function chosenProfile(kind: string): ProgramProfile {
  const profile = knownProfile(kind);
  if (profile) return profile;
  const names = [...allPrograms().map((p) => p.kind), OTHER_KIND].join(", ");
  throw new UsageError(`unknown program '${kind}' (--program); known: ${names}`);
}

/**
 * The profile of a session's command line, read as the shell reads it (see
 * `command_line.ts`): `env PS1='K> ' bash --norc` → bash, `uv run ipython` → ipython,
 * `python3 -m pdb prog.py` → pdb. A program given a script to run (`python3 app.py`) is not at
 * its prompt: it gets none, unless its profile says it stays interactive (gdb, pdb).
 */
export function profileOf(command: string): ProgramProfile {
  const found = programWords(command);
  if (!found) return OTHER;
  const programs = allPrograms();
  let profile = programs.find((p) => p.names.test(found.name));
  let args = found.args;
  const module = moduleOf(args);
  if (module) {
    // `python3 -m pdb prog.py`: the module's profile, given the words after its name.
    if (!profile || profile.kind !== "python") return OTHER;
    profile = programs.find((p) => p.modules?.test(module.name));
    args = module.args;
  }
  if (!profile) return OTHER;
  if (profile.interactive) return profile.interactive(args) ? profile : OTHER;
  return profile.interactiveWithArguments || onlyOptions(args) ? profile : OTHER;
}

/** `-m NAME …` among a python's options: the module and the words after it. */
function moduleOf(args: readonly string[]): { name: string; args: string[] } | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith("-") || arg === "-") return undefined; // a script: no module
    if (arg === "-m") {
      const name = args[i + 1];
      return name === undefined ? undefined : { name, args: args.slice(i + 2) };
    }
    if (arg.startsWith("-m")) return { name: arg.slice(2), args: args.slice(i + 1) };
    if (arg === "-c") return undefined;
    if (arg === "-X" || arg === "-W") i++;
  }
  return undefined;
}

/** The program family of a session's command line: see {@link profileOf}. */
export function programKind(command: string): ProgramKind {
  return profileOf(command).kind;
}

/**
 * What a `k` verb is: one {@link Verb} object per file in this directory, holding its help, its
 * flags and its action. `k help` is rendered from these objects, so a verb cannot exist without
 * its help. Types only: importing this module runs nothing.
 * @module
 */

import type { Kernel } from "../../mod.ts";
import type { ParsedFlags } from "./args.ts";

/** One flag a verb (or `k` itself, before the verb) accepts, as a parseArgs-style spec. */
export interface Flag {
  /** The long name without its dashes: `timeout` is `--timeout`. */
  name: string;
  /** The one-letter short form without its dash: `t` is `-t`. */
  short?: string;
  /**
   * What follows the flag: nothing (`boolean`), a word (`string`), or a positive integer
   * (`integer`, checked once parsing is done, in the order the flags are listed here, with
   * the message `-t must be a positive integer`).
   */
  type: "boolean" | "string" | "integer";
  /** What the flag does, in a few words. */
  description: string;
  /** Accepted but left out of the usage line (poll's `-j`: poll always prints JSON). */
  hidden?: boolean;
}

/**
 * How the words after the verb are read before {@link Verb.run} sees them:
 * - `flags`: known flags anywhere before `--`; an unknown `-x` before the first positional is
 *   an error, after it a positional.
 * - `code`: the same, but from the second positional on (session, then code) every word is
 *   code: `k run w ls -t /tmp` runs `ls -t /tmp`.
 * - `raw`: not parsed; the verb reads {@link VerbContext.argv} itself (`new`, `help`, `version`).
 */
export type ArgumentStyle = "flags" | "code" | "raw";

/**
 * Whether a verb's output, errors included, is JSON: `always` (fire, poll), `flag` (with `-j`:
 * run, ls, status, history) or `never` (errors then go to stderr as `k: …`).
 */
export type JsonOutput = "always" | "flag" | "never";

/** What a verb's action gets. */
export interface VerbContext {
  /** The kernel this call drives (K_HOME, K_SOCKET). */
  kernel: Kernel;
  /** The definition being run (its `usage` for messages). */
  verb: Verb;
  /** Every verb, in `k help` order (for `k help`). */
  verbs: readonly Verb[];
  /** The words after the verb, exactly as given. */
  argv: readonly string[];
  /** The flags found in {@link argv} (none for `raw` verbs). */
  flags: ParsedFlags;
  /** The other words (for `raw` verbs: {@link argv} itself). */
  positionals: string[];
}

/** One `k` verb: its help, its flags and its action. */
export interface Verb {
  /** The verb as typed: `run`. */
  name: string;
  /** Other names that run it (`await` for run); listed in its help as `alias:`. */
  aliases?: readonly string[];
  /** One line, exactly as in the README's command table. */
  usage: string;
  /** What it does, in the overview (and as the first sentence of its help). */
  summary: string;
  /** More lines for `k help <verb>`, if the summary is not enough. */
  details?: readonly string[];
  /** Example command lines, at least one. */
  examples: readonly string[];
  /** The flags it accepts. */
  flags: readonly Flag[];
  /** How its arguments are read. */
  args: ArgumentStyle;
  /** Whether it speaks JSON (which decides how its errors are printed). */
  json: JsonOutput;
  /**
   * Does what was asked and prints the result; resolves to the exit status. Throws a
   * `KttyError` (often a `UsageError`) for the caller to print. A verb whose code is heavy
   * loads it here with `await import("./….ts")` (see `verbs.ts`).
   */
  run(ctx: VerbContext): Promise<number>;
}

/**
 * Reading a verb's arguments: its flags by the verb's {@link Flag} spec, `[session] <code…>`
 * lists, code from stdin, and whether an error should be printed as JSON. Only parsing: no
 * kernel calls, no output.
 * @module
 */

import { UsageError } from "../../mod.ts";
import type { ArgumentStyle, Flag } from "./verb.ts";

/** The flags found on a command line, by long name. */
export class ParsedFlags {
  #values: Map<string, string>;
  #integers: Map<string, number>;

  /**
   * @param values each flag found, by long name: its value, `""` for a boolean flag
   * @param integers the values of the `integer` flags found, checked
   */
  constructor(values = new Map<string, string>(), integers = new Map<string, number>()) {
    this.#values = values;
    this.#integers = integers;
  }

  /** Whether `--name` (or its short form) was given. */
  has(name: string): boolean {
    return this.#values.has(name);
  }

  /** The value of string flag `--name`, if given. */
  string(name: string): string | undefined {
    return this.#values.get(name);
  }

  /** The value of integer flag `--name`, if given (already checked to be positive). */
  integer(name: string): number | undefined {
    return this.#integers.get(name);
  }
}

/** A verb's arguments: its flags and the other words. */
export interface ParsedArgs {
  /** The flags found. */
  flags: ParsedFlags;
  /** The other words, in order. */
  positionals: string[];
}

/** How a flag is written in messages about its value: its short form if it has one. */
export function flagLabel(flag: Flag): string {
  return flag.short ? `-${flag.short}` : `--${flag.name}`;
}

/** The flag `word` names (`--timeout`, `-t`), ignoring any `=value`; undefined if none. */
export function findFlag(flags: readonly Flag[], word: string): Flag | undefined {
  const eq = word.indexOf("=");
  const name = eq > 0 ? word.slice(0, eq) : word;
  if (name.startsWith("--")) return flags.find((f) => `--${f.name}` === name);
  if (name.length === 2 && name.startsWith("-")) return flags.find((f) => f.short === name[1]);
  return undefined;
}

/**
 * Splits `args` into flags and positionals by `spec` (see {@link ArgumentStyle}); a value flag
 * takes the next word, `=value`, or digits right after its short form (`-t5`). Then checks the
 * `integer` flags, in the order `spec` lists them.
 */
export function parseArguments(
  args: readonly string[],
  spec: readonly Flag[],
  style: Exclude<ArgumentStyle, "raw">,
): ParsedArgs {
  const values = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (style === "code" && positionals.length >= 2) {
      positionals.push(arg);
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      const eq = arg.indexOf("=");
      let flag = findFlag(spec, arg);
      let value: string | undefined = eq > 0 ? arg.slice(eq + 1) : undefined;
      const attached = /^-([A-Za-z])(\d+)$/.exec(arg);
      if (attached) {
        const short = findFlag(spec, `-${attached[1]}`);
        if (short && short.type !== "boolean") [flag, value] = [short, attached[2]];
      }
      if (flag) {
        if (flag.type !== "boolean") {
          if (value === undefined) {
            value = args[++i];
            if (value === undefined) throw new UsageError(`--${flag.name} needs a value`);
          }
        } else if (value !== undefined) throw new UsageError(`--${flag.name} takes no value`);
        values.set(flag.name, value ?? "");
        continue;
      }
      if (positionals.length === 0) throw new UsageError(`unknown flag '${arg}'`);
    }
    positionals.push(arg);
  }
  const integers = new Map<string, number>();
  for (const flag of spec) {
    const value = values.get(flag.name);
    if (flag.type !== "integer" || value === undefined) continue;
    if (!/^[1-9][0-9]*$/.test(value)) {
      throw new UsageError(`${flagLabel(flag)} must be a positive integer`);
    }
    integers.set(flag.name, Number(value));
  }
  return { flags: new ParsedFlags(values, integers), positionals };
}

/**
 * Whether `--json` stands among the leading flags (before the code; anywhere for a verb that
 * takes no code, `style` "flags"), so that an error met while parsing or running is printed as
 * JSON too; never throws.
 */
export function wantsJson(
  args: readonly string[],
  spec: readonly Flag[],
  style?: ArgumentStyle,
): boolean {
  const maxWords = style === "flags" ? Infinity : 2;
  let words = 0;
  for (let i = 0; i < args.length && words < maxWords; i++) {
    const arg = args[i] as string;
    if (arg === "--") break;
    const flag = arg.includes("=") ? undefined : findFlag(spec, arg);
    if (flag?.name === "json") return true;
    if (flag && flag.type !== "boolean") i++;
    else if (!arg.startsWith("-")) words++;
  }
  return false;
}

/** Whether `--help` or `-h` stands among the leading flags: in `k run w df -h` it is code. */
export function asksForHelp(args: readonly string[]): boolean {
  const firstWord = args.findIndex((a) => a === "--" || !a.startsWith("-"));
  const leading = firstWord < 0 ? args : args.slice(0, firstWord);
  return leading.includes("--help") || leading.includes("-h");
}

/** A run/fire/send/notify argument list, `[session] <text…>`: one word is the text. */
export function sessionAndText(
  positionals: readonly string[],
  what: string,
): { session?: string; text: string } {
  if (positionals.length === 0) throw new UsageError(`missing ${what}`);
  if (positionals.length === 1) return { text: positionals[0] as string };
  return { session: positionals[0], text: positionals.slice(1).join(" ") };
}

/**
 * What `-` reads in place of standard input, when `k` runs on a remote host for `k --host`: its
 * standard input is then the SSH channel, which carried the arguments and stays open to tell
 * the remote `k` that its caller is still there (src/artifact.ts).
 */
let givenStdin: string | undefined;

/** Makes `-` read `text` instead of standard input (see {@link codeFrom}). */
export function setStdinText(text: string): void {
  givenStdin = text;
}

/** The code of run/fire: `-` reads it from standard input. */
export async function codeFrom(text: string): Promise<string> {
  if (text !== "-") return text;
  if (givenStdin !== undefined) return givenStdin;
  return await new Response(Deno.stdin.readable).text();
}

/**
 * The help `k` prints, rendered from the verb definitions: `k help` (every verb's usage and
 * summary) and `k help <verb>` / `k <verb> --help` (its usage, aliases, details and examples).
 * @module
 */

import { VERSION } from "../../mod.ts";
import type { Verb } from "./verb.ts";

/** Where the summaries start in the overview; a longer usage gets a line of its own. */
const USAGE_COLUMN = 46;

/** `k help`: every verb's usage and summary, then what holds for all of them. */
export function overview(verbs: readonly Verb[]): string {
  const lines = [`k — persistent terminal sessions for agents (ktty ${VERSION})`, ""];
  for (const { usage, summary } of verbs) {
    if (usage.length <= USAGE_COLUMN) lines.push(`  ${usage.padEnd(USAGE_COLUMN)}  ${summary}`);
    else lines.push(`  ${usage}`, `  ${"".padEnd(USAGE_COLUMN)}  ${summary}`);
  }
  lines.push(
    "",
    "Session: the argument, else $K_SESSION, else the only live one.",
    "-o N: output budget in characters (default $K_MAX_OUTPUT, else 50000); past it the head and",
    'tail are kept, "truncated":true, and "output_file" holds the whole output.',
    "Environment: K_HOME (state dir), K_SOCKET (tmux socket, default ktty), K_MAX_OUTPUT.",
    "k --host <target> <verb> … (or K_HOST): the verb on that host over SSH (k host setup first).",
    "k help <verb> (or k <verb> --help): one verb's usage with an example.",
  );
  return lines.join("\n");
}

/** `k help <verb>`: its usage, its aliases, what it does, and examples. */
export function verbHelp(verb: Verb): string {
  const aliases = verb.aliases ?? [];
  return [
    `usage: ${verb.usage}`,
    ...(aliases.length ? [`alias: ${aliases.join(", ")}`] : []),
    "",
    `${verb.summary}.`,
    ...(verb.details ?? []),
    "",
    "example:",
    ...verb.examples.map((e) => `  ${e}`),
  ].join("\n");
}

/**
 * `k help [verb]`: the overview of every verb, or one verb's usage and examples, rendered from
 * the verb definitions (`help_text.ts`).
 * @module
 */

import { UsageError } from "../../mod.ts";
import { overview, verbHelp } from "./help_text.ts";
import { EXIT_OK, printText } from "./output.ts";
import type { Verb } from "./verb.ts";

/** The verb that `name` names, by its name or an alias; undefined if none does. */
export function findVerb(verbs: readonly Verb[], name: string): Verb | undefined {
  return verbs.find((v) => v.name === name || (v.aliases ?? []).includes(name));
}

/** `k help [verb]` */
export const help: Verb = {
  name: "help",
  usage: "k help [verb]",
  summary: "this overview, or a verb's usage and example",
  examples: ["k help run", "k run --help"],
  flags: [],
  args: "raw",
  json: "never",
  run({ verb, verbs, argv }) {
    if (argv.length > 1) throw new UsageError(`usage: ${verb.usage}`);
    const [asked] = argv[0] === "--help" || argv[0] === "-h" ? [verb.name] : argv;
    if (asked === undefined) {
      printText(overview(verbs));
      return Promise.resolve(EXIT_OK);
    }
    const found = findVerb(verbs, asked);
    if (found === undefined) throw new UsageError(`unknown verb '${asked}'; see k help`);
    printText(verbHelp(found));
    return Promise.resolve(EXIT_OK);
  },
};

/**
 * `k`'s main: reads the options before the verb, finds the verb in the registry, answers
 * `--help` from its definition, parses its arguments, runs it, and turns whatever it throws into
 * one line of output and an exit status (`output.ts`).
 * @module
 */

import { Kernel } from "../../mod.ts";
import { asksForHelp, findFlag, parseArguments, ParsedFlags, wantsJson } from "./args.ts";
import { findVerb } from "./help.ts";
import { overview, verbHelp } from "./help_text.ts";
import { EXIT_FAILURE, EXIT_OK, printError, printText, reportError } from "./output.ts";
import type { Flag, VerbContext } from "./verb.ts";
import { VERBS } from "./verbs.ts";
import { HOST_NEEDED, loadSource, takeHosts } from "../start.ts";

/**
 * Options that stand before the verb and apply to whatever verb follows. `--help` prints the
 * overview and `--version` runs the version verb with the words after it; `--host` (repeatable,
 * else `K_HOST`) runs the verb on remote hosts (src/remote/cli.ts).
 */
export const GLOBAL_FLAGS: readonly Flag[] = [
  { name: "help", short: "h", type: "boolean", description: "the overview of every verb" },
  { name: "version", short: "V", type: "boolean", description: "the version (k version)" },
  {
    name: "host",
    short: "H",
    type: "string",
    description: "run on this host over SSH (an ssh alias, user@host, ssh://user@host:port); " +
      "repeat for k ls; default $K_HOST",
  },
];

/**
 * Runs `k` with `argv`; resolves to the exit status.
 *
 * @param argv the words after `k`
 * @returns 0 when it did what was asked, else 1 (or the verb's own status: attach, a signal)
 */
export async function main(argv: string[]): Promise<number> {
  let at = 0;
  let verbName: string | undefined;
  const hosts: string[] = [];
  for (; at < argv.length; at++) {
    const word = argv[at] as string;
    if (word.startsWith("--host=")) {
      hosts.push(word.slice("--host=".length));
      continue;
    }
    const flag = word.includes("=") ? undefined : findFlag(GLOBAL_FLAGS, word);
    if (flag === undefined) break;
    if (flag.name === "host") {
      const value = argv[++at];
      if (value === undefined) {
        printError(HOST_NEEDED, false);
        return EXIT_FAILURE;
      }
      hosts.push(value);
      continue;
    }
    if (flag.name === "help") {
      printText(overview(VERBS));
      return EXIT_OK;
    }
    if (flag.name === "version") {
      verbName = "version";
      break;
    }
  }
  verbName ??= argv[at];
  if (verbName === undefined) {
    printText(overview(VERBS));
    return EXIT_FAILURE;
  }
  const verb = findVerb(VERBS, verbName);
  if (verb === undefined) {
    printError(`unknown verb '${argv[at]}'; see k --help`, false);
    return EXIT_FAILURE;
  }
  let rest = argv.slice(at + 1);
  const asJson = verb.json === "always" ||
    (verb.json === "flag" && wantsJson(rest, verb.flags, verb.args));
  if (verb.name !== "help" && asksForHelp(rest)) {
    printText(verbHelp(verb));
    return EXIT_OK;
  }
  try {
    if (verb.name === "ls") {
      // k ls --host a --host b: the fleet's hosts may follow the verb too.
      const taken = takeHosts(rest);
      hosts.push(...taken.hosts);
      rest = taken.rest;
    }
    const { flags, positionals } = verb.args === "raw"
      ? { flags: new ParsedFlags(), positionals: [...rest] }
      : parseArguments(rest, verb.flags, verb.args);
    // K_HOST leaves the verbs that only run here (host setup, mcp, help) here.
    const here = ["host", "mcp", "help"].includes(verb.name) && hosts.length === 0;
    if (!here && (hosts.length > 0 || Deno.env.get("K_HOST")?.trim())) {
      type Remote = typeof import("../remote/cli.ts");
      const { remoteMain } = await loadSource<Remote>("./remote/cli.ts", "k --host");
      return await remoteMain(hosts, { verb: verb.name, rest, positionals, asJson });
    }
    const kernel = new Kernel();
    const ctx: VerbContext = { kernel, verb, verbs: VERBS, argv: rest, flags, positionals };
    return await verb.run(ctx);
  } catch (e) {
    return reportError(e, asJson);
  }
}

/**
 * `k new`: start a program in a session and wait for its first prompt. Its arguments are read
 * here, not by the flag parser: everything after the name is the program's command line.
 * @module
 */

import { UsageError } from "../../mod.ts";
import { EXIT_OK, printText } from "./output.ts";
import type { Verb } from "./verb.ts";

/** `k new <session> [cmd…] [--prompt=STR|./hook|repeat]` */
export const newVerb: Verb = {
  name: "new",
  usage: "k new <session> [cmd…] [--prompt=STR|./hook|repeat]",
  summary: "start a program (default bash) in a session",
  details: [
    "Returns once the program shows its first prompt. On a live session: OK s (alive), or",
    "what is wrong with it and the repair (a shell without ktty's markers: k int s).",
    "--prompt: STR = exact mode (a line equal to STR ends a cell), ./hook = hook mode,",
    "repeat = repeat mode; default: shell integration for bash, zsh, sh, python3, node.",
    "Everything after the name is the program's command line, run through the shell.",
  ],
  examples: ["k new work bash", "k new py python3", 'k new g gdb -q ./a.out --prompt="(gdb)"'],
  flags: [{
    name: "prompt",
    type: "string",
    description: "how a cell's end is seen: STR (exact), ./hook (hook) or repeat",
  }],
  args: "raw",
  json: "never",
  async run({ kernel, argv }) {
    // `--prompt=…` may stand anywhere; `--prompt X` and `--` only before the name.
    let prompt: string | undefined;
    const rest: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i] as string;
      if (arg === "--" && rest.length === 0) {
        rest.push(...argv.slice(i + 1));
        break;
      }
      if (arg.startsWith("--prompt=")) prompt = arg.slice("--prompt=".length);
      else if (arg === "--prompt" && rest.length === 0) {
        prompt = argv[++i];
        if (prompt === undefined) throw new UsageError("--prompt needs a value");
      } else rest.push(arg);
    }
    const [name, ...command] = rest;
    if (name === undefined) throw new UsageError("missing session name; k new <session> [cmd…]");
    if (name.startsWith("-") && argv[0] !== "--") throw new UsageError(`unknown flag '${name}'`);
    const result = await kernel.create(name, { command: command.join(" ") || undefined, prompt });
    const { mode, fallback } = result;
    const note = fallback ? `; shell integration failed: ${fallback}` : "";
    const alive = result.repair ? `alive; ${result.repair}` : "alive";
    printText(`OK ${name} (${result.created ? `${mode} mode${note}` : alive})`);
    return EXIT_OK;
  },
};

/**
 * `k new`: start a program in a session and wait for its first prompt. Its arguments are read
 * here, not by the flag parser: `k`'s flags stand before the name, and everything after the name
 * is the program's command line (except `--prompt=…`, which may stand anywhere, as it always
 * could).
 * @module
 */

import { UsageError } from "../../mod.ts";
import { parseAssignments } from "../session/environment.ts";
import { EXIT_OK, printJson, printText } from "./output.ts";
import type { Verb } from "./verb.ts";

/** What the words after `new` say. */
interface NewArguments {
  name: string;
  command: string[];
  prompt?: string | RegExp;
  program?: string;
  env: string[];
  agentDefaults: boolean;
  cwd?: string;
  json: boolean;
}

/**
 * Reads `[-j] [--env K=V]… [--no-agent-defaults] [--prompt X] [--prompt-re RE] [--program NAME]
 * [--cwd DIR] [--] <session> [cmd…]`.
 */
export function parseNewArguments(argv: readonly string[]): NewArguments {
  const parsed: Omit<NewArguments, "name"> = {
    command: [],
    env: [],
    agentDefaults: true,
    json: false,
  };
  let i = 0;
  const valueOf = (flag: string, arg: string): string => {
    if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    return value;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-")) break;
    if (arg === "--env" || arg.startsWith("--env=")) parsed.env.push(valueOf("--env", arg));
    else if (arg === "--prompt" || arg.startsWith("--prompt=")) {
      parsed.prompt = valueOf("--prompt", arg);
    } else if (arg === "--program" || arg.startsWith("--program=")) {
      parsed.program = valueOf("--program", arg);
    } else if (arg === "--prompt-re" || arg.startsWith("--prompt-re=")) {
      parsed.prompt = promptPattern(valueOf("--prompt-re", arg));
    } else if (arg === "--cwd" || arg.startsWith("--cwd=")) parsed.cwd = valueOf("--cwd", arg);
    else if (arg === "--no-agent-defaults") parsed.agentDefaults = false;
    else if (arg === "-j" || arg === "--json") parsed.json = true;
    else throw new UsageError(`unknown flag '${arg}'; k new [flags] <session> [cmd…]`);
  }
  const name = argv[i];
  if (name === undefined) throw new UsageError("missing session name; k new <session> [cmd…]");
  for (const arg of argv.slice(i + 1)) {
    if (arg.startsWith("--prompt=")) parsed.prompt = arg.slice("--prompt=".length);
    else parsed.command.push(arg);
  }
  return { name, ...parsed };
}

/** A `--prompt-re` value as a regular expression; a clear error when it is none. */
function promptPattern(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (e) {
    throw new UsageError(
      `--prompt-re '${source}' is no regular expression: ${(e as Error).message}`,
    );
  }
}

/**
 * `k new [-j] [--env K=V]… [--no-agent-defaults] [--program=NAME] [--prompt-re=RE] [--cwd=DIR]
 * <session> [cmd…] [--prompt=STR|./hook|repeat]`
 */
export const newVerb: Verb = {
  name: "new",
  usage:
    "k new [-j] [--env K=V]… [--no-agent-defaults] [--program=NAME] [--prompt-re=RE] [--cwd=DIR] <session> [cmd…] [--prompt=STR|./hook|repeat]",
  summary: "start a program (default bash) in a session",
  details: [
    "Returns once the program shows its first prompt. On a live session: OK s (alive), or",
    "what is wrong with it and the repair (a shell without ktty's markers: k int s).",
    "--prompt: STR = exact mode (a line equal to STR ends a cell), ./hook = hook mode,",
    "repeat = repeat mode; default: the program's profile (integration for bash, zsh, sh,",
    "python3, ipython, pdb, node, …: README, Programs), recognised past env, uv run, exec, …;",
    "--program=NAME picks the profile when the command line hides it (a wrapper, docker).",
    "--prompt-re RE: exact mode, the prompt a regular expression (counters, a /).",
    "--cwd DIR: the program's working directory (default: k's own).",
    "-j: what new did as JSON (created, command, program, mode; repair on an unhealthy one).",
    "Everything after the name is the program's command line, run through the shell;",
    "k's flags stand before the name (--prompt=… may also follow the command).",
    "Environment: the caller's (less TERM, TMUX, COLUMNS, LINES, PWD), K_SESSION, K_HOME,",
    "K_SOCKET, the agent defaults where unset (PAGER=cat, GIT_EDITOR=true, …: see README),",
    "then each --env K=V.",
  ],
  examples: [
    "k new work bash",
    "k new py python3",
    'k new g gdb -q ./a.out --prompt="(gdb)"',
    "k new --env DEBUG=1 --env PAGER=less dev",
    "k new --program=ipython nb ./my-ipython-wrapper",
  ],
  flags: [{
    name: "json",
    short: "j",
    type: "boolean",
    description: "print what new did as JSON",
  }, {
    name: "env",
    type: "string",
    description: "K=V: add or override a variable in the session (repeatable)",
  }, {
    name: "no-agent-defaults",
    type: "boolean",
    description: "leave out the agent defaults (pagers, git editor, prompts)",
  }, {
    name: "program",
    type: "string",
    description: "NAME: the program's profile (ipython, pdb, …), when not recognised",
  }, {
    name: "prompt",
    type: "string",
    description: "how a cell's end is seen: STR (exact), ./hook (hook) or repeat",
  }, {
    name: "prompt-re",
    type: "string",
    description: "exact mode with a prompt matched by this regular expression",
  }, {
    name: "cwd",
    type: "string",
    description: "DIR: the program's working directory (default: k's own)",
  }],
  args: "raw",
  json: "flag",
  async run({ kernel, argv }) {
    const args = parseNewArguments(argv);
    const result = await kernel.create(args.name, {
      command: args.command.join(" ") || undefined,
      prompt: args.prompt,
      ...(args.program !== undefined ? { program: args.program } : {}),
      env: parseAssignments(args.env),
      agentDefaults: args.agentDefaults,
      ...(args.cwd !== undefined ? { cwd: args.cwd } : {}),
    });
    if (args.json) {
      printJson(result);
      return EXIT_OK;
    }
    const { mode, fallback } = result;
    const note = fallback ? `; shell integration failed: ${fallback}` : "";
    const alive = result.repair ? `alive; ${result.repair}` : "alive";
    printText(`OK ${args.name} (${result.created ? `${mode} mode${note}` : alive})`);
    return EXIT_OK;
  },
};

/**
 * A session's environment: the caller's, made safe for agents. The program does not get the
 * tmux server's environment (the first session's caller's, frozen when the server started): it
 * gets the environment of the process that ran `new`, less what describes the caller's own
 * terminal, plus the session's own `K_*`, the agent defaults and the caller's explicit `env`.
 *
 * Values never travel in argv (an API key would show in `ps`): they go through a private file in
 * the session's directory that a fixed launcher reads and removes before it starts the program.
 * @module
 */

import { UsageError } from "../errors.ts";
import { shellQuote } from "../tmux.ts";

/**
 * Variables no session inherits from its caller, because they describe the caller's terminal or
 * tmux, not the session's: tmux sets the session's own `TERM`, `TERM_PROGRAM`, `TMUX` and
 * `TMUX_PANE` in the pane (a cell's `tmux` reaches ktty's server, where the cell really runs —
 * never the caller's); `COLUMNS`/`LINES` would make programs wrap at the caller's width; `PWD`
 * and `OLDPWD` name the caller's directories, not the session's.
 */
export const NOT_INHERITED: readonly string[] = [
  "TERM",
  "TERM_PROGRAM",
  "TERM_PROGRAM_VERSION",
  "TMUX",
  "TMUX_PANE",
  "COLUMNS",
  "LINES",
  "PWD",
  "OLDPWD",
];

/** What tmux sets in the pane and the launcher keeps (the only variables not from the file). */
const FROM_TMUX = ["TERM", "TERM_PROGRAM", "TERM_PROGRAM_VERSION", "TMUX", "TMUX_PANE"] as const;

/**
 * The agent defaults: each makes a common tool fail or go on where it would otherwise wait for a
 * person (a pager, an editor, a password prompt, a dialog), applied only where the caller has not
 * set the variable. The README lists them with the same reasons.
 */
export const AGENT_DEFAULTS: Readonly<Record<string, string>> = {
  /** Programs that page their output print it instead (man, journalctl, git, gh, psql, aws…). */
  PAGER: "cat",
  GIT_PAGER: "cat",
  MANPAGER: "cat",
  GH_PAGER: "cat",
  SYSTEMD_PAGER: "cat",
  PSQL_PAGER: "cat",
  /** The AWS CLI pages unless this is empty. */
  AWS_PAGER: "",
  /**
   * git opens no editor: a commit with no `-m` fails (empty message), `--amend` and `rebase
   * --continue` keep the message, `rebase -i` takes its plan as proposed.
   */
  GIT_EDITOR: "true",
  /** A merge takes its default message instead of opening an editor. */
  GIT_MERGE_AUTOEDIT: "no",
  /** git fails instead of asking for a user name or password on the terminal. */
  GIT_TERMINAL_PROMPT: "0",
  /** apt/dpkg take the default answer instead of opening a configuration dialog. */
  DEBIAN_FRONTEND: "noninteractive",
  /**
   * prompt_toolkit (ipython) asks the terminal where the cursor is at every prompt; the reply
   * arrives as input, where it could meet a cell's code. It lays its prompt out without asking.
   */
  PROMPT_TOOLKIT_NO_CPR: "1",
};

/** The variables that choose a locale's character set, in the order programs read them. */
const LOCALE_VARIABLES = ["LC_ALL", "LC_CTYPE", "LANG"] as const;

/**
 * The locale of a session whose caller chose none (a CI runner, a service, `env -i`): the pane
 * is a UTF-8 terminal, and in the C locale bash counts `é` as two characters, python's `input()`
 * and readline mangle it and many programs print `?` for it. glibc has `C.UTF-8` built in
 * (Debian 12: 2.36), so it needs no generated locale. An agent default, so
 * `--no-agent-defaults` leaves the locale unset too.
 */
const DEFAULT_LOCALE = "C.UTF-8";

/** What a session's environment is made of. */
export interface EnvironmentSources {
  /** The caller's environment (the process that runs `new`). */
  caller: Record<string, string>;
  /** Whether to add {@link AGENT_DEFAULTS} where the caller left them unset. */
  agentDefaults: boolean;
  /** Variables ktty sets for the session itself (`K_SESSION`, `K_HOME`, history files…). */
  own: Record<string, string>;
  /** The caller's explicit additions and overrides (`k new --env K=V`): they win over all. */
  explicit: Record<string, string>;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether `name` is a variable name a POSIX shell can carry. */
export function isVariableName(name: string): boolean {
  return NAME.test(name);
}

/**
 * Parses `K=V` assignments (`k new --env`); a bad name is a usage error.
 *
 * @param assignments `NAME=value` strings
 * @returns the variables, later ones winning
 */
export function parseAssignments(assignments: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const assignment of assignments) {
    const eq = assignment.indexOf("=");
    const name = eq < 0 ? assignment : assignment.slice(0, eq);
    if (eq < 0 || !isVariableName(name)) {
      throw new UsageError(`--env takes NAME=value with NAME a variable name; got '${assignment}'`);
    }
    env[name] = assignment.slice(eq + 1);
  }
  return env;
}

/**
 * The login shell of user `uid` in `passwd` (the text of `/etc/passwd`), if it names one by an
 * absolute path.
 */
export function passwdShell(passwd: string, uid: number): string | undefined {
  for (const line of passwd.split("\n")) {
    const [, , id, , , , shell] = line.split(":");
    if (id === String(uid) && shell?.startsWith("/")) return shell.trim();
  }
  return undefined;
}

/**
 * The shell a session's command line runs through: the caller's `$SHELL` when it is an absolute
 * path, else the user's login shell, as tmux and a login would choose it. A caller started with
 * an empty environment (a CI runner, `env -i`, a service) has no `SHELL`; `/bin/sh` in its place
 * would be dash on Debian, which keeps itself as the pane's process above the program instead of
 * running the program in its place, so `k kill` and `k int` would meet a shell that is not the
 * session's program.
 */
function shellOf(caller: Record<string, string>): string | undefined {
  if (caller.SHELL?.startsWith("/")) return caller.SHELL;
  const uid = Deno.uid();
  if (uid === null) return undefined;
  try {
    return passwdShell(Deno.readTextFileSync("/etc/passwd"), uid);
  } catch {
    return undefined; // no passwd to read: the launcher's /bin/sh
  }
}

/** The session's environment, from its sources (see {@link EnvironmentSources}). */
export function sessionEnvironment(sources: EnvironmentSources): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(sources.caller)) {
    if (isVariableName(name) && !NOT_INHERITED.includes(name)) env[name] = value;
  }
  const shell = shellOf(sources.caller);
  if (shell !== undefined) env.SHELL = shell;
  if (sources.agentDefaults) {
    for (const [name, value] of Object.entries(AGENT_DEFAULTS)) {
      if (!(name in env)) env[name] = value;
    }
    if (!LOCALE_VARIABLES.some((name) => env[name])) env.LANG = DEFAULT_LOCALE;
  }
  for (const source of [sources.own, sources.explicit]) {
    for (const [name, value] of Object.entries(source)) {
      if (!isVariableName(name)) throw new UsageError(`'${name}' is not a variable name`);
      if (FROM_TMUX.includes(name as typeof FROM_TMUX[number])) {
        throw new UsageError(`${name} is set by tmux in the session and cannot be given`);
      }
      env[name] = value;
    }
  }
  return env;
}

/** The file the launcher sources: one `export NAME='value'` per variable. */
export function environmentFile(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => `export ${name}=${shellQuote(value)}\n`)
    .join("");
}

/**
 * The launcher: a fixed script (no input in it) run as `sh -c LAUNCHER <file> <command>`. It
 * starts over from an empty environment keeping only what tmux set for the pane, sources the
 * file, removes it, and runs the command line through the caller's `$SHELL` (as a terminal
 * would; `/bin/sh` if that is not an absolute path to a program), which execs a lone program so
 * the pane's process is the program itself.
 */
const LAUNCHER = `exec env -i ${FROM_TMUX.map((v) => `\${${v}+"${v}=$${v}"}`).join(" ")} ` +
  `/bin/sh -c '. "$0"; rm -f -- "$0"; ` +
  `case \${SHELL-} in /*) if [ -x "$SHELL" ]; then exec "$SHELL" -c "$1"; fi;; esac; ` +
  `exec /bin/sh -c "$1"' "$0" "$1"`;

/**
 * The pane's argv: the launcher, the environment file and the command line.
 *
 * @param file the environment file ({@link environmentFile}), private to the session
 * @param command the program's command line
 */
export function launcherArgv(file: string, command: string): string[] {
  return ["/bin/sh", "-c", LAUNCHER, file, command];
}

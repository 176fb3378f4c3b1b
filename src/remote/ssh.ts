/**
 * How `k --host` reaches a remote host: OpenSSH, as the user configured it, with one shared
 * connection per target (`ControlMaster`), its control socket in ktty's private state dir.
 *
 * Options ktty adds to the user's own configuration (options on the command line win over the
 * config files), each so that a tool call never hangs:
 *
 * - `BatchMode=yes`: no password or passphrase prompt; a key the agent cannot use fails at once.
 *   Host keys stay the user's affair: ktty adds no option that accepts one, so an unknown host
 *   key fails as `StrictHostKeyChecking` says (under `BatchMode`, `ask` fails).
 * - `ConnectTimeout=10`: an unreachable host fails within 10 s.
 * - `ServerAliveInterval=5`, `ServerAliveCountMax=3`: a connection that died silently is
 *   noticed within 15 s.
 * - `ControlMaster=auto`, `ControlPath`, `ControlPersist=10m`: the first call opens a connection
 *   that later calls reuse for ten idle minutes, so a `k run` after the first costs one round
 *   trip more than the remote `k run`.
 *
 * `K_SSH_COMMAND` (shell words, default `ssh`) names the program and any options of the
 * caller's own, as `GIT_SSH_COMMAND` does for git: `K_SSH_COMMAND='ssh -F ~/.ssh/agents'`.
 * @module
 */

import { KttyError, UsageError } from "../errors.ts";
import { shellWords } from "../programs/command_line.ts";
import type { KernelConfig } from "../state.ts";

/** Where ktty's control sockets live in its state dir. */
const CONTROL_DIR = ".ssh";

/** A Unix socket's path holds at most 107 bytes; ssh adds 17 while it makes one. */
const MAX_CONTROL_DIR = 107 - 17 - 1 - 16;

/** The ssh options ktty adds (see the module's comment). */
const OPTIONS: readonly string[] = [
  "BatchMode=yes",
  "ConnectTimeout=10",
  "ServerAliveInterval=5",
  "ServerAliveCountMax=3",
  "ControlMaster=auto",
  "ControlPersist=10m",
];

/**
 * Checks a target as `ssh` takes it: a config alias, `user@host`, or `ssh://user@host:port`. No
 * leading `-` (it would be an option), no blanks or control characters.
 */
export function assertTarget(target: string): void {
  // deno-lint-ignore no-control-regex
  if (target === "" || target.startsWith("-") || /[\s\x00-\x1f\x7f]/.test(target)) {
    throw new UsageError(
      `invalid host '${target}': give what ssh takes (an alias, user@host, ssh://user@host:port)`,
    );
  }
  if (target.length > 255) throw new UsageError("invalid host: longer than 255 characters");
}

/** The hosts of `k --host … --host …` or else `K_HOST` (a list separated by commas or blanks). */
export function hostsFrom(given: readonly string[], env = Deno.env.get("K_HOST")): string[] {
  const hosts = given.length > 0 ? [...given] : (env ?? "").split(/[\s,]+/).filter(Boolean);
  hosts.forEach(assertTarget);
  return [...new Set(hosts)];
}

/** The program and options of `K_SSH_COMMAND`, else `ssh`. */
export function sshProgram(): string[] {
  const given = Deno.env.get("K_SSH_COMMAND")?.trim();
  if (!given) return ["ssh"];
  const words = shellWords(given);
  if (!words || words.length === 0) {
    throw new UsageError(`K_SSH_COMMAND is not a command line: '${given}'`);
  }
  return words;
}

/** A short stable name for a string: 16 hex characters of its SHA-256. */
async function shortHash(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest).subarray(0, 8), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Makes `dir` (mode 0700) if missing and checks it is a private directory of this user. */
function privateDir(dir: string): void {
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const info = Deno.lstatSync(dir);
  const uid = Deno.uid();
  if (!info.isDirectory || (uid !== null && info.uid !== uid) || ((info.mode ?? 0) & 0o077)) {
    throw new KttyError(
      "state_dir_unsafe",
      `${dir} must be a directory of this user with mode 0700 (it holds ssh control sockets)`,
    );
  }
}

/**
 * The control socket of `target` reached through `program`: in the state dir, or, where that
 * path is too long for a Unix socket, in a private directory under /tmp. One connection per
 * target as given and ssh command, since two aliases of one host may carry different settings.
 */
export async function controlPath(
  config: KernelConfig,
  target: string,
  program: readonly string[],
): Promise<string> {
  let dir = `${config.home}/${CONTROL_DIR}`;
  if (new TextEncoder().encode(dir).length > MAX_CONTROL_DIR) {
    dir = `/tmp/ktty-ssh-${Deno.uid() ?? "user"}`;
  }
  privateDir(dir);
  return `${dir}/${await shortHash(JSON.stringify([target, program]))}`;
}

/**
 * Starts ssh running `command` (a fixed shell command line, no input in it) on `target`: its
 * three streams `piped`, or a terminal's (`tty`: inherited, with `ssh -tt`). The one place
 * `k --host` starts ssh; ssh missing is an error that says so.
 */
export async function spawnSsh(
  config: KernelConfig,
  target: string,
  command: string,
  options: { tty?: boolean } = {},
): Promise<Deno.ChildProcess> {
  assertTarget(target);
  const [program, ...prefix] = sshProgram();
  const path = await controlPath(config, target, [program as string, ...prefix]);
  const stdio = options.tty ? "inherit" : "piped";
  try {
    return new Deno.Command(program as string, {
      args: [
        ...prefix,
        options.tty ? "-tt" : "-T",
        ...OPTIONS.flatMap((o) => ["-o", o]),
        "-o",
        `ControlPath=${path}`,
        "--",
        target,
        command,
      ],
      stdin: stdio,
      stdout: stdio,
      stderr: stdio,
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new KttyError("ssh_failed", `${program} not found; install OpenSSH's client`);
    }
    throw e;
  }
}

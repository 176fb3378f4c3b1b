/**
 * Test harness: every test gets its own state dir (K_HOME) and tmux socket (K_SOCKET), a way to
 * run the real `k` CLI as a subprocess and the library in-process, and a cleanup that kills its
 * tmux server and removes its files.
 * @module
 */

import { fileURLToPath } from "node:url";
import { Kernel } from "../mod.ts";

/** The repository root, with a trailing slash. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Absolute path of cli.ts. */
export const CLI = `${ROOT}cli.ts`;
/** Absolute path of monitor.ts. */
export const MONITOR = `${ROOT}monitor.ts`;

/** What a CLI run returned. */
export interface CliResult {
  /** Exit status. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Runs a command to completion with no stdin; returns its status and decoded output. */
export async function runCommand(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  const out = await new Deno.Command(command, {
    args,
    env: options.env,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Removes the socket file tmux leaves behind when its server is killed (the name is a test's). */
export async function removeTmuxSocket(socket: string): Promise<void> {
  const dir = `${Deno.env.get("TMUX_TMPDIR") || "/tmp"}/tmux-${Deno.uid() ?? 0}`;
  await Deno.remove(`${dir}/${socket}`).catch(() => {});
}

/** One test's private world. */
export class World {
  readonly home: string;
  readonly socket: string;
  readonly kernel: Kernel;

  private constructor(home: string, socket: string) {
    this.home = home;
    this.socket = socket;
    this.kernel = new Kernel({ home, socket });
  }

  /** A fresh world: a new temp dir and a socket name no other test uses. */
  static async create(): Promise<World> {
    const base = await Deno.makeTempDir({ prefix: "ktty-test-" });
    const socket = `kt-${crypto.randomUUID().slice(0, 12)}`;
    return new World(`${base}/home`, socket);
  }

  /** The environment the CLI runs with. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return { K_HOME: this.home, K_SOCKET: this.socket, ...extra };
  }

  /** Runs `k <args>` as a real subprocess (in `cwd`, if given: tests never chdir themselves). */
  k(args: string[], extraEnv: Record<string, string> = {}, cwd?: string): Promise<CliResult> {
    return runCommand(Deno.execPath(), ["run", "-A", "--no-lock", CLI, ...args], {
      env: this.env(extraEnv),
      cwd,
    });
  }

  /** Starts `k <args>` as a subprocess and returns at once (to kill it mid-cell). */
  spawnK(args: string[]): Deno.ChildProcess {
    return new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-lock", CLI, ...args],
      env: this.env(),
      stdout: "null",
      stderr: "null",
    }).spawn();
  }

  /** Runs `k <args>` and parses its stdout as one JSON object. */
  async kJson(
    args: string[],
    extraEnv: Record<string, string> = {},
  ): Promise<Record<string, unknown> & { code: number }> {
    const out = await this.k(args, extraEnv);
    let value: unknown;
    try {
      value = JSON.parse(out.stdout);
    } catch {
      throw new Error(`not JSON (exit ${out.code}): ${out.stdout}${out.stderr}`);
    }
    return { ...(value as Record<string, unknown>), code: out.code };
  }

  /** Runs a tmux command on this world's socket (for inspecting and breaking things). */
  tmux(args: string[]): Promise<CliResult> {
    return runCommand("tmux", ["-f", "/dev/null", "-L", this.socket, ...args]);
  }

  /** Path of a session's state dir. */
  sessionDir(name: string): string {
    return `${this.home}/${this.socket}/${name}`;
  }

  /** Kills this world's tmux server and background watchers, removes its files. */
  async dispose(): Promise<void> {
    await this.#killWatchers();
    await this.tmux(["kill-server"]);
    await removeTmuxSocket(this.socket);
    await Deno.remove(this.home.replace(/\/home$/, ""), { recursive: true }).catch(() => {});
  }

  async #killWatchers(): Promise<void> {
    // Any lock left behind names a watcher; end it so no process outlives the test.
    let sessions: Deno.DirEntry[] = [];
    try {
      sessions = await Array.fromAsync(Deno.readDir(`${this.home}/${this.socket}`));
    } catch {
      return;
    }
    for (const s of sessions) {
      try {
        const lock = JSON.parse(await Deno.readTextFile(`${this.sessionDir(s.name)}/lock`));
        if (lock?.owner_kind === "fire" && typeof lock.owner?.pid === "number") {
          Deno.kill(lock.owner.pid, "SIGKILL");
        }
      } catch {
        // no lock, or the watcher is gone
      }
    }
  }
}

/**
 * Defines a test with its own world, bounded in time, cleaned up whatever happens.
 * Resource/op sanitizers are off: the kernel deliberately leaves detached watchers and tmux.
 */
export function worldTest(name: string, fn: (w: World) => Promise<void>, timeoutMs = 60_000): void {
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const w = await World.create();
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          fn(w),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`test timed out after ${timeoutMs} ms`)),
              timeoutMs,
            );
          }),
        ]);
      } finally {
        clearTimeout(timer);
        await w.dispose();
      }
    },
  });
}

/** Waits until `check` returns a truthy value, polling; fails after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

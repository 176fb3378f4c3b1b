/**
 * The test harness, one module for the whole suite.
 *
 * - {@link worldTest}: a test with its own world — state dir (K_HOME) and tmux socket (K_SOCKET) —
 *   bounded in time, optionally skipped, cleaned up whatever happens (its tmux server, every
 *   process that carries its socket, its files, and the test's own {@link Cleanup} steps).
 * - {@link dirTest}: a test that needs no tmux, with its own temp dir (tests/unit/).
 * - {@link World}: the real `k` CLI as a subprocess (`k`, `kJson`, `kStrictJson`, `spawnK`), the
 *   library in-process (`kernel`), tmux on the world's socket, and what the world left on disk
 *   and in /proc (pane log, lock, watchers).
 * - Waiting: {@link waitFor} (a condition, with a deadline), {@link withDeadline} (a promise, with
 *   a deadline), {@link letTimePass} (the only fixed sleep: time that must pass, and why).
 * - Processes: {@link runCommand}, {@link collect}, and /proc inspection ({@link procInfo},
 *   {@link findProcesses}, {@link isRunning}, {@link hasOpen}, {@link isWatching}, {@link followsEvents}).
 * - Assertions on CLI results: {@link parseOneJson}, {@link assertCliError}, {@link assertJsonError}.
 * @module
 */

import { deepEqual, equal, fail, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Kernel } from "../mod.ts";

/** The repository root, with a trailing slash. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Absolute path of cli.ts. */
export const CLI = `${ROOT}cli.ts`;
/** Absolute path of monitor.ts. */
export const MONITOR = `${ROOT}monitor.ts`;
/** A bash session command line with a plain, known prompt (for exact and hook modes). */
export const PLAIN_BASH = "env PS1='K> ' bash --norc --noprofile";

// ---------------------------------------------------------------------------------------------
// Processes

/** What a command (a CLI run) returned. */
export interface CliResult {
  /** Exit status (127: the command could not be started). */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/**
 * Runs a command to completion with no stdin; returns its status and decoded output. With
 * `clearEnv`, the command gets `env` alone, as from `env -i` (a CI runner's bare environment).
 */
export async function runCommand(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; clearEnv?: boolean } = {},
): Promise<CliResult> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(command, {
      args,
      env: options.env,
      clearEnv: options.clearEnv,
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    return { code: 127, stdout: "", stderr: e instanceof Error ? e.message : String(e) };
  }
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Collects a spawned child's result (its stdout and stderr must be piped). */
export async function collect(child: Deno.ChildProcess): Promise<CliResult> {
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** One process as /proc shows it. */
export interface ProcInfo {
  /** The pid. */
  pid: number;
  /** The process group. */
  pgrp: number;
  /** Start time in clock ticks since boot (`/proc/<pid>/stat` field 22). */
  start: string;
  /** State letter (R, S, Z…). */
  state: string;
  /** argv joined with spaces. */
  cmdline: string;
  /** The process's environment (readable for our own processes). */
  environ: Record<string, string>;
}

/** Reads one process from /proc; undefined when it is gone. */
export async function procInfo(pid: number): Promise<ProcInfo | undefined> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cmdline = (await Deno.readTextFile(`/proc/${pid}/cmdline`)).split("\0").join(" ")
      .trim();
    const environ: Record<string, string> = {};
    try {
      for (const kv of (await Deno.readTextFile(`/proc/${pid}/environ`)).split("\0")) {
        const eq = kv.indexOf("=");
        if (eq > 0) environ[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
    } catch {
      // not ours
    }
    return {
      pid,
      state: rest[0] ?? "",
      pgrp: Number(rest[2]),
      start: rest[19] ?? "",
      cmdline,
      environ,
    };
  } catch {
    return undefined;
  }
}

/** Every live (non-zombie) process for which `pred` holds. */
export async function findProcesses(pred: (p: ProcInfo) => boolean): Promise<ProcInfo[]> {
  const out: ProcInfo[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    if (pid === Deno.pid) continue;
    const info = await procInfo(pid);
    if (info && info.state !== "Z" && info.state !== "X" && pred(info)) out.push(info);
  }
  return out;
}

/** True while the process exists and is not a zombie. */
export async function isRunning(pid: number): Promise<boolean> {
  const info = await procInfo(pid);
  return info !== undefined && info.state !== "Z" && info.state !== "X";
}

/** True when process `pid` holds `path` open (one of its /proc/<pid>/fd links points at it). */
export async function hasOpen(pid: number, path: string): Promise<boolean> {
  try {
    for await (const fd of Deno.readDir(`/proc/${pid}/fd`)) {
      const target = await Deno.readLink(`/proc/${pid}/fd/${fd.name}`).catch(() => "");
      if (target === path) return true;
    }
  } catch {
    // gone
  }
  return false;
}

/** True when process `pid` holds an inotify watch on `path` (a `Deno.watchFs` of it). */
export async function isWatching(pid: number, path: string): Promise<boolean> {
  let ino: number | null;
  try {
    ino = (await Deno.stat(path)).ino;
  } catch {
    return false;
  }
  if (ino === null) return false;
  const wanted = ` ino:${ino.toString(16)} `;
  try {
    for await (const fd of Deno.readDir(`/proc/${pid}/fd`)) {
      const target = await Deno.readLink(`/proc/${pid}/fd/${fd.name}`).catch(() => "");
      if (target !== "anon_inode:inotify") continue;
      const info = await Deno.readTextFile(`/proc/${pid}/fdinfo/${fd.name}`).catch(() => "");
      if (info.includes(wanted)) return true;
    }
  } catch {
    // gone
  }
  return false;
}

/**
 * True when process `pid` follows a session's event log: holds it open, or (no log yet) watches
 * the session's directory for it to appear.
 */
export async function followsEvents(pid: number, sessionDir: string): Promise<boolean> {
  return await hasOpen(pid, `${sessionDir}/events.jsonl`) || await isWatching(pid, sessionDir);
}

// ---------------------------------------------------------------------------------------------
// Waiting

/** Raised by {@link withDeadline} when the promise did not settle in time. */
export class DeadlineError extends Error {}

/** `promise`, or a {@link DeadlineError} naming `what` once `ms` have passed without a result. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineError(`${what} after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until `check` gives a truthy value, polling every `everyMs`; fails with `what` (and the
 * last value or error `check` gave) after `timeoutMs`. A check that throws is retried.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false | null>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (true) {
    try {
      const value = await check();
      if (value) return value;
      last = value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${show(last)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Lets `ms` pass. The suite's only fixed sleep, for when there is nothing to wait for: to show
 * that something does NOT happen for a while, to space out timestamps, to stagger a race. `why`
 * says which (it is for the reader).
 */
export function letTimePass(ms: number, _why: string): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `fn` and returns its value with how long it took. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - start };
}

// ---------------------------------------------------------------------------------------------
// Worlds

/** A lock file as the tests read it (the fields the SPEC promises). */
export interface LockFile {
  cell_id: string;
  offset: number;
  owner: { pid: number; start: string };
  owner_kind: string;
  [key: string]: unknown;
}

/** One test's private world. */
export class World {
  /** K_HOME. */
  readonly home: string;
  /** K_SOCKET. */
  readonly socket: string;
  /** The library, in-process, on this world. */
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

  /** The world's base temp dir (K_HOME's parent, which the world owns). */
  get base(): string {
    return this.home.replace(/\/home$/, "");
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

  /** Runs `k <args>` with raw stdout bytes, checking they are valid UTF-8 holding one JSON object. */
  async kStrictJson(
    args: string[],
    extraEnv: Record<string, string> = {},
  ): Promise<Record<string, unknown> & { code: number; stderr: string }> {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-lock", CLI, ...args],
      env: this.env(extraEnv),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    let stdout: string;
    try {
      stdout = new TextDecoder("utf-8", { fatal: true }).decode(out.stdout);
    } catch {
      fail(`k ${args[0]}: stdout is not valid UTF-8`);
    }
    const stderr = new TextDecoder().decode(out.stderr);
    const value = parseOneJson({ code: out.code, stdout, stderr }, `k ${args[0]}`);
    return { ...value, code: out.code, stderr };
  }

  /** Starts `k <args>` and returns at once (to kill it mid-cell); {@link collect} reads it. */
  spawnK(args: string[], extraEnv: Record<string, string> = {}): Deno.ChildProcess {
    return this.#spawn(CLI, args, "piped", extraEnv);
  }

  /** Runs `km <args>` as a real subprocess, to its end. */
  km(args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
    return runCommand(Deno.execPath(), ["run", "-A", "--no-lock", MONITOR, ...args], {
      env: this.env(extraEnv),
    });
  }

  /**
   * Starts `km <args>` and returns at once: its stdout piped, its stderr piped ({@link collect}
   * reads both) or, for a follower read line by line, the test's own.
   */
  spawnKm(
    args: string[],
    stderr: "piped" | "inherit" = "piped",
    extraEnv: Record<string, string> = {},
  ): Deno.ChildProcess {
    return this.#spawn(MONITOR, args, stderr, extraEnv);
  }

  #spawn(
    script: string,
    args: string[],
    stderr: "piped" | "inherit",
    extraEnv: Record<string, string>,
  ): Deno.ChildProcess {
    return new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-lock", script, ...args],
      env: this.env(extraEnv),
      stdin: "null",
      stdout: "piped",
      stderr,
    }).spawn();
  }

  /** Runs a tmux command on this world's socket (for inspecting and breaking things). */
  tmux(args: string[]): Promise<CliResult> {
    return runCommand("tmux", ["-u", "-f", "/dev/null", "-L", this.socket, ...args]);
  }

  /** The tmux session names on the world's socket ([] when no server runs). */
  async tmuxSessions(): Promise<string[]> {
    const out = await this.tmux(["list-sessions", "-F", "#{session_name}"]);
    return out.code === 0 ? out.stdout.split("\n").filter((s) => s !== "") : [];
  }

  /** The name of the program in the foreground of a session's pane ("" when it has none). */
  async foreground(session: string): Promise<string> {
    const out = await this.tmux([
      "display-message",
      "-p",
      "-t",
      `=${session}:`,
      "#{pane_current_command}",
    ]);
    return out.code === 0 ? out.stdout.trim() : "";
  }

  /** Path of a session's state dir. */
  sessionDir(session: string): string {
    return `${this.home}/${this.socket}/${session}`;
  }

  /** The session's raw pane log as text (lossy), "" when missing. */
  async paneLog(session: string): Promise<string> {
    try {
      return new TextDecoder().decode(await Deno.readFile(`${this.sessionDir(session)}/pane.log`));
    } catch {
      return "";
    }
  }

  /** Path of a session's lock file. */
  lockPath(session: string): string {
    return `${this.sessionDir(session)}/lock`;
  }

  /** The session's lock, or undefined when there is none (or it is not JSON yet). */
  async readLockFile(session: string): Promise<LockFile | undefined> {
    try {
      return JSON.parse(await Deno.readTextFile(this.lockPath(session)));
    } catch {
      return undefined;
    }
  }

  /** The background watchers of this world, found by their environment. */
  watchers(): Promise<ProcInfo[]> {
    return findProcesses((p) =>
      p.environ.K_SOCKET === this.socket && p.cmdline.includes("watcher.ts")
    );
  }

  /** Makes an executable script in the world's base dir; returns its absolute path. */
  async writeScript(name: string, body: string): Promise<string> {
    const path = `${this.base}/${name}`;
    await Deno.writeTextFile(path, body, { mode: 0o755 });
    await Deno.chmod(path, 0o755);
    return path;
  }

  /** The watcher.log lines of every session (they explain many a failure). */
  async watcherTraces(): Promise<string> {
    const out: string[] = [];
    for (const rel of await listTree(this.home)) {
      if (!rel.endsWith("/watcher.log")) continue;
      const text = await Deno.readTextFile(`${this.home}/${rel}`).catch(() => "");
      out.push(...text.split("\n").filter((l) => l !== "").map((l) => `  ${rel}: ${l}`));
    }
    return out.join("\n");
  }

  /** Kills the world's processes and tmux server, removes its files. */
  async dispose(): Promise<void> {
    await this.#killProcesses();
    await this.tmux(["kill-server"]);
    await removeTmuxSocket(this.socket);
    await Deno.remove(this.base, { recursive: true }).catch(() => {});
  }

  /**
   * Kills every process that carries this world's socket in its environment or its base dir on
   * its command line (watchers, hooks), and the watcher any lock names (a watcher the library
   * started in this process does not carry K_SOCKET).
   */
  async #killProcesses(): Promise<void> {
    const pids = new Set<number>();
    const procs = await findProcesses((p) =>
      p.environ.K_SOCKET === this.socket || p.cmdline.includes(this.base)
    );
    for (const p of procs) pids.add(p.pid);
    let sessions: Deno.DirEntry[] = [];
    try {
      sessions = await Array.fromAsync(Deno.readDir(`${this.home}/${this.socket}`));
    } catch {
      // no state
    }
    for (const s of sessions) {
      const lock = await this.readLockFile(s.name);
      if (lock?.owner_kind === "fire" && typeof lock.owner?.pid === "number") {
        pids.add(lock.owner.pid);
      }
    }
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
}

/** Removes the socket file tmux leaves behind when its server is killed (the name is a test's). */
export async function removeTmuxSocket(socket: string): Promise<void> {
  const dir = `${Deno.env.get("TMUX_TMPDIR") || "/tmp"}/tmux-${Deno.uid() ?? 0}`;
  await Deno.remove(`${dir}/${socket}`).catch(() => {});
}

/** Things a test must undo whatever happens (immutable dirs, mounts, stray processes). */
export class Cleanup {
  #steps: (() => Promise<unknown> | unknown)[] = [];

  /** Registers a step; steps run last-in first-out, each failure ignored. */
  add(step: () => Promise<unknown> | unknown): void {
    this.#steps.push(step);
  }

  /** Runs every step. */
  async run(): Promise<void> {
    for (const step of this.#steps.reverse()) {
      try {
        await step();
      } catch {
        // best effort
      }
    }
    this.#steps = [];
  }
}

/** Options of {@link worldTest}. */
export interface WorldTestOptions {
  /** Hard bound of the whole test, cleanup excluded (default 30 s). */
  timeoutMs?: number;
  /** Why the test cannot run on this machine (it is then reported as ignored), if it cannot. */
  skip?: string | false;
}

/**
 * Defines a test with its own world, bounded in time, cleaned up whatever happens. On failure the
 * world's watcher logs are added to the error. Resource/op sanitizers are off: the kernel
 * deliberately leaves detached watchers and tmux.
 */
export function worldTest(
  name: string,
  fn: (w: World, cleanup: Cleanup) => Promise<void>,
  options: WorldTestOptions = {},
): void {
  const timeoutMs = options.timeoutMs ?? 30_000;
  Deno.test({
    name: options.skip ? `${name} (skipped: ${options.skip})` : name,
    ignore: Boolean(options.skip),
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const w = await World.create();
      const cleanup = new Cleanup();
      try {
        await withDeadline(fn(w, cleanup), timeoutMs, "test timed out");
      } catch (e) {
        const traces = await w.watcherTraces();
        if (traces && e instanceof Error) e.message += `\nwatcher.log:\n${traces}`;
        throw e;
      } finally {
        await cleanup.run();
        await w.dispose();
      }
    },
  });
}

/**
 * Defines a test that needs no tmux: it gets a fresh temp dir, is bounded in time (default 10 s),
 * and the dir is removed whatever happens.
 */
export function dirTest(
  name: string,
  fn: (dir: string) => Promise<void>,
  options: { timeoutMs?: number } = {},
): void {
  const timeoutMs = options.timeoutMs ?? 10_000;
  Deno.test(name, async () => {
    const dir = await Deno.makeTempDir({ prefix: "ktty-unit-" });
    try {
      await withDeadline(fn(dir), timeoutMs, "test timed out");
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Files and results

/** True when `path` exists (without following a final symlink). */
export async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/** Every path under `root` (relative, sorted), directories included. */
export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string, rel: string): Promise<void> {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      return;
    }
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      out.push(path);
      if (e.isDirectory) await walk(`${dir}/${e.name}`, path);
    }
  }
  await walk(root, "");
  return out.sort();
}

/** How many times `needle` occurs in `hay`. */
export function count(hay: string, needle: string): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** A value for an error message: JSON, cut to 300 characters. */
function show(value: unknown): string {
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value)?.slice(0, 300) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Parses one JSON object from a CLI result's stdout, strictly (one line). */
export function parseOneJson(r: CliResult, what: string): Record<string, unknown> {
  const lines = r.stdout.split("\n").filter((l) => l !== "");
  equal(lines.length, 1, `${what}: want exactly one JSON line, got ${show(r.stdout + r.stderr)}`);
  let value: unknown;
  try {
    value = JSON.parse(lines[0] as string);
  } catch {
    fail(`${what}: stdout is not JSON: ${show(r.stdout)} (stderr ${show(r.stderr)})`);
  }
  ok(typeof value === "object" && value !== null, `${what}: not an object`);
  return value as Record<string, unknown>;
}

/** Asserts a CLI error: exit 1 and one line `k: <message>` on stderr matching `want`. */
export function assertCliError(r: CliResult, want: RegExp, what: string): void {
  equal(r.code, 1, `${what}: exit status (stdout ${show(r.stdout)}, stderr ${show(r.stderr)})`);
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  equal(lines.length, 1, `${what}: want one stderr line, got ${show(r.stderr)}`);
  ok(
    want.test(lines[0] as string),
    `${what}: stderr ${show(r.stderr)} does not match ${want}`,
  );
}

/** Asserts a JSON error result: exit 1, `status: "error"`, output matching `want`. */
export function assertJsonError(
  r: Record<string, unknown> & { code: number },
  want: RegExp,
  what: string,
): void {
  deepEqual([r.code, r.status], [1, "error"], `${what}: ${show(r)}`);
  ok(want.test(String(r.output)), `${what}: output ${show(r.output)} does not match ${want}`);
}

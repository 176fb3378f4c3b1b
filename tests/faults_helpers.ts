/**
 * Helpers of the fault-injection suite (tests/faults*_test.ts): a bounded test wrapper that can be
 * skipped where the machine lacks a capability, and ways to inspect what a world left behind —
 * processes, lock files, pane logs, files under the state dir.
 * @module
 */

import { deepEqual, equal, fail, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type CliResult, World } from "./harness.ts";

/** Absolute path of cli.ts. */
export const CLI_PATH = fileURLToPath(new URL("../cli.ts", import.meta.url));
/** Absolute path of monitor.ts. */
export const MONITOR_PATH = fileURLToPath(new URL("../monitor.ts", import.meta.url));
/** Absolute path of the background watcher's entry point. */
export const WATCHER_PATH = fileURLToPath(new URL("../src/watcher.ts", import.meta.url));

/** Options of {@link faultTest}. */
export interface FaultTestOptions {
  /** Hard bound of the whole test, cleanup excluded. */
  timeoutMs?: number;
  /** Why the test cannot run on this machine (it is then reported as ignored), if it cannot. */
  skip?: string | false;
}

/**
 * A test with its own world (K_HOME, K_SOCKET), bounded in time, cleaned up whatever happens.
 * Like harness.ts's `worldTest`, plus `skip` and a cleanup list for processes the test started.
 */
export function faultTest(
  name: string,
  fn: (w: World, cleanup: Cleanup) => Promise<void>,
  options: FaultTestOptions = {},
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
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          fn(w, cleanup),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`test timed out after ${timeoutMs} ms`)),
              timeoutMs,
            );
          }),
        ]);
      } catch (e) {
        // What background watchers logged before dying explains many a failure.
        const traces = await watcherTraces(w);
        if (traces && e instanceof Error) e.message += `\nwatcher.log:\n${traces}`;
        throw e;
      } finally {
        clearTimeout(timer);
        await cleanup.run();
        await killWorldProcesses(w);
        await w.dispose();
      }
    },
  });
}

/** The watcher.log lines of every session of world `w`. */
async function watcherTraces(w: World): Promise<string> {
  const out: string[] = [];
  for (const rel of await listTree(w.home)) {
    if (!rel.endsWith("/watcher.log")) continue;
    const text = await Deno.readTextFile(`${w.home}/${rel}`).catch(() => "");
    out.push(...text.split("\n").filter((l) => l !== "").map((l) => `  ${rel}: ${l}`));
  }
  return out.join("\n");
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
  }
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

/** The background watchers (and any other ktty deno process) of world `w`, by their environment. */
export function worldWatchers(w: World): Promise<ProcInfo[]> {
  return findProcesses((p) => p.environ.K_SOCKET === w.socket && p.cmdline.includes("watcher.ts"));
}

/** Kills every process that carries this world's socket in its environment (watchers, hooks). */
export async function killWorldProcesses(w: World): Promise<void> {
  const procs = await findProcesses((p) =>
    p.environ.K_SOCKET === w.socket || p.cmdline.includes(worldBase(w))
  );
  for (const p of procs) {
    try {
      Deno.kill(p.pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `check` gives a truthy value; fails with `what` after `timeoutMs`. */
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
    await sleep(everyMs);
  }
}

function show(value: unknown): string {
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value)?.slice(0, 300) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Runs `fn` and returns its value with how long it took. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - start };
}

/** A lock file as the tests read it (the fields the SPEC promises). */
export interface LockFile {
  cell_id: string;
  offset: number;
  owner: { pid: number; start: string };
  owner_kind: string;
  [key: string]: unknown;
}

/** Path of a session's lock file. */
export function lockPath(w: World, session: string): string {
  return `${w.sessionDir(session)}/lock`;
}

/** The session's lock, or undefined when there is none (or it is not JSON yet). */
export async function readLockFile(w: World, session: string): Promise<LockFile | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(lockPath(w, session)));
  } catch {
    return undefined;
  }
}

/** True when `path` exists (without following a final symlink). */
export async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/** The session's raw pane log as text (lossy), "" when missing. */
export async function paneLog(w: World, session: string): Promise<string> {
  try {
    return new TextDecoder().decode(await Deno.readFile(`${w.sessionDir(session)}/pane.log`));
  } catch {
    return "";
  }
}

/** How many times `needle` occurs in `hay`. */
export function count(hay: string, needle: string): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** The tmux session names on the world's socket ([] when no server runs). */
export async function tmuxSessions(w: World): Promise<string[]> {
  const out = await w.tmux(["list-sessions", "-F", "#{session_name}"]);
  return out.code === 0 ? out.stdout.split("\n").filter((s) => s !== "") : [];
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

/** The world's base temp dir (K_HOME's parent, which the world owns). */
export function worldBase(w: World): string {
  return w.home.replace(/\/home$/, "");
}

/** Parses one JSON object from a CLI result's stdout, strictly (valid UTF-8, one line). */
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

/** Runs `k` with raw stdout bytes, checking they are valid UTF-8 holding one JSON object. */
export async function kStrictJson(
  w: World,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<Record<string, unknown> & { code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", CLI_PATH, ...args],
    env: w.env(extraEnv),
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

/** Spawns `k <args>` as a child the test can kill. */
export function spawnK(w: World, args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", CLI_PATH, ...args],
    env: w.env(),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Collects a spawned `k`'s result. */
export async function collect(child: Deno.ChildProcess): Promise<CliResult> {
  const out = await child.output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** Makes an executable script in the world's base dir; returns its absolute path. */
export async function writeScript(w: World, name: string, body: string): Promise<string> {
  const path = `${worldBase(w)}/${name}`;
  await Deno.writeTextFile(path, body, { mode: 0o755 });
  await Deno.chmod(path, 0o755);
  return path;
}

/** Runs a command, returning its status and output. */
export async function sh(cmd: string, args: string[]): Promise<CliResult> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const d = new TextDecoder();
    return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
  } catch (e) {
    return { code: 127, stdout: "", stderr: e instanceof Error ? e.message : String(e) };
  }
}

/** A bash session command line with a plain, known prompt (for exact and hook modes). */
export const PLAIN_BASH = "env PS1='K> ' bash --norc --noprofile";

/**
 * The only module that spawns tmux. Every call is an argument array on the session socket
 * (`tmux -L <socket>`), targets are exact (`=name`), and several tmux commands are merged into one
 * process with `;` where a verb needs more than one.
 * @module
 */

import { TmuxError } from "./errors.ts";
import type { KernelConfig } from "./state.ts";

/** What one tmux invocation returned. */
export interface TmuxOutput {
  /** tmux's exit status. */
  code: number;
  /** Standard output, decoded. */
  stdout: string;
  /** Standard error, decoded and trimmed. */
  stderr: string;
}

const MIN_MAJOR = 3;

/** Runs tmux with `args` on the configured socket, optionally feeding `stdin`. */
export async function tmux(
  config: KernelConfig,
  args: string[],
  stdin?: Uint8Array,
): Promise<TmuxOutput> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("tmux", {
      args: ["-f", "/dev/null", "-L", config.socket, ...args],
      stdin: stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new TmuxError("tmux_missing", "tmux not found; install tmux >= 3.0");
    }
    throw e;
  }
  if (stdin) {
    const writer = child.stdin.getWriter();
    try {
      await writer.write(stdin);
      await writer.close();
    } catch {
      // tmux exited before reading everything; its status says why.
    }
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr).trim(),
  };
}

/** Like {@link tmux} but throws {@link TmuxError} when tmux fails. */
export async function tmuxOk(config: KernelConfig, args: string[], stdin?: Uint8Array) {
  const out = await tmux(config, args, stdin);
  if (out.code !== 0) {
    throw new TmuxError(
      "tmux_failed",
      `tmux ${args[0]} failed: ${out.stderr || `exit ${out.code}`}`,
    );
  }
  return out;
}

/** Throws unless tmux is installed and at least version 3.0. */
export async function assertTmuxVersion(config: KernelConfig): Promise<void> {
  const out = await tmux(config, ["-V"]);
  const match = /tmux (?:next-)?(\d+)\.(\d+)/.exec(out.stdout);
  if (!match) {
    throw new TmuxError("tmux_missing", `cannot read tmux version from '${out.stdout.trim()}'`);
  }
  if (Number(match[1]) < MIN_MAJOR) {
    throw new TmuxError("tmux_missing", `tmux ${match[1]}.${match[2]} is too old; need >= 3.0`);
  }
}

/**
 * The tmux session name for a ktty session. tmux silently rewrites `.` and `:` in session names,
 * which would let `a.b` and `a_b` collide, so they are escaped injectively.
 */
export function tmuxName(name: string): string {
  return name.replaceAll("%", "%25").replaceAll(".", "%2E").replaceAll(":", "%3A");
}

/** The ktty session name for a tmux session name made by {@link tmuxName}. */
export function sessionNameOf(tmuxSessionName: string): string {
  return tmuxSessionName.replaceAll("%3A", ":").replaceAll("%2E", ".").replaceAll("%25", "%");
}

/** Exact target of a session (`=name`). */
export function sessionTarget(name: string): string {
  return `=${tmuxName(name)}`;
}

/** Exact target of a session's active pane (`=name:`). */
export function paneTarget(name: string): string {
  return `=${tmuxName(name)}:`;
}

/** Quotes one word for `sh`: the only shell string ktty builds, from a path it validated. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** How to start a session's program. */
export interface NewSessionOptions {
  /** The program's command line, run by tmux through the shell exactly as typed. */
  command: string;
  /** Where the pane's raw output is appended. */
  logPath: string;
  /** The program's working directory. */
  cwd: string;
  /** Pane width in columns: wide, so typed code never wraps. */
  columns: number;
  /** Pane height in rows. */
  rows: number;
}

/**
 * Starts the program in a detached session and pipes the pane's output into the log, in one tmux
 * call so no output is read before the pipe is in place. Returns the pane's pid.
 */
export async function newSession(
  config: KernelConfig,
  name: string,
  options: NewSessionOptions,
): Promise<number> {
  const target = paneTarget(name);
  const out = await tmuxOk(config, [
    "new-session",
    "-d",
    "-s",
    tmuxName(name),
    "-x",
    String(options.columns),
    "-y",
    String(options.rows),
    "-c",
    options.cwd,
    options.command,
    ";",
    "set-option",
    "-w",
    "-t",
    target,
    "window-size",
    "manual",
    ";",
    "pipe-pane",
    "-o",
    "-t",
    target,
    `exec cat >> ${shellQuote(options.logPath)}`,
    ";",
    "display-message",
    "-p",
    "-t",
    target,
    "#{pane_pid}",
  ]);
  const pid = Number(out.stdout.trim());
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new TmuxError("tmux_failed", `tmux gave no pane pid for '${name}'`);
  }
  return pid;
}

/** How {@link pasteText} pastes. */
export interface PasteOptions {
  /** Paste as a bracketed paste (the program takes it as one input), then press Enter. */
  bracketed?: boolean;
  /** tmux key names to send after the text. */
  keys?: string[];
}

/** Pastes `text` into the session's pane as one unit through a named buffer, in one tmux call. */
export async function pasteText(
  config: KernelConfig,
  name: string,
  text: string,
  options: PasteOptions = {},
): Promise<boolean> {
  const buffer = `k-${tmuxName(name)}`;
  const target = paneTarget(name);
  const args = ["load-buffer", "-b", buffer, "-", ";", "paste-buffer", "-d", "-b", buffer];
  if (options.bracketed) args.push("-p", "-t", target, ";", "send-keys", "-t", target, "Enter");
  else args.push("-t", target);
  if (options.keys?.length) args.push(";", "send-keys", "-t", target, ...options.keys);
  const out = await tmux(config, args, new TextEncoder().encode(text));
  return out.code === 0;
}

/** Sends tmux key names (`C-c`, `Enter`) or literal text (`literal`) to the pane. */
export async function sendKeys(
  config: KernelConfig,
  name: string,
  keys: string[],
  literal = false,
): Promise<boolean> {
  const args = ["send-keys", "-t", paneTarget(name)];
  if (literal) args.push("-l");
  const out = await tmux(config, [...args, "--", ...keys]);
  return out.code === 0;
}

/** True when the tmux session exists. */
export async function hasSession(config: KernelConfig, name: string): Promise<boolean> {
  const out = await tmux(config, ["has-session", "-t", sessionTarget(name)]);
  return out.code === 0;
}

/** Kills the tmux session; false when it did not exist. */
export async function killSession(config: KernelConfig, name: string): Promise<boolean> {
  const out = await tmux(config, ["kill-session", "-t", sessionTarget(name)]);
  return out.code === 0;
}

/** What tmux knows of one live session. */
export interface PaneInfo {
  /** The ktty session name. */
  name: string;
  /** Pid of the program in the pane. */
  panePid: number;
  /** The program currently in the foreground of the pane. */
  paneCommand: string;
  /** Seconds since the epoch of the session's last activity. */
  activity: number;
}

const PANE_FORMAT = "#{session_name}\t#{pane_pid}\t#{pane_current_command}\t#{session_activity}";

function parsePaneLine(line: string): PaneInfo | undefined {
  const [session, pid, command, activity] = line.split("\t");
  if (session === undefined || pid === undefined) return undefined;
  return {
    name: sessionNameOf(session),
    panePid: Number(pid),
    paneCommand: command ?? "",
    activity: Number(activity ?? 0),
  };
}

/** Every live session on the socket (the first pane of each); empty when no server runs. */
export async function listPanes(config: KernelConfig): Promise<PaneInfo[]> {
  const out = await tmux(config, ["list-panes", "-a", "-F", PANE_FORMAT]);
  if (out.code !== 0) return [];
  const seen = new Map<string, PaneInfo>();
  for (const line of out.stdout.split("\n")) {
    const info = parsePaneLine(line);
    if (info && !seen.has(info.name)) seen.set(info.name, info);
  }
  return [...seen.values()];
}

/** What tmux knows of one session's active pane; undefined when the session is gone. */
export async function paneInfo(config: KernelConfig, name: string): Promise<PaneInfo | undefined> {
  const out = await tmux(config, ["display-message", "-p", "-t", paneTarget(name), PANE_FORMAT]);
  if (out.code !== 0) return undefined;
  return parsePaneLine(out.stdout.trim());
}

/**
 * The only module that spawns tmux. Every call is an argument array on the session socket
 * (`tmux -L <socket>`), targets are exact (`=name`), and several tmux commands are merged into one
 * process with `;` where a verb needs more than one.
 * @module
 */

import { TmuxError } from "./errors.ts";
import { type KernelConfig, randomHex } from "./state.ts";

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
  return await runTmux(config, args, stdin, true);
}

/** Runs tmux for its exit status only: no output pipes to read (each pipe costs a millisecond). */
export async function tmuxStatus(
  config: KernelConfig,
  args: string[],
  stdin?: Uint8Array,
): Promise<number> {
  return (await runTmux(config, args, stdin, false)).code;
}

async function runTmux(
  config: KernelConfig,
  args: string[],
  stdin: Uint8Array | undefined,
  capture: boolean,
): Promise<TmuxOutput> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("tmux", {
      // -u: a client started in the C locale (a CI runner, a service, env -i) would have tmux
      // print each tab of a format as '_' and each non-ASCII character as '_', and every
      // listing ktty parses would fall apart.
      args: ["-u", "-f", "/dev/null", "-L", config.socket, ...args],
      stdin: stdin ? "piped" : "null",
      stdout: capture ? "piped" : "null",
      stderr: capture ? "piped" : "null",
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
  if (!capture) return { code: (await child.status).code, stdout: "", stderr: "" };
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
  /** The pane's argv (run without a shell by tmux; see `session/environment.ts`). */
  argv: string[];
  /** Where the pane's raw output is appended. */
  logPath: string;
  /** The program's working directory. */
  cwd: string;
  /** Pane width in columns. */
  columns: number;
  /** Pane height in rows. */
  rows: number;
  /** Text to type into the pane right after the start (the integration loader), if any. */
  type?: string;
}

/**
 * Starts the program in a detached session, pipes the pane's output into the log and types
 * `type`, all in one tmux call, so no output is read before the pipe is in place. Returns the
 * pane's pid.
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
    ...options.argv.map(tmuxArg),
    ";",
    "set-option",
    "-t",
    target,
    MANAGED_OPTION,
    "1",
    ";",
    "set-option",
    "-w",
    "-t",
    target,
    "window-size",
    "manual",
    ";",
    ...pipePane(target, options.logPath),
    ";",
    "display-message",
    "-p",
    "-t",
    target,
    "#{pane_pid}",
    ...(options.type === undefined ? [] : [
      ";",
      "load-buffer",
      "-b",
      `k-${tmuxName(name)}`,
      "-",
      ";",
      "paste-buffer",
      "-d",
      "-b",
      `k-${tmuxName(name)}`,
      "-t",
      target,
    ]),
  ], options.type === undefined ? undefined : new TextEncoder().encode(options.type));
  const pid = Number(out.stdout.trim());
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new TmuxError("tmux_failed", `tmux gave no pane pid for '${name}'`);
  }
  return pid;
}

/**
 * Where the pane's output pipe keeps its sign, beside the log (`pane.log.pipe`): `- <pane pid>\n`
 * while it runs, `<status> <pane pid>\n` once it ended (the status of the cat that wrote the log).
 */
export function pipeSignPath(logPath: string): string {
  return `${logPath}.pipe`;
}

/**
 * The command `pipe-pane` runs: `cat` appends the pane's output to the log. The shell around it
 * writes the sign ({@link pipeSignPath}) as it starts (so a reader finds a file, and never pays
 * for a missing one's error), and again when cat ends — cat's status: 0 at the end of its input
 * (tmux closed the pipe: the pane or the session ended), else the signal or error that ended it
 * (`137`: SIGKILL) — and then closes the log, which it opened for cat: the last close of a file
 * open for writing is a doorbell for whoever watches the log (inotify's close-write), so the sign
 * is read without polling. (Closing, not opening again: that would create the log anew in a
 * state dir being removed.)
 *
 * The shell survives the signals `pkill`/`kill` send by default (`trap :`: a handled signal is
 * reset for cat), so a `pkill -f 'cat >>'`, which matches the shell's command line and not cat's,
 * leaves the pipe alone. Its stdout is /dev/null (with `-I`, what it printed would be typed into
 * the pane), and it lets go of the pipe's socket before writing the sign, so tmux has seen the
 * pipe close by the time anyone reads the sign. The paths are quoted for sh, then `#` and `%`
 * doubled: tmux expands formats (`#{pane_pid}` is one) and strftime's `%` sequences in it.
 */
function pipeCommand(logPath: string): string {
  const quoted = (path: string) => shellQuote(path).replaceAll("#", "##").replaceAll("%", "%%");
  const sign = quoted(pipeSignPath(logPath));
  return `umask 077; exec >/dev/null 3>>${quoted(logPath)}; trap : HUP INT TERM QUIT; ` +
    `echo "- #{pane_pid}" > ${sign}; cat >&3; s=$?; exec 0<&-; echo "$s #{pane_pid}" > ${sign}; ` +
    `exec 3>&-`;
}

/**
 * The `pipe-pane` command that pipes the pane's output into `logPath`. `-I` (the command's stdout
 * to the pane, where it writes nothing) makes tmux read from the pipe, so it sees the pipe close
 * at once; with `-O` alone it notices only when it next writes, losing those bytes.
 */
function pipePane(target: string, logPath: string): string[] {
  return ["pipe-pane", "-I", "-O", "-t", target, pipeCommand(logPath)];
}

/**
 * tmux commands that re-arm the pane's output pipe when tmux knows it closed (`#{pane_pipe}` is
 * 0), else do nothing: safe to add to any call on the session (`pipe-pane -o` would close a live
 * pipe: it toggles). The pipe-pane command is given as one string in tmux's own syntax.
 */
function rearmPipeArgs(name: string, logPath: string): string[] {
  const target = paneTarget(name);
  const command = pipePane(target, logPath).map(tmuxQuote).join(" ");
  return ["if-shell", "-F", "-t", target, "#{pane_pipe}", "", command];
}

/**
 * Quotes one word for tmux's command parser: double quotes, `\`, `"` and `$` escaped (no regular
 * expression: compiling one costs a fresh `k` process ~0.2 ms, and this is on every cell's path).
 */
function tmuxQuote(word: string): string {
  const escaped = word.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("$", "\\$");
  return `"${escaped}"`;
}

/** What {@link rearmPipe} found: the pipe open after it, closed, or the session gone. */
export type PipeState = "piped" | "unpiped" | "gone";

/**
 * Re-arms session `name`'s output pipe if tmux knows it closed (appending to the same log; what
 * the pane printed meanwhile is lost), in one tmux call; says whether a pipe is open after.
 */
export async function rearmPipe(
  config: KernelConfig,
  name: string,
  logPath: string,
): Promise<PipeState> {
  const target = paneTarget(name);
  const out = await tmux(config, [
    ...rearmPipeArgs(name, logPath),
    ";",
    "display-message",
    "-p",
    "-t",
    target,
    "#{session_name}\t#{pane_pipe}",
  ]);
  const [session, pipe] = out.stdout.trim().split("\t");
  if (out.code !== 0 || session !== tmuxName(name)) return "gone";
  return pipe === "1" ? "piped" : "unpiped";
}

/** How {@link pasteText} pastes. */
export interface PasteOptions {
  /**
   * A private directory (0700) for a file tmux reads the text from, removed once tmux is done;
   * without one the text goes through tmux's stdin (slower to set up by ~0.7 ms in a fresh
   * process, but never on disk: for `send`, which may type a password).
   */
  dir?: string;
  /** Paste as a bracketed paste (the program takes it as one input), then press Enter. */
  bracketed?: boolean;
  /** tmux key names to send after the text. */
  keys?: string[];
  /** Keys to send before the text, in the same call: what clears the line the program reads. */
  before?: KeysBefore;
  /**
   * The session's pane log: first re-arm the pane's output pipe, in the same tmux call, if tmux
   * knows it closed (a cell's output must reach the log).
   */
  pipeLog?: string;
}

/** Keys sent before a paste (see {@link PasteOptions.before}). */
export interface KeysBefore {
  /** tmux key names (`Space`, `C-u`); [] sends none. */
  readonly keys: readonly string[];
  /** Send them only while the pane is not on the alternate screen (a full-screen program). */
  readonly unlessAlternateScreen?: boolean;
}

/**
 * Pastes `text` into the session's pane as one unit through a named buffer, in one tmux call.
 * tmux is spawned before this returns its promise, so a caller may prepare while it runs.
 */
export async function pasteText(
  config: KernelConfig,
  name: string,
  text: string,
  options: PasteOptions = {},
): Promise<boolean> {
  const target = paneTarget(name);
  const before = options.before ? keysBefore(target, options.before) : [];
  // After the text: Enter to end a bracketed paste, then the keys asked for.
  const keys = [...(options.bracketed ? ["Enter"] : []), ...(options.keys ?? []).map(tmuxArg)];
  const after = keys.length > 0 ? ["send-keys", "-t", target, ...keys] : [];
  const rearm = options.pipeLog === undefined ? [] : [...rearmPipeArgs(name, options.pipeLog), ";"];
  // tmux makes no buffer of empty text, and pasting a missing buffer fails: send the keys alone.
  if (text === "") {
    const alone = [...rearm, ...before, ...after];
    if (alone.at(-1) === ";") alone.pop();
    return alone.length === 0 || (await tmuxStatus(config, alone)) === 0;
  }
  // One buffer per call: concurrent pastes (k send) must not overwrite each other's text.
  const id = randomHex(4);
  const buffer = `k-${tmuxName(name)}-${id}`;
  // Never from argv: any local user can read a process's argv (ps, /proc/<pid>/cmdline), tmux
  // takes an argument ending in ';' as a command separator, and a command line must fit one
  // 16 KiB message.
  const paste = (source: string) => {
    // The keys before the text go after load-buffer, which waits while tmux's client reads the
    // file: right before the paste, both reach the program in one write (a program that redraws
    // at every read, such as prompt_toolkit's, draws once).
    const args = [...rearm, "load-buffer", "-b", buffer, source, ";", ...before];
    args.push("paste-buffer", "-d", "-b", buffer);
    args.push(...(options.bracketed ? ["-p"] : []), "-t", target);
    if (after.length > 0) args.push(";", ...after);
    return args;
  };
  if (options.dir === undefined) {
    return (await tmuxStatus(config, paste("-"), new TextEncoder().encode(text))) === 0;
  }
  const file = `${options.dir}/paste-${id}`;
  try {
    Deno.writeTextFileSync(file, text, { mode: 0o600, createNew: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false; // the session's directory is gone
    throw e;
  }
  try {
    // load-buffer expands formats in its path: a `#` in the state dir's path is doubled.
    return (await tmuxStatus(config, paste(file.replaceAll("#", "##")))) === 0;
  } finally {
    try {
      Deno.removeSync(file);
    } catch {
      // gone with the session's directory
    }
  }
}

/**
 * The tmux commands (ending in `;`) that send `before.keys` ahead of a paste. Guarded by the
 * alternate screen, the condition is a format tmux evaluates as it runs the call (no shell, no
 * second process), and the keys run before the commands that follow in the call.
 */
function keysBefore(target: string, before: KeysBefore): string[] {
  if (before.keys.length === 0) return [];
  if (!before.unlessAlternateScreen) {
    return ["send-keys", "-t", target, ...before.keys.map(tmuxArg), ";"];
  }
  // The command is a string tmux parses: single-quoted words, from key names and a target made
  // of checked names only, neither of which holds a quote.
  const words = ["send-keys", "-t", target, ...before.keys];
  if (words.some((word) => word.includes("'"))) throw new TypeError(`not a key name: ${words}`);
  const command = words.map((word) => `'${word}'`).join(" ");
  return ["if-shell", "-F", "-t", target, "#{?alternate_on,0,1}", command, ";"];
}

/** An argument for tmux: a trailing `;` is escaped so it is not taken as a command separator. */
function tmuxArg(key: string): string {
  return key.endsWith(";") ? `${key.slice(0, -1)}\\;` : key;
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
  const out = await tmux(config, [...args, "--", ...keys.map(tmuxArg)]);
  return out.code === 0;
}

/** The terminal device of the session's pane (`/dev/pts/N`), or undefined when tmux cannot say. */
export async function paneTty(config: KernelConfig, name: string): Promise<string | undefined> {
  // has-session first: display-message falls back to another session when the target is gone.
  const out = await tmux(config, [
    "has-session",
    "-t",
    sessionTarget(name),
    ";",
    "display-message",
    "-p",
    "-t",
    paneTarget(name),
    "#{pane_tty}",
  ]);
  const tty = out.stdout.trim();
  return out.code === 0 && tty.startsWith("/dev/") ? tty : undefined;
}

/** True when the tmux session exists. */
export async function hasSession(config: KernelConfig, name: string): Promise<boolean> {
  return (await tmuxStatus(config, ["has-session", "-t", sessionTarget(name)])) === 0;
}

/**
 * The user option that marks a tmux session ktty started: a session on the socket without it was
 * made by someone else, and ktty never ends it.
 */
const MANAGED_OPTION = "@ktty";

/** Whether the tmux session exists, and whether ktty started it (see {@link MANAGED_OPTION}). */
export async function sessionOwner(
  config: KernelConfig,
  name: string,
): Promise<"none" | "ktty" | "other"> {
  // display-message would fall back to another session when the target is missing.
  const out = await tmux(config, [
    "has-session",
    "-t",
    sessionTarget(name),
    ";",
    "show-options",
    "-qv",
    "-t",
    paneTarget(name),
    MANAGED_OPTION,
  ]);
  if (out.code !== 0) return "none";
  return out.stdout.trim() === "1" ? "ktty" : "other";
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

const FORWARDED_SIGNALS: Deno.Signal[] = ["SIGHUP", "SIGTERM"];

/**
 * Runs tmux on the configured socket with this process's terminal: stdin, stdout and stderr are
 * inherited, so tmux takes over the terminal until it exits. Returns tmux's exit status.
 */
export async function tmuxInteractive(config: KernelConfig, args: string[]): Promise<number> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("tmux", {
      args: ["-f", "/dev/null", "-L", config.socket, ...args],
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new TmuxError("tmux_missing", "tmux not found; install tmux >= 3.0");
    }
    throw e;
  }
  // The terminal's hangup (or a kill of this process) must end tmux's client too, and must not
  // end this process before its caller has cleaned up: forward those signals, survive them.
  const forward = (signal: Deno.Signal) => () => {
    try {
      child.kill(signal);
    } catch {
      // tmux already exited
    }
  };
  const handlers = FORWARDED_SIGNALS.map((signal) => [signal, forward(signal)] as const);
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  try {
    return (await child.status).code;
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  }
}

/** What tmux knows of one session on the socket, as a listing needs it. */
export interface TmuxSessionInfo {
  /** The session's name as tmux has it. */
  tmuxName: string;
  /** The ktty name it decodes to (for a hand-made session, possibly not a valid ktty name). */
  name: string;
  /** For a view session made by `k peek`/`k attach`: the ktty session it shows. */
  viewOf: string | undefined;
  /** Pid of the program in the session's active pane. */
  panePid: number;
  /** The program in the foreground of that pane. */
  paneCommand: string;
  /** Seconds since the epoch of the session's last activity. */
  activity: number;
  /** Clients showing the session: attached to it or to any session of its group (its views). */
  clients: number;
  /** Width of the session's current window, in columns. */
  width: number;
  /** Height of the session's current window, in rows. */
  height: number;
  /** Whether a program in the pane switched to the alternate screen (less, vi, top). */
  alternate: boolean;
  /** Whether the pane's output pipe is open, as tmux knows it (it sees the pipe close at once). */
  piped: boolean;
}

/**
 * What `k ls` and `k status` ask tmux of each session. pane_current_command comes last: it is the
 * only field a program can make contain a tab. (Exported for the benchmark's floor.)
 */
export const SESSION_FORMAT: string = [
  "#{session_name}",
  "#{session_group}",
  "#{session_attached}",
  "#{session_group_attached}",
  "#{pane_pid}",
  "#{session_activity}",
  "#{window_width}",
  "#{window_height}",
  "#{alternate_on}",
  "#{pane_pipe}",
  "#{pane_current_command}",
].join("\t");

function parseSessionLine(line: string): TmuxSessionInfo | undefined {
  const fields = line.split("\t");
  if (fields.length < 11) return undefined;
  const [session, group, attached, groupAttached, pid, activity, width, height, alternate, pipe] =
    fields;
  const tmuxSessionName = session ?? "";
  return {
    tmuxName: tmuxSessionName,
    name: sessionNameOf(tmuxSessionName),
    viewOf: viewedSession(tmuxSessionName),
    panePid: Number(pid),
    paneCommand: fields.slice(10).join("\t"),
    activity: Number(activity),
    clients: Number((group ? groupAttached : attached) || 0),
    width: Number(width),
    height: Number(height),
    alternate: alternate === "1",
    piped: pipe === "1",
  };
}

/** Every session on the socket, views included; empty when no server runs. */
export async function listTmuxSessions(config: KernelConfig): Promise<TmuxSessionInfo[]> {
  const out = await tmux(config, ["list-sessions", "-F", SESSION_FORMAT]);
  if (out.code !== 0) return [];
  return out.stdout.split("\n").map(parseSessionLine).filter((s) => s !== undefined);
}

/** What tmux knows of ktty session `name`; undefined when its tmux session is gone. */
export async function tmuxSessionInfo(
  config: KernelConfig,
  name: string,
): Promise<TmuxSessionInfo | undefined> {
  const out = await tmux(config, ["display-message", "-p", "-t", paneTarget(name), SESSION_FORMAT]);
  if (out.code !== 0) return undefined;
  // display-message falls back to another session when the target is gone: check it is ours.
  const info = parseSessionLine(out.stdout.replace(/\n$/, ""));
  return info?.tmuxName === tmuxName(name) ? info : undefined;
}

/** Which kind of person's view a view session is: read-only (`peek`) or typing (`attach`). */
export type ViewKind = "peek" | "attach";

// `%` followed by anything but 25, 2E or 3A never comes out of tmuxName, so no ktty session's
// tmux name can look like a view's.
const VIEW_RE = /^(.*)%(?:peek|attach)-[0-9a-f]{8}$/;

/** A fresh tmux name for a view session of ktty session `name`. */
export function viewSessionName(name: string, kind: ViewKind): string {
  return `${tmuxName(name)}%${kind}-${randomHex(4)}`;
}

/** The ktty session a view session shows, or undefined when `tmuxSessionName` is no view. */
export function viewedSession(tmuxSessionName: string): string | undefined {
  const match = VIEW_RE.exec(tmuxSessionName);
  return match ? sessionNameOf(match[1] ?? "") : undefined;
}

/** How {@link attachView} shows a session. */
export interface AttachViewOptions {
  /** The view session's tmux name, from {@link viewSessionName}. */
  view: string;
  /** Attach read-only: tmux drops every key but those bound to detach or switch clients. */
  readOnly: boolean;
  /** Text at the left of the view's status line (no `#`: it is a tmux format). */
  label: string;
}

/**
 * Shows ktty session `name` in this process's terminal through a throwaway view session grouped
 * with it (sharing its window, not its session), in one tmux call: create the view, label it,
 * attach (read-only if asked), and only then mark it `destroy-unattached`, so tmux removes it
 * when its client leaves and never before it was attached. The window keeps its size: ktty's
 * windows are `window-size manual`, so no client resizes them. Returns when the client detaches
 * or the view ends, with tmux's exit status. The caller kills the view afterwards in case the
 * attach itself failed.
 */
export function attachView(
  config: KernelConfig,
  name: string,
  options: AttachViewOptions,
): Promise<number> {
  const view = `=${options.view}`;
  // set-option resolves -t as a pane: `=view:` names the view session exactly.
  const viewPane = `${view}:`;
  return tmuxInteractive(config, [
    "new-session",
    "-d",
    "-t",
    sessionTarget(name),
    "-s",
    options.view,
    ";",
    "set-option",
    "-t",
    viewPane,
    "status-left",
    options.label,
    ";",
    "set-option",
    "-t",
    viewPane,
    "status-left-length",
    String(options.label.length),
    ";",
    "attach-session",
    ...(options.readOnly ? ["-r"] : []),
    "-t",
    view,
    ";",
    "set-option",
    "-t",
    viewPane,
    "destroy-unattached",
    "on",
  ]);
}

/** Kills one view session by its tmux name; false when it was already gone. */
export async function killView(config: KernelConfig, view: string): Promise<boolean> {
  const out = await tmux(config, ["kill-session", "-t", `=${view}`]);
  return out.code === 0;
}

/** Kills every view session of ktty session `name` (they would keep its window alive). */
export async function killViews(config: KernelConfig, name: string): Promise<number> {
  const views = (await listTmuxSessions(config)).filter((s) => s.viewOf === name);
  if (views.length === 0) return 0;
  const args = views.flatMap((
    v,
    i,
  ) => [...(i > 0 ? [";"] : []), "kill-session", "-t", `=${v.tmuxName}`]);
  await tmux(config, args);
  return views.length;
}

/** Sets the width of a session's window (its size is manual: no client changes it). */
export async function resizeWindow(
  config: KernelConfig,
  name: string,
  columns: number,
): Promise<void> {
  await tmuxOk(config, ["resize-window", "-t", paneTarget(name), "-x", String(columns)]);
}

/** What tmux shows of a session's pane now: its visible rows and where its cursor is. */
export interface PaneScreen {
  /** The visible rows, top to bottom, without trailing blanks (tmux trims them). */
  rows: string[];
  /** Cursor column, 0-based. */
  cursorX: number;
  /** Cursor row, 0-based, within the visible rows. */
  cursorY: number;
  /** Whether the program switched to the alternate screen (a full-screen program: less, vi). */
  alternate: boolean;
  /** The pane's width in columns. */
  width: number;
  /** The pane's height in rows. */
  height: number;
  /** The pane's program: its first process. */
  panePid: number;
}

const SCREEN_FORMAT = [
  "#{cursor_x}",
  "#{cursor_y}",
  "#{alternate_on}",
  "#{pane_width}",
  "#{pane_height}",
  "#{pane_pid}",
].join("\t");

/**
 * The visible screen of session `name`'s pane, in one tmux call; undefined when the session does
 * not exist. Types nothing and takes no lock.
 */
export async function captureScreen(
  config: KernelConfig,
  name: string,
): Promise<PaneScreen | undefined> {
  const target = paneTarget(name);
  const out = await tmux(config, [
    "display-message",
    "-p",
    "-t",
    target,
    SCREEN_FORMAT,
    ";",
    "capture-pane",
    "-p",
    "-t",
    target,
  ]);
  if (out.code !== 0) return undefined;
  const [info = "", ...rows] = out.stdout.split("\n");
  if (rows.at(-1) === "") rows.pop(); // the newline that ends the last row
  const [x, y, alternate, width, height, pid] = info.split("\t");
  return {
    rows,
    cursorX: Number(x),
    cursorY: Number(y),
    alternate: alternate === "1",
    width: Number(width),
    height: Number(height),
    panePid: Number(pid),
  };
}

/**
 * Sets user option `option` (`@name`) of session `name` to `value`: a note kept in the tmux server,
 * for as long as the session lives, off the file system. False when tmux failed.
 */
export async function setSessionOption(
  config: KernelConfig,
  name: string,
  option: `@${string}`,
  value: string,
): Promise<boolean> {
  // The target is a pane's (`=name:`): tmux resolves option targets as panes, then sets the
  // option on that pane's session.
  return await tmuxStatus(config, ["set-option", "-t", paneTarget(name), option, value]) === 0;
}

/** User option `option` of session `name`, as {@link setSessionOption} set it; else undefined. */
export async function sessionOption(
  config: KernelConfig,
  name: string,
  option: `@${string}`,
): Promise<string | undefined> {
  const out = await tmux(config, ["show-options", "-v", "-t", paneTarget(name), option]);
  return out.code === 0 ? out.stdout.replace(/\n$/, "") : undefined;
}

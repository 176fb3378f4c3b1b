/**
 * Sessions: create, kill, list and describe them. A session is a tmux session on the kernel's
 * socket plus a state directory holding its metadata, pane log, lock, results and event log.
 * @module
 */

import { type ProgramKind, programKind } from "./code.ts";
import { integratedKind, integrationScript, newNonce, parseMarker } from "./integration/scripts.ts";
import { KttyError, NoSessionError, UsageError } from "./errors.ts";
import { appendEvent, readEvents } from "./events.ts";
import { FileFollower } from "./follow.ts";
import { type FrameConfig, resolveHook } from "./frame/mod.ts";
import { readLock } from "./lock.ts";
import { readMetaIfAny, type SessionMeta, writeMeta } from "./meta.ts";
import { isAlive, processId, signalProcess } from "./proc.ts";
import {
  ensureStateDir,
  type KernelConfig,
  makePrivateDir,
  type SessionPaths,
  sessionPaths,
  socketDir,
} from "./state.ts";
import { TerminalText } from "./text.ts";
import {
  assertTmuxVersion,
  hasSession,
  killSession,
  listPanes,
  newSession,
  type PaneInfo,
  paneInfo,
  pasteText,
} from "./tmux.ts";
import type { KttyEvent } from "./types.ts";
import { readCellRecord } from "./watch.ts";

/** Pane width: wide enough that readline never wraps typed code. */
export const PANE_COLUMNS = 10_000;
/** Pane height. */
export const PANE_ROWS = 50;
/** How long `new` waits for the program's first prompt. */
export const READY_TIMEOUT_MS = 10_000;
/** How long `new` waits for the integration script's first marker before falling back. */
export const INTEGRATION_TIMEOUT_MS = 5_000;
const PASTE_WAIT_MS = 300;
const READY_QUIET_MS = 50;
const READY_QUIET_NO_PROMPT_MS = 400;
const READY_POLL_MS = 25;

/** Options of {@link createSession}. */
export interface NewSessionOptions {
  /** The program's command line (default `bash`), run through the shell exactly as typed. */
  command?: string;
  /**
   * How to tell a cell ended: unset or `repeat` for repeat mode, a prompt string (`(gdb)`) for
   * exact mode, a path with a `/` (`./detect`) for hook mode.
   */
  prompt?: string;
  /** The program's working directory (default: this process's). */
  cwd?: string;
}

/** What `new` did. */
export interface NewSessionResult {
  /** The session's name. */
  session: string;
  /** False when the session was already alive (nothing was done). */
  created: boolean;
  /** The session's metadata. */
  meta: SessionMeta;
}

async function frameFor(
  prompt: string | undefined,
  cwd: string,
  kind: ProgramKind,
): Promise<FrameConfig> {
  if (prompt === undefined) {
    return integratedKind(kind) ? { mode: "integration", nonce: newNonce() } : { mode: "repeat" };
  }
  if (prompt === "repeat") return { mode: "repeat" };
  if (prompt === "") throw new UsageError("--prompt needs a value");
  if (prompt.includes("/")) return { mode: "hook", prompt: await resolveHook(prompt, cwd) };
  return { mode: "exact", prompt };
}

/**
 * Starts `command` in a new detached session and returns once it shows its first prompt. On a
 * live session it does nothing. A failed start leaves nothing behind.
 */
export async function createSession(
  config: KernelConfig,
  name: string,
  options: NewSessionOptions = {},
): Promise<NewSessionResult> {
  const paths = sessionPaths(config, name);
  const cwd = options.cwd ?? Deno.cwd();
  const command = options.command?.trim() || "bash";
  const kind = programKind(command);
  const frame = await frameFor(options.prompt, cwd, kind);
  await ensureStateDir(config);
  await assertTmuxVersion(config);
  const existing = await readMetaIfAny(paths).catch(() => undefined);
  const alive = await hasSession(config, name);
  if (existing && alive) return { session: name, created: false, meta: existing };
  // Stale state (program gone) or a stray tmux session without state: start over.
  if (alive) await killSession(config, name);
  await removeState(paths);
  try {
    await Deno.mkdir(paths.dir, { mode: 0o700 });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new KttyError("io", `session '${name}' is being created by another process`);
    }
    throw e;
  }
  try {
    await makePrivateDir(paths.cells);
    await Deno.writeFile(paths.log, new Uint8Array(), { mode: 0o600, createNew: true });
    const panePid = await newSession(config, name, {
      command,
      logPath: paths.log,
      cwd,
      columns: PANE_COLUMNS,
      rows: PANE_ROWS,
    });
    const meta: SessionMeta = {
      name,
      command,
      kind,
      frame,
      pane: await processId(panePid) ?? { pid: panePid, start: "" },
      created_at: new Date().toISOString(),
    };
    const integrated = integratedKind(kind);
    if (frame.mode === "integration" && integrated) {
      // Typed at once: the terminal holds it until the program first reads a line.
      const script = integrationScript(integrated, frame.nonce ?? "", paths.cells);
      const scriptPath = `${paths.dir}/${script.file}`;
      await Deno.writeTextFile(scriptPath, script.content, { mode: 0o600, createNew: true });
      await pasteText(config, name, script.installLine(scriptPath) + "\n");
    }
    await writeMeta(paths, meta);
    const ready = await waitReady(config, paths, meta);
    if (ready.fallback) {
      meta.frame = { mode: "repeat", fallback: ready.fallback };
      await waitReady(config, paths, meta);
    }
    meta.bracketed_paste = ready.bracketedPaste;
    await writeMeta(paths, meta);
    return { session: name, created: true, meta };
  } catch (e) {
    await killSession(config, name).catch(() => false);
    await removeState(paths);
    throw e;
  }
}

/** What waiting for the first prompt found. */
interface Readiness {
  /** The program turned bracketed paste on. */
  bracketedPaste: boolean;
  /** Set when integration markers never came: why (the session falls back to repeat mode). */
  fallback?: string;
}

const PASTE_ON = "\x1b[?2004h";

/**
 * Waits for the program's first prompt: the integration end marker, the exact prompt, or output
 * followed by a quiet spell. No fixed sleep; bounded by {@link READY_TIMEOUT_MS} (integration:
 * {@link INTEGRATION_TIMEOUT_MS}, then the caller falls back to repeat mode).
 */
async function waitReady(
  config: KernelConfig,
  paths: SessionPaths,
  meta: SessionMeta,
): Promise<Readiness> {
  const frame = meta.frame;
  const lines: string[] = [];
  let markedAt: number | undefined;
  const term = new TerminalText((line) => lines.push(line), {
    onOsc: (payload) => {
      if (markedAt !== undefined || frame.mode !== "integration") return;
      if (parseMarker(payload, frame.nonce ?? "")?.kind === "end") markedAt = Date.now();
    },
  });
  const follower = await FileFollower.open(paths.log, 0);
  const start = Date.now();
  const deadline = start +
    (frame.mode === "integration" ? INTEGRATION_TIMEOUT_MS : READY_TIMEOUT_MS);
  const decoder = new TextDecoder();
  let recent = "";
  let pasteOn = false;
  let lastGrowth = start;
  let seen = false;
  try {
    while (true) {
      const n = await follower.readAvailable((bytes) => {
        term.push(bytes);
        recent = recent.slice(-8) + decoder.decode(bytes, { stream: true });
        if (recent.includes(PASTE_ON)) pasteOn = true;
      });
      if (n > 0) {
        lastGrowth = Date.now();
        seen = true;
      }
      const quiet = Date.now() - lastGrowth;
      const partial = term.partial;
      if (frame.mode === "integration") {
        // After the marker, readline turns bracketed paste on as it starts reading.
        const wantsPaste = meta.kind === "bash" || meta.kind === "zsh";
        if (
          markedAt !== undefined &&
          (!wantsPaste || pasteOn || Date.now() - markedAt >= PASTE_WAIT_MS)
        ) {
          return { bracketedPaste: pasteOn };
        }
      } else if (frame.mode === "exact") {
        if (partial.trimEnd() === (frame.prompt ?? "").trimEnd()) {
          return { bracketedPaste: pasteOn };
        }
      } else if (seen && partial.trim() !== "" && quiet >= READY_QUIET_MS) {
        return { bracketedPaste: pasteOn };
      } else if (seen && quiet >= READY_QUIET_NO_PROMPT_MS) return { bracketedPaste: pasteOn };
      if (!(await isAlive(meta.pane)) || !(await paneAlive(config, meta.name))) {
        const tail = [...lines, partial].filter((l) => l.trim() !== "").slice(-3).join(" | ");
        throw new KttyError(
          "not_ready",
          `program '${meta.command}' exited before showing a prompt${tail ? `: ${tail}` : ""}`,
        );
      }
      if (Date.now() >= deadline) {
        if (frame.mode === "integration") {
          return {
            bracketedPaste: pasteOn,
            fallback: `no shell-integration marker within ${INTEGRATION_TIMEOUT_MS / 1000} s`,
          };
        }
        const what = frame.mode === "exact" ? `the prompt '${frame.prompt}'` : "a prompt";
        throw new KttyError(
          "not_ready",
          `program '${meta.command}' did not show ${what} within ${READY_TIMEOUT_MS / 1000} s`,
        );
      }
      await follower.wait(READY_POLL_MS);
    }
  } finally {
    follower.close();
  }
}

let lastPaneCheck = 0;
async function paneAlive(config: KernelConfig, name: string): Promise<boolean> {
  // tmux is asked at most every 250 ms; /proc answers in between.
  if (Date.now() - lastPaneCheck < 250) return true;
  lastPaneCheck = Date.now();
  return await hasSession(config, name);
}

async function removeState(paths: SessionPaths): Promise<void> {
  try {
    await Deno.remove(paths.dir, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/**
 * Ends a session: its watcher, its tmux session and its state. Appends `closed` first so event
 * followers see it. Throws {@link NoSessionError} when there was nothing to kill.
 */
export async function killSessionAndState(config: KernelConfig, name: string): Promise<void> {
  const paths = sessionPaths(config, name);
  let hadState = true;
  try {
    await Deno.lstat(paths.dir);
  } catch {
    hadState = false;
  }
  if (hadState) {
    await appendEvent(paths.events, name, { status: "closed", reason: "killed" }).catch(() => {});
    const lock = await readLock(paths).catch(() => undefined);
    if (lock?.owner_kind === "fire") await signalProcess(lock.owner, "SIGTERM");
  }
  const killed = await killSession(config, name);
  if (hadState) await removeState(paths);
  if (!hadState && !killed) throw new NoSessionError(name);
}

/** The states a session's cell machinery can be in. */
export type CellState = "idle" | "running" | "timeout" | "watcher-dead" | "stale";

/** What `status` and `ls` report of a session. */
export interface SessionStatus {
  /** The session's name. */
  session: string;
  /** True while its tmux session exists. */
  alive: boolean;
  /** idle, running, timeout (lock kept), watcher-dead, or stale (tmux session gone). */
  state: CellState;
  /** The active cell, or null. */
  cell_id: string | null;
  /** The process watching the active cell, or null. */
  watcher_pid: number | null;
  /** Pid of the session's program, or null when dead. */
  pane_pid: number | null;
  /** The program in the pane's foreground, or null when dead. */
  pane_command: string | null;
  /** Seconds since the pane last printed anything. */
  idle_s: number;
  /** The frame mode. */
  mode: FrameConfig["mode"];
  /** Why shell integration is not in use where it was expected, else null. */
  fallback: string | null;
  /** The session's command line. */
  command: string;
  /** What to do next, for a person or an agent. */
  next: string;
}

async function describe(
  paths: SessionPaths,
  meta: SessionMeta,
  pane: PaneInfo | undefined,
): Promise<SessionStatus> {
  const name = meta.name;
  let state: CellState = pane ? "idle" : "stale";
  let cellId: string | null = null;
  let watcherPid: number | null = null;
  let lockCorrupt = false;
  const lock = await readLock(paths).catch(() => {
    lockCorrupt = true;
    return undefined;
  });
  if (lock) {
    cellId = lock.cell_id;
    watcherPid = lock.owner.pid;
    if (pane) {
      const record = await readCellRecord(paths, lock.cell_id).catch(() => undefined);
      if (record?.result.status === "timeout") state = "timeout";
      else if (!(await isAlive(lock.owner))) state = "watcher-dead";
      else state = "running";
    }
  } else if (lockCorrupt && pane) state = "watcher-dead";
  let idle = 0;
  try {
    const mtime = (await Deno.stat(paths.log)).mtime;
    if (mtime) idle = Math.max(0, Math.round((Date.now() - mtime.getTime()) / 1000));
  } catch {
    idle = 0;
  }
  const next: Record<CellState, string> = {
    idle: `k run ${name} '<code>'`,
    running: `k poll ${name}  (or k int ${name})`,
    timeout: `k int ${name}  (or k kill ${name})`,
    "watcher-dead": `k int ${name}`,
    stale: `k new ${name} ${meta.command}  (or k kill ${name})`,
  };
  return {
    session: name,
    alive: pane !== undefined,
    state,
    cell_id: cellId,
    watcher_pid: watcherPid,
    pane_pid: pane?.panePid ?? null,
    pane_command: pane?.paneCommand ?? null,
    idle_s: idle,
    mode: meta.frame.mode,
    fallback: meta.frame.fallback ?? null,
    command: meta.command,
    next: next[state],
  };
}

/** The status of one session; {@link NoSessionError} when it has no state. */
export async function sessionStatus(config: KernelConfig, name: string): Promise<SessionStatus> {
  const paths = sessionPaths(config, name);
  const meta = await readMetaIfAny(paths);
  if (!meta) throw new NoSessionError(name);
  const pane = await paneInfo(config, name);
  return describe(paths, meta, pane);
}

/** Every session with state on this socket, live or stale, sorted by name. */
export async function listSessions(config: KernelConfig): Promise<SessionStatus[]> {
  const panes = new Map((await listPanes(config)).map((p) => [p.name, p]));
  const out: SessionStatus[] = [];
  let entries: Deno.DirEntry[] = [];
  try {
    entries = await Array.fromAsync(Deno.readDir(socketDir(config)));
  } catch {
    entries = [];
  }
  for (const entry of entries) {
    if (!entry.isDirectory) continue;
    let paths: SessionPaths;
    try {
      paths = sessionPaths(config, entry.name);
    } catch {
      continue;
    }
    const meta = await readMetaIfAny(paths).catch(() => undefined);
    if (!meta) continue;
    out.push(await describe(paths, meta, panes.get(entry.name)));
  }
  return out.sort((a, b) => a.session.localeCompare(b.session));
}

/**
 * The session a verb acts on: `name` if given, else `K_SESSION`, else the only live session.
 */
export async function resolveSessionName(config: KernelConfig, name?: string): Promise<string> {
  if (name !== undefined) {
    sessionPaths(config, name);
    return name;
  }
  const fromEnv = Deno.env.get("K_SESSION");
  if (fromEnv) {
    sessionPaths(config, fromEnv);
    return fromEnv;
  }
  const live = (await listSessions(config)).filter((s) => s.alive);
  if (live.length === 1 && live[0]) return live[0].session;
  if (live.length === 0) {
    throw new UsageError("no session given and none is live; use k new <session> bash");
  }
  throw new UsageError(
    `no session given and ${live.length} are live (${
      live.map((s) => s.session).join(", ")
    }); name one or set K_SESSION`,
  );
}

/** Appends a `notify` event to the session's log. */
export async function notifySession(
  config: KernelConfig,
  name: string,
  text: string,
  from: string,
): Promise<KttyEvent> {
  const paths = sessionPaths(config, name);
  if (!(await readMetaIfAny(paths))) throw new NoSessionError(name);
  if (text === "") throw new UsageError("missing message");
  const event = await appendEvent(paths.events, name, { status: "notify", from, message: text });
  if (!event) throw new NoSessionError(name);
  return event;
}

/** One line of history: a cell or an event. */
export interface HistoryEntry {
  /** The event. */
  event: KttyEvent;
  /** For cell events: the first line of the cell's code. */
  code?: string;
}

/** The last `n` events of a session, with each cell's code beside its events. */
export async function sessionHistory(
  config: KernelConfig,
  name: string,
  n: number,
): Promise<HistoryEntry[]> {
  const paths = sessionPaths(config, name);
  if (!(await readMetaIfAny(paths))) throw new NoSessionError(name);
  const events = (await readEvents(paths.events)).slice(-n);
  const out: HistoryEntry[] = [];
  for (const event of events) {
    let code: string | undefined;
    if ("cell_id" in event && event.cell_id && event.status !== "fired") {
      code = (await readCellRecord(paths, event.cell_id).catch(() => undefined))?.code;
    }
    out.push(code === undefined ? { event } : { event, code });
  }
  return out;
}

/**
 * Sessions: create, kill, list and describe them. A session is a tmux session on the kernel's
 * socket plus a state directory holding its metadata, pane log, lock, results and event log.
 * @module
 */

import { type ProgramKind, programKind } from "./code.ts";
import { integratedKind, integrationScript, newNonce, parseMarker } from "./integration/scripts.ts";
import { KttyError, NoSessionError, UsageError } from "./errors.ts";
import { appendEvent, readLastEvents } from "./events/log.ts";
import { FileFollower } from "./follow.ts";
import { type FrameConfig, resolveHook } from "./frame/mod.ts";
import { readLock } from "./lock.ts";
import { readMetaIfAny, type SessionMeta, writeMeta } from "./session/meta.ts";
import { isAlive, type ProcessId, processId, stopProcess, WATCHER_STOP_GRACE_MS } from "./proc.ts";
import {
  createExclusive,
  ensureStateDir,
  ioError,
  type KernelConfig,
  makePrivateDir,
  readJsonFile,
  removeIfExists,
  type SessionPaths,
  sessionPaths,
  socketDir,
} from "./state.ts";
import { PASTE_ON, TerminalText } from "./text.ts";
import {
  assertTmuxVersion,
  hasSession,
  killSession,
  killViews,
  listTmuxSessions,
  newSession,
  resizeWindow,
  type TmuxSessionInfo,
  tmuxSessionInfo,
} from "./tmux.ts";
import { decodeEvent, type KttyEvent } from "./types.ts";
import { readCellRecord } from "./watch.ts";

/**
 * Pane width where the echo of typed code is recognised line by line (repeat, exact, hook modes):
 * wide enough that readline never wraps typed code.
 */
export const PANE_COLUMNS = 10_000;
/**
 * Pane width in integration mode, where markers frame the output and wrapped echo does no harm.
 * tmux's cost per line of output grows with the width (`seq 1 100000` in a pane: ~0.6 s at 10000
 * columns, ~0.15 s at 1000), and programs see an ordinary, if wide, terminal.
 */
export const INTEGRATION_COLUMNS = 1000;
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
const READY_TMUX_CHECK_MS = 250;
const CREATE_WAIT_POLL_MS = 50;

/** Options of {@link createSession}. */
export interface NewSessionOptions {
  /** The program's command line (default `bash`), run through the shell exactly as typed. */
  command?: string;
  /**
   * How to tell a cell ended: unset for shell integration where the program has it (bash, zsh,
   * sh, python3, node; repeat mode otherwise), `repeat` for repeat mode, a prompt string
   * (`(gdb)`) for exact mode, a path with a `/` (`./detect`) for hook mode.
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
  // One creator per name at a time: a second `new` waits for the first and finds it alive.
  const creating = `${socketDir(config)}/.${name}.creating`;
  const deadline = Date.now() + READY_TIMEOUT_MS + INTEGRATION_TIMEOUT_MS;
  const self = await processId(Deno.pid) ?? { pid: Deno.pid, start: "" };
  while (true) {
    if (await createExclusive(creating, JSON.stringify(self))) {
      // Alive means done: its creator released the name only after its first prompt.
      const live = await liveSession(config, paths, name);
      if (!live) break;
      await removeIfExists(creating);
      return { session: name, created: false, meta: live };
    }
    const owner = await readJsonFile(creating).catch(() => undefined) as ProcessId | undefined;
    if (!owner || typeof owner.pid !== "number" || !(await isAlive(owner))) {
      await removeIfExists(creating); // its creator died: take over
      continue;
    }
    if (Date.now() > deadline) {
      throw new KttyError("io", `session '${name}' is being created by another process`);
    }
    await new Promise((resolve) => setTimeout(resolve, CREATE_WAIT_POLL_MS));
  }
  try {
    return await createFresh(config, name, paths, { command, kind, frame, cwd });
  } finally {
    await removeIfExists(creating);
  }
}

/** The session's metadata when it has state and a live tmux session; else undefined. */
async function liveSession(
  config: KernelConfig,
  paths: SessionPaths,
  name: string,
): Promise<SessionMeta | undefined> {
  const [existing, alive] = await Promise.all([
    readMetaIfAny(paths).catch(() => undefined),
    hasSession(config, name),
  ]);
  return existing && alive ? existing : undefined;
}

/** What {@link createFresh} starts. */
interface Fresh {
  command: string;
  kind: ProgramKind;
  frame: FrameConfig;
  cwd: string;
}

/** Creates the session from nothing; the caller holds the name's creation lock. */
async function createFresh(
  config: KernelConfig,
  name: string,
  paths: SessionPaths,
  { command, kind, frame, cwd }: Fresh,
): Promise<NewSessionResult> {
  // Stale state (program gone) or a stray tmux session without state: start over.
  if (await hasSession(config, name)) await killSession(config, name);
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
    // The integration loader is typed in the same tmux call that starts the program: the
    // terminal holds it until the program first reads a line.
    let loader: string | undefined;
    const integrated = integratedKind(kind);
    if (frame.mode === "integration" && integrated) {
      const script = integrationScript(integrated, frame.nonce ?? "", paths.cells);
      const scriptPath = `${paths.dir}/${script.file}`;
      await Deno.writeTextFile(scriptPath, script.content, { mode: 0o600, createNew: true });
      loader = script.installLine(scriptPath) + "\n";
    }
    const columns = frame.mode === "integration" ? INTEGRATION_COLUMNS : PANE_COLUMNS;
    const panePid = await newSession(config, name, {
      command,
      logPath: paths.log,
      cwd,
      columns,
      rows: PANE_ROWS,
      type: loader,
    });
    const meta: SessionMeta = {
      name,
      command,
      kind,
      frame,
      columns,
      pane: await processId(panePid) ?? { pid: panePid, start: "" },
      created_at: new Date().toISOString(),
    };
    await writeMeta(paths, meta);
    const ready = await waitReady(config, paths, meta);
    if (ready.fallback) {
      // Without markers the echo must be recognised: widen the pane so typed code never wraps.
      meta.frame = { mode: "repeat", fallback: ready.fallback };
      meta.columns = PANE_COLUMNS;
      await resizeWindow(config, name, PANE_COLUMNS);
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
    columns: meta.columns,
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
  let lastTmuxCheck = start;
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
      // /proc answers every time; tmux is asked at most every 250 ms.
      let alive = await isAlive(meta.pane);
      if (alive && Date.now() - lastTmuxCheck >= READY_TMUX_CHECK_MS) {
        lastTmuxCheck = Date.now();
        alive = await hasSession(config, meta.name);
      }
      if (!alive) {
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
    await follower.close();
  }
}

async function removeState(paths: SessionPaths): Promise<void> {
  // A racing `fire` may add a file while the tree is removed ("directory not empty"): try again.
  for (let attempt = 1;; attempt++) {
    try {
      await Deno.remove(paths.dir, { recursive: true });
      return;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      if (attempt >= REMOVE_ATTEMPTS) throw ioError("remove", paths.dir, e);
    }
  }
}

const REMOVE_ATTEMPTS = 5;

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
    if (lock?.owner_kind === "fire") await stopProcess(lock.owner, WATCHER_STOP_GRACE_MS);
  }
  // A peek or attach view shares the session's window and would keep its program running.
  await killViews(config, name);
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
  /** Seconds since the active cell was typed, or null when there is none. */
  cell_age_s: number | null;
  /** The process watching the active cell, or null. */
  watcher_pid: number | null;
  /** Pid of the session's program, or null when dead. */
  pane_pid: number | null;
  /** The program in the pane's foreground, or null when dead. */
  pane_command: string | null;
  /** Seconds since the pane last printed anything. */
  idle_s: number;
  /** Terminals showing the session (`k peek`, `k attach`, a direct tmux attach); 0 when dead. */
  clients: number;
  /** The frame mode. */
  mode: FrameConfig["mode"];
  /** Why shell integration is not in use where it was expected, else null. */
  fallback: string | null;
  /** The session's command line. */
  command: string;
  /** When the session was made, UTC ISO-8601. */
  created_at: string;
  /** Status of the last event in the session's event log (`fired`, `done`, …), or null. */
  last_event: KttyEvent["status"] | null;
  /** Sequence number of that event, or null. */
  last_event_seq: number | null;
  /** When that event was appended, UTC ISO-8601, or null. */
  last_event_at: string | null;
  /** Seconds since that event, or null. */
  last_event_age_s: number | null;
  /** The machine the session runs on, so listings from several machines can be merged. */
  host: string;
  /** The user the session runs as. */
  user: string;
  /** The tmux socket (`K_SOCKET`) the session lives on. */
  socket: string;
  /** Set by `k ls --prune` on a stale session it has just removed. */
  pruned?: true;
  /** What to do next, for a person or an agent. */
  next: string;
}

/**
 * A tmux session on the kernel's socket without usable ktty state: someone made it by hand (or
 * its `meta.json` is unreadable: corrupt, or `k new` is still starting it). `k ls` shows it so
 * nothing on the socket is hidden; ktty runs no cells in it.
 */
export interface UnmanagedSession {
  /** The session's name (tmux's name, decoded as ktty encodes names). */
  session: string;
  /** Always true: it is listed because tmux has it. */
  alive: true;
  /** Always `unmanaged`. */
  state: "unmanaged";
  /** Pid of the program in its active pane. */
  pane_pid: number;
  /** The program in that pane's foreground. */
  pane_command: string;
  /** Seconds since tmux last saw activity in the session. */
  idle_s: number;
  /** Terminals showing the session. */
  clients: number;
  /** The machine it runs on. */
  host: string;
  /** The user it runs as. */
  user: string;
  /** The tmux socket it lives on. */
  socket: string;
  /** What to do with it. */
  next: string;
}

/** One row of `k ls`: a ktty session, or a tmux session on the socket without ktty state. */
export type FleetEntry = SessionStatus | UnmanagedSession;

/** Who runs these sessions where: carried by every listed record. */
export interface Identity {
  /** This machine's host name. */
  host: string;
  /** This process's user name. */
  user: string;
}

let identity: Identity | undefined;

/** This machine's host name and this process's user name (from the uid, not `$USER`). */
export async function whoAmI(): Promise<Identity> {
  if (identity) return identity;
  // Each source may be denied (a library embedded without --allow-sys/env/read): fall through.
  const env = (key: string) => {
    try {
      return Deno.env.get(key) ?? "";
    } catch {
      return "";
    }
  };
  let host = "";
  try {
    host = Deno.hostname();
  } catch {
    host = env("HOSTNAME");
  }
  let uid: number | null = null;
  try {
    uid = Deno.uid();
  } catch {
    uid = null;
  }
  let user = "";
  try {
    const passwd = await Deno.readTextFile("/etc/passwd");
    user = passwd.split("\n").map((l) => l.split(":")).find((f) => f[2] === String(uid))?.[0] ??
      "";
  } catch {
    user = "";
  }
  user ||= env("USER") || env("LOGNAME") || (uid === null ? "" : `uid ${uid}`);
  identity = { host: host || "unknown", user: user || "unknown" };
  return identity;
}

const LAST_EVENT_FIRST_READ_BYTES = 4096;
const LAST_EVENT_MAX_READ_BYTES = 256 * 1024;

/**
 * The last event of an event log, read from the file's tail (a few KiB, growing only while no
 * whole event is found), never the whole log. Skips a torn last line. Undefined when the log is
 * missing, empty, or its tail holds no event.
 */
export async function lastEvent(path: string): Promise<KttyEvent | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  try {
    const size = (await file.stat()).size;
    let span = Math.min(size, LAST_EVENT_FIRST_READ_BYTES);
    while (span > 0) {
      await file.seek(size - span, Deno.SeekMode.Start);
      const buf = new Uint8Array(span);
      let got = 0;
      while (got < span) {
        const n = await file.read(buf.subarray(got));
        if (n === null) break;
        got += n;
      }
      const lines = new TextDecoder().decode(buf.subarray(0, got)).split("\n");
      // Unless the read started at byte 0, its first line is a cut-off piece of a longer one.
      const whole = span === size ? lines : lines.slice(1);
      for (let i = whole.length - 1; i >= 0; i--) {
        const line = whole[i];
        if (!line) continue;
        try {
          return decodeEvent(line);
        } catch {
          // torn or foreign: look further back
        }
      }
      if (span === size || span >= LAST_EVENT_MAX_READ_BYTES) return undefined;
      span = Math.min(size, span * 8, LAST_EVENT_MAX_READ_BYTES);
    }
    return undefined;
  } finally {
    file.close();
  }
}

function secondsSince(ms: number, now: number): number {
  return Math.max(0, Math.round((now - ms) / 1000));
}

/** What to do next in each state, for a person or an agent. */
function nextCommand(state: CellState, name: string, command: string): string {
  switch (state) {
    case "idle":
      return `k run ${name} '<code>'  (watch it: k peek ${name})`;
    case "running":
      return `k poll ${name}  (wait: km ${name} -1; stop: k int ${name}; watch: k peek ${name})`;
    case "timeout":
      return `k int ${name}  (the cell timed out and may still run; or k kill ${name})`;
    case "watcher-dead":
      return `k int ${name}  (ends the cell whose watcher died; then k run ${name} '<code>')`;
    case "stale":
      return `k new ${name} ${command}  (restarts it; or k ls --prune / k kill ${name} removes it)`;
  }
}

async function describe(
  config: KernelConfig,
  paths: SessionPaths,
  meta: SessionMeta,
  tmuxInfo: TmuxSessionInfo | undefined,
): Promise<SessionStatus> {
  const name = meta.name;
  const now = Date.now();
  let state: CellState = tmuxInfo ? "idle" : "stale";
  let cellId: string | null = null;
  let cellAge: number | null = null;
  let watcherPid: number | null = null;
  let lockCorrupt = false;
  const lock = await readLock(paths).catch(() => {
    lockCorrupt = true;
    return undefined;
  });
  if (lock) {
    cellId = lock.cell_id;
    cellAge = secondsSince(lock.started_ms, now);
    watcherPid = lock.owner.pid;
    if (tmuxInfo) {
      const record = await readCellRecord(paths, lock.cell_id).catch(() => undefined);
      if (record?.result.status === "timeout") state = "timeout";
      else if (!(await isAlive(lock.owner))) state = "watcher-dead";
      else state = "running";
    }
  } else if (lockCorrupt && tmuxInfo) state = "watcher-dead";
  let idle = 0;
  try {
    const mtime = (await Deno.stat(paths.log)).mtime;
    if (mtime) idle = secondsSince(mtime.getTime(), now);
  } catch {
    idle = 0;
  }
  const last = await lastEvent(paths.events).catch(() => undefined);
  const lastMs = last ? Date.parse(last.ts) : NaN;
  const { host, user } = await whoAmI();
  return {
    session: name,
    alive: tmuxInfo !== undefined,
    state,
    cell_id: cellId,
    cell_age_s: cellAge,
    watcher_pid: watcherPid,
    pane_pid: tmuxInfo?.panePid ?? null,
    pane_command: tmuxInfo?.paneCommand ?? null,
    idle_s: idle,
    clients: tmuxInfo?.clients ?? 0,
    mode: meta.frame.mode,
    fallback: meta.frame.fallback ?? null,
    command: meta.command,
    created_at: meta.created_at,
    last_event: last?.status ?? null,
    last_event_seq: last?.seq ?? null,
    last_event_at: last?.ts ?? null,
    last_event_age_s: Number.isNaN(lastMs) ? null : secondsSince(lastMs, now),
    host,
    user,
    socket: config.socket,
    next: nextCommand(state, name, meta.command),
  };
}

/** The status of one session; {@link NoSessionError} when it has no state. */
export async function sessionStatus(config: KernelConfig, name: string): Promise<SessionStatus> {
  const paths = sessionPaths(config, name);
  const meta = await readMetaIfAny(paths);
  if (!meta) throw new NoSessionError(name);
  return describe(config, paths, meta, await tmuxSessionInfo(config, name));
}

/** This socket's session directories: their names, and the metadata of those that have it. */
async function stateDirs(
  config: KernelConfig,
): Promise<{ dirs: Set<string>; managed: Map<string, SessionMeta> }> {
  const dirs = new Set<string>();
  const managed = new Map<string, SessionMeta>();
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
      continue; // not a session's directory (a prune in progress, a stray file)
    }
    dirs.add(entry.name);
    const meta = await readMetaIfAny(paths).catch(() => undefined);
    if (meta) managed.set(entry.name, meta);
  }
  return { dirs, managed };
}

/** Every session with state on this socket, live or stale, sorted by name. */
export async function listSessions(config: KernelConfig): Promise<SessionStatus[]> {
  return (await listFleet(config)).filter((s): s is SessionStatus => s.state !== "unmanaged");
}

/**
 * Everything on this socket, sorted by name: every session with state, live or stale, joined
 * with what tmux knows of it and its last event, and every tmux session without state (made by
 * hand) as `unmanaged`. The views of `k peek`/`k attach` are not listed: they count in their
 * session's `clients`.
 */
export async function listFleet(config: KernelConfig): Promise<FleetEntry[]> {
  const [tmuxSessions, { dirs, managed }] = await Promise.all([
    listTmuxSessions(config),
    stateDirs(config),
  ]);
  const live = new Map<string, TmuxSessionInfo>();
  for (const s of tmuxSessions) if (s.viewOf === undefined) live.set(s.name, s);
  const out: FleetEntry[] = [];
  for (const [name, meta] of managed) {
    out.push(await describe(config, sessionPaths(config, name), meta, live.get(name)));
  }
  const { host, user } = await whoAmI();
  const now = Date.now();
  for (const [name, s] of live) {
    if (managed.has(name)) continue;
    let valid = true;
    try {
      sessionPaths(config, name);
    } catch {
      valid = false;
    }
    out.push({
      session: name,
      alive: true,
      state: "unmanaged",
      pane_pid: s.panePid,
      pane_command: s.paneCommand,
      idle_s: s.activity > 0 ? secondsSince(s.activity * 1000, now) : 0,
      clients: s.clients,
      host,
      user,
      socket: config.socket,
      next: dirs.has(name)
        ? `k kill ${name}  (its state has no readable meta.json: corrupt, or k new is starting it)`
        : valid
        ? `k peek ${name}  (no ktty state: made by hand; k kill ${name} ends it)`
        : `tmux -L ${config.socket} attach -t '=${s.tmuxName}'  (no ktty state: made by hand)`,
    });
  }
  return out.sort((a, b) => a.session.localeCompare(b.session));
}

/**
 * Removes every stale session (state left, tmux session gone): appends `closed` (reason
 * `pruned`) to its event log, ends a watcher that may still hold its lock, and removes its state
 * directory. A session that comes back to life meanwhile (`k new` on the same name) is left
 * alone: the directory is first renamed aside and only removed if it is still the one listed.
 *
 * @returns the stale sessions as they were listed, each marked `pruned`, sorted by name
 */
export async function pruneStaleSessions(config: KernelConfig): Promise<SessionStatus[]> {
  const pruned: SessionStatus[] = [];
  for (const status of await listSessions(config)) {
    if (status.state !== "stale") continue;
    if (await pruneSession(config, status)) pruned.push({ ...status, pruned: true });
  }
  return pruned;
}

async function pruneSession(config: KernelConfig, status: SessionStatus): Promise<boolean> {
  const paths = sessionPaths(config, status.session);
  if (await hasSession(config, status.session)) return false;
  const aside = `${socketDir(config)}/.pruning-${status.session}-${crypto.randomUUID()}`;
  try {
    await Deno.rename(paths.dir, aside);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false; // someone else removed it
    throw e;
  }
  const movedPaths: SessionPaths = {
    dir: aside,
    meta: `${aside}/meta.json`,
    log: `${aside}/pane.log`,
    lock: `${aside}/lock`,
    events: `${aside}/events.jsonl`,
    last: `${aside}/last`,
    cells: `${aside}/cells`,
  };
  const meta = await readMetaIfAny(movedPaths).catch(() => undefined);
  if (meta?.created_at !== status.created_at || (await hasSession(config, status.session))) {
    // Not the stale session that was listed: a `k new` replaced it meanwhile. Put it back.
    await Deno.rename(aside, paths.dir).catch(() => {});
    return false;
  }
  const lock = await readLock(movedPaths).catch(() => undefined);
  if (lock?.owner_kind === "fire") await stopProcess(lock.owner, WATCHER_STOP_GRACE_MS);
  await appendEvent(movedPaths.events, status.session, { status: "closed", reason: "pruned" })
    .catch(() => {});
  await Deno.remove(aside, { recursive: true });
  return true;
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
  const events = await readLastEvents(paths.events, n);
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

/**
 * Describing sessions: the status of one (cell state, pane, last event, what to do next) and the
 * fleet on a socket, joining state directories with what tmux knows, unmanaged sessions included.
 * @module
 */

import { NoSessionError } from "../errors.ts";
import { lastEvent } from "../events/log.ts";
import type { FrameMode } from "../frame/mod.ts";
import { pastWatchEnd, readLock, WATCH_BOUND_TEXT } from "../lock.ts";
import { isAlive } from "../proc.ts";
import { type KernelConfig, type SessionPaths, sessionPaths, socketDir } from "../state.ts";
import { listTmuxSessions, type TmuxSessionInfo, tmuxSessionInfo } from "../tmux.ts";
import type { KttyEvent } from "../types.ts";
import { readCellRecord } from "../cell/record.ts";
import { knownProfile } from "../programs/mod.ts";
import { nestedFile } from "../programs/python_debugger.ts";
import { type Foreground, heldBy } from "./foreground.ts";
import { whoAmI } from "./identity.ts";
import { readMetaIfAny, type SessionMeta } from "./meta.ts";
import { notePipeDeath, type PipeEnd, readPipeEnd, signPipeClosed, takePipeEnd } from "./pipe.ts";
import { rearmPipe } from "../tmux.ts";
import { startTicks, WATCH_FAILED_NOTE } from "../events/hub.ts";

/** The states a session's cell machinery can be in. */
export type CellState = "idle" | "running" | "timeout" | "watcher-dead" | "stale";

/** What `status` and `ls` report of a session. */
export interface SessionStatus {
  /** The session's name. */
  session: string;
  /** True while its tmux session exists. */
  alive: boolean;
  /**
   * idle, running, timeout (the cell ran past its limit and still runs, lock kept), watcher-dead,
   * or stale (tmux session gone).
   */
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
  /**
   * What holds the terminal when it is not the session's own program (a pager, an editor, a
   * nested REPL, a job): its command and the pid of its process group's leader; else null.
   */
  foreground: Foreground | null;
  /** Whether a full-screen program holds the alternate screen (less, vi); null when dead. */
  alternate_screen: boolean | null;
  /**
   * The session's output pipe (what feeds the pane log, from which every cell's output is read):
   * `ok`; `re-armed` when it had died and this call re-armed it (what the pane printed meanwhile
   * is lost; the hint says what happened); `dead` when it is dead now (the hint says who re-arms
   * it: the running cell's watcher; or what to do); null when the session is dead.
   */
  pipe: "ok" | "re-armed" | "dead" | null;
  /**
   * With `foreground`: the way out of it, in k's verbs; with a re-armed or dead `pipe`, what
   * happened to it; else null.
   */
  hint: string | null;
  /** Seconds since the pane last printed anything. */
  idle_s: number;
  /** Terminals showing the session (`k peek`, `k attach`, a direct tmux attach); 0 when dead. */
  clients: number;
  /**
   * The program stack reading the cells: the session's own profile (`python`, `other`…), then a
   * program nested in it that reads them now (`["python", "pdb"]`: a cell reached a debugger).
   */
  program: string[];
  /** The frame mode. */
  mode: FrameMode;
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
  /**
   * When a follower on this socket (km, a watcher, a library stream) could not watch files and
   * polls instead (the user's inotify instances or watches used up): what it said, with its pid;
   * else null.
   */
  watch_failed: string | null;
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

/**
 * The program nested in the session's own that reads its cells now (a debugger), if any: read
 * only when the directory's listing has its file (a failed open costs more than the read).
 */
function nestedProgram(paths: SessionPaths, files: Set<string>): string[] {
  if (!files.has(NESTED_FILE)) return [];
  let nested = "";
  try {
    nested = Deno.readTextFileSync(nestedFile(paths.dir));
  } catch {
    return []; // gone meanwhile: the debugger ended
  }
  return /^[a-z][a-z0-9_-]{0,31}$/.test(nested) ? [nested] : [];
}

/** What a session made with an embedder's profile, unknown to this process, does. */
function unknownProfileHint(kind: string): string {
  return `program profile '${kind}' is not known to this process (a library registered it): ` +
    `cells are typed as written, and end where the program's own markers or prompt say`;
}

/** What became of a session's output pipe: see {@link SessionStatus.pipe}. */
type PipeHealth = NonNullable<SessionStatus["pipe"]>;

/** One row of `k ls`: a ktty session, or a tmux session on the socket without ktty state. */
export type FleetEntry = SessionStatus | UnmanagedSession;

function secondsSince(ms: number, now: number): number {
  return Math.max(0, Math.round((now - ms) / 1000));
}

/**
 * What to do next in each state, for a person or an agent. `unwatched`: a timed-out cell past the
 * bound of its background watching.
 */
function nextCommand(state: CellState, name: string, command: string, unwatched: boolean): string {
  switch (state) {
    case "idle":
      return `k run ${name} '<code>'  (watch it: k peek ${name})`;
    case "running":
      return `k poll ${name}  (wait: km ${name} -1; stop: k int ${name}; watch: k peek ${name})`;
    case "timeout":
      if (unwatched) {
        return `k int ${name}  (the cell timed out and is no longer watched after ${WATCH_BOUND_TEXT}; or k kill ${name})`;
      }
      return `k poll ${name}  (the cell timed out and still runs, watched: wait: km ${name} -1; stop: k int ${name})`;
    case "watcher-dead":
      return `k int ${name}  (ends the cell whose watcher died; then k run ${name} '<code>')`;
    case "stale":
      return `k new ${name} ${command}  (restarts it; or k ls --prune / k kill ${name} removes it)`;
  }
}

const LOCK_FILE = "lock";
const EVENTS_FILE = "events.jsonl";
const NESTED_FILE = nestedFile("").slice(1);

/** The names in a session's directory (empty when it cannot be read). */
function filesIn(dir: string): Set<string> {
  const names = new Set<string>();
  try {
    for (const entry of Deno.readDirSync(dir)) names.add(entry.name);
  } catch {
    // gone: nothing in it
  }
  return names;
}

/**
 * What a process that could not watch files left in the socket's directory (src/events/hub.ts),
 * while that process lives; else null.
 */
function watchFailedNote(config: KernelConfig): string | null {
  let note: unknown;
  try {
    note = JSON.parse(Deno.readTextFileSync(`${socketDir(config)}/${WATCH_FAILED_NOTE}`));
  } catch {
    return null;
  }
  if (typeof note !== "object" || note === null) return null;
  const { pid, start, message } = note as { pid?: unknown; start?: unknown; message?: unknown };
  if (typeof pid !== "number" || typeof message !== "string") return null;
  return start !== undefined && startTicks(pid) === start ? message : null;
}

/**
 * What a session's own files and processes say, read without asking tmux, so that `k ls` reads
 * every session's while its one tmux call runs. Bounded per session: one directory listing, the
 * lock (when there is one), one stat of the pane log, `/proc/<pane pid>/stat` (and more only when
 * another program holds the terminal), a 4 KiB tail of the pane log for a shell's markers (more
 * only when the tail has none), and the event log's last line.
 */
interface SessionRead {
  /** The names in the session's directory. */
  files: Set<string>;
  /** The active cell's lock, if any. */
  lock: Awaited<ReturnType<typeof readLock>> | undefined;
  /** Whether a lock file is there but unreadable. */
  lockCorrupt: boolean;
  /** Seconds since the pane log last grew. */
  idle: number;
  /** What holds the terminal, as if the session were alive with `idle` cells (see heldBy). */
  held: ReturnType<typeof heldBy>;
  /** The event log's last event. */
  last: KttyEvent | undefined;
  /** When this was read, ms since the epoch. */
  now: number;
}

async function readSession(paths: SessionPaths, meta: SessionMeta): Promise<SessionRead> {
  const now = Date.now();
  let lockCorrupt = false;
  // One listing of the directory says which files there are: no failed open for a missing one
  // (a thrown NotFound costs more than the read), so `k ls` over many sessions stays fast.
  const files = filesIn(paths.dir);
  const lock = !files.has(LOCK_FILE) ? undefined : await readLock(paths).catch(() => {
    lockCorrupt = true;
    return undefined;
  });
  let idle = 0;
  try {
    // Synchronous: an asynchronous call per session is most of the time of `k ls` over many.
    const mtime = Deno.statSync(paths.log).mtime;
    if (mtime) idle = secondsSince(mtime.getTime(), now);
  } catch {
    idle = 0;
  }
  // Read as for a live session; thrown away when tmux says it is gone (a stale one is rare).
  const held = heldBy(paths, meta, lock === undefined && !lockCorrupt);
  const last = files.has(EVENTS_FILE)
    ? await lastEvent(paths.events).catch(() => undefined)
    : undefined;
  return { files, lock, lockCorrupt, idle, held, last, now };
}

async function describe(
  config: KernelConfig,
  paths: SessionPaths,
  meta: SessionMeta,
  tmuxInfo: TmuxSessionInfo | undefined,
  watchFailed: string | null = watchFailedNote(config),
  read?: SessionRead,
): Promise<SessionStatus> {
  const name = meta.name;
  const listed = read !== undefined;
  read ??= await readSession(paths, meta);
  const { files, lock, lockCorrupt, idle, last, now } = read;
  let state: CellState = tmuxInfo ? "idle" : "stale";
  let cellId: string | null = null;
  let cellAge: number | null = null;
  let watcherPid: number | null = null;
  let unwatched = false;
  if (lock) {
    cellId = lock.cell_id;
    cellAge = secondsSince(lock.started_ms, now);
    watcherPid = lock.owner.pid;
    if (tmuxInfo) {
      const record = await readCellRecord(paths, lock.cell_id).catch(() => undefined);
      const timedOut = record?.result.status === "timeout";
      if (await isAlive(lock.owner)) state = timedOut ? "timeout" : "running";
      else if (timedOut && pastWatchEnd(lock, now)) {
        state = "timeout"; // the watcher exited at the bound; the cell may still run
        unwatched = true;
      } else state = "watcher-dead";
    }
  } else if (lockCorrupt && tmuxInfo) state = "watcher-dead";
  const held = tmuxInfo ? read.held : {};
  const foreground = held.foreground;
  // A live watcher of the active cell answers for a pipe death under it.
  const watchedSince = lock && (state === "running" || (state === "timeout" && !unwatched))
    ? lock.started_ms
    : undefined;
  // In a listing, a pipe tmux has open is taken as healthy without reading its sign: its cat
  // writes the sign of its end before tmux sees the pipe close, so for a moment both can say
  // so, and the next look re-arms it. `k status` reads the sign always.
  const pipe = !tmuxInfo
    ? null
    : listed && tmuxInfo.piped
    ? { health: "ok" as const }
    : await checkPipe(config, paths, meta, tmuxInfo.piped, watchedSince);
  const unknown = knownProfile(meta.kind) ? undefined : unknownProfileHint(meta.kind);
  const hints = [pipe?.hint, held.hint, unknown].filter((h) => h !== undefined);
  const hint = hints.length > 0 ? hints.join("; ") : null;
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
    foreground: foreground ?? null,
    alternate_screen: tmuxInfo?.alternate ?? null,
    pipe: pipe?.health ?? null,
    hint,
    idle_s: idle,
    clients: tmuxInfo?.clients ?? 0,
    program: [meta.kind, ...nestedProgram(paths, files)],
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
    watch_failed: watchFailed,
    // With no cell active, a program left holding the terminal would refuse `k run`; a shell
    // without its markers never ends its cell: the hint is the way on. So is a pipe not re-armed.
    next: pipe?.health === "dead" && pipe.hint !== undefined
      ? pipe.hint
      : held.hint !== undefined && (state === "idle" || !foreground)
      ? held.hint
      : nextCommand(state, name, meta.command, unwatched),
  };
}

/**
 * The session's output pipe, from tmux's view (`piped`, from the status call's own tmux query)
 * and the sign it leaves when it ends. A dead one is re-armed. A death under an active cell with
 * a live watcher (the cell started at `watchedSince`) is the watcher's to answer for (it ends the
 * cell as `pipe_died`), so a sign is left for it; any other death is noted here (a `notify`
 * event) and said in the hint.
 */
async function checkPipe(
  config: KernelConfig,
  paths: SessionPaths,
  meta: SessionMeta,
  piped: boolean,
  watchedSince: number | undefined,
): Promise<{ health: PipeHealth; hint?: string }> {
  let end: PipeEnd | undefined = readPipeEnd(paths, meta);
  // End of input while tmux has a pipe open: an old close (by hand), re-armed since.
  if (end?.kind === "eof" && piped && takePipeEnd(paths)) end = undefined;
  if (end === undefined && piped) return { health: "ok" };
  const signed = end !== undefined;
  end ??= { kind: "died", status: undefined, atMs: Date.now() };
  if (watchedSince !== undefined && end.atMs >= watchedSince) {
    // Not re-armed here: the new pipe would write its sign over the one the watcher reads.
    if (!piped) await signPipeClosed(paths, meta, watchedSince);
    return {
      health: "dead",
      hint:
        `the output pipe of session '${meta.name}' died under the running cell: its watcher re-arms it and ends the cell with the error pipe_died within a second (k poll ${meta.name})`,
    };
  }
  // Another reader took the sign first: it notes the death; this call still re-arms.
  if (signed && !takePipeEnd(paths)) {
    const state = await rearmPipe(config, meta.name, paths.log);
    return { health: state === "piped" ? "ok" : "dead" };
  }
  const { state, message } = await notePipeDeath(config, paths, meta, end);
  return { health: state === "piped" ? "re-armed" : "dead", hint: message };
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
    entries = [...Deno.readDirSync(socketDir(config))];
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

/**
 * Orders rows by session name, by code unit (as `LC_ALL=C sort`): `localeCompare` would load a
 * collator first, a few milliseconds of a `k ls` over many sessions.
 */
export function byName(a: { session: string }, b: { session: string }): number {
  return a.session < b.session ? -1 : a.session > b.session ? 1 : 0;
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
  // The one tmux call starts first: tmux answers while every session's files are read.
  const listing = listTmuxSessions(config);
  const { dirs, managed } = await stateDirs(config);
  const reads = new Map<string, [SessionPaths, SessionRead]>();
  for (const [name, meta] of managed) {
    const paths = sessionPaths(config, name);
    reads.set(name, [paths, await readSession(paths, meta)]);
  }
  const watchFailed = watchFailedNote(config);
  const live = new Map<string, TmuxSessionInfo>();
  for (const s of await listing) if (s.viewOf === undefined) live.set(s.name, s);
  const out: FleetEntry[] = [];
  for (const [name, meta] of managed) {
    const [paths, read] = reads.get(name)!;
    out.push(await describe(config, paths, meta, live.get(name), watchFailed, read));
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
  return out.sort(byName);
}

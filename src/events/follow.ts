/**
 * Following an event log: replay from a point, then sleep until the session's directory changes
 * (the process's one file watch, src/events/hub.ts), and notice when the session died so `closed`
 * is written. A death is learnt from an event, not by asking tmux in a loop: when the pane or the
 * session ends, tmux closes the pane's output pipe and the pipe's shell rewrites its sign beside
 * the log (src/session/pipe.ts); that change wakes the follower, which then checks once. The log
 * is the only source of events, never the program's output.
 * @module
 */

import { FileFollower } from "../follow.ts";
import { isAlive, type ProcessId } from "../proc.ts";
import { lockHeld } from "../lock.ts";
import type { KernelConfig, SessionPaths } from "../state.ts";
import { hasSession, pipeSignPath } from "../tmux.ts";
import { type ClosedBody, decodeEvent, type KttyEvent } from "../types.ts";
import { type DirSubscription, watchDir } from "./hub.ts";
import { appendEvent } from "./log.ts";

/**
 * How long a follower sleeps at most with nothing changed: a safety net for a lost file event (an
 * inotify queue overflow). Each look is a few small reads, nothing spawned.
 */
const SAFETY_CHECK_MS = 30_000;
/**
 * While the session's output pipe is not running (it died, or a session made before pipe signs),
 * no event will tell of the session's death: the follower looks at the program (a /proc read)
 * this often, and asks tmux {@link DEGRADED_TMUX_EVERY} times less often.
 */
const DEGRADED_CHECK_MS = 1000;
const DEGRADED_TMUX_EVERY = 5;
/** How long a follower lets an active cell's watcher report a death itself (cell error first). */
const WATCHER_GRACE_MS = 2000;

/** What an {@link EndedProbe} found. */
export interface ProbeAnswer {
  /** Why the session ended; undefined while it lives. */
  why?: string;
  /** When to look again without an event (ms from now). */
  recheckMs: number;
  /** The `closed` event to append, when it says more than `why` (the program's exit status). */
  closed?: ClosedBody;
}

/**
 * Says why a session ended, or undefined while it lives, and when to look again. Called by
 * {@link followEvents} at the start, when `file` (in the log's directory) changes, and when
 * `recheckMs` passed.
 */
export interface EndedProbe {
  /** The name of the file whose change calls for a look (the pipe's sign). */
  readonly file: string;
  /** Looks. */
  check(): Promise<ProbeAnswer>;
}

/** Options of {@link followEvents}. */
export interface FollowEventsOptions {
  /**
   * Where to start: a `seq` (events with that seq and later) or a time (events stamped then or
   * later). Unset: only events appended from now on. A `closed` event is yielded wherever it is.
   */
  from?: number | Date;
  /** Ends the stream (without an error) when aborted. */
  signal?: AbortSignal;
  /**
   * Byte offset to start reading at (a line start at or before the first wanted event): spares
   * reading the whole log. Default 0.
   */
  offset?: number;
  /** False: yield what the log holds now and stop (a snapshot). Default true: keep following. */
  follow?: boolean;
  /**
   * Tells whether the session died. When it says so, `closed` is appended (unless someone did)
   * and yielded. Unset: only a `closed` in the log or the log's removal end the stream.
   */
  ended?: EndedProbe;
}

/**
 * Yields the events of the log at `path` from `options.from` on, then follows new appends, woken
 * by the process's file watch on the log's directory. Torn and foreign lines are skipped; a log
 * that does not exist yet is waited for. Ends after yielding `closed`, when the log is removed
 * (after reading what it held), or when `options.signal` aborts.
 *
 * @param path the session's event log
 * @param session the session's name, for the `closed` event this follower may append
 * @param options where to start, cancellation, snapshot, death detection
 */
export async function* followEvents(
  path: string,
  session: string,
  options: FollowEventsOptions = {},
): AsyncGenerator<KttyEvent, void, undefined> {
  const { signal, ended } = options;
  const follow = options.follow ?? true;
  const dir = dirOf(path);
  let nextCheck = 0; // the probe runs at once
  let sub: DirSubscription | undefined;
  // Asks the probe when it is due or the pipe's sign changed; appends `closed` if it says so.
  const probe = async (changed: Set<string>): Promise<void> => {
    if (!ended) {
      nextCheck = Date.now() + SAFETY_CHECK_MS;
      return;
    }
    if (Date.now() < nextCheck && !changed.has(ended.file) && !changed.has("")) return;
    const answer = await ended.check();
    nextCheck = Date.now() + answer.recheckMs;
    if (answer.why) {
      await appendEvent(path, session, answer.closed ?? { status: "closed", reason: answer.why });
    }
  };

  let follower: FileFollower | undefined;
  let identity: string | undefined;
  try {
    if (follow) {
      if (!(await exists(dir))) return;
      sub = watchDir(dir);
    }
    while (follower === undefined) {
      if (signal?.aborted) return;
      try {
        identity = fileIdentity(await Deno.stat(path));
        follower = await FileFollower.open(path, options.offset ?? 0, false);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
        if (!sub || !(await exists(dir))) return;
        await probe(sub.takeChanged());
        await sub.wait(Math.max(0, nextCheck - Date.now()), signal);
      }
    }

    const decoder = new TextDecoder();
    let pending = "";
    let from = options.from;
    let first = true;
    let gone = false;
    const passes = (event: KttyEvent): boolean => {
      if (from === undefined) return true;
      if (typeof from === "number") return event.seq >= from;
      return Date.parse(event.ts) >= from.getTime();
    };
    try {
      while (true) {
        // Taken before reading: a change after the read wakes the next wait.
        const changed = sub?.takeChanged() ?? new Set<string>();
        const batch: KttyEvent[] = [];
        await follower.readAvailable((bytes) => {
          pending += decoder.decode(bytes, { stream: true });
          const lines = pending.split("\n");
          pending = lines.pop() ?? "";
          for (const line of lines) {
            if (line === "") continue;
            try {
              batch.push(decodeEvent(line));
            } catch {
              // a torn or foreign line: never an event
            }
          }
        });
        if (first) {
          first = false;
          // "From now on": everything after what the log holds at the first read.
          if (from === undefined) from = (batch.at(-1)?.seq ?? 0) + 1;
        }
        for (const event of batch) {
          if (event.status === "closed") {
            yield event; // the stream always ends with `closed`, wherever it starts
            return;
          }
          if (passes(event)) yield event;
        }
        if (!sub || gone || signal?.aborted) return;
        // Removed or replaced (a new session of the same name): read what is left, then stop.
        if (changed.size > 0 || Date.now() >= nextCheck) {
          gone = identity !== await statIdentity(path);
          if (gone) continue;
          await probe(changed);
        }
        await sub.wait(Math.max(0, nextCheck - Date.now()), signal);
      }
    } finally {
      await follower.close();
    }
  } finally {
    await sub?.close();
  }
}

/** How the pane's output pipe stands, as its sign tells for the session's pane. */
function pipeRunning(paths: SessionPaths, pane: ProcessId): boolean {
  try {
    return Deno.readTextFileSync(pipeSignPath(paths.log)) === `- ${pane.pid}\n`;
  } catch {
    return false;
  }
}

/**
 * The `closed` event of a session whose program ended: with its exit status when its shell left
 * it (see `shellExitTrap` in src/programs/profile.ts: the file names the status and the shell's
 * pid, which must be the session's program), else with a null status. One small read.
 *
 * @param paths the session's paths
 * @param pane the session's program, from its metadata
 * @returns the event's body
 */
export function programExitedEvent(paths: SessionPaths, pane: ProcessId): ClosedBody {
  let status: number | null = null;
  try {
    const [code = "", pid = ""] = Deno.readTextFileSync(paths.exitStatus).trim().split(" ");
    if (/^[0-9]{1,3}$/.test(code) && Number(pid) === pane.pid) status = Number(code);
  } catch {
    // none: not a shell with ktty's integration, or it did not exit by itself
  }
  return { status: "closed", reason: PROGRAM_EXITED, exit_status: status };
}

const PROGRAM_EXITED = "program exited";

/**
 * The probe {@link followEvents} uses for a session. While the output pipe runs, its sign's
 * change is the event that tells of a death: the probe then looks at the program (a /proc read)
 * and asks tmux once. While the pipe does not run, it looks every {@link DEGRADED_CHECK_MS}
 * (tmux less often). While a cell is active its watcher gets a moment to report the death
 * itself, so the cell's `error` lands before `closed`.
 *
 * @param config the kernel's socket
 * @param paths the session's paths
 * @param name the session's name
 * @param pane the session's program, from its metadata
 */
export function sessionEndedProbe(
  config: KernelConfig,
  paths: SessionPaths,
  name: string,
  pane: ProcessId,
): EndedProbe {
  let degradedLooks = 0;
  let deadSince: number | undefined;
  const file = pipeSignPath(paths.log);
  const check = async (): Promise<ProbeAnswer> => {
    const now = Date.now();
    const piped = pipeRunning(paths, pane);
    let why: string | undefined;
    if (!(await isAlive(pane))) why = PROGRAM_EXITED;
    else if (!piped || deadSince !== undefined) {
      // The sign changed (or no pipe tells us): ask tmux, but not at every degraded look.
      if (degradedLooks++ % DEGRADED_TMUX_EVERY === 0 || deadSince !== undefined) {
        if (!(await hasSession(config, name))) why = "tmux session gone";
      }
    }
    if (piped) degradedLooks = 0;
    const recheckMs = piped ? SAFETY_CHECK_MS : DEGRADED_CHECK_MS;
    if (why === undefined) {
      deadSince = undefined;
      return { recheckMs };
    }
    deadSince ??= now;
    if (now - deadSince < WATCHER_GRACE_MS && lockHeld(paths)) {
      return { recheckMs: WATCHER_GRACE_MS - (now - deadSince) };
    }
    const closed = why === PROGRAM_EXITED ? programExitedEvent(paths, pane) : undefined;
    return { why, recheckMs, ...(closed ? { closed } : {}) };
  };
  return { file: file.slice(file.lastIndexOf("/") + 1), check };
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i > 0 ? path.slice(0, i) : "/";
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

function fileIdentity(info: Deno.FileInfo): string {
  return `${info.dev}:${info.ino}`;
}

async function statIdentity(path: string): Promise<string | undefined> {
  try {
    return fileIdentity(await Deno.stat(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * Bounded disk: a session's pane log, event log and results are trimmed at a cell's end (never on
 * a timer: idle means idle). The logs are trimmed by punching holes at their front
 * (`fallocate --punch-hole`): every byte offset (in locks, in followers) stays valid, tmux keeps
 * appending to the same open file, and `seq` goes on untouched. Results are kept for the last
 * `K_RESULTS_KEEP` cells or `K_RESULTS_DAYS` days, whichever keeps more.
 * @module
 */

import { readLock } from "../lock.ts";
import { appendEvent } from "../events/log.ts";
import { ioError, readRangeSync, type SessionPaths, writeFileAtomic } from "../state.ts";
import { decodeEvent, isRecord } from "../types.ts";

/** The limits, from the environment (see the README's "Disk" section). */
export interface DiskLimits {
  /** Bytes the pane log may hold on disk before its front is trimmed to half (`K_LOG_MAX`). */
  logMaxBytes: number;
  /** Bytes the event log may hold on disk before its front is trimmed to half (`K_EVENTS_MAX`). */
  eventsMaxBytes: number;
  /** Results of at least this many latest cells are kept (`K_RESULTS_KEEP`). */
  resultsKeep: number;
  /** Results younger than this many days are kept (`K_RESULTS_DAYS`). */
  resultsDays: number;
}

/** Default `K_LOG_MAX`: 64 MiB of pane output per session. */
export const LOG_MAX_DEFAULT_BYTES = 64 * 1024 * 1024;
/** Default `K_EVENTS_MAX`: 16 MiB of events (some 100,000 cells). */
export const EVENTS_MAX_DEFAULT_BYTES = 16 * 1024 * 1024;
/** Default `K_RESULTS_KEEP`: the results of the last 1,000 cells. */
export const RESULTS_KEEP_DEFAULT = 1000;
/** Default `K_RESULTS_DAYS`: every result of the last 7 days. */
export const RESULTS_DAYS_DEFAULT = 7;
/** The least a log limit may be: the tail readers (prompt, screen) need the last 16 KiB. */
const LOG_MIN_BYTES = 64 * 1024;
const EVENTS_MIN_BYTES = 8 * 1024;
/** Results are looked over when a cell's end event's seq falls in the first slots of a window. */
const RESULTS_CHECK_WINDOW = 32;
const RESULTS_CHECK_SLOTS = 2;
/** Punched ranges end on a block boundary, so the blocks before are freed whole. */
const BLOCK_BYTES = 4096;
const DAY_MS = 24 * 60 * 60 * 1000;

function envNumber(name: string, fallback: number, least: number): number {
  const raw = Deno.env.get(name);
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? Math.max(least, Math.floor(value)) : fallback;
}

/** The limits in force: `K_LOG_MAX`, `K_EVENTS_MAX`, `K_RESULTS_KEEP`, `K_RESULTS_DAYS`. */
export function diskLimits(): DiskLimits {
  return {
    logMaxBytes: envNumber("K_LOG_MAX", LOG_MAX_DEFAULT_BYTES, LOG_MIN_BYTES),
    eventsMaxBytes: envNumber("K_EVENTS_MAX", EVENTS_MAX_DEFAULT_BYTES, EVENTS_MIN_BYTES),
    resultsKeep: envNumber("K_RESULTS_KEEP", RESULTS_KEEP_DEFAULT, 1),
    resultsDays: envNumber("K_RESULTS_DAYS", RESULTS_DAYS_DEFAULT, 0),
  };
}

/** Where the event log's kept part starts, once it has been trimmed. */
export interface LogStart {
  /** The seq of the first event kept. */
  seq: number;
  /** Its time, UTC ISO-8601. */
  ts: string;
  /** The byte offset of its line. */
  offset: number;
}

/** The file recording {@link LogStart}. */
function logStartPath(paths: SessionPaths): string {
  return `${paths.dir}/events.start`;
}

/** Where the event log starts after a trim; undefined when it was never trimmed. */
export function readLogStart(paths: SessionPaths): LogStart | undefined {
  try {
    const value: unknown = JSON.parse(Deno.readTextFileSync(logStartPath(paths)));
    if (
      isRecord(value) && typeof value.seq === "number" && typeof value.ts === "string" &&
      typeof value.offset === "number"
    ) return { seq: value.seq, ts: value.ts, offset: value.offset };
  } catch {
    // never trimmed, or unreadable: the log is read from its start
  }
  return undefined;
}

/**
 * After a cell's end (its end event has seq `endSeq`): trims what is over its limit. Costs two
 * `stat`s when nothing is; trimming costs one `fallocate` spawn per log, at most once per half a
 * limit of growth. Failures are noted once in the event log (an `error` event), never thrown: a
 * cell's end must not fail for want of trimming.
 */
export async function trimAfterCell(
  paths: SessionPaths,
  session: string,
  endSeq: number | undefined,
  limits: DiskLimits = diskLimits(),
): Promise<void> {
  const problems: string[] = [];
  const note = (e: unknown) => problems.push(e instanceof Error ? e.message : String(e));
  await trimPaneLog(paths, limits).catch(note);
  await trimEventLog(paths, limits).catch(note);
  if (endSeq !== undefined && endSeq % RESULTS_CHECK_WINDOW < RESULTS_CHECK_SLOTS) {
    await pruneResults(paths, limits).catch(note);
  }
  if (problems.length > 0) await noteTrimFailure(paths, session, problems.join("; "));
}

/** Bytes a file holds on disk (holes excluded), and its length; undefined when it is missing. */
function usage(path: string): { used: number; size: number } | undefined {
  try {
    const info = Deno.statSync(path);
    return { used: (info.blocks ?? 0) * 512, size: info.size };
  } catch {
    return undefined;
  }
}

/** Trims the pane log's front to half its limit, never past the active cell's start. */
async function trimPaneLog(paths: SessionPaths, limits: DiskLimits): Promise<void> {
  const file = usage(paths.log);
  if (!file || file.used <= limits.logMaxBytes) return;
  // Read after the stat: a cell that starts later starts past `size`, so past the cut.
  const lock = await readLock(paths).catch(() => undefined);
  let cut = file.size - Math.floor(limits.logMaxBytes / 2);
  if (lock) cut = Math.min(cut, lock.offset);
  cut -= cut % BLOCK_BYTES;
  if (cut > 0) await punchHole(paths.log, cut);
}

/**
 * Trims the event log's front to half its limit, at a line's start: the newline before the first
 * kept line stays, so the zeros before it read as one line that is not an event.
 */
async function trimEventLog(paths: SessionPaths, limits: DiskLimits): Promise<void> {
  const file = usage(paths.events);
  if (!file || file.used <= limits.eventsMaxBytes) return;
  const target = file.size - Math.floor(limits.eventsMaxBytes / 2);
  const handle = Deno.openSync(paths.events, { read: true });
  let start: LogStart | undefined;
  try {
    const bytes = readRangeSync(handle, target, file.size);
    const newline = bytes.indexOf(0x0a);
    if (newline < 0) return;
    const lineStart = target + newline + 1;
    const rest = bytes.subarray(newline + 1);
    const end = rest.indexOf(0x0a);
    if (end < 0) return;
    const first = decodeEvent(new TextDecoder().decode(rest.subarray(0, end)));
    start = { seq: first.seq, ts: first.ts, offset: lineStart };
  } catch {
    return; // a torn line where the cut would go: the next cell's end tries again
  } finally {
    handle.close();
  }
  await writeFileAtomic(logStartPath(paths), JSON.stringify(start), { durable: false });
  await punchHole(paths.events, start.offset - 1);
}

/**
 * Frees bytes [0, end) of `path` without moving the rest (its length and every offset stay).
 * Deno has no `fallocate(2)`: util-linux's `fallocate` does it.
 */
async function punchHole(path: string, end: number): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("fallocate", {
      args: ["--punch-hole", "--offset", "0", "--length", String(end), path],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
  } catch (e) {
    throw ioError("trim", path, e instanceof Deno.errors.NotFound ? "fallocate not found" : e);
  }
  if (!output.success) {
    const why = new TextDecoder().decode(output.stderr).trim().split("\n")[0] ?? "";
    throw ioError("trim", path, `fallocate --punch-hole: ${why || `exit ${output.code}`}`);
  }
}

/**
 * Removes the results (and whole-output files) of cells that are neither among the last
 * `resultsKeep` nor younger than `resultsDays` days; the active cell's never. Cheap when there is
 * nothing to do: one directory listing while at most a tenth more than `resultsKeep` are stored,
 * and not even that while `cells/.prune-after` says every candidate is still too young.
 */
export async function pruneResults(paths: SessionPaths, limits: DiskLimits): Promise<void> {
  const marker = `${paths.cells}/.prune-after`;
  let after = 0;
  try {
    after = Number(Deno.readTextFileSync(marker)) || 0;
  } catch {
    // no marker: look
  }
  if (Date.now() < after) return;
  const names: string[] = [];
  for (const entry of Deno.readDirSync(paths.cells)) {
    if (entry.isFile && RESULT_FILE_RE.test(entry.name)) names.push(entry.name.slice(0, 12));
  }
  if (names.length <= limits.resultsKeep + Math.ceil(limits.resultsKeep / 10)) return;
  const found: { id: string; mtime: number }[] = [];
  for (const id of names) {
    try {
      const mtime = Deno.statSync(`${paths.cells}/${id}.json`).mtime?.getTime() ?? Date.now();
      found.push({ id, mtime });
    } catch {
      // removed meanwhile
    }
  }
  found.sort((a, b) => b.mtime - a.mtime);
  const active = (await readLock(paths).catch(() => undefined))?.cell_id;
  const youngest = Date.now() - limits.resultsDays * DAY_MS;
  let oldestYoung: number | undefined;
  for (const { id, mtime } of found.slice(limits.resultsKeep)) {
    if (id === active) continue;
    if (mtime >= youngest) {
      oldestYoung = Math.min(oldestYoung ?? mtime, mtime);
      continue;
    }
    for (const suffix of [".json", ".out"]) {
      try {
        Deno.removeSync(`${paths.cells}/${id}${suffix}`);
      } catch {
        // never made, or removed meanwhile
      }
    }
  }
  // Results kept for their age: nothing to remove before the oldest of them comes of age.
  if (oldestYoung !== undefined) {
    const at = String(oldestYoung + limits.resultsDays * DAY_MS);
    await writeFileAtomic(marker, at, { durable: false });
  }
}

const RESULT_FILE_RE = /^[0-9a-f]{12}\.json$/;

/** Says once in the event log that trimming fails (a second failure in a row says nothing). */
async function noteTrimFailure(paths: SessionPaths, session: string, why: string): Promise<void> {
  const flag = `${paths.dir}/trim.failed`;
  try {
    Deno.writeTextFileSync(flag, why, { createNew: true, mode: 0o600 });
  } catch {
    return; // said already
  }
  const message = `cannot trim the session's logs (disk use grows): ${why}`;
  await appendEvent(paths.events, session, { status: "error", message }).catch(() => {});
}

/**
 * The wire format: every result and event ktty prints or stores has one type here, one encoder
 * and one decoder, so writer and reader cannot drift.
 * @module
 */

import { type ErrorCode, isErrorCode, KttyError } from "./errors.ts";

/** A cell that was handed to a background watcher. */
export interface FiredResult {
  /** The new cell's id. */
  cell_id: string;
  /** Always `fired`. */
  status: "fired";
}

/** When a cell ran: on every final result. */
export interface CellTiming {
  /** When the cell began (its code was typed), UTC ISO-8601. */
  started_at: string;
  /** When it ended (or timed out), UTC ISO-8601. */
  ended_at: string;
  /** Milliseconds from typing the code to its end. */
  duration_ms: number;
}

/** A cell's output, bounded by the output budget (`-o N`, `K_MAX_OUTPUT`, default 50,000). */
export interface CellOutput {
  /** The cleaned output; past the budget, its head and tail with a one-line marker between. */
  output: string;
  /** True when the middle of the output was cut. */
  truncated: boolean;
  /** With `truncated`: a private file in the state dir holding the whole cleaned output. */
  output_file?: string;
}

/** What holds the terminal while a cell runs, when it is not the session's own program. */
export interface HeldBy {
  /** The program in the terminal's foreground (`less`, `python3`) and its group leader's pid. */
  foreground?: { command: string; pid: number };
  /** With `foreground`: the way out of it, in `k`'s verbs (`k send w --keys q`, `k int w`). */
  hint?: string;
}

/** A cell still running; `output` is what it printed so far. */
export interface RunningResult extends CellOutput, HeldBy {
  /** The cell's id. */
  cell_id: string;
  /** Always `running`. */
  status: "running";
}

/** A cell whose program returned to its prompt (which says nothing of success). */
export interface DoneResult extends CellOutput, CellTiming {
  /** The cell's id. */
  cell_id: string;
  /** Always `done`. */
  status: "done";
  /** The cell's exit status where the frame mode knows it, else null. */
  exit_code: number | null;
  /** For Python and node cells that raised: the exception's type (`ZeroDivisionError`). */
  error?: string;
  /**
   * The program nested in the session's own that now reads its cells: `pdb` when a python or
   * ipython cell reached a `breakpoint()` (the cell ended at the debugger's prompt; the next
   * cells are debugger commands). Absent when the session's own program is back at its prompt.
   */
  nested?: string;
}

/**
 * A cell that ran past its time limit and still runs: the lock is kept, the cell goes on being
 * watched, and ends as `done` (or `interrupted`, `error`).
 */
export interface TimeoutResult extends Partial<CellOutput>, Partial<CellTiming>, HeldBy {
  /** The cell's id. */
  cell_id: string;
  /** Always `timeout`. */
  status: "timeout";
  /** The output so far: at the time limit on the first report, at the poll afterwards. */
  output: string;
}

/** A cell that ended badly: interrupted, its session died, its watcher died. */
export interface ErrorResult extends Partial<CellTiming> {
  /** The cell's id. */
  cell_id: string;
  /** Always `error`. */
  status: "error";
  /** What happened, in one line (`interrupted`, `watcher died …`). */
  output: string;
  /** Always false: the output is a message. */
  truncated?: boolean;
  /**
   * A stable code where the caller can act on the kind of error: `pipe_died` (the session's
   * output pipe died under the cell and was re-armed: the session is usable, what was printed
   * meanwhile is lost).
   */
  error_code?: ErrorCode;
  /**
   * With `pipe_died`, and for a cell ended as `interrupted`: what the cell printed before, within
   * the output budget (absent when it printed nothing).
   */
  output_so_far?: string;
}

/** Every state a cell can be reported in. */
export type CellResult = FiredResult | RunningResult | DoneResult | TimeoutResult | ErrorResult;

/** A result that ends the cell's watch: done, timeout or error. */
export type FinalResult = DoneResult | TimeoutResult | ErrorResult;

/** `run`/`fire` refused because another cell holds the session's lock. Nothing was typed. */
export interface BusyResult {
  /** Always `error`. */
  status: "error";
  /** `active cell '<id>'`. */
  output: string;
  /** The cell that holds the lock. */
  active_cell_id: string;
}

/** Builds the {@link BusyResult} for a session whose lock `activeCellId` holds. */
export function busyResult(activeCellId: string): BusyResult {
  return { status: "error", output: `active cell '${activeCellId}'`, active_cell_id: activeCellId };
}

/** The current version of the event envelope. */
export const EVENT_SCHEMA_VERSION = 1;

/** What every event carries. */
export interface EventEnvelope {
  /** The envelope's version: {@link EVENT_SCHEMA_VERSION}. */
  schema_version: 1;
  /** Per-session sequence number: gap-free and increasing from 1. */
  seq: number;
  /** When the event was appended, UTC ISO-8601. */
  ts: string;
  /** The session it belongs to. */
  session: string;
}

/**
 * The first event of every session's log (and of each later session of the same name, which
 * continues the log of one ended with `k kill --keep`): what runs, how cells end, who started it.
 */
export interface StartedBody {
  /** Always `started`. */
  status: "started";
  /** The program's command line, as given to `new`. */
  command: string;
  /** The program's profile (`bash`, `python`, `psql`…). */
  program: string;
  /** How a cell's end is told: `integration`, `exact`, `hook` or `repeat`. */
  mode: string;
  /** Who started it: the process that ran `new`… */
  pid: number;
  /** …and its user (`$USER`, else the uid). */
  user: string;
  /** True when this log went on from an earlier session of the same name. */
  continued?: boolean;
}

/** The part of an event that says what happened. */
export type EventBody =
  | StartedBody
  | { status: "fired"; cell_id: string }
  | { status: "done"; cell_id: string; exit_code: number | null; duration_ms: number }
  | { status: "timeout"; cell_id: string; duration_ms: number }
  | { status: "interrupted"; cell_id: string }
  | { status: "error"; cell_id?: string; message: string }
  | { status: "notify"; from: string; message: string }
  | SendBody
  | ClosedBody;

/** The last event of a session's log: the session ended, and why. */
export interface ClosedBody {
  /** Always `closed`. */
  status: "closed";
  /**
   * Why: `program exited` (its program ended: by itself, or a signal), `tmux session gone`,
   * `session gone`, `killed` (`k kill`), `pruned` (`k ls --prune`), `replaced` (`k new`).
   */
  reason: string;
  /**
   * With `program exited`: the program's exit status (`exit 3` gives 3) where it can be learnt,
   * which is from a shell with ktty's integration (bash, zsh, sh: its `EXIT` trap) that exited
   * with its terminal still there; null otherwise (another program, a shell ended by a signal or
   * its terminal's hangup, a cell that replaced the trap). Absent with the other reasons.
   */
  exit_status?: number | null;
}

/**
 * What `k send` typed into what holds a session's terminal (the active cell's program, or a
 * program left in the foreground), appended once it was typed. The preview is only kept while the
 * terminal echoes what is typed: a program reading a secret (`read -s`, `getpass`, `sudo`) turns
 * echo off, and then neither the text nor its length reaches the log.
 */
export interface SendBody {
  /** Always `send`. */
  status: "send";
  /** The active cell that got it; absent when no cell was active. */
  cell_id?: string;
  /**
   * Its first {@link SEND_PREVIEW_CHARS} characters (keys: their names, space-separated), `…`
   * marking a cut; null when the terminal did not echo (or its mode could not be read).
   */
  preview: string | null;
  /** With a preview: how many characters (or keys) were typed, the Enter after text not counted. */
  length?: number;
  /** Present when tmux key names were sent (`k send --keys`) rather than text. */
  keys?: true;
}

/** How many characters of what `k send` typed its event keeps (see {@link SendBody}). */
export const SEND_PREVIEW_CHARS = 40;

/** One event of a session's event log. */
export type KttyEvent = EventEnvelope & EventBody;

/** Every event status, in the order a cell's life produces them. */
export const EVENT_STATUSES: readonly KttyEvent["status"][] = [
  "started",
  "fired",
  "done",
  "timeout",
  "interrupted",
  "error",
  "notify",
  "send",
  "closed",
];

/** Encodes an event as one JSON line (no newline). */
export function encodeEvent(event: KttyEvent): string {
  return JSON.stringify(event);
}

/** One line of JSON as an object; throws {@link KttyError} `state_corrupt` (`what`: the line's kind). */
function parseObject(line: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new KttyError("state_corrupt", `${what} is not JSON`);
  }
  if (!isRecord(value)) throw new KttyError("state_corrupt", `${what} is not an object`);
  return value;
}

/** `value` as a logged event; throws {@link KttyError} on anything that is not one. */
function eventFrom(value: Record<string, unknown>): KttyEvent {
  const status = value.status;
  if (
    value.schema_version !== EVENT_SCHEMA_VERSION || typeof value.seq !== "number" ||
    typeof value.ts !== "string" || typeof value.session !== "string" ||
    typeof status !== "string" || !EVENT_STATUSES.includes(status as KttyEvent["status"])
  ) {
    throw new KttyError("state_corrupt", "event has an unknown shape");
  }
  return value as unknown as KttyEvent;
}

/** Decodes one line of an event log; throws {@link KttyError} on anything that is not an event. */
export function decodeEvent(line: string): KttyEvent {
  return eventFrom(parseObject(line, "event log line"));
}

/**
 * `km`'s own observation, never stored in the log (so it has no `seq`): a cell has been running
 * with no new output in its pane for `idle_s` seconds.
 */
export interface StalledEvent {
  /** The envelope's version: {@link EVENT_SCHEMA_VERSION}. */
  schema_version: 1;
  /** When the stall was noticed, UTC ISO-8601. */
  ts: string;
  /** The session it belongs to. */
  session: string;
  /** Always `stalled`. */
  status: "stalled";
  /** The running cell. */
  cell_id: string;
  /** Seconds since the pane last printed anything (or since the cell started, if later). */
  idle_s: number;
}

/** The line `km` prints when it cannot follow a session (missing session, bad arguments). */
export interface MonitorError {
  /** The envelope's version: {@link EVENT_SCHEMA_VERSION}. */
  schema_version: 1;
  /** When the error happened, UTC ISO-8601. */
  ts: string;
  /** The session asked for, as given (may be empty or invalid). */
  session: string;
  /** Always `error`. */
  status: "error";
  /** What went wrong, in one line. */
  message: string;
  /** The error's stable code, where it has one (`no_session`, `connection_lost`). */
  error_code?: ErrorCode;
}

/** Every line `km` prints: a logged event, a stall notice, or its own error. */
export type MonitorEvent = KttyEvent | StalledEvent | MonitorError;

/** Encodes anything `km` prints as one JSON line (no newline); logged events stay byte-exact. */
export function encodeMonitorEvent(event: MonitorEvent): string {
  return JSON.stringify(event);
}

/**
 * Decodes one line `km` printed (the reader of a remote km's stream); throws {@link KttyError}
 * `state_corrupt` on anything {@link encodeMonitorEvent} does not write.
 */
export function decodeMonitorEvent(line: string): MonitorEvent {
  const value = parseObject(line, "km's line");
  const envelope = value.schema_version === EVENT_SCHEMA_VERSION &&
    typeof value.ts === "string" && typeof value.session === "string";
  if (value.status === "stalled") {
    if (envelope && typeof value.cell_id === "string" && typeof value.idle_s === "number") {
      return value as unknown as StalledEvent;
    }
  } else if (value.status === "error" && value.seq === undefined) {
    if (
      envelope && typeof value.message === "string" &&
      (value.error_code === undefined || isErrorCode(value.error_code))
    ) return value as unknown as MonitorError;
  } else return eventFrom(value);
  throw new KttyError("state_corrupt", `km's ${String(value.status)} line has an unknown shape`);
}

/** What a stored cell file holds: the result plus what history needs. */
export interface CellRecord {
  /** The result as `poll` prints it. */
  result: FinalResult;
  /** The first line of the cell's code, for history. */
  code: string;
  /** When the cell started, UTC ISO-8601. */
  started_at: string;
  /** Whether a timeout has been reported once (later polls show the output so far). */
  reported: boolean;
}

const FINAL_STATUSES = new Set(["done", "timeout", "error"]);

/** Decodes a stored cell file; throws {@link KttyError} when it is corrupt. */
export function decodeCellRecord(value: unknown, path: string): CellRecord {
  if (
    !isRecord(value) || !isRecord(value.result) ||
    !FINAL_STATUSES.has(String(value.result.status)) ||
    typeof value.result.cell_id !== "string" || typeof value.result.output !== "string"
  ) {
    throw new KttyError("state_corrupt", `corrupt result file '${path}'`);
  }
  return {
    result: value.result as unknown as FinalResult,
    code: typeof value.code === "string" ? value.code : "",
    started_at: typeof value.started_at === "string" ? value.started_at : "",
    reported: value.reported === true,
  };
}

/** True for a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

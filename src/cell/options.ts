/**
 * The options of a cell (`run`, `fire`, `poll`): their defaults and their checks, in the
 * library's terms (`timeoutMs`, `maxOutput`); the CLI speaks of its flags.
 * @module
 */

import { UsageError } from "../errors.ts";
import { maxOutputFromEnv } from "./output.ts";

/** Default time limit of `run`, in ms. */
export const RUN_TIMEOUT_MS = 30_000;
/** Default time limit of `fire`, in ms. */
export const FIRE_TIMEOUT_MS = 300_000;

/** Options of `run` and `fire`. */
export interface CellOptions {
  /** Time limit in ms (defaults: 30 s for run, 300 s for fire). */
  timeoutMs?: number;
  /** Output budget in characters (default `K_MAX_OUTPUT`, else 50,000). */
  maxOutput?: number;
  /**
   * Called once the code is typed (the cell is running), with its id. Should it throw, `run`
   * rethrows and a background watcher takes the running cell over, as for a `fire`.
   */
  onStarted?: (cellId: string) => void;
  /**
   * The cell's id (12 lowercase hex characters), chosen by the caller, who then knows it before
   * anything is typed: `k --host` names its cell so that a connection lost mid-cell can still
   * say which cell runs on. Default: a fresh random id. An id the session already used is
   * refused.
   */
  cellId?: string;
}

/** Options of `poll`. */
export interface PollOptions {
  /** Output budget in characters for a running cell's output (default as for run). */
  maxOutput?: number;
}

export function checkMaxOutput(chars: number | undefined): number {
  if (chars === undefined) return maxOutputFromEnv();
  if (!Number.isInteger(chars) || chars <= 0) {
    throw new UsageError("maxOutput must be a positive integer");
  }
  return chars;
}

function checkCode(code: string): void {
  if (code === "") throw new UsageError("missing code");
  if (code.includes("\0")) {
    throw new UsageError("code contains a NUL byte, which a terminal cannot carry");
  }
}

function checkTimeout(ms: number): void {
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new UsageError("timeoutMs must be a positive integer");
  }
}

/** Checks the code and options of `run`/`fire`; fills in the defaults. */
export function cellLimits(code: string, options: CellOptions, defaultTimeoutMs: number) {
  checkCode(code);
  if (!code.isWellFormed()) {
    throw new UsageError("code contains a lone UTF-16 surrogate, which has no UTF-8 form");
  }
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  checkTimeout(timeoutMs);
  return { timeoutMs, maxOutput: checkMaxOutput(options.maxOutput) };
}

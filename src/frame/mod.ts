/**
 * The registry of frame modes (SPEC section 5): for each mode, how a cell's end is detected, how
 * `new` knows the program's first prompt is up, how wide its pane is and how many empty Enters
 * follow the code. The compiler checks that every mode has its entry.
 * @module
 */

import type { CellLock } from "../lock.ts";
import type { FrameDetector, FrameMode } from "./detector.ts";
import { ExactDetector, isExactPrompt } from "./exact.ts";
import { HookDetector } from "./hook.ts";
import { IntegrationDetector } from "./integration.ts";
import { REPEAT_ENTERS, RepeatDetector } from "./repeat.ts";

export type { FrameDetector, FrameMode } from "./detector.ts";
export { HOOK_PARTIAL_QUIET_MS, resolveHook } from "./hook.ts";
export { EchoFilter } from "./echo.ts";

/** How a session tells that a frame ended. */
export interface FrameConfig {
  /** The mode. */
  mode: FrameMode;
  /**
   * The prompt (exact mode: its text, or a regular expression's source with `pattern`), the
   * hook's absolute path (hook mode), or the program's first prompt as `new` saw it (repeat mode).
   */
  prompt?: string;
  /** Exact mode: `prompt` is a regular expression (`--prompt-re`). */
  pattern?: boolean;
  /**
   * Repeat mode: no empty Enters follow a cell's code (the program repeats its last command on
   * one, or drops them); a cell ends when the first prompt is back.
   */
  noEmptyEnters?: boolean;
  /** The session's marker nonce (integration mode). */
  nonce?: string;
  /** Why shell integration is not used, when it was expected and failed. */
  fallback?: string;
}

/**
 * Pane width of the modes that recognise the echo of typed code line by line: wide enough that
 * readline never wraps it (SPEC section 3).
 */
export const WIDE_COLUMNS = 10_000;
/**
 * Pane width in integration mode: markers frame the output, so a wrapped echo does no harm, and
 * tmux's cost per line of output grows with the width (`seq 1 100000`: ~0.6 s of tmux at 10000
 * columns, ~0.15 s at 1000); programs see an ordinary, if wide, terminal.
 */
export const INTEGRATION_COLUMNS = 1000;

/** How a session waits for the program's first prompt at `new`. */
export const READY_TIMEOUT_MS = 10_000;
/** How long `new` waits for the integration script's first marker before falling back. */
export const INTEGRATION_TIMEOUT_MS = 5_000;
/** How long `new` waits after the first end marker for the line editor's bracketed paste. */
const PASTE_WAIT_MS = 300;
/** Output, then this much quiet with a prompt-like unfinished line, means ready (repeat, hook). */
const READY_QUIET_MS = 50;
/** Output, then this much quiet without one, means ready too. */
const READY_QUIET_NO_PROMPT_MS = 400;

/** What `new` has seen of the program's start, for a mode to judge whether it is ready. */
export interface StartSeen {
  /** The session's frame. */
  frame: FrameConfig;
  /** The unfinished last line of the log (a prompt has no newline). */
  partial: string;
  /** Whether the program has printed anything. */
  printed: boolean;
  /** How long the log has been quiet, in ms. */
  quietMs: number;
  /** How long ago the first end marker came, in ms (integration mode), if it came. */
  sinceEndMarkerMs?: number;
  /** Whether the program turned bracketed paste on. */
  pasteOn: boolean;
  /** Whether the program's line editor turns bracketed paste on as it starts reading. */
  editorPastes: boolean;
}

/** One frame mode. */
export interface FrameModeEntry {
  /** A new detector for one cell (its typed lines, and the continuation prompts they bring). */
  detector(frame: FrameConfig, cell: TypedCell): FrameDetector;
  /** Whether the program's first prompt is up. */
  ready(seen: StartSeen): boolean;
  /** How long `new` waits for {@link FrameModeEntry.ready}. */
  readonly readyTimeoutMs: number;
  /**
   * What a session does when the program is not ready in time: fail `new`, or fall back to
   * repeat mode (integration: the script may not have loaded).
   */
  readonly onNotReady: "fail" | "fall back";
  /** The pane's width in columns. */
  readonly columns: number;
  /** Empty Enters typed after a cell's code. */
  extraEnters(frame: FrameConfig): number;
}

/** Output followed by a quiet spell: the program waits at some prompt. */
function quietAfterOutput(seen: StartSeen): boolean {
  if (!seen.printed) return false;
  return (seen.partial.trim() !== "" && seen.quietMs >= READY_QUIET_MS) ||
    seen.quietMs >= READY_QUIET_NO_PROMPT_MS;
}

/** Every frame mode. */
export const FRAME_MODES: { readonly [M in FrameMode]: FrameModeEntry } = {
  integration: {
    detector: (frame, cell) => new IntegrationDetector(frame.nonce ?? "", cell.continuations),
    // After the end marker, readline and zle turn bracketed paste on as they start reading.
    ready: (seen) =>
      seen.sinceEndMarkerMs !== undefined &&
      (!seen.editorPastes || seen.pasteOn || seen.sinceEndMarkerMs >= PASTE_WAIT_MS),
    readyTimeoutMs: INTEGRATION_TIMEOUT_MS,
    onNotReady: "fall back",
    columns: INTEGRATION_COLUMNS,
    extraEnters: () => 0,
  },
  repeat: {
    detector: (frame, cell) =>
      new RepeatDetector({
        enters: repeatEnters(frame),
        // The inputs the program reads: one for a bracketed paste (no continuations typed).
        codeLines: cell.continuations === 0 ? 1 : cell.lines.length,
        typedLines: cell.lines.length,
        prompt: frame.prompt,
      }),
    ready: quietAfterOutput,
    readyTimeoutMs: READY_TIMEOUT_MS,
    onNotReady: "fail",
    columns: WIDE_COLUMNS,
    extraEnters: repeatEnters,
  },
  exact: {
    detector: (frame, cell) => new ExactDetector(exactPrompt(frame), cell.lines),
    ready: (seen) => isExactPrompt(exactPrompt(seen.frame), seen.partial),
    readyTimeoutMs: READY_TIMEOUT_MS,
    onNotReady: "fail",
    columns: WIDE_COLUMNS,
    extraEnters: () => 0,
  },
  hook: {
    detector: (frame) => new HookDetector(frame.prompt ?? ""),
    ready: quietAfterOutput,
    readyTimeoutMs: READY_TIMEOUT_MS,
    onNotReady: "fail",
    columns: WIDE_COLUMNS,
    extraEnters: () => 0,
  },
};

function repeatEnters(frame: FrameConfig): number {
  return frame.noEmptyEnters ? 0 : REPEAT_ENTERS;
}

function exactPrompt(frame: FrameConfig) {
  return { prompt: frame.prompt ?? "", pattern: frame.pattern };
}

/**
 * The frame once the program's first prompt is up: in repeat mode it keeps that prompt (the
 * unfinished line `new` saw), which ends a cell where the redrawn prompts cannot.
 */
export function withFirstPrompt(frame: FrameConfig, partial: string): FrameConfig {
  if (frame.mode !== "repeat" || partial.trim() === "") return frame;
  return { ...frame, prompt: partial };
}

/** The entry of `mode`. */
export function frameMode(mode: FrameMode): FrameModeEntry {
  return FRAME_MODES[mode];
}

/** What a detector knows of the cell it watches (from its lock). */
export type TypedCell = Pick<CellLock, "lines" | "continuations">;

/** A new detector for one cell. */
export function createDetector(frame: FrameConfig, cell: TypedCell): FrameDetector {
  return FRAME_MODES[frame.mode].detector(frame, cell);
}

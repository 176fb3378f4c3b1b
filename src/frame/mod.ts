/**
 * Picks the frame detector for a session's mode.
 * @module
 */

import type { FrameDetector, FrameMode } from "./detector.ts";
import { ExactDetector } from "./exact.ts";
import { HookDetector } from "./hook.ts";
import { IntegrationDetector } from "./integration.ts";
import { RepeatDetector } from "./repeat.ts";

export type { FrameDetector, FrameMode } from "./detector.ts";
export { HOOK_PARTIAL_QUIET_MS, resolveHook } from "./hook.ts";
export { EchoFilter } from "./echo.ts";
export { REPEAT_ENTERS } from "./repeat.ts";

/** How a session tells that a frame ended. */
export interface FrameConfig {
  /** The mode. */
  mode: FrameMode;
  /** The prompt (exact mode) or the hook's absolute path (hook mode). */
  prompt?: string;
  /** The session's marker nonce (integration mode). */
  nonce?: string;
  /** Why shell integration is not used, when it was expected and failed. */
  fallback?: string;
}

/** A new detector for one cell of `lineCount` typed lines. */
export function createDetector(frame: FrameConfig, lineCount: number): FrameDetector {
  switch (frame.mode) {
    case "exact":
      return new ExactDetector(frame.prompt ?? "", lineCount);
    case "hook":
      return new HookDetector(frame.prompt ?? "");
    case "integration":
      return new IntegrationDetector(frame.nonce ?? "");
    default:
      return new RepeatDetector();
  }
}

/** How many empty Enters a mode types after the code. */
export function extraEnters(mode: FrameMode): number {
  return mode === "repeat" ? 5 : 0;
}

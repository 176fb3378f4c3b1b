/**
 * Waiting for a new session's first prompt: the integration end marker, the exact prompt, or
 * output followed by a quiet spell; noticing a program that exits first or never prompts.
 * @module
 */

import { KttyError } from "../errors.ts";
import { FileFollower } from "../follow.ts";
import { parseMarker } from "../markers.ts";
import { isAlive } from "../proc.ts";
import type { KernelConfig, SessionPaths } from "../state.ts";
import { PASTE_ON, TerminalText } from "../text.ts";
import { hasSession } from "../tmux.ts";
import type { SessionMeta } from "./meta.ts";

/** How long `new` waits for the program's first prompt. */
export const READY_TIMEOUT_MS = 10_000;
/** How long `new` waits for the integration script's first marker before falling back. */
export const INTEGRATION_TIMEOUT_MS = 5_000;
const PASTE_WAIT_MS = 300;
const READY_QUIET_MS = 50;
const READY_QUIET_NO_PROMPT_MS = 400;
const READY_POLL_MS = 25;
const READY_TMUX_CHECK_MS = 250;

/** What waiting for the first prompt found. */
export interface Readiness {
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
export async function waitReady(
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

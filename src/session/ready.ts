/**
 * Waiting for a new session's first prompt: the integration end marker, the exact prompt, or
 * output followed by a quiet spell; noticing a program that exits first or never prompts.
 * @module
 */

import { KttyError } from "../errors.ts";
import { FileFollower } from "../follow.ts";
import { frameMode } from "../frame/mod.ts";
import { parseMarker } from "../markers.ts";
import { isAlive } from "../proc.ts";
import { programProfile } from "../programs/mod.ts";
import type { KernelConfig, SessionPaths } from "../state.ts";
import { PASTE_MODE, TerminalText } from "../text.ts";
import { hasSession } from "../tmux.ts";
import type { SessionMeta } from "./meta.ts";

const READY_POLL_MS = 25;
const READY_TMUX_CHECK_MS = 250;

/** What waiting for the first prompt found. */
export interface Readiness {
  /** The program turned bracketed paste on. */
  bracketedPaste: boolean;
  /** Set when integration markers never came: why (the session falls back to repeat mode). */
  fallback?: string;
  /** The unfinished last line when the program was ready: its prompt, if it shows one. */
  partial: string;
}

/**
 * Waits for the program's first prompt, as the session's frame mode recognises it (the registry
 * in `frame/mod.ts`: the integration end marker, the exact prompt, or output followed by a quiet
 * spell). No fixed sleep; bounded by the mode's time, after which `new` fails or, for
 * integration, the caller falls back to repeat mode.
 */
export async function waitReady(
  config: KernelConfig,
  paths: SessionPaths,
  meta: SessionMeta,
): Promise<Readiness> {
  const frame = meta.frame;
  const mode = frameMode(frame.mode);
  const editorPastes = programProfile(meta.kind).bracketedPaste;
  const lines: string[] = [];
  let markedAt: number | undefined;
  const term = new TerminalText((line) => lines.push(line), {
    columns: meta.columns,
    onOsc: (payload) => {
      if (markedAt !== undefined || frame.mode !== "integration") return;
      if (parseMarker(payload, frame.nonce ?? "")?.kind === "end") markedAt = Date.now();
    },
    onMode: (mode, on) => {
      if (mode === PASTE_MODE && on) pasteOn = true;
    },
  });
  const follower = await FileFollower.open(paths.log, 0);
  const start = Date.now();
  const deadline = start + mode.readyTimeoutMs;
  let pasteOn = false;
  let lastGrowth = start;
  let lastTmuxCheck = start;
  let seen = false;
  try {
    while (true) {
      const n = await follower.readAvailable((bytes) => {
        term.push(bytes);
      });
      if (n > 0) {
        lastGrowth = Date.now();
        seen = true;
      }
      const now = Date.now();
      const partial = term.partial;
      const ready = mode.ready({
        frame,
        partial,
        printed: seen,
        quietMs: now - lastGrowth,
        sinceEndMarkerMs: markedAt === undefined ? undefined : now - markedAt,
        pasteOn,
        editorPastes,
      });
      if (ready) return { bracketedPaste: pasteOn, partial };
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
        const seconds = mode.readyTimeoutMs / 1000;
        if (mode.onNotReady === "fall back") {
          return {
            bracketedPaste: pasteOn,
            fallback: `no shell-integration marker within ${seconds} s`,
            partial,
          };
        }
        const what = frame.mode === "exact" ? `the prompt '${frame.prompt}'` : "a prompt";
        throw new KttyError(
          "not_ready",
          `program '${meta.command}' did not show ${what} within ${seconds} s`,
        );
      }
      await follower.wait(READY_POLL_MS);
    }
  } finally {
    await follower.close();
  }
}

/**
 * `send`: types text or keys into what holds the terminal — the program the active cell runs (a
 * `read -p`, a `[y/N]`, `input()`), or a program left in the foreground (a pager, a nested REPL)
 * — without a new cell and without touching the lock.
 * @module
 */

import { KttyError, NoSessionError, UsageError } from "../errors.ts";
import { appendEvent } from "../events/log.ts";
import { readLock } from "../lock.ts";
import { terminalModes, terminalOf } from "../proc.ts";
import { type Foreground, foregroundOf } from "../session/foreground.ts";
import { readMeta } from "../session/meta.ts";
import { type KernelConfig, type SessionPaths, sessionPaths } from "../state.ts";
import { hasSession, pasteText, sendKeys } from "../tmux.ts";
import { SEND_PREVIEW_CHARS, type SendBody } from "../types.ts";
import { atPromptAndReading } from "./prompt.ts";
import { readCellRecord } from "./record.ts";

/** Options of `send`. */
export interface SendOptions {
  /** Press Enter after the text (default true). */
  enter?: boolean;
  /** tmux key names to send instead of text (`C-d`, `Escape`). */
  keys?: string[];
}

/** Where `send` typed. */
export interface SendResult {
  /** The active cell whose program got the text, or null when no cell was active. */
  cell_id: string | null;
  /** What held the terminal when it is not the session's own program, else null. */
  foreground: Foreground | null;
}

/**
 * Types into what holds the session's terminal — the active cell's program, or a program left in
 * the foreground (a pager, a nested REPL) — without touching the lock. Refuses, typing nothing,
 * when the session's program is at its prompt with no cell active: that is `run`'s job. If the
 * cell turns out to have ended before the text was typed, says so (the text went to the prompt).
 */
export async function sendToCell(
  config: KernelConfig,
  name: string,
  text: string,
  options: SendOptions = {},
): Promise<SendResult> {
  const paths = sessionPaths(config, name);
  const meta = await readMeta(paths, name);
  if (text.includes("\0")) throw new UsageError("text contains a NUL byte");
  // Checked right before typing: the race with a cell that ends meanwhile is as small as it can be.
  const lock = await readLock(paths);
  const foreground = foregroundOf(meta.pane.pid) ?? null;
  if (!lock && !foreground && atPromptAndReading(paths, meta)) {
    throw new KttyError(
      "no_active_cell",
      `no active cell in session '${name}', and its program is at its prompt; use k run`,
    );
  }
  const keys = options.keys && options.keys.length > 0 ? options.keys : undefined;
  // Read before typing: what is typed may end the prompt that turned echo off.
  const echoes = await terminalEchoes(meta.pane.pid);
  const typedAt = Date.now();
  let ok: boolean;
  if (keys) {
    ok = await sendKeys(config, name, keys);
  } else {
    // Pasted rather than sent as keys: text ending in ';' would be cut as a tmux separator.
    ok = await pasteText(config, name, text, { keys: options.enter !== false ? ["Enter"] : [] });
  }
  if (!ok) {
    if (!(await hasSession(config, name))) throw new NoSessionError(name);
    throw new KttyError("tmux_failed", `tmux could not type into session '${name}'`);
  }
  await appendEvent(paths.events, name, sendEvent(lock?.cell_id, keys ?? text, echoes));
  if (lock) await assertNotLate(paths, name, lock.cell_id, typedAt);
  return { cell_id: lock?.cell_id ?? null, foreground };
}

/**
 * Whether the terminal the session's program reads echoes what is typed (its `ECHO` flag, off
 * while a program reads a secret): one readlink and one `stty`, on `send`'s path only. False
 * when it cannot be told, so that nothing typed then reaches the log.
 */
async function terminalEchoes(panePid: number): Promise<boolean> {
  const tty = terminalOf(panePid);
  return tty !== undefined && (await terminalModes(tty)).echo === true;
}

/** The `send` event for `typed` (text, or key names): a preview only while the terminal echoes. */
function sendEvent(
  cellId: string | undefined,
  typed: string | string[],
  echoes: boolean,
): SendBody {
  const cell = cellId === undefined ? {} : { cell_id: cellId };
  const keys = typeof typed === "string" ? {} : { keys: true as const };
  if (!echoes) return { status: "send", ...cell, preview: null, ...keys };
  const chars = typeof typed === "string" ? [...typed] : [...typed.join(" ")];
  const preview = chars.length > SEND_PREVIEW_CHARS
    ? `${chars.slice(0, SEND_PREVIEW_CHARS).join("")}…`
    : chars.join("");
  const length = typeof typed === "string" ? chars.length : typed.length;
  return { status: "send", ...cell, preview, length, ...keys };
}

/** Throws when cell `cellId` was seen ending before `typedAt`: the text went to the prompt. */
async function assertNotLate(
  paths: SessionPaths,
  name: string,
  cellId: string,
  typedAt: number,
): Promise<void> {
  const record = await readCellRecord(paths, cellId).catch(() => undefined);
  const result = record?.result;
  if (!result || result.status === "timeout" || result.ended_at === undefined) return;
  if (Date.parse(result.ended_at) >= typedAt) return;
  throw new KttyError(
    "send_late",
    `cell ${cellId} had ended (${result.status}) before the text was typed: it went to the program in session '${name}' at its prompt; see k screen ${name}`,
  );
}

/**
 * `send`: types text or keys into what holds the terminal — the program the active cell runs (a
 * `read -p`, a `[y/N]`, `input()`), or a program left in the foreground (a pager, a nested REPL)
 * — without a new cell and without touching the lock.
 * @module
 */

import { KttyError, NoSessionError, UsageError } from "../errors.ts";
import { readLock } from "../lock.ts";
import { type Foreground, foregroundOf } from "../session/foreground.ts";
import { readMeta } from "../session/meta.ts";
import { type KernelConfig, type SessionPaths, sessionPaths } from "../state.ts";
import { hasSession, pasteText, sendKeys } from "../tmux.ts";
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
  const typedAt = Date.now();
  let ok: boolean;
  if (options.keys && options.keys.length > 0) {
    ok = await sendKeys(config, name, options.keys);
  } else {
    // Pasted rather than sent as keys: text ending in ';' would be cut as a tmux separator.
    ok = await pasteText(config, name, text, { keys: options.enter !== false ? ["Enter"] : [] });
  }
  if (!ok) {
    if (!(await hasSession(config, name))) throw new NoSessionError(name);
    throw new KttyError("tmux_failed", `tmux could not type into session '${name}'`);
  }
  if (lock) await assertNotLate(paths, name, lock.cell_id, typedAt);
  return { cell_id: lock?.cell_id ?? null, foreground };
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

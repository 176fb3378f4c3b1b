/**
 * `send`: types text or keys into the program the active cell runs (a `read -p`, a `[y/N]`,
 * `input()`), without a new cell and without touching the lock.
 * @module
 */

import { KttyError, NoSessionError, UsageError } from "../errors.ts";
import { readLock } from "../lock.ts";
import { readMeta } from "../session/meta.ts";
import { type KernelConfig, sessionPaths } from "../state.ts";
import { hasSession, pasteText, sendKeys } from "../tmux.ts";

/** Options of `send`. */
export interface SendOptions {
  /** Press Enter after the text (default true). */
  enter?: boolean;
  /** tmux key names to send instead of text (`C-d`, `Escape`). */
  keys?: string[];
}

/** Types into the program the active cell is running, without touching the lock. */
export async function sendToCell(
  config: KernelConfig,
  name: string,
  text: string,
  options: SendOptions = {},
): Promise<string> {
  const paths = sessionPaths(config, name);
  await readMeta(paths, name);
  const lock = await readLock(paths);
  if (!lock) {
    throw new KttyError("no_active_cell", `no active cell in session '${name}'; use k run`);
  }
  let ok: boolean;
  if (options.keys && options.keys.length > 0) {
    ok = await sendKeys(config, name, options.keys);
  } else {
    if (text.includes("\0")) throw new UsageError("text contains a NUL byte");
    // Pasted rather than sent as keys: text ending in ';' would be cut as a tmux separator.
    ok = await pasteText(config, name, text, { keys: options.enter !== false ? ["Enter"] : [] });
  }
  if (!ok) {
    if (!(await hasSession(config, name))) throw new NoSessionError(name);
    throw new KttyError("tmux_failed", `tmux could not type into session '${name}'`);
  }
  return lock.cell_id;
}

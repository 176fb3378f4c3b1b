/**
 * `int`: Ctrl-C, then the active cell ends as `interrupted` and its lock is released, also after
 * a timeout, a dead watcher or a corrupt lock; waits (bounded) for the prompt to come back.
 * @module
 */

import { NoSessionError } from "../errors.ts";
import { FileFollower } from "../follow.ts";
import { claimAnyLock, endClaimedCell } from "../lock.ts";
import { parseMarker } from "../markers.ts";
import { readMeta, type SessionMeta } from "../session/meta.ts";
import { stopProcess, WATCHER_STOP_GRACE_MS } from "../proc.ts";
import { fileSize, type KernelConfig, type SessionPaths, sessionPaths } from "../state.ts";
import { TerminalText } from "../text.ts";
import { sendKeys } from "../tmux.ts";
import type { ErrorResult } from "../types.ts";
import { errorResult } from "./record.ts";
import { endCellOfDeadSession } from "./watch.ts";

const SETTLE_QUIET_MS = 50;
/** How long `k int` waits for a program with markers to come back to its prompt. */
const INT_PROMPT_WAIT_MS = 5000;
const SETTLE_MAX_MS = 1000;

/**
 * Sends Ctrl-C, ends the active cell with an `interrupted` result and releases the lock. Works on
 * a timed-out cell, a cell whose watcher died and a corrupt lock alike. Returns undefined when no
 * cell was active (Ctrl-C is still sent).
 */
export async function interruptCell(
  config: KernelConfig,
  name: string,
): Promise<ErrorResult | undefined> {
  const paths = sessionPaths(config, name);
  const meta = await readMeta(paths, name);
  const before = await fileSize(paths.log);
  // Claim first: the watcher, seeing the prompt come back after Ctrl-C, must not end the cell as
  // done before the interrupt is recorded.
  const claimed = await claimAnyLock(paths);
  if (!(await sendKeys(config, name, ["C-c"]))) {
    if (claimed !== undefined && claimed !== "corrupt") {
      await endCellOfDeadSession(paths, name, claimed, true);
    }
    throw new NoSessionError(name);
  }
  let result: ErrorResult | undefined;
  if (claimed !== undefined && claimed !== "corrupt") {
    result = errorResult(claimed, "interrupted");
    await endClaimedCell(paths, name, claimed, result, "interrupted");
    // A background watcher would notice on its own; stopping it ends its hook at once.
    if (claimed.owner_kind === "fire") await stopProcess(claimed.owner, WATCHER_STOP_GRACE_MS);
  }
  await settle(paths, meta, before);
  return result;
}

/**
 * Waits (bounded) for the prompt to come back after Ctrl-C. With markers: the next end marker
 * (a program may take seconds to shut down). Without: output, then a short quiet.
 */
async function settle(paths: SessionPaths, meta: SessionMeta, offset: number): Promise<void> {
  const nonce = meta.frame.mode === "integration" ? meta.frame.nonce ?? "" : undefined;
  let back = false;
  const term = new TerminalText(() => {}, {
    onOsc: (payload) => {
      if (nonce !== undefined && parseMarker(payload, nonce)?.kind === "end") back = true;
    },
  });
  const follower = await FileFollower.open(paths.log, offset);
  try {
    const deadline = Date.now() + (nonce !== undefined ? INT_PROMPT_WAIT_MS : SETTLE_MAX_MS);
    let grew = false;
    let lastGrowth = Date.now();
    while (Date.now() < deadline && !back) {
      if ((await follower.readAvailable((bytes) => term.push(bytes))) > 0) {
        grew = true;
        lastGrowth = Date.now();
      } else if (nonce === undefined && grew && Date.now() - lastGrowth >= SETTLE_QUIET_MS) return;
      if (back) return;
      await follower.wait(grew ? SETTLE_QUIET_MS : 100);
    }
  } finally {
    await follower.close();
  }
}

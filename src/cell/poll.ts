/**
 * `poll`: the state of a cell (the given one, else the active one, else the most recent), with a
 * running cell's output so far; a timeout is reported with its output once, later polls say how
 * to recover.
 * @module
 */

import { KttyError } from "../errors.ts";
import { isClosing, readLock } from "../lock.ts";
import { readMeta } from "../session/meta.ts";
import { isAlive } from "../proc.ts";
import { assertCellId, type KernelConfig, type SessionPaths, sessionPaths } from "../state.ts";
import { hasSession } from "../tmux.ts";
import type { CellResult } from "../types.ts";
import { checkMaxOutput, type PollOptions } from "./options.ts";
import { readCellRecord, writeCellRecord } from "./record.ts";
import { readCellOutput } from "./text.ts";

/** What later polls of a timed-out cell say. */
export const TIMEOUT_HINT = "use k int or k kill";

/**
 * The state of a cell: `cellId`, or the active cell, or the most recent one. A timeout is reported
 * with its output once; later polls say how to recover.
 */
export async function pollCell(
  config: KernelConfig,
  name: string,
  cellId?: string,
  options: PollOptions = {},
): Promise<CellResult> {
  const maxOutput = checkMaxOutput(options.maxOutput);
  const paths = sessionPaths(config, name);
  const meta = await readMeta(paths, name);
  if (cellId !== undefined) assertCellId(cellId);
  const lock = await readLock(paths);
  const id = cellId ?? lock?.cell_id ?? await readLast(paths);
  if (id === undefined) throw new KttyError("no_cell", `no cells yet in session '${name}'`);
  const record = await readCellRecord(paths, id);
  if (record) {
    if (record.result.status !== "timeout") return record.result;
    if (!record.reported) {
      await writeCellRecord(paths, { ...record, reported: true });
      return record.result;
    }
    return { cell_id: id, status: "timeout", output: TIMEOUT_HINT };
  }
  if (lock?.cell_id !== id) {
    if (await isClosing(paths, id)) {
      return { cell_id: id, status: "running", output: "", truncated: false };
    }
    // Ended between the reads: the record is written before the claim is released.
    const ended = await readCellRecord(paths, id);
    if (ended) return ended.result;
    throw new KttyError("no_cell", `no cell '${id}' in session '${name}'`);
  }
  if (!(await isAlive(lock.owner))) {
    // It may have finished between the two reads: a stored result wins.
    const late = await readCellRecord(paths, id);
    if (late && late.result.status !== "timeout") return late.result;
    const who = lock.owner_kind === "run"
      ? "the k run process watching it"
      : "its background watcher";
    return {
      cell_id: id,
      status: "error",
      output: `watcher died: ${who} (pid ${lock.owner.pid}) is gone; use k int ${name} to recover`,
    };
  }
  if (!(await isAlive(meta.pane)) || !(await hasSession(config, name))) {
    return {
      cell_id: id,
      status: "error",
      output:
        `session '${name}' ended while the cell was running (its program exited or tmux died)`,
    };
  }
  return {
    cell_id: id,
    status: "running",
    ...(await readCellOutput(paths, meta, lock, maxOutput)),
  };
}

async function readLast(paths: SessionPaths): Promise<string | undefined> {
  try {
    const id = (await Deno.readTextFile(paths.last)).trim();
    assertCellId(id);
    return id;
  } catch {
    return undefined;
  }
}

/**
 * `poll`: the state of a cell (the given one, else the active one, else the most recent), with a
 * running cell's output so far. A timeout is reported with its output at the time limit once;
 * later polls of the cell, which goes on running, say `timeout` with its output so far, until it
 * ends. A cell nobody watches any more is ended here if the log shows its end.
 * @module
 */

import { KttyError } from "../errors.ts";
import { eventsBackwards } from "../events/log.ts";
import {
  awaitClaim,
  giveBackUnannounced,
  isClosing,
  ownerDeathNote,
  pastWatchEnd,
  readLock,
  WATCH_BOUND_TEXT,
} from "../lock.ts";
import { readMeta } from "../session/meta.ts";
import { isAlive } from "../proc.ts";
import { assertCellId, type KernelConfig, type SessionPaths, sessionPaths } from "../state.ts";
import { hasSession } from "../tmux.ts";
import type { CellResult, KttyEvent } from "../types.ts";
import { checkMaxOutput, type PollOptions } from "./options.ts";
import { readCellRecord, writeCellRecord } from "./record.ts";
import { heldBy } from "../session/foreground.ts";
import { readCellOutput } from "./text.ts";
import { endIfDone } from "./watch.ts";

/**
 * The state of a cell: `cellId`, or the active cell, or the most recent one. A timeout is reported
 * with its stored output once; later polls say `timeout` with the output so far while the cell
 * runs, then its final result.
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
  const id = cellId ?? lock?.cell_id ?? await readLast(paths) ?? await lastLoggedCell(paths);
  if (id === undefined) throw new KttyError("no_cell", `no cells yet in session '${name}'`);
  const record = await readCellRecord(paths, id);
  if (record) {
    if (record.result.status !== "timeout") return record.result;
    if (!record.reported) {
      // A poll is a read: a state dir it cannot write (read-only) does not fail it.
      await writeCellRecord(paths, { ...record, reported: true }).catch(() => {});
      return record.result;
    }
  }
  if (lock?.cell_id !== id) {
    // Being ended right now: its final record is a moment away (the claim is held that long).
    const closing = await isClosing(paths, id);
    if (closing) await awaitClaim(paths, id);
    const ended = await readCellRecord(paths, id);
    if (ended) return ended.result;
    if (closing) return { cell_id: id, status: "running", output: "", truncated: false };
    // Ended, but its result could not be stored (a full disk): the log says so.
    const unstored = await unstoredEnd(paths, id);
    if (unstored) return { cell_id: id, status: "error", output: unstored };
    throw new KttyError("no_cell", `no cell '${id}' in session '${name}'`);
  }
  // Until it ends, a timed-out cell is reported as `timeout`, a cell within its limit `running`.
  const status = record ? "timeout" : "running";
  if (!(await isAlive(lock.owner))) {
    // Its starter died before announcing it: never typed, given back (rule 6 of src/lock.ts).
    if (await giveBackUnannounced(paths, lock)) {
      if (cellId === undefined) return await pollCell(config, name, undefined, options);
      throw new KttyError(
        "no_cell",
        `cell '${id}' of session '${name}' was never typed (the process starting it died first); the session is free`,
      );
    }
    // It may have finished between the two reads: a stored result wins.
    const late = await readCellRecord(paths, id);
    if (late && late.result.status !== "timeout") return late.result;
    // Nobody watches it: the log itself may show the program back at its prompt (recording that
    // may fail, say on a read-only file system: then the owner's death is what there is to say).
    const ended = await endIfDone(paths, meta, lock).catch((e) => {
      if (e instanceof KttyError) return undefined;
      throw e;
    });
    if (ended) return ended;
    if (late && pastWatchEnd(lock)) {
      return {
        cell_id: id,
        status: "error",
        output:
          `no longer watched after ${WATCH_BOUND_TEXT}: the cell timed out and may still run; use k int ${name} to recover`,
      };
    }
    const who = lock.owner_kind === "run"
      ? "the k run process watching it"
      : "its background watcher";
    const reason = await ownerDeathNote(config, name, lock) ??
      `${who} (pid ${lock.owner.pid}) is gone`;
    return {
      cell_id: id,
      status: "error",
      output: `watcher died: ${reason}; use k int ${name} to recover`,
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
  const output = await readCellOutput(paths, meta, lock, maxOutput);
  return { cell_id: id, status, ...output, ...heldBy(paths, meta) };
}

/** How many events back the log is read for a cell's start or end. */
const CELL_EVENT_SCAN = 1000;

/**
 * The newest of the log's last events ({@link CELL_EVENT_SCAN}) that starts or ends a cell
 * (`cellId`'s, else any cell's); a `send` names its cell too, and may land after its end.
 */
async function lastCellEvent(
  paths: SessionPaths,
  cellId?: string,
): Promise<KttyEvent | undefined> {
  let seen = 0;
  for await (const { event } of eventsBackwards(paths.events)) {
    if (
      "cell_id" in event && event.cell_id !== undefined && event.status !== "send" &&
      (cellId === undefined || event.cell_id === cellId)
    ) {
      return event;
    }
    if (++seen >= CELL_EVENT_SCAN) break;
  }
  return undefined;
}

/**
 * The message of cell `cellId`'s `error` event when it ended without a stored result (rule 3 of
 * src/lock.ts); undefined when its last event is another, or none is found near the log's end.
 */
export async function unstoredEnd(
  paths: SessionPaths,
  cellId: string,
): Promise<string | undefined> {
  const event = await lastCellEvent(paths, cellId);
  return event?.status === "error" ? event.message : undefined;
}

/**
 * The most recent cell the event log names, for a session without its `last` file: `k kill
 * --keep` keeps the log and the results, not that file, and a `k new` continuing the log has
 * typed nothing yet.
 */
async function lastLoggedCell(paths: SessionPaths): Promise<string | undefined> {
  const event = await lastCellEvent(paths);
  return event && "cell_id" in event ? event.cell_id : undefined;
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

/**
 * A session's event log as people use it: notes appended to it (`k notify`) and its recent
 * history, each cell's code beside its events (`k history`).
 * @module
 */

import { NoSessionError, UsageError } from "../errors.ts";
import { appendEvent, readLastEvents } from "../events/log.ts";
import { type KernelConfig, sessionPaths } from "../state.ts";
import type { KttyEvent } from "../types.ts";
import { readCellRecord } from "../cell/record.ts";
import { readMetaIfAny } from "./meta.ts";

/** Appends a `notify` event to the session's log. */
export async function notifySession(
  config: KernelConfig,
  name: string,
  text: string,
  from: string,
): Promise<KttyEvent> {
  const paths = sessionPaths(config, name);
  if (!(await readMetaIfAny(paths))) throw new NoSessionError(name);
  if (text === "") throw new UsageError("missing message");
  const event = await appendEvent(paths.events, name, { status: "notify", from, message: text });
  if (!event) throw new NoSessionError(name);
  return event;
}

/** One line of history: a cell or an event. */
export interface HistoryEntry {
  /** The event. */
  event: KttyEvent;
  /** For cell events: the first line of the cell's code. */
  code?: string;
}

/** The last `n` events of a session, with each cell's code beside its events. */
export async function sessionHistory(
  config: KernelConfig,
  name: string,
  n: number,
): Promise<HistoryEntry[]> {
  const paths = sessionPaths(config, name);
  if (!(await readMetaIfAny(paths))) throw new NoSessionError(name);
  const events = await readLastEvents(paths.events, n);
  const out: HistoryEntry[] = [];
  for (const event of events) {
    let code: string | undefined;
    if ("cell_id" in event && event.cell_id && event.status !== "fired") {
      code = (await readCellRecord(paths, event.cell_id).catch(() => undefined))?.code;
    }
    out.push(code === undefined ? { event } : { event, code });
  }
  return out;
}

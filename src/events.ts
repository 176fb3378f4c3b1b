/**
 * The per-session event log: an append-only JSONL file. Appends hold an exclusive `flock` on the
 * file, read the last line for the previous `seq`, and write one line, so many `k` processes can
 * append at once and `seq` stays gap-free. The log is the only source of events.
 * @module
 */

import {
  decodeEvent,
  encodeEvent,
  EVENT_SCHEMA_VERSION,
  type EventBody,
  type KttyEvent,
} from "./types.ts";
import { writeAll } from "./state.ts";

const TAIL_BYTES = 64 * 1024;

/**
 * Appends one event and returns it, or undefined when `body` is `closed` and the log already ends
 * with `closed` (whoever notices a death first writes it; the rest are no-ops), or when the
 * session's state is gone.
 */
export async function appendEvent(
  path: string,
  session: string,
  body: EventBody,
): Promise<KttyEvent | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, append: true, create: true, mode: 0o600 });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  try {
    await file.lock(true);
    const last = await readLastEvent(file);
    if (body.status === "closed" && last?.status === "closed") return undefined;
    const event = {
      schema_version: EVENT_SCHEMA_VERSION,
      seq: (last?.seq ?? 0) + 1,
      ts: new Date().toISOString(),
      session,
      ...body,
    } as KttyEvent;
    await writeAll(file, new TextEncoder().encode(encodeEvent(event) + "\n"));
    return event;
  } finally {
    file.close(); // closing releases the flock
  }
}

async function readLastEvent(file: Deno.FsFile): Promise<KttyEvent | undefined> {
  const size = (await file.stat()).size;
  if (size === 0) return undefined;
  const start = Math.max(0, size - TAIL_BYTES);
  await file.seek(start, Deno.SeekMode.Start);
  const buf = new Uint8Array(size - start);
  let got = 0;
  while (got < buf.length) {
    const n = await file.read(buf.subarray(got));
    if (n === null) break;
    got += n;
  }
  const lines = new TextDecoder().decode(buf.subarray(0, got)).split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (!line) continue;
    try {
      return decodeEvent(line);
    } catch {
      continue; // a torn or foreign line: keep looking backwards
    }
  }
  return undefined;
}

/** Reads every event in the log (skipping lines that are not events). */
export async function readEvents(path: string): Promise<KttyEvent[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const events: KttyEvent[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      events.push(decodeEvent(line));
    } catch {
      // not an event: skipped, never guessed at
    }
  }
  return events;
}

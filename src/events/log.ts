/**
 * The per-session event log on disk: an append-only JSONL file. Appends hold an exclusive
 * `flock` on the file, read the last line for the previous `seq`, and write one line, so many `k`
 * processes can append at once and `seq` stays gap-free. Readers take it whole or from its tail.
 * @module
 */

import { ioError, readRangeSync, writeAllSync } from "../state.ts";
import {
  decodeEvent,
  encodeEvent,
  EVENT_SCHEMA_VERSION,
  type EventBody,
  type KttyEvent,
} from "../types.ts";

/**
 * Appends one event and returns it. Returns undefined, appending nothing, when the log already
 * ends with `closed` (a closed session takes no more events, so whoever notices a death first
 * writes `closed` and the rest are no-ops), when the session's state is gone, or when `onlyIf`
 * (asked under the log's flock, so no {@link cellAnnounced} runs meanwhile) says no.
 */
// deno-lint-ignore require-await -- async for its callers; synchronous inside the flock (tailOf)
export async function appendEvent(
  path: string,
  session: string,
  body: EventBody,
  onlyIf?: () => boolean,
): Promise<KttyEvent | undefined> {
  // Synchronous file calls: an append is a few hundred bytes, paid by every cell (see state.ts).
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true, append: true, create: true, mode: 0o600 });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw ioError("write", path, e);
  }
  try {
    file.lockSync(true);
    const tail = tailOf(file);
    // …except that a new session of the same name continues the log with `started`.
    if (tail.last?.status === "closed" && body.status !== "started") return undefined;
    if (onlyIf && !onlyIf()) return undefined;
    const event = {
      schema_version: EVENT_SCHEMA_VERSION,
      seq: (tail.last?.seq ?? 0) + 1,
      ts: new Date().toISOString(),
      session,
      ...body,
    } as KttyEvent;
    // A torn last line (a writer killed mid-write) must not swallow this event: end it first.
    const line = (tail.endsMidLine ? "\n" : "") + encodeEvent(event) + "\n";
    writeAllSync(file, new TextEncoder().encode(line));
    return event;
  } catch (e) {
    throw ioError("write", path, e);
  } finally {
    file.close(); // closing releases the flock
  }
}

/** How far back {@link cellAnnounced} looks for a cell's `fired` before it assumes it is there. */
const ANNOUNCED_SCAN_BYTES = 4 * 1024 * 1024;

/**
 * Whether the log holds cell `cellId`'s `fired` event, as the active cell's: looked for backwards
 * from the end, past notes and `closed`, up to the first event of another cell (then false). Reads
 * under the log's flock, so an append made under a condition ({@link appendEvent}'s `onlyIf`) is
 * either in the log or never will be. A log longer than {@link ANNOUNCED_SCAN_BYTES} of notes
 * since is assumed to hold it (recording an end for a cell never announced is the lesser harm).
 */
// deno-lint-ignore require-await -- async for its callers; synchronous inside the flock (scanBack)
export async function cellAnnounced(path: string, cellId: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw ioError("read", path, e);
  }
  try {
    file.lockSync(false);
    let found = false;
    const scanned = scanBack(file, (event) => {
      const id = "cell_id" in event ? event.cell_id : undefined;
      if (id === cellId && event.status === "fired") found = true;
      return found || (id !== undefined && id !== cellId);
    }, ANNOUNCED_SCAN_BYTES);
    return found || !scanned.complete;
  } catch (e) {
    throw ioError("read", path, e);
  } finally {
    file.close();
  }
}

interface Tail {
  /** The last event in the log, if any. */
  last: KttyEvent | undefined;
  /** True when the file's last byte is not a newline. */
  endsMidLine: boolean;
}

/** The first read of a tail: a log's last event is almost always within it. */
const TAIL_FIRST_READ_BYTES = 4096;
const TAIL_MAX_READ_BYTES = 256 * 1024;

/** The log's last event, and whether it ends mid-line (see {@link scanBack}). */
function tailOf(file: Deno.FsFile): Tail {
  let last: KttyEvent | undefined;
  const { endsMidLine } = scanBack(file, (event) => {
    last = event;
    return true;
  });
  return { last, endsMidLine };
}

/** What {@link scanBack} saw. */
interface Scanned {
  /** True when the file's last byte is not a newline. */
  endsMidLine: boolean;
  /** False when the scan stopped at its byte limit, before `visit` said stop or the file began. */
  complete: boolean;
}

const DECODER = new TextDecoder();

/**
 * Visits the log's events newest first, read backwards from its end (4 KiB first, then growing
 * reads, as far as a long line reaches), skipping torn or foreign lines, until `visit` returns
 * true, the file begins, or `maxBytes` were read. Synchronous on purpose: `appendEvent` holds the
 * log's flock meanwhile, and an `await` there would let another append in this process block the
 * thread on the same flock for good.
 */
function scanBack(
  file: Deno.FsFile,
  visit: (event: KttyEvent) => boolean,
  maxBytes = Number.POSITIVE_INFINITY,
): Scanned {
  // The size from a seek to the end: no file-info object to build (every append pays this).
  const size = file.seekSync(0, Deno.SeekMode.End);
  if (size === 0) return { endsMidLine: false, complete: true };
  let end = size;
  let chunk = TAIL_FIRST_READ_BYTES;
  let rest = new Uint8Array(0); // the start of a line whose beginning lies further back
  let endsMidLine: boolean | undefined;
  while (end > 0) {
    if (size - end >= maxBytes) return { endsMidLine: endsMidLine ?? false, complete: false };
    const start = Math.max(0, end - chunk);
    const read = readRangeSync(file, start, end);
    // Every `fired` pays this read before its cell is typed: no copy unless a line spans reads.
    let bytes = read;
    if (rest.length > 0) {
      bytes = new Uint8Array(read.length + rest.length);
      bytes.set(read);
      bytes.set(rest, read.length);
    }
    endsMidLine ??= bytes[bytes.length - 1] !== 0x0a;
    let lineEnd = bytes.length;
    // From newline to newline backwards (lastIndexOf: not a byte at a time in script).
    for (let nl = bytes.lastIndexOf(0x0a);; nl = nl > 0 ? bytes.lastIndexOf(0x0a, nl - 1) : -1) {
      if (nl < 0 && start > 0) break; // the first piece may be the end of a longer line
      const line = DECODER.decode(bytes.subarray(nl + 1, lineEnd));
      lineEnd = nl;
      if (line !== "") {
        let event: KttyEvent | undefined;
        try {
          event = decodeEvent(line);
        } catch {
          event = undefined; // a torn or foreign line: keep looking backwards
        }
        if (event && visit(event)) return { endsMidLine, complete: true };
      }
      if (nl < 0) break;
    }
    rest = bytes.slice(0, Math.max(0, lineEnd));
    end = start;
    chunk = Math.min(chunk * 2, TAIL_MAX_READ_BYTES);
  }
  return { endsMidLine: endsMidLine ?? false, complete: true };
}

/**
 * The last event of an event log, read from its tail (4 KiB, then backwards as far as its last
 * event's line reaches), never the whole log unless it holds no event. Skips a torn last line.
 * Undefined when the log is missing, empty, or holds no event.
 */
// deno-lint-ignore require-await -- async for its callers; the reads are synchronous (tailOf)
export async function lastEvent(path: string): Promise<KttyEvent | undefined> {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  try {
    return tailOf(file).last;
  } finally {
    file.close();
  }
}

/** An event with the byte offset where its line starts. */
export interface PlacedEvent {
  /** The event. */
  event: KttyEvent;
  /** Byte offset of its line in the log. */
  offset: number;
}

/** The first backward read is small (most callers want the last event or few); later ones grow. */
const BACKWARD_FIRST_CHUNK_BYTES = 4 * 1024;
const BACKWARD_MAX_CHUNK_BYTES = 256 * 1024;

/**
 * The log's events newest first, read backwards in chunks: a caller that stops early (the last
 * `n`, the latest `fired`) costs the same however long the log has grown.
 */
export async function* eventsBackwards(
  path: string,
): AsyncGenerator<PlacedEvent, void, undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw ioError("read", path, e);
  }
  try {
    let end = (await file.stat()).size;
    let carry = new Uint8Array(0); // the start of a line whose beginning is in an earlier chunk
    const decoder = new TextDecoder();
    let chunkBytes = BACKWARD_FIRST_CHUNK_BYTES;
    while (end > 0 || carry.length > 0) {
      const start = Math.max(0, end - chunkBytes);
      chunkBytes = Math.min(chunkBytes * 4, BACKWARD_MAX_CHUNK_BYTES);
      const chunk = new Uint8Array(end - start + carry.length);
      await file.seek(start, Deno.SeekMode.Start);
      let got = 0;
      while (got < end - start) {
        const n = await file.read(chunk.subarray(got, end - start));
        if (n === null) break;
        got += n;
      }
      chunk.set(carry, end - start);
      // A trimmed log starts with a hole (zeros: no event line holds a raw NUL): the log's
      // kept part starts after it, so reading stops there (src/session/disk.ts).
      const hole = chunk.lastIndexOf(0x00);
      const first = start === 0 || hole >= 0;
      // Lines whose start lies in this chunk; the part before the first newline belongs to the
      // line that starts in the previous chunk (unless this chunk starts the file).
      const cut = first ? hole + 1 : chunk.indexOf(0x0a) + 1;
      if (start !== 0 && cut === 0) {
        carry = chunk; // one line longer than a chunk: keep reading backwards
        end = start;
        continue;
      }
      const lines: PlacedEvent[] = [];
      let pos = cut;
      while (pos < chunk.length) {
        let nl = chunk.indexOf(0x0a, pos);
        if (nl < 0) nl = chunk.length;
        const line = decoder.decode(chunk.subarray(pos, nl));
        if (line !== "") {
          try {
            lines.push({ event: decodeEvent(line), offset: start + pos });
          } catch {
            // a torn or foreign line: never an event
          }
        }
        pos = nl + 1;
      }
      for (let i = lines.length - 1; i >= 0; i--) yield lines[i] as PlacedEvent;
      carry = chunk.subarray(0, cut);
      if (first) break;
      end = start;
    }
  } finally {
    file.close();
  }
}

/** The last `n` events of the log, oldest first, read from its end. */
export async function readLastEvents(path: string, n: number): Promise<KttyEvent[]> {
  const out: KttyEvent[] = [];
  if (n <= 0) return out;
  for await (const { event } of eventsBackwards(path)) {
    out.push(event);
    if (out.length >= n) break;
  }
  return out.reverse();
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

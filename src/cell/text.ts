/**
 * A cell's text: pane-log bytes made clean (terminal text), the echo of the typed code removed,
 * the frame detector fed, the output kept within its budget; and a running cell's output so far,
 * read from both ends of a long log.
 * @module
 */

import { createDetector, EchoFilter, type FrameDetector, type TypedCell } from "../frame/mod.ts";
import type { CellLock } from "../lock.ts";
import type { SessionMeta } from "../session/meta.ts";
import { type BoundedOutput, OutputSink } from "./output.ts";
import { fileSize, readRangeSync, type SessionPaths } from "../state.ts";
import { PASTE_MODE, TerminalText } from "../text.ts";

/** A cell's text as it streams in: clean lines, echo removed, detector fed, output bounded. */
export class CellText {
  /** The frame detector, when the caller decides the end of the frame or needs markers. */
  readonly detector: FrameDetector | undefined;
  #sink: OutputSink;
  #echo: EchoFilter;
  #term: TerminalText;
  #sawEcho = false;
  #beforeEcho: string[] = [];
  #started = false;
  #collecting = true;

  /**
   * Makes the text of one cell.
   * @param typed the lines that were typed for the cell, and the continuation prompts the typing
   *   brought (0 for several lines: one bracketed paste, echoed without prompts after the first)
   * @param sink where output lines go
   * @param detector fed every line and marker
   * @param columns the pane's width
   */
  constructor(typed: TypedCell, sink: OutputSink, detector?: FrameDetector, columns?: number) {
    const pasted = typed.continuations === 0 && typed.lines.length > 1;
    this.#echo = new EchoFilter(typed.lines, pasted);
    this.#sink = sink;
    this.detector = detector;
    this.#term = new TerminalText((line) => this.#line(line), {
      columns,
      onOsc: (payload) => this.#marker(payload),
      onMode: (mode, on) => {
        if (mode === PASTE_MODE) this.detector?.onPasteMode?.(on);
      },
    });
  }

  #marker(payload: string): void {
    const seen = this.detector?.onMarker?.(payload, this.#term.partial);
    if (seen === "start") {
      // What came before the start marker (echo, the prompt) is not output.
      this.#started = true;
      this.#term.resetLine();
      this.#sink.reset();
    } else if (seen === "end") {
      this.#collecting = false;
    }
  }

  #line(line: string): void {
    const echo = this.#echo.isEcho(line);
    if (echo && !this.#sawEcho) {
      // Nothing the cell printed can come before its code was read: what came first was left
      // over from before (a prompt redrawn late under load).
      this.#sawEcho = true;
      this.#beforeEcho = [];
    }
    this.detector?.onLine(line, echo);
    if (!this.#collecting || echo) return;
    if (this.#started || this.#sawEcho) this.#sink.push(line);
    else if (line.trim() !== "") this.#beforeEcho.push(line);
  }

  /** Lines seen before any echo, kept only if no echo ever comes (a program that echoes nothing). */
  #releaseBeforeEcho(): void {
    if (this.#sawEcho || this.#started) return;
    for (const line of this.#beforeEcho) this.#sink.push(line);
    this.#beforeEcho = [];
  }

  /** Feeds raw log bytes. */
  push(bytes: Uint8Array): void {
    this.#term.push(bytes);
  }

  /** Writes spilled output to its file when enough has gathered. */
  async flush(): Promise<void> {
    if (this.#sink.needsFlush) await this.#sink.flush();
  }

  /** The unfinished last line. */
  get partial(): string {
    return this.#term.partial;
  }

  /** The final output: the detector drops trailing prompt lines. */
  finish(): Promise<BoundedOutput> {
    this.#releaseBeforeEcho();
    const detector = this.detector;
    const partial = this.partial;
    return this.#sink.finish((held) => detector ? detector.finish(held, partial) : held);
  }

  /** The output so far, unfinished line included: a running or timed-out cell's output. */
  soFar(): Promise<BoundedOutput> {
    this.#releaseBeforeEcho();
    const partial = this.#collecting ? this.partial : "";
    return this.#sink.finish((held) => partial === "" ? held : [...held, partial]);
  }
}

/** Reads the output a cell has printed so far (for `poll` on a running cell). */
export async function readCellOutput(
  paths: SessionPaths,
  meta: SessionMeta,
  lock: CellLock,
  maxOutput: number,
): Promise<BoundedOutput> {
  // Markers decide where output starts; a hook is never started just to look.
  const detector = meta.frame.mode === "integration" ? createDetector(meta.frame, lock) : undefined;
  const text = new CellText(lock, new OutputSink(maxOutput), detector, meta.columns);
  const size = await fileSize(paths.log);
  // Bytes read at each end of a long running output: a poll costs the same however much the cell
  // has printed (an agent polls a long build many times).
  const window = maxOutput * SO_FAR_BYTES_PER_CHAR;
  if (size - lock.offset <= 2 * window) {
    text.push(readRange(paths.log, lock.offset, size));
    return await text.soFar();
  }
  text.push(readRange(paths.log, lock.offset, lock.offset + window));
  const half = Math.floor(maxOutput / 2);
  const head = takeChars((await text.soFar()).output.split("\n"), half, "head");
  const tailLines: string[] = [];
  const term = new TerminalText((line) => tailLines.push(line), { columns: meta.columns });
  term.push(readRange(paths.log, size - window, size));
  tailLines.shift(); // it may have begun before the window
  if (term.partial !== "") tailLines.push(term.partial);
  const tail = takeChars(tailLines, half, "tail");
  const cut = size - lock.offset - 2 * window;
  const marker = `[… about ${cut} bytes of output cut; the cell is still running …]`;
  return { output: [...head, marker, ...tail].join("\n"), truncated: true };
}

/** How many log bytes per output character a running cell's output is read with, at each end. */
const SO_FAR_BYTES_PER_CHAR = 4;

/** Bytes `from` to `to` of a file. */
function readRange(path: string, from: number, to: number): Uint8Array {
  const file = Deno.openSync(path, { read: true });
  try {
    return readRangeSync(file, from, to);
  } finally {
    file.close();
  }
}

/** Whole lines from the start (head) or the end (tail) of `lines`, within `chars` characters. */
function takeChars(lines: string[], chars: number, end: "head" | "tail"): string[] {
  const out: string[] = [];
  let used = 0;
  const ordered = end === "head" ? lines : [...lines].reverse();
  for (const line of ordered) {
    if (used + line.length + 1 > chars) break;
    out.push(line);
    used += line.length + 1;
  }
  return end === "head" ? out : out.reverse();
}

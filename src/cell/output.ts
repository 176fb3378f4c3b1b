/**
 * A cell's output, streamed and bounded. Every line goes through here once: the first half of the
 * budget is kept as the head, the last half as the tail, and once the output outgrows the budget
 * the whole of it is streamed to a private file. Memory stays bounded by the budget whatever the
 * cell prints. The last lines are held back until the end so that the frame detector can still
 * drop trailing prompt lines from them.
 * @module
 */

import { ioError, writeAll } from "../state.ts";

/** Default output budget in characters (`-o N` per call, `K_MAX_OUTPUT` for all). */
export const DEFAULT_MAX_OUTPUT_CHARS = 50_000;
const HELD_BACK_LINES = 64;
/** How many lines may have left the tail before its arrays are copied without them. */
const TAIL_COMPACT_LINES = 4096;
const FLUSH_CHARS = 64 * 1024;

/** The output budget from `K_MAX_OUTPUT`, else the default. Invalid values are ignored. */
export function maxOutputFromEnv(): number {
  const value = Deno.env.get("K_MAX_OUTPUT");
  return value && /^[1-9][0-9]*$/.test(value) ? Number(value) : DEFAULT_MAX_OUTPUT_CHARS;
}

/** What a finished sink holds. */
export interface BoundedOutput {
  /** The output, or its head and tail with a one-line marker between them. */
  output: string;
  /** True when the middle was cut. */
  truncated: boolean;
  /** The file with the whole output, when truncated and a file was asked for. */
  output_file?: string;
}

/** Collects output lines within a character budget. */
export class OutputSink {
  #budget: number;
  #filePath: string | undefined;
  #file: Deno.FsFile | undefined;
  #pendingFile: string[] = [];
  #pendingChars = 0;
  #head: string[] = [];
  #headChars = 0;
  #headFull = false;
  #tail: string[] = [];
  /** For each tail line: whether it is whole (not only the end of a longer line). */
  #tailWhole: boolean[] = [];
  /**
   * Where the tail begins in `#tail`: lines leave it from the front by moving this on (a
   * `shift()` copies a long array each time: a flood of one-character lines keeps ~25,000).
   */
  #tailFrom = 0;
  #tailChars = 0;
  #held: string[] = [];
  #all: string[] = [];
  #lines = 0;
  #chars = 0;
  #spilled = false;

  /**
   * Makes a sink.
   * @param budget most characters the output may hold
   * @param filePath where to stream the whole output once it outgrows the budget (none: no file)
   */
  constructor(budget: number, filePath?: string) {
    this.#budget = Math.max(1, budget);
    this.#filePath = filePath;
  }

  /** Takes one finished output line. */
  push(line: string): void {
    this.#held.push(line);
    if (this.#held.length > HELD_BACK_LINES) this.#commit(this.#held.shift() as string);
  }

  /** Drops everything taken so far (what came before a start marker was not output). */
  reset(): void {
    this.#held = [];
    this.#all = [];
    this.#spilled = false;
    this.#head = [];
    this.#tail = [];
    this.#tailWhole = [];
    this.#tailFrom = 0;
    this.#pendingFile = [];
    this.#headChars =
      this.#tailChars =
      this.#pendingChars =
      this.#lines =
      this.#chars =
        0;
    this.#headFull = false;
  }

  #commit(line: string): void {
    const cost = line.length + 1;
    this.#lines++;
    this.#chars += cost;
    if (!this.#spilled) {
      this.#all.push(line);
      if (this.#chars - 1 > this.#budget) {
        // Outgrown: from now on the whole output goes to the file, and only head and tail stay.
        this.#spilled = true;
        if (this.#filePath !== undefined) {
          this.#pendingFile = this.#all;
          this.#pendingChars = this.#chars;
        }
        this.#all = [];
      }
    } else if (this.#filePath !== undefined) {
      this.#pendingFile.push(line);
      this.#pendingChars += cost;
    }
    const half = Math.floor(this.#budget / 2);
    if (!this.#headFull && this.#headChars + cost <= half) {
      this.#head.push(line);
      this.#headChars += cost;
      return;
    }
    this.#headFull = true;
    // A line longer than the tail's share keeps only its end: memory stays within the budget.
    const kept = line.length > half ? line.slice(line.length - half) : line;
    this.#tail.push(kept);
    this.#tailWhole.push(kept === line);
    this.#tailChars += kept.length + 1;
    while (this.#tail.length - this.#tailFrom > 1 && this.#tailChars > half) {
      this.#tailChars -= this.#tail[this.#tailFrom++]!.length + 1;
    }
    if (this.#tailFrom >= TAIL_COMPACT_LINES && this.#tailFrom * 2 >= this.#tail.length) {
      this.#tail = this.#tail.slice(this.#tailFrom);
      this.#tailWhole = this.#tailWhole.slice(this.#tailFrom);
      this.#tailFrom = 0;
    }
  }

  /** True when buffered file text is waiting for {@link flush}. */
  get needsFlush(): boolean {
    return this.#spilled && this.#pendingChars >= FLUSH_CHARS;
  }

  /** Writes buffered text to the output file (once the output has outgrown the budget). */
  async flush(): Promise<void> {
    if (!this.#spilled || this.#filePath === undefined || this.#pendingFile.length === 0) return;
    const text = this.#pendingFile.join("\n") + "\n";
    this.#pendingFile = [];
    this.#pendingChars = 0;
    try {
      this.#file ??= await Deno.open(this.#filePath, {
        write: true,
        create: true,
        truncate: true,
        mode: 0o600,
      });
      await writeAll(this.#file, new TextEncoder().encode(text));
    } catch (e) {
      throw ioError("write", this.#filePath, e); // a full disk: named, not a bare OS error
    }
  }

  /**
   * Ends the output: `trimTail` may drop trailing prompt lines from the held-back lines (and
   * append a final unfinished line). Returns the bounded output.
   */
  async finish(trimTail: (lines: string[]) => string[] = (l) => l): Promise<BoundedOutput> {
    const held = trimTail(this.#held);
    this.#held = [];
    for (const line of held) this.#commit(line);
    try {
      if (!this.#spilled) return { output: this.#all.join("\n"), truncated: false };
      await this.flush(); // the file ends with a newline, as a text file does
      const head = this.#head.join("\n");
      let tail = this.#tail.slice(this.#tailFrom).join("\n");
      let tailStartsMidLine = this.#tailWhole[this.#tailFrom] === false;
      const half = Math.floor(this.#budget / 2);
      if (tail.length > half) {
        tailStartsMidLine = tail[tail.length - half - 1] !== "\n";
        tail = tail.slice(tail.length - half);
      }
      // What is cut is counted from what is shown: whole lines, and the hidden part of a line
      // whose end alone is shown. The line breaks around the marker are shown, not cut; a tail
      // that starts inside a line has none before it.
      const total = this.#chars - 1;
      const joins = (head === "" ? 0 : 1) + (tail === "" || tailStartsMidLine ? 0 : 1);
      const cutChars = Math.max(0, total - head.length - tail.length - joins);
      const tailLines = tail === "" ? 0 : tail.split("\n").length;
      const cutLines = Math.max(0, this.#lines - this.#head.length - tailLines);
      const where = this.#file ? `; whole output in ${this.#filePath}` : "";
      const partial = cutChars > 0 && cutLines === 0 ? " of a long line" : "";
      const marker = `[… ${cutChars} characters${partial} (${cutLines} lines) cut${where} …]`;
      const parts = head === "" ? [marker, tail] : [head, marker, tail];
      const result: BoundedOutput = { output: parts.join("\n"), truncated: true };
      if (this.#file && this.#filePath) result.output_file = this.#filePath;
      return result;
    } finally {
      this.#file?.close();
      this.#file = undefined;
    }
  }
}

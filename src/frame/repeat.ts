/**
 * Repeat mode: N empty Enters follow the code; N+1 copies of the same prompt at the end of the log
 * (the unfinished last line included; blank lines between them, as ipython prints, and a counter
 * in them, as `In [3]:` and `irb(main):013:0>` have, aside) are the prompt redrawn, so the program
 * is done. A terminal in cooked mode echoes the Enters before the program reads them: those blank
 * lines are echo, not output. The program's first prompt, as `new` saw it, ends a cell too once
 * the log has been quiet a moment (a line editor that erases its redrawn prompts, as irb's does).
 *
 * A program that repeats its last command on an empty Enter (pdb, gdb, perl's debugger) gets
 * none: its cell ends when that first prompt is back, once per typed line.
 * @module
 */

import type { FrameDetector } from "./detector.ts";
import { gluedPromptAt, promptPattern, samePrompt } from "./prompt.ts";

/** How many empty Enters repeat mode types, and how many redrawn prompts it waits for. */
export const REPEAT_ENTERS = 5;
/** Quiet that lets a cell end one prompt short, or at the first prompt alone. */
const SHORT_QUIET_MS = 500;

/** What a repeat-mode detector knows of its session and cell. */
export interface RepeatOptions {
  /** The empty Enters typed after the code (0: the program repeats a command on one). */
  enters: number;
  /** How many inputs the program reads: the lines typed, or 1 for a bracketed paste of them. */
  codeLines: number;
  /** How many lines were typed (default: `codeLines`): each echoes before its output. */
  typedLines?: number;
  /** The program's first prompt, as `new` saw it, if it showed one. */
  prompt?: string;
}

/** Repeat-mode detector. */
export class RepeatDetector implements FrameDetector {
  #enters: number;
  #codeLines: number;
  #typedLines: number;
  #prompt: string | undefined;
  #echoes = 0;
  /** Output lines (not echo) since the first echo, and how many came before the last echo. */
  #output = 0;
  #outputBeforeLastEcho = 0;
  /** Blank lines right after the echo of the last code line. */
  #blanksAfterEcho = 0;
  #onlyBlanksSinceEcho = false;
  /** The last non-blank output line, how many same-prompt lines end with it, the one before. */
  #last: string | undefined;
  #run = 0;
  #before: string | undefined;
  /** Lines beginning with the first prompt: the prompt back for the next typed line. */
  #returns = 0;

  /** @param options the Enters, the typed lines and the first prompt */
  constructor(options: RepeatOptions = { enters: REPEAT_ENTERS, codeLines: 1 }) {
    this.#enters = options.enters;
    this.#codeLines = Math.max(1, options.codeLines);
    this.#typedLines = Math.max(1, options.typedLines ?? options.codeLines);
    const prompt = options.prompt?.trimEnd();
    this.#prompt = prompt === "" ? undefined : prompt;
  }

  onLine(line: string, echo: boolean): void {
    if (this.#prompt !== undefined && this.#echoes > 0 && this.#startsWithPrompt(line)) {
      this.#returns++;
    }
    if (echo) {
      this.#echoes++;
      this.#outputBeforeLastEcho = this.#output;
      this.#blanksAfterEcho = 0;
      this.#onlyBlanksSinceEcho = true;
      this.#last = undefined;
      this.#run = 0;
      this.#before = undefined;
      return;
    }
    if (this.#echoes > 0) this.#output++;
    const t = line.trimEnd();
    if (t === "") {
      if (this.#onlyBlanksSinceEcho) this.#blanksAfterEcho++;
      return; // a blank between redrawn prompts (ipython) breaks no run
    }
    this.#onlyBlanksSinceEcho = false;
    if (this.#last !== undefined && samePrompt(t, this.#last)) this.#run++;
    else {
      this.#before = this.#last;
      this.#last = t;
      this.#run = 1;
    }
  }

  #startsWithPrompt(line: string): boolean {
    return new RegExp(`^${promptPattern(this.#prompt ?? "").source}`).test(line);
  }

  onQuiet(): void {}

  isDone(partial: string, quietMs: number): boolean {
    const p = partial.trimEnd();
    if (p === "") return false;
    const quiet = quietMs >= SHORT_QUIET_MS;
    const atFirstPrompt = this.#prompt !== undefined && samePrompt(p, this.#prompt);
    // No Enters: the first prompt back once per typed line; for a pasted input, after its last
    // line's echo (an editor redrawing its input draws the prompt first: a read that ends there
    // saw no end); or after a quiet spell (an editor that shows no prompt for a continued line).
    if (this.#enters === 0) {
      // (Typed lines a cooked terminal echoes without prompts are not all recognised: perl.)
      const pasted = this.#typedLines > this.#codeLines;
      const echoed = !pasted || this.#echoes >= this.#typedLines;
      return atFirstPrompt && ((echoed && this.#returns + 1 >= this.#codeLines) || quiet);
    }
    // Every Enter redrawn: done. One short (the code read an Enter as input) after a quiet spell:
    // done too, rather than waiting for the timeout.
    const enough = (n: number) => n >= this.#enters + 1 || (n >= this.#enters && quiet);
    // A cooked-mode terminal glues the prompts into one line (`# # # # # # `).
    if (enough(repeatedTail(partial)?.count ?? 0)) return true;
    if (this.#last !== undefined && samePrompt(p, this.#last)) {
      // Output without a final newline glues the first prompt to its last line: it counts too.
      const glued = this.#before !== undefined && gluedPromptAt(this.#before, p) > 0 ? 1 : 0;
      if (enough(this.#run + 1 + glued)) return true;
    }
    // The redrawn prompts were erased (irb): the first prompt back and quiet.
    return atFirstPrompt && quiet;
  }

  finish(lines: string[], partial: string): string[] {
    const out = this.#withoutEnterEchoes(lines);
    const glued = repeatedTail(partial);
    if (glued && this.#enters > 0 && glued.count >= this.#enters) {
      if (glued.head !== "") out.push(glued.head);
      return out;
    }
    if (partial.trim() === "") return out;
    // Each redrawn prompt with the blank lines the program prints before it (ipython: one).
    const gap = blanksAtEnd(out);
    let stripped = 0;
    while (true) {
      const blanks = blanksAtEnd(out);
      const at = out.length - blanks - 1;
      if (blanks !== gap || at < 0 || !samePrompt(out[at] ?? "", partial)) break;
      out.length = at;
      stripped++;
    }
    if (stripped > 0 && blanksAtEnd(out) >= gap) out.length -= gap;
    const last = out[out.length - 1];
    const at = last === undefined ? -1 : gluedPromptAt(last, partial);
    if (last !== undefined && at > 0) out[out.length - 1] = last.slice(0, at);
    return out;
  }

  /** Drops what a cooked terminal echoed of the Enters, if it is among the held lines. */
  #withoutEnterEchoes(lines: string[]): string[] {
    const out = [...lines];
    // A terminal in cooked mode echoes every Enter before the program reads it: as many blank
    // lines right after the code's echo. A line editor echoes them behind the prompt, later;
    // fewer blank lines there are the program's own.
    if (this.#enters === 0 || this.#echoes === 0 || this.#blanksAfterEcho < this.#enters) {
      return out;
    }
    const at = this.#outputBeforeLastEcho - (this.#output - lines.length);
    if (at >= 0) out.splice(at, this.#enters);
    return out;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function blanksAtEnd(lines: string[]): number {
  let n = 0;
  while (n < lines.length && (lines[lines.length - 1 - n] ?? "").trim() === "") n++;
  return n;
}

/**
 * The same prompt printed several times on one line, as a terminal in cooked mode shows a program
 * reading typed-ahead Enters (`hi# # # `): how many times, and the text before them. A prompt
 * ends with a blank and has more than it (a row of dots is progress, not prompts).
 */
export function repeatedTail(
  partial: string,
): { count: number; head: string } | undefined {
  for (let size = 2; size * 2 <= partial.length; size++) {
    const unit = partial.slice(-size);
    if (unit.trim() === "" || !/\s$/.test(unit)) continue;
    let count = 1;
    while (partial.slice(-size * (count + 1), -size * count) === unit) count++;
    if (count >= 2) return { count, head: partial.slice(0, partial.length - size * count) };
  }
  return undefined;
}

/**
 * Exact mode: the given prompt as the unfinished last line means done. No extra Enters (gdb
 * repeats the last command on an empty one). With several code lines, the prompt must have come
 * back once per line: the main prompt, or the continuation prompt a line's echo stands behind
 * (`?> `, `... `, `-> `: whatever the program shows before a typed line is its prompt), or the
 * prompt and a moment's quiet (a line editor that redraws a block of lines in place). The prompt
 * is a string compared without trailing blanks, or a regular expression (`--prompt-re`).
 * @module
 */

import type { FrameDetector } from "./detector.ts";
import { stripTrailingPrompt } from "./detector.ts";
import { normalizeEcho } from "./echo.ts";

/** Quiet at the prompt that ends a cell before the prompt came back once per typed line. */
const EXACT_QUIET_MS = 500;

/** The prompt of an exact-mode session. */
export interface ExactPrompt {
  /** The prompt's text, or a regular expression's source. */
  prompt: string;
  /** Whether `prompt` is a regular expression. */
  pattern?: boolean;
}

/** Whether `line` (the unfinished last line) is the prompt. */
export function isExactPrompt(frame: ExactPrompt, line: string): boolean {
  if (!frame.pattern) return line.trimEnd() === frame.prompt.trimEnd();
  const re = new RegExp(frame.prompt);
  return re.test(line) || re.test(line.trimEnd());
}

/** Exact-mode detector. */
export class ExactDetector implements FrameDetector {
  #frame: ExactPrompt;
  #code: string[];
  #echoes = 0;
  #seen = 0;

  /**
   * @param prompt the prompt text, compared without trailing spaces, or a pattern
   * @param code the lines typed (or how many): the prompt returns once per line
   */
  constructor(prompt: string | ExactPrompt, code: number | string[]) {
    this.#frame = typeof prompt === "string" ? { prompt } : prompt;
    this.#code = typeof code === "number" ? Array(Math.max(1, code)).fill("") : code;
  }

  onLine(line: string, echo: boolean): void {
    if (echo) {
      // The echo of line 2, 3… behind some prompt: the program asked for that line.
      const want = normalizeEcho(this.#code[this.#echoes++] ?? "");
      const prefix = normalizeEcho(line).slice(0, -want.length || undefined);
      if (this.#echoes > 1 && prefix.trim() !== "") {
        this.#seen++;
        return;
      }
    }
    if (this.#startsWithPrompt(line)) this.#seen++;
  }

  #startsWithPrompt(line: string): boolean {
    if (!this.#frame.pattern) return line.startsWith(this.#frame.prompt.trimEnd());
    return isExactPrompt(this.#frame, line);
  }

  onQuiet(): void {}

  isDone(partial: string, quietMs: number): boolean {
    if (!isExactPrompt(this.#frame, partial)) return false;
    // Fewer prompts than lines, then quiet at the prompt: the program took several lines as one
    // input and redrew them in place (irb's line editor), or showed no prompt for a continuation.
    return this.#seen + 1 >= this.#code.length || quietMs >= EXACT_QUIET_MS;
  }

  finish(lines: string[], partial: string): string[] {
    return stripTrailingPrompt(lines, this.#frame.pattern ? partial : this.#frame.prompt);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

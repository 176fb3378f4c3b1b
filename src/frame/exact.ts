/**
 * Exact mode: a line equal to the given prompt means done. No extra Enters (gdb repeats the last
 * command on an empty one). With several code lines, the prompt must have come back once per line.
 * @module
 */

import { type FrameDetector, stripTrailingPrompt } from "./detector.ts";

/** Exact-mode detector. */
export class ExactDetector implements FrameDetector {
  #prompt: string;
  #expected: number;
  #seen = 0;

  /**
   * @param prompt the prompt text, compared without trailing spaces
   * @param codeLines how many lines were typed: the prompt returns once per line
   */
  constructor(prompt: string, codeLines: number) {
    this.#prompt = prompt.trimEnd();
    this.#expected = Math.max(1, codeLines);
  }

  onLine(line: string): void {
    if (line.startsWith(this.#prompt)) this.#seen++;
  }

  onQuiet(): void {}

  isDone(partial: string): boolean {
    return partial.trimEnd() === this.#prompt && this.#seen + 1 >= this.#expected;
  }

  finish(lines: string[]): string[] {
    return stripTrailingPrompt(lines, this.#prompt);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

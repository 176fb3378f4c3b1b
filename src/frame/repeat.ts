/**
 * Repeat mode: N empty Enters follow the code; N identical consecutive lines at the end of the
 * log (the unfinished last one included) are the prompt redrawn, so the program is done.
 * @module
 */

import { type FrameDetector, stripTrailingPrompt } from "./detector.ts";

/** How many empty Enters repeat mode types, and how many identical lines it waits for. */
export const REPEAT_ENTERS = 5;
const SHORT_QUIET_MS = 500;

/** Repeat-mode detector. */
export class RepeatDetector implements FrameDetector {
  #last: string | undefined;
  #run = 0;
  #before: string | undefined;

  onLine(line: string, echo: boolean): void {
    if (echo) {
      this.#last = undefined;
      this.#run = 0;
      this.#before = undefined;
      return;
    }
    const t = line.trimEnd();
    if (t === this.#last) this.#run++;
    else {
      this.#before = this.#last;
      this.#last = t;
      this.#run = 1;
    }
  }

  onQuiet(): void {}

  isDone(partial: string, quietMs: number): boolean {
    const p = partial.trimEnd();
    if (p === "" || p !== this.#last) return false;
    // Every Enter redrawn: done. One short (the code read an Enter as input) after a quiet spell:
    // done too, rather than waiting for the timeout.
    // Output without a final newline glues the first prompt to its last line: it counts too.
    const glued = this.#before !== undefined && this.#before.endsWith(p) ? 1 : 0;
    const lines = this.#run + 1 + glued;
    return lines >= REPEAT_ENTERS + 1 || (lines >= REPEAT_ENTERS && quietMs >= SHORT_QUIET_MS);
  }

  finish(lines: string[], partial: string): string[] {
    return stripTrailingPrompt(lines, partial);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

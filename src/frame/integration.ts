/**
 * Shell-integration mode: the program prints markers carrying the session's nonce (see
 * src/markers.ts). Output is exactly what lies between the start marker and the end
 * marker; the end marker carries the exit status. A marker without the nonce is ignored, so text
 * a program prints can never end a cell.
 * @module
 */

import { type Marker, parseMarker } from "../markers.ts";
import type { FrameDetector } from "./detector.ts";

/** Integration-mode detector. */
export class IntegrationDetector implements FrameDetector {
  #nonce: string;
  #started = false;
  #echoSeen = false;
  #end: Extract<Marker, { kind: "end" }> | undefined;
  #tail: string | undefined;

  /** @param nonce the session's nonce */
  constructor(nonce: string) {
    this.#nonce = nonce;
  }

  onLine(_line: string, echo: boolean): void {
    if (echo) this.#echoSeen = true;
  }

  /** Handles an OSC payload: "start" and "end" at this cell's markers. */
  onMarker(payload: string, partial: string): "start" | "end" | undefined {
    if (this.#end) return undefined;
    const marker = parseMarker(payload, this.#nonce);
    if (!marker) return undefined;
    if (marker.kind === "start") {
      if (this.#started) return undefined; // bash marks every command of a pasted block
      this.#started = true;
      return "start";
    }
    // An end marker counts once the cell's code was seen: its start marker, or (a syntax error
    // never starts) its echo. One left over from the previous prompt is neither.
    if (!this.#started && !this.#echoSeen) return undefined;
    this.#end = marker;
    this.#tail = partial;
    return "end";
  }

  onQuiet(): void {}

  isDone(): boolean {
    return this.#end !== undefined;
  }

  /** The exit status the end marker carried, or null before it. */
  get exitCode(): number | null {
    return this.#end?.exitCode ?? null;
  }

  /** The exception type a REPL reported, if any. */
  get error(): string | undefined {
    return this.#end?.error;
  }

  finish(lines: string[], partial: string): string[] {
    const out = [...lines];
    // Blanks are output like any character, with or without a newline after them.
    const tail = this.#end ? this.#tail ?? "" : partial;
    if (tail !== "") out.push(tail);
    return out;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Shell-integration mode: the program prints markers carrying the session's nonce (see
 * src/markers.ts). Output is exactly what lies between the start marker and the end
 * marker; the end marker carries the exit status. A marker without the nonce is ignored, so text
 * a program prints can never end a cell.
 * @module
 */

import { type Marker, parseMarker } from "../markers.ts";
import type { FrameDetector } from "./detector.ts";

/**
 * What a cell whose code was incomplete says, after what it printed: the shell's continuation
 * prompt was cancelled with Ctrl-C. Its exit status is {@link INCOMPLETE_EXIT}.
 */
export const INCOMPLETE_NOTE =
  "ktty: incomplete code: the shell asked for more (an unclosed quote, bracket, block or " +
  "here-document); cancelled with Ctrl-C, the incomplete command did not run";
/** The exit status of an incomplete cell: a shell's own for a syntax error (`bash -c 'echo "'`). */
export const INCOMPLETE_EXIT = 2;

/** Quiet after a prompt that keys typed ahead of it may yet be read at: they were dropped. */
const TYPED_AHEAD_QUIET_MS = 300;
/** Quiet after a prompt with no echo of the code since: its keys were lost (flushed by a ^C). */
const NOTHING_READ_QUIET_MS = 3000;

/** Integration-mode detector. */
export class IntegrationDetector implements FrameDetector {
  #nonce: string;
  /** Continuation prompts the typing brings; undefined: not checked. */
  #continuations: number | undefined;
  #more = 0;
  #incomplete = false;
  #started = false;
  #echoSeen = false;
  /**
   * Whether a line editor reads: bracketed paste is on, as readline and zle turn it while they
   * read a line (taken as on until a program says otherwise: sh has no editor, no such mode).
   */
  #editorReading = true;
  /** Whether an editor read at any point of the current line (zle turns paste off before its
   * line feed, readline after). */
  #readingThisLine = true;
  /** The code's echo came while no editor read: typed ahead (see {@link onLine}). */
  #typedAhead = false;
  /**
   * An end marker before the code was seen read: final once the pane is quiet that long (see
   * {@link onMarker}).
   */
  #pending:
    | { end: Extract<Marker, { kind: "end" }>; tail: string; quietMs: number }
    | undefined;
  #end: Extract<Marker, { kind: "end" }> | undefined;
  #tail: string | undefined;

  /**
   * @param nonce the session's nonce
   * @param continuations the continuation prompts the typing itself brings (unset: no check)
   */
  constructor(nonce: string, continuations?: number) {
    this.#nonce = nonce;
    this.#continuations = continuations;
  }

  onLine(_line: string, echo: boolean): void {
    const reading = this.#readingThisLine;
    this.#readingThisLine = this.#editorReading;
    if (!echo) return;
    // The code read by the editor. Its echo by a terminal in cooked mode, typed ahead while the
    // shell was between prompts (a Ctrl-C's new prompt coming: `k int` racing the cell), is no
    // sign of it: the end marker of that prompt would end the cell before its code runs.
    if (reading) {
      this.#echoSeen = true;
      this.#pending = undefined; // read after all: its own end comes
    } else this.#typedAhead = true;
  }

  onPasteMode(on: boolean): void {
    this.#editorReading = on;
    if (on) this.#readingThisLine = true;
  }

  /** Handles an OSC payload: "start" and "end" at this cell's markers. */
  onMarker(payload: string, partial: string): "start" | "end" | undefined {
    if (this.#end) return undefined;
    const marker = parseMarker(payload, this.#nonce);
    if (!marker) return undefined;
    if (marker.kind === "more") {
      // One continuation prompt more than the typing brings: the shell waits for code that never
      // comes. The output ends here; the frame, at the prompt the watcher's Ctrl-C brings.
      if (this.#incomplete || this.#continuations === undefined) return undefined;
      if (++this.#more <= this.#continuations) return undefined;
      this.#incomplete = true;
      this.#tail = partial;
      return "end";
    }
    if (marker.kind === "start") {
      if (this.#started) return undefined; // bash marks every command of a pasted block
      this.#started = true;
      this.#pending = undefined;
      return "start";
    }
    // An end marker counts once the cell's code was seen: its start marker, or (a syntax error
    // never starts) its echo. One left over from the previous prompt is neither: the code's echo
    // follows. After keys typed ahead of this prompt, the editor may yet read them here and run
    // them (their start marker comes), or a Ctrl-C dropped them: this end stands once the pane
    // is quiet. Keys a Ctrl-C flushed before any echo (`k int` racing the cell) leave nothing:
    // after a longer quiet, that end stands too, rather than the cell waiting for its limit.
    if (!this.#started && !this.#echoSeen && !this.#incomplete) {
      const quietMs = this.#typedAhead ? TYPED_AHEAD_QUIET_MS : NOTHING_READ_QUIET_MS;
      this.#pending = { end: marker, tail: partial, quietMs };
      return undefined;
    }
    this.#end = marker;
    if (this.#incomplete) return undefined; // the output ended at the continuation prompt
    this.#tail = partial;
    return "end";
  }

  onQuiet(): void {}

  isDone(_partial: string, quietMs: number): boolean {
    if (this.#pending && quietMs >= this.#pending.quietMs) {
      this.#end = this.#pending.end;
      this.#tail = this.#pending.tail;
      this.#pending = undefined;
    }
    return this.#end !== undefined;
  }

  /** The exit status the end marker carried, or null before it. */
  get exitCode(): number | null {
    if (this.#end && this.#incomplete) return INCOMPLETE_EXIT;
    return this.#end?.exitCode ?? null;
  }

  /** Whether the shell asked for more than the cell's code held. */
  get incomplete(): boolean {
    return this.#incomplete;
  }

  /** The exception type a REPL reported, if any. */
  get error(): string | undefined {
    return this.#end?.error;
  }

  /** The nested program (a debugger) now reading the cells, if the end marker names one. */
  get nested(): string | undefined {
    return this.#end?.nested;
  }

  finish(lines: string[], partial: string): string[] {
    // Incomplete code that never started printed nothing of its own: what came after its echo
    // is the line editor redrawing it and the continuation prompt.
    if (this.#incomplete && !this.#started) return [INCOMPLETE_NOTE];
    const out = [...lines];
    // Blanks are output like any character, with or without a newline after them.
    const tail = this.#end || this.#incomplete ? this.#tail ?? "" : partial;
    if (tail !== "") out.push(tail);
    if (this.#incomplete) out.push(INCOMPLETE_NOTE);
    return out;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * One interface for every way of telling when a cell's frame has ended (SPEC section 5). The
 * watcher feeds a detector every finished line and asks it, with the unfinished last line, whether
 * the program is back at its prompt; the detector also says which trailing lines are prompt
 * rather than output.
 * @module
 */

/** The frame modes a session can use. */
export type FrameMode = "integration" | "repeat" | "exact" | "hook";

/** A frame detector for one cell. */
export interface FrameDetector {
  /** Sees each finished line; `echo` is true for the echo of typed code. */
  onLine(line: string, echo: boolean): void;
  /** Called when the log has been quiet for a moment, with the unfinished last line. */
  onQuiet(partial: string): void;
  /**
   * True when the frame has ended, judged with the unfinished last line and how long the log has
   * been quiet.
   */
  isDone(partial: string, quietMs: number): boolean;
  /**
   * The last output lines with prompt lines removed: `lines` are the cell's last non-echo finished
   * lines (the rest was already committed); `partial` is the unfinished last line.
   */
  finish(lines: string[], partial: string): string[];
  /**
   * Sees each OSC payload in stream order (integration mode). "start": output begins here (drop
   * what came before); "end": output ended here (take nothing after).
   */
  onMarker?(payload: string, partial: string): "start" | "end" | undefined;
  /**
   * Sees the program turn bracketed paste on (its line editor starts reading a line) or off (it
   * stops: the line is read, or it was given up), in stream order.
   */
  onPasteMode?(on: boolean): void;
  /** The exit status, where the mode knows it. */
  readonly exitCode?: number | null;
  /** The exception type a REPL reported, where the mode knows it. */
  readonly error?: string;
  /** The nested program (a debugger) the end marker says now reads the cells. */
  readonly nested?: string;
  /**
   * True once the program asks for more of a command than the cell's code held (a shell's
   * continuation prompt): the watcher sends Ctrl-C, and the frame ends at the prompt it brings.
   */
  readonly incomplete?: boolean;
  /** Settles when something outside the log ends the frame (the hook exiting). */
  readonly ended?: Promise<unknown>;
  /** Releases what the detector holds (a hook process). */
  close(): Promise<void>;
}

/** Drops trailing lines equal to `prompt` and a prompt glued to the end of the last line. */
export function stripTrailingPrompt(lines: string[], prompt: string): string[] {
  const p = prompt.trimEnd();
  if (p === "") return lines;
  let end = lines.length;
  while (end > 0 && lines[end - 1]?.trimEnd() === p) end--;
  const out = lines.slice(0, end);
  const last = out[out.length - 1];
  if (last !== undefined && last.trimEnd().endsWith(p) && last.trimEnd() !== p) {
    out[out.length - 1] = last.trimEnd().slice(0, last.trimEnd().length - p.length);
  }
  return out;
}

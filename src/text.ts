/**
 * Turns the bytes a terminal program wrote into the text a person would read, one line at a time:
 * escape sequences vanish, carriage returns and backspaces overwrite as on a screen, `\r\n` is a
 * plain newline, invalid UTF-8 becomes U+FFFD. Streaming: bytes may arrive split anywhere.
 * @module
 */

const ESC = 0x1b;
const CAN = 0x18;
const SUB = 0x1a;

/** Bracketed paste mode on / off, as a program asks its terminal for it (readline does). */
export const PASTE_ON = "\x1b[?2004h";
/** See {@link PASTE_ON}. */
export const PASTE_OFF = "\x1b[?2004l";
/** Bracketed paste's private mode number, as {@link TerminalTextOptions.onMode} names it. */
export const PASTE_MODE = "2004";
const DEFAULT_COLUMNS = 10_000;
const MAX_OSC_CHARS = 4096;
const MAX_PARAMS_CHARS = 256;

/** Options of {@link TerminalText}. */
export interface TerminalTextOptions {
  /** Screen width: a carriage return goes to the start of the current *screen row*. */
  columns?: number;
  /** Called with the payload of each OSC sequence (`ESC ] payload BEL`), in stream order. */
  onOsc?: (payload: string) => void;
  /**
   * Called with each private mode a program sets or resets (`ESC [ ? 2004 h`: `"2004"`, true),
   * in stream order.
   */
  onMode?: (mode: string, on: boolean) => void;
}

type ParseState = "text" | "esc" | "intermediate" | "csi" | "string" | "string-esc";

/**
 * A one-line terminal: keeps the current line and cursor column, and hands every finished line
 * (at `\n`) to the caller. Cursor moves within a line (CR, BS, CSI C/D/G, erase K/X/P/@) are
 * applied; colours are dropped, and so are vertical moves, but for a move up from an empty line:
 * the line feeds that walk back down start no new lines.
 */
export class TerminalText {
  #decoder = new TextDecoder("utf-8", { fatal: false });
  #line = "";
  #col = 0;
  #state: ParseState = "text";
  #params = "";
  #osc: string | undefined;
  #pendingWrap = false;
  /**
   * Rows the cursor moved up from an empty line, to be walked back down by line feeds that start
   * no new line: the rows are on the screen already (Python 3.13's REPL moves up a row and feeds
   * a line before each prompt it draws).
   */
  #rowsUp = 0;
  #columns: number;
  #onLine: (line: string) => void;
  #onOsc: ((payload: string) => void) | undefined;
  #onMode: ((mode: string, on: boolean) => void) | undefined;

  /**
   * Makes a terminal line reader.
   * @param onLine called with each finished line, without its newline
   * @param options screen width and an OSC listener
   */
  constructor(onLine: (line: string) => void, options: TerminalTextOptions = {}) {
    this.#onLine = onLine;
    this.#columns = options.columns ?? DEFAULT_COLUMNS;
    this.#onOsc = options.onOsc;
    this.#onMode = options.onMode;
  }

  /** Forgets the unfinished line (what came before a marker is not output). */
  resetLine(): void {
    this.#line = "";
    this.#col = 0;
    this.#pendingWrap = false;
    this.#rowsUp = 0;
  }

  /** The current, unfinished line (a prompt usually sits here). */
  get partial(): string {
    return this.#line;
  }

  /** Feeds raw bytes from the terminal. */
  push(bytes: Uint8Array): void {
    this.pushText(this.#decoder.decode(bytes, { stream: true }));
  }

  /** Feeds already-decoded terminal text. */
  pushText(text: string): void {
    let i = 0;
    const n = text.length;
    while (i < n) {
      if (this.#state === "text") {
        // Fast path: a run of printable characters.
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) break;
          j++;
        }
        if (j > i) {
          this.#write(text.slice(i, j));
          i = j;
          continue;
        }
        this.#control(text.charCodeAt(i));
        i++;
        continue;
      }
      this.#escape(text.charCodeAt(i), text[i] ?? "");
      i++;
    }
  }

  /** Ends the stream: flushes the decoder; returns the last unfinished line. */
  finish(): string {
    this.pushText(this.#decoder.decode());
    return this.#line;
  }

  #write(s: string): void {
    this.#rowsUp = 0; // written over an earlier row: shown as a line of its own, as before
    if (this.#col === this.#line.length) {
      this.#line += s;
    } else if (this.#col > this.#line.length) {
      this.#line += " ".repeat(this.#col - this.#line.length) + s;
    } else {
      this.#line = this.#line.slice(0, this.#col) + s + this.#line.slice(this.#col + s.length);
    }
    this.#col += s.length;
    // Writing the last column leaves the cursor on that row until the next character wraps.
    this.#pendingWrap = this.#col % this.#columns === 0;
  }

  #control(c: number): void {
    switch (c) {
      case 0x0a: // LF ends the line
        if (this.#rowsUp > 0 && this.#line === "") {
          this.#rowsUp--; // back down to a row that was there: no new line
          this.#col = 0;
          this.#pendingWrap = false;
          return;
        }
        this.#onLine(this.#line);
        this.#line = "";
        this.#col = 0;
        this.#pendingWrap = false;
        return;
      case 0x0d: // CR: to the start of the current screen row of this (possibly wrapped) line
        this.#col = this.#pendingWrap
          ? this.#col - this.#columns
          : this.#col - (this.#col % this.#columns);
        this.#pendingWrap = false;
        return;
      case 0x08: // BS
        if (this.#col > 0) this.#col--;
        this.#pendingWrap = false;
        return;
      case 0x09: // TAB is kept as a character: exact output beats column maths
        this.#write("\t");
        return;
      case ESC:
        this.#state = "esc";
        return;
      default:
        return; // BEL, the other C0 controls, DEL and the C1 controls draw nothing
    }
  }

  #escape(c: number, ch: string): void {
    if (c === 0x0a) {
      // A newline ends any unfinished sequence and is a newline. A terminal (tmux too) would let
      // an OSC/DCS/PM/APC string swallow every line up to the next ESC or BEL, and a CSI take it
      // as a parameter, but the sequences programs mean to send (titles, links, markers, colours)
      // hold no raw newline: binary output opened this one, and what follows it is output.
      this.#cancel();
      this.#control(c);
      return;
    }
    if (c === ESC && this.#state !== "string") {
      // ESC starts a new sequence whatever was unfinished (as on a VT500 and in tmux): a lone ESC,
      // a CSI with no final byte, a string cut short never swallow the marker that follows.
      this.#cancel();
      this.#state = "esc";
      return;
    }
    if (c === CAN || c === SUB) {
      this.#cancel(); // they abort any sequence and draw nothing
      return;
    }
    switch (this.#state) {
      case "esc":
        if (c < 0x20) {
          this.#control(c); // a C0 control inside a sequence acts, and the sequence goes on
        } else if (ch === "[") {
          this.#state = "csi";
          this.#params = "";
        } else if (ch === "]") {
          this.#state = "string"; // OSC: collected up to BEL or ST for the listener
          this.#osc = "";
        } else if (ch === "P" || ch === "X" || ch === "^" || ch === "_") {
          this.#state = "string"; // DCS, SOS, PM, APC: skipped up to BEL or ST
          this.#osc = undefined;
        } else if (c >= 0x20 && c <= 0x2f) {
          this.#state = "intermediate"; // ESC ( B, ESC # 8, ESC SP F: up to a final byte
        } else {
          this.#state = "text";
        }
        return;
      case "intermediate":
        if (c < 0x20) this.#control(c);
        else if (c > 0x2f) this.#state = "text";
        return;
      case "csi":
        if (c >= 0x40 && c <= 0x7e) {
          this.#state = "text";
          this.#csi(ch, this.#params);
        } else if (c < 0x20) {
          this.#control(c);
        } else if (c < 0x7f && this.#params.length < MAX_PARAMS_CHARS) {
          this.#params += ch;
        }
        return;
      case "string":
        if (c === 0x07) this.#endString();
        else if (c === ESC) this.#state = "string-esc";
        else if (this.#osc !== undefined) {
          // Too long for any payload a listener waits for (a marker is ~40 characters): dropped.
          this.#osc = this.#osc.length < MAX_OSC_CHARS ? this.#osc + ch : undefined;
        }
        return;
      case "string-esc":
        if (ch === "\\") {
          this.#endString();
        } else {
          // ESC inside a string cancels it (as a VT500 parser does) and starts a new sequence:
          // an unterminated title must not swallow the marker that follows.
          this.#cancel();
          this.#state = "esc";
          this.#escape(c, ch);
        }
        return;
      default:
        this.#state = "text";
    }
  }

  /** Drops the unfinished sequence: back to text. */
  #cancel(): void {
    this.#osc = undefined;
    this.#state = "text";
  }

  #endString(): void {
    this.#state = "text";
    const payload = this.#osc;
    this.#osc = undefined;
    if (payload !== undefined) this.#onOsc?.(payload);
  }

  #csi(final: string, params: string): void {
    this.#pendingWrap = false;
    if (params.startsWith("?") && (final === "h" || final === "l")) {
      for (const mode of params.slice(1).split(";")) this.#onMode?.(mode, final === "h");
      return;
    }
    if (params.startsWith("?") || params.startsWith(">") || params.startsWith("=")) return;
    const n = Math.max(1, Number.parseInt(params, 10) || 0);
    switch (final) {
      case "A":
        if (this.#line === "") this.#rowsUp += n;
        return;
      case "C":
        this.#col += n;
        return;
      case "D":
        this.#col = Math.max(0, this.#col - n);
        return;
      case "G":
        this.#col = n - 1;
        return;
      case "K": {
        const mode = Number.parseInt(params, 10) || 0;
        if (mode === 0) this.#line = this.#line.slice(0, this.#col);
        else if (mode === 1) {
          this.#line = " ".repeat(Math.min(this.#col + 1, this.#line.length)) +
            this.#line.slice(this.#col + 1);
        } else this.#line = "";
        return;
      }
      case "P":
        this.#line = this.#line.slice(0, this.#col) + this.#line.slice(this.#col + n);
        return;
      case "@":
        if (this.#col < this.#line.length) {
          this.#line = this.#line.slice(0, this.#col) + " ".repeat(n) + this.#line.slice(this.#col);
        }
        return;
      case "X":
        if (this.#col < this.#line.length) {
          const end = Math.min(this.#line.length, this.#col + n);
          this.#line = this.#line.slice(0, this.#col) + " ".repeat(end - this.#col) +
            this.#line.slice(end);
        }
        return;
      default:
        return; // colours (m), modes (h/l), vertical moves: nothing on the line changes
    }
  }
}

/** Cleans a whole byte string at once: the finished lines plus the unfinished last one. */
export function cleanTerminalBytes(bytes: Uint8Array): { lines: string[]; partial: string } {
  const lines: string[] = [];
  const term = new TerminalText((line) => lines.push(line));
  term.push(bytes);
  const partial = term.finish();
  return { lines, partial };
}

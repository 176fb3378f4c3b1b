/**
 * Hostile cell output for the fuzz tests (tests/unit/text_test.ts, tests/hostile_output_test.ts):
 * lines of text strewn with every kind of broken or unfinished terminal sequence, each line built
 * together with what a person would read of it (README, "Output"):
 *
 * - escape sequences vanish: whole ones anywhere, broken ones (cut by ESC, CAN or SUB) anywhere,
 *   unfinished ones (a lone ESC, `ESC [` with no final byte, an OSC/DCS/APC/PM/SOS with no
 *   terminator, `ESC (`) at the end of a line or of the output — where nothing follows them but
 *   the newline, or the marker after the cell;
 * - look-alikes of ktty's own markers, with a wrong nonce or the session's own one (malformed,
 *   cut short, or a start marker, which means nothing inside a cell) vanish too;
 * - C0 and C1 controls draw nothing; invalid UTF-8 reads as U+FFFD (raw 0x9b and 0x9d too);
 * - carriage returns and backspaces overwrite as on a screen, `ESC [K` erases;
 * - blanks and tabs at the end of a line are kept, whether or not a newline follows.
 *
 * Seeded: a failure names its seed and recipe, and comes back with them.
 * @module
 */

/** A source of numbers in [0, 1). */
export type Random = () => number;

/** A seeded generator (mulberry32): the same seed gives the same hostile output. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One of `items`. */
export function pick<T>(rand: Random, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

/** What a program writes, and what a person reads of it. */
export interface HostileOutput {
  /** The bytes the program writes. */
  bytes: Uint8Array;
  /** What a person would read: the lines joined by `\n`, without a final newline. */
  reading: string;
  /** The pieces by name, for a failure message. */
  recipe: string[];
}

/** Options of {@link hostileOutput}. */
export interface HostileOptions {
  /** The session's nonce: the marker look-alikes carry it (and a wrong one). */
  nonce: string;
  /** Most lines (default 6). */
  maxLines?: number;
  /** How likely a line is a very long one (default 0.05): 20,000 characters. */
  longLineChance?: number;
  /** What ends a line: `\n` as a program writes it (a terminal makes it `\r\n`), or `\r\n`. */
  newline?: string;
}

const ESC = "\x1b";
const BEL = "\x07";
const ST = "\x1b\\";
const CAN = "\x18";
const SUB = "\x1a";
const WRONG_NONCE = "0123456789abcdef";

/** A piece of output: its bytes (a string of UTF-8 text, or raw bytes) and what it reads as. */
interface Piece {
  name: string;
  bytes: Uint8Array;
  reading: string;
}

const encoder = new TextEncoder();

function text(name: string, s: string, reading = s): Piece {
  return { name, bytes: encoder.encode(s), reading };
}

/** Raw bytes (latin1 in `s`: each char one byte), read as the UTF-8 decoder reads them. */
function raw(name: string, s: string): Piece {
  const bytes = Uint8Array.from(s, (c) => c.charCodeAt(0));
  // deno-lint-ignore no-control-regex
  return { name, bytes, reading: new TextDecoder().decode(bytes).replace(/[\x00-\x1f]/g, "") };
}

/** Sequences that end where they are (whole, or cut by ESC, CAN or SUB): they read as nothing. */
function invisible(nonce: string): Piece[] {
  const pieces: [string, string][] = [
    ["sgr", `${ESC}[1;31m`],
    ["sgr0", `${ESC}[0m`],
    ["truecolor", `${ESC}[38;2;10;20;30m`],
    ["paste-on", `${ESC}[?2004h`],
    ["cursor-off", `${ESC}[?25l`],
    ["modkeys", `${ESC}[>4;2m`],
    ["cursor-style", `${ESC}[2 q`],
    ["title-bel", `${ESC}]0;a title${BEL}`],
    ["title-st", `${ESC}]2;a title${ST}`],
    ["hyperlink", `${ESC}]8;;https://example.com/${ST}`],
    ["dcs", `${ESC}P1$r0m${ST}`],
    ["apc", `${ESC}_Ga=T,f=100;AAAA${ST}`],
    ["pm", `${ESC}^private${ST}`],
    ["sos", `${ESC}Xstring${BEL}`],
    ["empty-dcs", `${ESC}P${ST}`],
    ["charset", `${ESC}(B`],
    ["charset-g1", `${ESC})0`],
    ["utf8-mode", `${ESC}%G`],
    ["keypad", `${ESC}=`],
    ["keypad-off", `${ESC}>`],
    ["lone-st", ST],
    ["esc-space-f", `${ESC} F`],
    ["bel", BEL],
    ["c0", "\x00\x01\x02\x03\x04\x06\x10\x11\x12\x13\x14\x15\x16\x17\x19\x1c\x1d\x1e\x1f"],
    ["del", "\x7f"],
    ["c1-utf8", "\u0080\u0085\u008d\u0090\u009b\u009c\u009d\u009f"],
    // U+009B is a CSI only to a terminal reading 8-bit controls, not UTF-8: a control, then text.
    ["c1-csi-utf8", "\u009b31m"],
    // ktty's markers, looked-alike: none of them is this cell's end.
    ["marker-wrong-nonce", `${ESC}]133;D;0;k=${WRONG_NONCE}${BEL}`],
    ["start-wrong-nonce", `${ESC}]133;C;k=${WRONG_NONCE}${BEL}`],
    ["start-own-nonce", `${ESC}]133;C;k=${nonce}${BEL}`],
    ["prompt-mark", `${ESC}]133;A${BEL}`],
    ["marker-empty-status", `${ESC}]133;D;;k=${nonce}${BEL}`],
    ["marker-plus-status", `${ESC}]133;D;+1;k=${nonce}${BEL}`],
    ["marker-exp-status", `${ESC}]133;D;1e2;k=${nonce}${BEL}`],
    ["marker-hex-status", `${ESC}]133;D;0x1;k=${nonce}${BEL}`],
    ["marker-spaced-status", `${ESC}]133;D; 0;k=${nonce}${BEL}`],
    ["marker-nonce-suffix", `${ESC}]133;D;0;k=${nonce}0${BEL}`],
    ["marker-nonce-cut", `${ESC}]133;D;0;k=${nonce.slice(0, -1)}${BEL}`],
    ["marker-trailing-field", `${ESC}]133;D;0;k=${nonce};${BEL}`],
    ["marker-lower-kind", `${ESC}]133;d;0;k=${nonce}${BEL}`],
    ["marker-upper-field", `${ESC}]133;D;0;K=${nonce}${BEL}`],
    ["marker-other-number", `${ESC}]1330;D;0;k=${nonce}${BEL}`],
    ["marker-no-status", `${ESC}]133;D;k=${nonce}${BEL}`],
    // Cut short: by ESC (which starts what follows), CAN or SUB (which end it).
    ["marker-cut-by-esc", `${ESC}]133;D;0;k=${nonce}${ESC}[m`],
    ["marker-cut-by-can", `${ESC}]133;D;0;k=${nonce}${CAN}`],
    ["marker-cut-by-sub", `${ESC}]133;D;0;k=${nonce}${SUB}`],
    ["title-cut-by-esc", `${ESC}]0;t${ESC}${ESC}[m`],
    ["osc-cut-by-can", `${ESC}]0;title${CAN}`],
    ["csi-cut-by-sub", `${ESC}[12${SUB}`],
    ["dcs-cut-by-can", `${ESC}Pq#0;2;0;0;0${CAN}`],
    ["esc-esc", `${ESC}${ESC}[m`],
    ["csi-esc", `${ESC}[1${ESC}[m`],
    ["charset-esc", `${ESC}(${ESC}[m`],
    ["intermediate-esc", `${ESC}#${ESC}[m`],
    ["osc-osc", `${ESC}]${ESC}]0;t${BEL}`],
  ];
  return pieces.map(([name, s]) =>
    name === "c1-csi-utf8" ? text(name, s, "31m") : text(name, s, "")
  );
}

/** Sequences left unfinished: they read as nothing and take nothing after them but themselves,
 * so they go only at the end of a line or of the output. */
function unfinished(nonce: string): Piece[] {
  const pieces: [string, string][] = [
    ["lone-esc", ESC],
    ["esc-esc", `${ESC}${ESC}`],
    ["csi", `${ESC}[`],
    ["csi-params", `${ESC}[12;3`],
    ["csi-private", `${ESC}[?`],
    ["csi-intermediate", `${ESC}[1 `],
    ["csi-esc", `${ESC}[1${ESC}`],
    ["osc", `${ESC}]`],
    ["osc-title", `${ESC}]0;ti`],
    ["osc-esc", `${ESC}]0;t${ESC}`],
    ["marker-own-nonce", `${ESC}]133;D;0;k=${nonce}`],
    ["marker-own-nonce-esc", `${ESC}]133;D;0;k=${nonce}${ESC}`],
    ["start-own-nonce", `${ESC}]133;C;k=${nonce}`],
    ["marker-wrong-nonce", `${ESC}]133;D;0;k=${WRONG_NONCE}`],
    ["dcs", `${ESC}P`],
    ["dcs-sixel", `${ESC}Pq#0;2;0;0;0`],
    ["apc", `${ESC}_Gf=100;`],
    ["pm", `${ESC}^`],
    ["sos", `${ESC}X`],
    ["charset", `${ESC}(`],
    ["intermediate", `${ESC}#`],
    ["intermediate-pct", `${ESC}%`],
    ["intermediate-space", `${ESC} `],
  ];
  return pieces.map(([name, s]) => text(`unfinished-${name}`, s, ""));
}

/** Invalid UTF-8: each reads as U+FFFD where the decoder says (none ends inside a character). */
const INVALID_UTF8: Piece[] = [
  raw("byte-ff", "\xff"),
  raw("byte-fe", "\xfe"),
  raw("overlong", "\xc0\xaf"),
  raw("truncated-3", "\xe2\x82z"),
  raw("truncated-4", "\xf0\x9f\x99z"),
  raw("surrogate", "\xed\xa0\x80"),
  raw("five-byte", "\xf8\x88\x80\x80\x80"),
  raw("raw-c1-csi", "\x9b31m"),
  raw("raw-c1-osc", `\x9d0;title${BEL}`),
  raw("raw-c1-st", "\x9c"),
];

const WORDS = [
  "hello",
  "x",
  "é",
  "中文",
  "🙂",
  "a;b",
  "[1]",
  "]133;D;0;k=0123456789abcdef",
  "back\\slash",
  "%s",
  "$HOME",
  "'q'",
  '"dq"',
  "k=",
  "0",
];
const ASCII_WORDS = ["hello", "x", "a;b", "[1]", "%s", "k=", "0", "abcdef", "progress"];
const BLANKS = [" ", "  ", "\t", " \t ", "   "];

/** A line of a terminal, for the lines that overwrite themselves (ASCII only: one column each). */
class LineModel {
  #cells: string[] = [];
  #col = 0;
  write(s: string): void {
    for (const ch of s) {
      while (this.#cells.length < this.#col) this.#cells.push(" ");
      this.#cells[this.#col++] = ch;
    }
  }
  cr(): void {
    this.#col = 0;
  }
  back(n: number): void {
    this.#col = Math.max(0, this.#col - n);
  }
  eraseToEnd(): void {
    this.#cells.length = Math.min(this.#cells.length, this.#col);
  }
  get reading(): string {
    return this.#cells.join("");
  }
}

interface Line {
  bytes: Uint8Array[];
  reading: string;
  recipe: string[];
  /** For a line that overwrites itself: what writing more text there reads as. */
  model?: LineModel;
}

function wordsLine(rand: Random, nonce: string): Line {
  const line: Line = { bytes: [], reading: "", recipe: [] };
  const add = (p: Piece) => {
    line.bytes.push(p.bytes);
    line.reading += p.reading;
    line.recipe.push(p.name);
  };
  const pieces = 1 + Math.floor(rand() * 6);
  for (let i = 0; i < pieces; i++) {
    const r = rand();
    if (r < 0.35) add(text("word", pick(rand, WORDS)));
    else if (r < 0.45) add(text("blank", pick(rand, BLANKS)));
    else if (r < 0.85) add(pick(rand, invisible(nonce)));
    else add(pick(rand, INVALID_UTF8));
  }
  return line;
}

/** A line that overwrites itself: carriage returns, backspaces, cursor moves, erases. */
function overwritingLine(rand: Random, nonce: string): Line {
  const model = new LineModel();
  const bytes: string[] = [];
  const recipe: string[] = [];
  const steps = 2 + Math.floor(rand() * 5);
  for (let i = 0; i < steps; i++) {
    const r = rand();
    if (r < 0.4) {
      const w = pick(rand, ASCII_WORDS) + (rand() < 0.3 ? pick(rand, [" ", "  "]) : "");
      model.write(w);
      bytes.push(w);
      recipe.push("word");
    } else if (r < 0.55) {
      model.cr();
      bytes.push("\r");
      recipe.push("cr");
    } else if (r < 0.7) {
      const n = 1 + Math.floor(rand() * 3);
      model.back(n);
      bytes.push("\b".repeat(n));
      recipe.push(`bs×${n}`);
    } else if (r < 0.8) {
      const n = 1 + Math.floor(rand() * 3);
      model.back(n);
      bytes.push(`${ESC}[${n}D`);
      recipe.push(`cursor-back-${n}`);
    } else if (r < 0.88) {
      model.eraseToEnd();
      bytes.push(`${ESC}[K`);
      recipe.push("erase-to-end");
    } else {
      const p = pick(rand, invisible(nonce).filter((p) => p.reading === ""));
      bytes.push(new TextDecoder().decode(p.bytes));
      recipe.push(p.name);
    }
  }
  return { bytes: [encoder.encode(bytes.join(""))], reading: model.reading, recipe, model };
}

function longLine(rand: Random): Line {
  const unit = pick(rand, ["0123456789", "abcdefghij", "é中文🙂 "]);
  const s = unit.repeat(Math.ceil(20_000 / unit.length)).slice(0, 20_000);
  return { bytes: [encoder.encode(s)], reading: s, recipe: ["long-line"] };
}

/**
 * A hostile output: up to `maxLines` lines, each of text and sequences whole, broken or (at its
 * end) unfinished, with trailing blanks now and then; the last line may have no newline.
 */
export function hostileOutput(rand: Random, options: HostileOptions): HostileOutput {
  const { nonce, maxLines = 6, longLineChance = 0.05, newline = "\n" } = options;
  const count = 1 + Math.floor(rand() * maxLines);
  const lines: Line[] = [];
  for (let i = 0; i < count; i++) {
    const r = rand();
    const line = r < longLineChance
      ? longLine(rand)
      : r < 0.3
      ? overwritingLine(rand, nonce)
      : wordsLine(rand, nonce);
    if (rand() < 0.3) {
      // Written where the cursor is: after a carriage return, over what the line holds.
      const b = pick(rand, BLANKS);
      line.bytes.push(encoder.encode(b));
      line.model?.write(b);
      line.reading = line.model?.reading ?? line.reading + b;
      line.recipe.push("trailing-blanks");
    }
    if (rand() < 0.4) {
      const p = pick(rand, unfinished(nonce));
      line.bytes.push(p.bytes);
      line.recipe.push(p.name);
    }
    lines.push(line);
  }
  const finalNewline = rand() < 0.5;
  const chunks: Uint8Array[] = [];
  const recipe: string[] = [];
  lines.forEach((line, i) => {
    chunks.push(...line.bytes);
    recipe.push(`[${line.recipe.join(" ")}]`);
    if (i < lines.length - 1 || finalNewline) chunks.push(encoder.encode(newline));
  });
  if (finalNewline) recipe.push("\\n");
  // An unfinished last line that reads as nothing is no line: `x\n` reads as `x`.
  const readings = lines.map((l) => l.reading);
  if (!finalNewline && readings[readings.length - 1] === "") readings.pop();
  return { bytes: concat(chunks), reading: readings.join("\n"), recipe };
}

/** Random bytes weighted towards what breaks terminal parsers: ESC, sequence openers, BEL, ST,
 * CAN, SUB, C1 bytes, UTF-8 lead bytes, newlines, digits and semicolons. */
export function randomBytes(rand: Random, length: number): Uint8Array {
  const hot = [0x1b, 0x1b, 0x1b, 0x5b, 0x5d, 0x50, 0x5f, 0x5e, 0x58, 0x28, 0x23, 0x07, 0x5c];
  const warm = [0x18, 0x1a, 0x9b, 0x9d, 0x9c, 0xc2, 0xe2, 0xf0, 0x80, 0x0d, 0x0a, 0x08, 0x09];
  const text = [0x3b, 0x30, 0x31, 0x33, 0x44, 0x43, 0x6b, 0x3d, 0x20, 0x61, 0x3f, 0x6d];
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const r = rand();
    out[i] = r < 0.3
      ? pick(rand, hot)
      : r < 0.5
      ? pick(rand, warm)
      : r < 0.9
      ? pick(rand, text)
      : Math.floor(rand() * 256);
  }
  return out;
}

/** The chunks, one after another. */
export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Recognises the terminal's echo of the typed code among a cell's lines. Lines arrive in order and
 * the echo of code line k comes before any output of line k, so one pass matches them in order:
 * an echo is a line ending with the next code line, behind a short prompt (none for the first
 * line: its prompt was printed before the cell began). A blank code line echoes as a bare prompt.
 * @module
 */

const MAX_PROMPT_CHARS = 256;

/** Tells, line by line, whether a line is the echo of the next code line. */
export class EchoFilter {
  #code: string[];
  #next = 0;
  #prompts = new Set<string>();

  /** @param code the lines that were typed */
  constructor(code: string[]) {
    this.#code = code.map((line) => normalizeEcho(line));
  }

  /** How many code lines have been seen echoed. */
  get matched(): number {
    return this.#next;
  }

  /** True (and consumed) when `line` is the echo of the next code line. */
  isEcho(line: string): boolean {
    const want = this.#code[this.#next];
    if (want === undefined) return false;
    const got = normalizeEcho(line);
    if (want.trim() === "") {
      const bare = got.trim();
      if ((this.#next === 0 && bare === "") || (bare !== "" && this.#prompts.has(bare))) {
        this.#next++;
        return true;
      }
      return false;
    }
    if (!got.endsWith(want)) return false;
    const prefix = got.slice(0, got.length - want.length);
    if (prefix.length > MAX_PROMPT_CHARS) return false;
    if (this.#next > 0 && prefix.trim() === "") return false;
    if (prefix.trim() !== "") this.#prompts.add(prefix.trim());
    this.#next++;
    return true;
  }
}

/** Whitespace runs as one space, none at the end: a terminal shows a typed tab as spaces. */
export function normalizeEcho(line: string): string {
  return line.replace(/[ \t]+/g, " ").trimEnd();
}

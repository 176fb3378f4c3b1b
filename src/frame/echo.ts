/**
 * Recognises the terminal's echo of the typed code among a cell's lines. Lines arrive in order and
 * the echo of code line k comes before any output of line k, so one pass matches them in order:
 * an echo is a line ending with the next code line, behind a short prompt (none for the first
 * line: its prompt was printed before the cell began; none for any line of a bracketed paste,
 * which the editor shows as one input). A blank code line echoes as a bare prompt.
 * @module
 */

const MAX_PROMPT_CHARS = 256;

/** Tells, line by line, whether a line is the echo of the next code line. */
export class EchoFilter {
  #code: string[];
  #next = 0;
  #prompts = new Set<string>();
  #pasted: boolean;

  /**
   * @param code the lines that were typed
   * @param pasted whether they were one bracketed paste
   */
  constructor(code: string[], pasted = false) {
    this.#code = code.map((line) => normalizeEcho(line));
    this.#pasted = pasted;
  }

  /** How many code lines have been seen echoed. */
  get matched(): number {
    return this.#next;
  }

  /** True (and consumed) when `line` is the echo of the next code line. */
  isEcho(line: string): boolean {
    const got = normalizeEcho(line);
    if (this.#pasted && this.#next > 0 && this.#redrawn(got)) {
      this.#next = 1;
      return true;
    }
    const want = this.#code[this.#next];
    if (want === undefined) return false;
    if (want.trim() === "") {
      const bare = got.trim();
      const unprompted = this.#next === 0 || this.#pasted;
      if ((unprompted && bare === "") || (bare !== "" && this.#prompts.has(bare))) {
        this.#next++;
        return true;
      }
      return false;
    }
    if (!got.endsWith(want)) return false;
    const prefix = got.slice(0, got.length - want.length);
    if (prefix.length > MAX_PROMPT_CHARS) return false;
    if (this.#next > 0 && prefix.trim() === "" && !this.#pasted) return false;
    if (prefix.trim() !== "") this.#prompts.add(prefix.trim());
    this.#next++;
    return true;
  }

  /**
   * Whether `got` is a pasted input's first line drawn again behind a prompt already seen: an
   * editor that redraws the whole input (deno's, on Enter, after moving the cursor up, which a
   * line-by-line reading cannot follow) shows its lines once more, each an echo again.
   */
  #redrawn(got: string): boolean {
    const first = this.#code[0];
    if (first === undefined || first.trim() === "" || !got.endsWith(first)) return false;
    const prefix = got.slice(0, got.length - first.length).trim();
    return prefix !== "" && this.#prompts.has(prefix);
  }
}

/** Whitespace runs as one space, none at the end: a terminal shows a typed tab as spaces. */
export function normalizeEcho(line: string): string {
  return line.replace(/[ \t]+/g, " ").trimEnd();
}

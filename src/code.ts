/**
 * Shapes a cell's code into the lines to type, per program. Shells take code as written. The
 * plain Python REPL ends a block at a blank line and refuses a statement right after a block, so
 * for Python blank lines inside code are dropped and one is added where a block ends.
 * @module
 */

/** The program families the kernel knows. Shells and REPLs get shell integration. */
export type ProgramKind = "bash" | "zsh" | "sh" | "python" | "node" | "gdb" | "other";

/** Guesses the program family from the session's command line (`env X=1 python3 -i` → python). */
export function programKind(command: string): ProgramKind {
  const words = command.trim().split(/\s+/);
  let i = 0;
  if (basename(words[0] ?? "") === "env") {
    i = 1;
    while (
      i < words.length &&
      (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i] ?? "") || words[i]?.startsWith("-"))
    ) i++;
  }
  const program = basename(words[i] ?? "");
  if (program === "gdb") return "gdb";
  // A script argument means the program runs that script, not its interactive prompt.
  const script = words.slice(i + 1).some((w) => w !== "" && !w.startsWith("-"));
  if (script) return "other";
  if (program === "bash") return "bash";
  if (program === "zsh") return "zsh";
  if (/^(sh|dash|ash)$/.test(program)) return "sh";
  if (/^python[0-9.]*$/.test(program)) return "python";
  if (/^(node|nodejs)$/.test(program)) return "node";
  return "other";
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Splits code into lines (`\r\n` → `\n`) without the trailing newlines. */
export function codeLines(code: string): string[] {
  return code.replace(/\r\n?/g, "\n").replace(/\n+$/, "").split("\n");
}

const PY_CONTINUES_BLOCK = /^(else|elif|except|finally)\b|^[)\]}]/;

/**
 * The lines to type for `code` in a program of `kind`. For Python: blank lines outside strings
 * are dropped, a blank line is typed where an indented block returns to column 0 (unless the
 * next line continues it: `else`, `except`, a closing bracket) and after a final block.
 * Limitation: a line that opens or closes a triple-quoted string is tracked by counting quotes.
 */
export function shapeCode(kind: ProgramKind, code: string): string[] {
  const lines = codeLines(code);
  if (kind !== "python") return lines;
  const out: string[] = [];
  let inString = false;
  let prevIndented = false;
  for (const line of lines) {
    const quotes = (line.match(/"""|'''/g) ?? []).length;
    if (inString) {
      out.push(line);
      if (quotes % 2 === 1) inString = false;
      continue;
    }
    if (line.trim() === "") continue;
    const indented = /^\s/.test(line);
    if (!indented && prevIndented && !PY_CONTINUES_BLOCK.test(line)) out.push("");
    out.push(line);
    prevIndented = indented;
    if (quotes % 2 === 1) inString = true;
  }
  if (prevIndented && !inString) out.push("");
  return out;
}

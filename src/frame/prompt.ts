/**
 * Prompts that differ only by a counter (`In [3]:`, `irb(main):013:0>`, `  DB<2>`) are the same
 * prompt: a prompt's pattern matches it with any digits where it has digits.
 * @module
 */

/** A pattern matching `prompt` (trailing blanks aside) with any number where it has digits. */
export function promptPattern(prompt: string): RegExp {
  const parts = prompt.trimEnd().split(/\d+/).map((part) =>
    part.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")
  );
  return new RegExp(parts.join("\\d+"));
}

/** Whether `line` (trailing blanks aside) is `prompt`, its digits aside. */
export function samePrompt(line: string, prompt: string): boolean {
  const p = prompt.trimEnd();
  const l = line.trimEnd();
  if (p === "" || l === "") return false;
  if (l === p) return true;
  // Numbers alone are output (`seq 5`), never a prompt with a counter.
  if (!/[^\d\s]/.test(p)) return false;
  return new RegExp(`^${promptPattern(p).source}$`).test(l);
}

/**
 * Where a prompt glued to the end of `line` begins (output without a final newline), or -1.
 * The literal prompt first; then with any counter, not starting inside a number.
 */
export function gluedPromptAt(line: string, prompt: string): number {
  const p = prompt.trimEnd();
  const l = line.trimEnd();
  if (p === "" || l === p || l.length <= p.length && !/\d/.test(p)) return -1;
  if (l.endsWith(p)) return l.length - p.length;
  if (!/[^\d\s]/.test(p)) return -1;
  const m = new RegExp(`(?<!\\d)${promptPattern(p).source}$`).exec(l);
  return m && m.index > 0 ? m.index : -1;
}

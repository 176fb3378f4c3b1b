// src/frame/: the repeat and exact detectors, and stripping a trailing prompt.
import { deepEqual as assertEquals } from "node:assert/strict";
import { RepeatDetector } from "../../src/frame/repeat.ts";
import { ExactDetector } from "../../src/frame/exact.ts";
import { type FrameDetector, stripTrailingPrompt } from "../../src/frame/detector.ts";

Deno.test("repeat detector: five identical lines, unfinished one included", () => {
  const d: FrameDetector = new RepeatDetector();
  d.onLine("echo hi", true);
  d.onLine("hi", false);
  for (let i = 0; i < 4; i++) d.onLine("$ ", false);
  assertEquals(d.isDone("$ ", 0), false); // 5 of 6: wait for the last Enter…
  assertEquals(d.isDone("$ ", 1000), true); // …unless the log has gone quiet
  d.onLine("$ ", false);
  assertEquals(d.isDone("$ ", 0), true);
  assertEquals(d.finish(["hi", "$ ", "$ ", "$ ", "$ ", "$ "], "$ "), ["hi"]);
});

Deno.test("exact detector: the prompt must return once per typed line", () => {
  const d: FrameDetector = new ExactDetector("(gdb)", 2);
  d.onLine("next", true);
  d.onLine("3\tfoo();", false);
  assertEquals(d.isDone("(gdb) ", 0), false);
  d.onLine("(gdb) next", true);
  assertEquals(d.isDone("(gdb) ", 0), true);
});

Deno.test("strip prompt: trailing prompt lines and a prompt glued to output", () => {
  assertEquals(stripTrailingPrompt(["a", "hi$ ", "$ ", "$ "], "$ "), ["a", "hi"]);
});

Deno.test("repeat detector: a counter in the prompt and blank lines between (ipython)", () => {
  const d = new RepeatDetector({ enters: 5, codeLines: 1 });
  d.onLine("In [1]: 6*7", true);
  const lines = ["Out[1]: 42", ""];
  for (let i = 0; i < 5; i++) lines.push("In [2]: ", "");
  for (const line of lines) d.onLine(line, false);
  assertEquals(d.isDone("In [2]: ", 0), true);
  assertEquals(d.finish(lines, "In [2]: "), ["Out[1]: 42"]);
  // irb counts every line: irb(main):002:0> … irb(main):007:0> are one prompt.
  const r = new RepeatDetector({ enters: 5, codeLines: 1 });
  r.onLine("x = 1", true);
  for (let i = 2; i < 7; i++) r.onLine(`irb(main):00${i}:0> `, false);
  assertEquals(r.isDone("irb(main):007:0> ", 0), true);
});

Deno.test("repeat detector: numbers alone are output, never a prompt with a counter", () => {
  const d = new RepeatDetector({ enters: 5, codeLines: 1 });
  d.onLine("seq 9", true);
  for (let i = 1; i < 9; i++) d.onLine(String(i), false);
  assertEquals(d.isDone("9", 1000), false);
});

Deno.test("repeat detector: a cooked terminal's echo of the Enters is no output", () => {
  const prompts = ["$ ", "$ ", "$ ", "$ ", "$ "];
  // Cooked: five blank lines right after the code's echo, then the output.
  const d = new RepeatDetector({ enters: 5, codeLines: 1 });
  const cooked = ["", "", "", "", "", "", "x", ...prompts];
  d.onLine("echo; echo x", true);
  for (const line of cooked) d.onLine(line, false);
  assertEquals(d.finish(cooked, "$ "), ["", "x"]);
  // A line editor: fewer blank lines there are the program's own.
  const e = new RepeatDetector({ enters: 5, codeLines: 1 });
  const edited = ["", "x", ...prompts];
  e.onLine("echo; echo x", true);
  for (const line of edited) e.onLine(line, false);
  assertEquals(e.finish(edited, "$ "), ["", "x"]);
});

Deno.test("repeat detector: prompts glued on one line (dash in cooked mode)", () => {
  const d = new RepeatDetector({ enters: 5, codeLines: 1 });
  d.onLine("echo hi", true);
  d.onLine("hi", false);
  assertEquals(d.isDone("# # # ", 0), false);
  assertEquals(d.isDone("# # # # # # ", 0), true);
  assertEquals(d.finish(["hi"], "# # # # # # "), ["hi"]);
  assertEquals(d.isDone("......", 1000), false); // progress dots are no prompts
});

Deno.test("repeat detector without Enters: the first prompt back once per line", () => {
  const d = new RepeatDetector({ enters: 0, codeLines: 2, prompt: "  DB<1> " });
  d.onLine("$x = 1", true);
  assertEquals(d.isDone("  DB<2> ", 0), false); // the second line is still to come
  d.onLine("  DB<2> print $x", true);
  d.onLine("1", false);
  assertEquals(d.isDone("  DB<3> ", 0), true);
  assertEquals(d.finish(["1"], "  DB<3> "), ["1"]);
  const q = new RepeatDetector({ enters: 0, codeLines: 1, prompt: "(Pdb) " });
  q.onLine("p 1", true);
  assertEquals(q.isDone("Name: ", 5000), false);
});

Deno.test("repeat detector without Enters: a pasted input's prompt counts after all its echo", () => {
  // deno's editor draws `> ` first whenever it redraws the input: a read ending there is no end.
  const d = new RepeatDetector({ enters: 0, codeLines: 1, typedLines: 2, prompt: "> " });
  assertEquals(d.isDone("> ", 0), false); // nothing echoed yet
  d.onLine("> let t = `a", true);
  assertEquals(d.isDone("> ", 0), false); // its last line is still being drawn
  d.onLine("t.length", true);
  d.onLine("3", false);
  assertEquals(d.isDone("> ", 0), true);
  // Its echo never recognised: the prompt and a quiet spell.
  const e = new RepeatDetector({ enters: 0, codeLines: 1, typedLines: 2, prompt: "> " });
  assertEquals([e.isDone("> ", 0), e.isDone("> ", 600)], [false, true]);
  // Typed lines (perl's debugger: a cooked terminal echoes the later ones without a prompt):
  // the prompts count without the echo.
  const p = new RepeatDetector({ enters: 0, codeLines: 2, prompt: "  DB<1> " });
  p.onLine("p 1", true);
  p.onLine("p 2", false);
  p.onLine("1", false);
  p.onLine("  DB<2> 2", false);
  assertEquals(p.isDone("  DB<3> ", 0), true);
});

Deno.test("exact detector: a continuation prompt before a typed line counts; a pattern", () => {
  const d = new ExactDetector(">>", ["def f", "  1", "end"]);
  d.onLine("def f", true);
  d.onLine("?>   1", true);
  assertEquals(d.isDone(">> ", 0), false);
  d.onLine("?> end", true);
  assertEquals(d.isDone(">> ", 0), true);
  const re = new ExactDetector({ prompt: "^In \\[\\d+\\]: $", pattern: true }, ["1"]);
  re.onLine("1", true);
  assertEquals([re.isDone("In [7]: ", 0), re.isDone("Out[7]: ", 0)], [true, false]);
});

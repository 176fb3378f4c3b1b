// src/frame/echo.ts: recognising the echo of typed code.
import { deepEqual as assertEquals } from "node:assert/strict";
import { EchoFilter } from "../../src/frame/echo.ts";

Deno.test("echo: matches typed lines behind prompts, in order", () => {
  const f = new EchoFilter(["for i in 1 2; do", " echo $i", "done"]);
  assertEquals(f.isEcho("for i in 1 2; do"), true);
  assertEquals(f.isEcho(">  echo $i"), true);
  assertEquals(f.isEcho("> done"), true);
  assertEquals(f.isEcho("1"), false);
});

Deno.test("echo: output that ends like the next line is not echo without a prompt", () => {
  const f = new EchoFilter(["echo echo x", "echo x"]);
  assertEquals(f.isEcho("echo echo x"), true);
  assertEquals(f.isEcho("echo x"), false); // the output of line 1
  assertEquals(f.isEcho("$ echo x"), true);
});

Deno.test("echo: blank code lines match a bare known prompt only", () => {
  const g = new EchoFilter(["for i in range(2):", "    print(i)", ""]);
  assertEquals(g.isEcho("for i in range(2):"), true);
  assertEquals(g.isEcho("...     print(i)"), true);
  assertEquals(g.isEcho(""), false);
  assertEquals(g.isEcho("... "), true);
});

Deno.test("echo: a pasted input's lines echo without prompts, blank ones as blank lines", () => {
  const f = new EchoFilter(["const o = {", "", "};", "o"], true);
  assertEquals(f.isEcho("> const o = {"), true);
  assertEquals(f.isEcho(""), true);
  assertEquals(f.isEcho("};"), true);
  assertEquals(f.isEcho("o"), true);
  assertEquals(f.isEcho("{}"), false);
  // Not pasted: a line after the first needs its prompt.
  const typed = new EchoFilter(["x = 1", "x"]);
  assertEquals(typed.isEcho("x = 1"), true);
  assertEquals(typed.isEcho("x"), false);
});

Deno.test("echo: a pasted input redrawn behind its prompt is echo again, line by line", () => {
  const f = new EchoFilter(["let q = 1", "q = q + 10", 'console.log("Q", q)'], true);
  assertEquals(f.isEcho("> let q = 1"), true);
  assertEquals(f.isEcho("q = q + 10"), true);
  // Its editor erased the unfinished last line, moved up and drew the input again.
  assertEquals(f.isEcho("> let q = 1"), true);
  assertEquals(f.isEcho("q = q + 10"), true);
  assertEquals(f.isEcho('console.log("Q", q)'), true);
  assertEquals(f.isEcho("Q 11"), false);
  // Output that ends like the first line behind no known prompt is output.
  assertEquals(f.isEcho("let q = 1"), false);
  // Typed (not pasted), the same line again is output.
  const typed = new EchoFilter(["let q = 1", "q"]);
  assertEquals(typed.isEcho("> let q = 1"), true);
  assertEquals(typed.isEcho("> let q = 1"), false);
});

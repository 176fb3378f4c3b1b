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

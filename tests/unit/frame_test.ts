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

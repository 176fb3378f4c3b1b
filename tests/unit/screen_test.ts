// src/session/screen.ts: how one screen row is made cheap to read.

import { equal } from "node:assert/strict";
import {
  compactRow,
  SCREEN_BLANK_RUN_CHARS,
  SCREEN_ROW_MAX_CHARS,
} from "../../src/session/screen.ts";

Deno.test("screen row: trailing blanks trimmed, short blank runs kept, long ones counted", () => {
  equal(compactRow("a   b    "), "a   b");
  const short = " ".repeat(SCREEN_BLANK_RUN_CHARS - 1);
  equal(compactRow(`x${short}y`), `x${short}y`);
  equal(compactRow(`x${" ".repeat(900)}y`), "x [… 900 blanks …] y");
});

Deno.test("screen row: a row too long keeps its start and its end around a count", () => {
  const row = "a".repeat(300) + "b".repeat(300);
  const out = compactRow(row);
  const half = SCREEN_ROW_MAX_CHARS / 2;
  equal(out, `${"a".repeat(half)}[… ${600 - 2 * half} characters …]${"b".repeat(half)}`);
  equal(compactRow("z".repeat(SCREEN_ROW_MAX_CHARS)), "z".repeat(SCREEN_ROW_MAX_CHARS));
});

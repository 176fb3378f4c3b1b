// src/session/screen.ts: how one screen row is made cheap to read; src/session/foreground.ts: hints.

import { equal } from "node:assert/strict";
import {
  compactRow,
  SCREEN_BLANK_RUN_CHARS,
  SCREEN_ROW_MAX_CHARS,
} from "../../src/session/screen.ts";
import { foregroundHint } from "../../src/session/foreground.ts";

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

Deno.test("foreground hint: pagers, editors, nested REPLs and the rest, in k's verbs", () => {
  equal(foregroundHint("less", "w"), "less is a pager: k send w --keys q to leave it, or k int w");
  equal(
    foregroundHint("psql", "w"),
    "psql runs inside the session's program: use it with k send w '…', leave it with k send w '\\q', or k int w",
  );
  equal(
    foregroundHint("python3.11", "w").includes("k send w 'exit()'"),
    true,
  );
  equal(foregroundHint("vim.basic", "w").startsWith("vim.basic is an editor"), true);
  equal(
    foregroundHint("make", "w"),
    "make holds the terminal: k screen w to see it, k send w to answer it, or k int w to end it",
  );
});

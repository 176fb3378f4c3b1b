// What is typed before a cell's code to discard what a previous program left in the input: every
// program says it, every cell's plan carries it (tests/drain_test.ts shows it work in tmux).
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { planCell } from "../../src/cell/typing.ts";
import type { FrameMode } from "../../src/frame/mod.ts";
import { type ProgramKind, programProfile, PROGRAMS } from "../../src/programs/mod.ts";
import type { SessionMeta } from "../../src/session/meta.ts";

const KINDS: ProgramKind[] = [...PROGRAMS.map((p) => p.kind), "other"];

function meta(kind: ProgramKind, mode: FrameMode, bracketed = false): SessionMeta {
  return {
    name: "s",
    command: kind,
    kind,
    frame: { mode, nonce: mode === "integration" ? "0123456789abcdef" : undefined },
    pane: { pid: 1, start: "" },
    created_at: "2026-01-01T00:00:00.000Z",
    bracketed_paste: bracketed,
  };
}

Deno.test("drain: every program, known or not, has keys that empty its line", () => {
  for (const kind of KINDS) {
    const { keys } = programProfile(kind).drain;
    ok(keys.length > 0, kind);
    // tmux key names: they may be written into a command string tmux parses (no quotes).
    for (const key of keys) match(key, /^[A-Za-z0-9-]+$/, kind);
    // Ctrl-U last: the key that empties the line; Escape never (it eats the key after it).
    equal(keys.at(-1), "C-u", kind);
    ok(!keys.includes("Escape"), kind);
  }
});

Deno.test("drain: guarded by the alternate screen only where a full-screen program may read", () => {
  const guarded = KINDS.filter((kind) => programProfile(kind).drain.unlessAlternateScreen);
  // A shell or REPL with integration is typed to only at its own prompt; gdb may be typing to
  // the program it debugs, and an unknown program may be vim or less.
  deepEqual(guarded, ["gdb", "perl", "other"]);
});

Deno.test("drain: a cell's plan carries its program's drain in every mode", () => {
  for (const kind of KINDS) {
    const modes: FrameMode[] = programProfile(kind).integration
      ? ["integration", "repeat", "exact", "hook"]
      : ["repeat", "exact", "hook"];
    for (const mode of modes) {
      for (const bracketed of [false, true]) {
        const plan = planCell(meta(kind, mode, bracketed), "echo a\necho b", "0123456789ab", "/c");
        deepEqual(plan.drain, programProfile(kind).drain, `${kind} ${mode}`);
        // The drain is keys, never text: the echo filter sees only the code's lines.
        ok(!plan.text.includes("\x15"), `${kind} ${mode}`);
      }
    }
  }
});

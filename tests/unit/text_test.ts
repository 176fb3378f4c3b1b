// src/text.ts: terminal bytes to clean text lines.
import { deepEqual as assertEquals } from "node:assert/strict";
import { cleanTerminalBytes, TerminalText } from "../../src/text.ts";

const enc = new TextEncoder();
const clean = (s: string) => cleanTerminalBytes(enc.encode(s));

Deno.test("text: CRLF becomes LF, unfinished line kept apart", () => {
  assertEquals(clean("a\r\nb\r\n$ "), { lines: ["a", "b"], partial: "$ " });
});

Deno.test("text: carriage return overwrites like a screen", () => {
  assertEquals(clean("10%\r50%\r100%\r\n").lines, ["100%"]);
  assertEquals(clean("abcdef\rXY\r\n").lines, ["XYcdef"]);
});

Deno.test("text: backspace and erase-line", () => {
  assertEquals(clean("abc\b\bX\r\n").lines, ["aXc"]);
  assertEquals(clean("hello\r\x1b[Kbye\r\n").lines, ["bye"]);
});

Deno.test("text: colours, modes and OSC titles vanish", () => {
  assertEquals(
    clean("\x1b[1;31mred\x1b[0m \x1b]0;title\x07plain\x1b[?2004h\x1b]133;A\x1b\\!\r\n").lines,
    ["red plain!"],
  );
});

Deno.test("text: escape sequences split at every byte give the same text", () => {
  const input = enc.encode("a\x1b[31mb\x1b]0;t\x07c\x1b(Bd\r\n$ ");
  for (let cut = 1; cut < input.length; cut++) {
    const lines: string[] = [];
    const t = new TerminalText((l) => lines.push(l));
    t.push(input.slice(0, cut));
    t.push(input.slice(cut));
    assertEquals(
      { lines, partial: t.finish() },
      { lines: ["abcd"], partial: "$ " },
      `cut at ${cut}`,
    );
  }
});

Deno.test("text: invalid UTF-8 becomes U+FFFD, multi-byte split across pushes", () => {
  const out: string[] = [];
  const t = new TerminalText((l) => out.push(l));
  const bytes = enc.encode("é中\n");
  for (const b of bytes) t.push(new Uint8Array([b]));
  t.push(new Uint8Array([0xff, 0x41, 0x0a]));
  assertEquals(out, ["é中", "\uFFFDA"]);
});

Deno.test("text: a string opened by binary output ends at a newline, not at the next prompt", () => {
  // Random bytes hold ESC ] (OSC), ESC P (DCS), ESC X (SOS), ESC ^ (PM) or ESC _ (APC) with no
  // BEL or ST after them; the lines that follow the binary are output all the same.
  for (const opener of ["]", "P", "X", "^", "_"]) {
    assertEquals(
      clean(`bin\x1b${opener}ary\r\nEND\r\n\x1b[?2004h$ `),
      { lines: ["bin", "END"], partial: "$ " },
      `ESC ${opener}`,
    );
    // The prompt carries no escape at all (sh, a REPL in repeat mode): it is still seen.
    assertEquals(clean(`bin\x1b${opener}ary\r\n$ \r\n$ `), { lines: ["bin", "$ "], partial: "$ " });
  }
  // The end marker that follows still reaches the listener.
  const osc: string[] = [];
  const lines: string[] = [];
  const t = new TerminalText((l) => lines.push(l), { onOsc: (p) => osc.push(p) });
  t.push(enc.encode("\x1b^x\r\nEND\r\n\x1b]133;D;0;k=n\x07$ "));
  assertEquals({ lines, partial: t.finish(), osc }, {
    lines: ["", "END"],
    partial: "$ ",
    osc: ["133;D;0;k=n"],
  });
});

Deno.test("text: a newline ends any unfinished escape sequence, CSI and charset ones too", () => {
  // A CSI whose final byte never came (binary output cut short), a lone ESC, ESC and a charset
  // designator's first byte: the newline after them still ends the line, and the text after it
  // is whole.
  assertEquals(clean("ab\x1b[1\r\nEND\r\n$ "), { lines: ["ab", "END"], partial: "$ " });
  assertEquals(clean("ab\x1b[?\nEND\n"), { lines: ["ab", "END"], partial: "" });
  assertEquals(clean("xy\x1b\nEND\n"), { lines: ["xy", "END"], partial: "" });
  assertEquals(clean("xy\x1b(\nEND\n"), { lines: ["xy", "END"], partial: "" });
});

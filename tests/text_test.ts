// Unit tests of the pure pieces: terminal text, echo recognition, code shaping, detectors.
import { deepEqual as assertEquals } from "node:assert/strict";
import { cleanTerminalBytes, TerminalText } from "../src/text.ts";
import { EchoFilter } from "../src/frame/echo.ts";
import { shapeCode } from "../src/cell/typing.ts";
import { programKind, programProfile } from "../src/programs/mod.ts";
import { RepeatDetector } from "../src/frame/repeat.ts";
import { ExactDetector } from "../src/frame/exact.ts";
import { type FrameDetector, stripTrailingPrompt } from "../src/frame/detector.ts";

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

Deno.test("code: program kinds", () => {
  assertEquals(programKind("bash"), "bash");
  assertEquals(programKind("bash --norc"), "bash");
  assertEquals(programKind("bash script.sh"), "other");
  assertEquals(programKind("/bin/sh -i"), "sh");
  assertEquals(programKind("dash"), "sh");
  assertEquals(programKind("zsh -f"), "zsh");
  assertEquals(programKind("python3 -i"), "python");
  assertEquals(programKind("env PYTHON_BASIC_REPL=1 python3.13 -i"), "python");
  assertEquals(programKind("gdb -q ./a.out"), "gdb");
  assertEquals(programKind("node"), "node");
  assertEquals(programKind("node server.js"), "other");
  assertEquals(programKind("python3 app.py"), "other");
  assertEquals(programKind("cat"), "other");
});

Deno.test("code: python blocks get their closing blank line, inner blanks dropped", () => {
  assertEquals(
    shapeCode(programProfile("python"), "def f():\n    a = 1\n\n    return a\nprint(f())\n"),
    ["def f():", "    a = 1", "    return a", "", "print(f())"],
  );
  assertEquals(
    shapeCode(programProfile("python"), "if x:\n    y()\nelse:\n    z()"),
    ["if x:", "    y()", "else:", "    z()", ""],
  );
  assertEquals(shapeCode(programProfile("python"), 's = """a\n\nb"""\nprint(s)'), [
    's = """a',
    "",
    'b"""',
    "print(s)",
  ]);
  assertEquals(shapeCode(programProfile("bash"), "a\n\nb\n"), ["a", "", "b"]);
});

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

// src/text.ts: terminal bytes to clean text lines.
import { deepEqual as assertEquals, equal, ok } from "node:assert/strict";
import { CellText } from "../../src/cell/text.ts";
import { OutputSink } from "../../src/cell/output.ts";
import { createDetector } from "../../src/frame/mod.ts";
import {
  endMarker,
  endPayload,
  lastEndMarker,
  lastMarkerIsStart,
  startMarker,
} from "../../src/markers.ts";
import { cleanTerminalBytes, TerminalText } from "../../src/text.ts";
import { concat, hostileOutput, type Random, randomBytes, seededRandom } from "../hostile.ts";

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

/** The lines, unfinished line and OSC payloads `s` gives. */
function cleanWithOsc(s: string | Uint8Array) {
  const lines: string[] = [];
  const osc: string[] = [];
  const t = new TerminalText((l) => lines.push(l), { onOsc: (p) => osc.push(p) });
  t.push(typeof s === "string" ? enc.encode(s) : s);
  return { lines, partial: t.finish(), osc };
}

Deno.test("text: an ESC always starts a new sequence, whatever was unfinished before it", () => {
  // Issue 14: `printf 'x\033'` as a cell's last output hid the end marker after it (ESC ESC ]
  // read as ESC ESC, then `]133;D;0;k=…` as text), and the cell timed out.
  const marker = "\x1b]133;D;0;k=n\x07";
  for (
    const unfinished of [
      "\x1b",
      "\x1b\x1b",
      "\x1b(",
      "\x1b#",
      "\x1b%",
      "\x1b ",
      "\x1b[1",
      "\x1b]0;t",
    ]
  ) {
    assertEquals(
      cleanWithOsc(`x${unfinished}${marker}$ `),
      { lines: [], partial: "x$ ", osc: ["133;D;0;k=n"] },
      JSON.stringify(unfinished),
    );
  }
  // A string cut by ESC that is not ST: what follows the ESC is a sequence of its own.
  assertEquals(cleanWithOsc(`a\x1b]0;t\x1b\x1b[1mb`), { lines: [], partial: "ab", osc: [] });
});

Deno.test("text: CAN and SUB end an unfinished sequence; C0 controls inside a CSI act", () => {
  assertEquals(cleanWithOsc("a\x1b]0;title\x18b\x1b[12\x1ac\x1bPq\x18d"), {
    lines: [],
    partial: "abcd",
    osc: [],
  });
  // As on a VT: a carriage return or backspace inside a CSI moves the cursor, the CSI goes on.
  assertEquals(cleanWithOsc("abc\x1b[\r1CX"), { lines: [], partial: "aXc", osc: [] });
  assertEquals(cleanWithOsc("abc\x1b[\bK"), { lines: [], partial: "ab", osc: [] });
});

Deno.test("text: C1 controls draw nothing; as raw bytes they are invalid UTF-8", () => {
  // U+009B and U+009D would open a CSI or an OSC on a terminal that reads 8-bit controls; in
  // UTF-8 (tmux, every terminal emulator today) they are invisible controls. The raw bytes 0x9b
  // and 0x9d are not UTF-8 at all.
  assertEquals(cleanWithOsc("a\u009b31mb\u009d0;t\u0007c\u0085d"), {
    lines: [],
    partial: "a31mb0;tcd",
    osc: [],
  });
  assertEquals(
    cleanWithOsc(new Uint8Array([0x61, 0x9b, 0x33, 0x9d, 0x62])).partial,
    "a\uFFFD3\uFFFDb",
  );
});

Deno.test("text: an OSC too long for a marker is not handed on; a CSI's parameters are bounded", () => {
  const long = "133;D;" + "0".repeat(5000) + ";k=n";
  assertEquals(cleanWithOsc(`a\x1b]${long}\x07b`), { lines: [], partial: "ab", osc: [] });
  assertEquals(cleanWithOsc(`a\x1b[${"1;".repeat(100_000)}mb`).partial, "ab");
});

// ---------------------------------------------------------------------------------------------
// Fuzz: the text pipeline of an integration cell (terminal text, markers, echo, output) fed what
// tests/hostile.ts makes, and plain random bytes, in chunks cut anywhere.

const NONCE = "00112233aabbccdd";
const FUZZ_SEED = Number(Deno.env.get("K_FUZZ_SEED") ?? 14);

/** A cell's pane log: prompt and echo, the start marker, `output`, then (unless `running`) the
 * end marker with `status` and the next prompt. */
function cellLog(output: Uint8Array, status: number | undefined): Uint8Array {
  const end = status === undefined ? "" : `${endMarker(String(status), NONCE)}$ `;
  return concat([
    enc.encode(`$ cat out\r\n${startMarker(NONCE)}`),
    output,
    enc.encode(`${end}\x1b[?2004h`),
  ]);
}

/** `log` through a cell's text pipeline, pushed in chunks of random sizes. */
async function throughCell(log: Uint8Array, rand: Random) {
  const detector = createDetector({ mode: "integration", nonce: NONCE }, {
    lines: ["cat out"],
    continuations: 0,
  });
  const text = new CellText({ lines: ["cat out"] }, new OutputSink(1_000_000), detector, 1000);
  for (let at = 0; at < log.length;) {
    const size = 1 + Math.floor(rand() * 64);
    text.push(log.slice(at, at + size));
    at += size;
  }
  const done = detector?.isDone("", 0) ?? false;
  // A running cell's output is what poll shows: the output so far.
  const result = done ? await text.finish() : await text.soFar();
  return { done, exitCode: detector?.exitCode, output: result.output };
}

Deno.test("text: blanks at the end of a cell's last line are output, newline or not", async () => {
  // Issue 14: `printf 'x  '` gave `x` while `printf 'x  \n'` gave `x  `.
  const rand = seededRandom(1);
  for (const [printed, reading] of [["x  ", "x  "], ["x\t", "x\t"], ["a\r\n  ", "a\n  "]]) {
    const bytes = enc.encode(printed);
    equal((await throughCell(cellLog(bytes, 0), rand)).output, reading, JSON.stringify(printed));
    equal((await throughCell(cellLog(bytes, undefined), rand)).output, reading, "so far");
  }
});

Deno.test("text fuzz: random bytes never hide the end marker, nor show the nonce", async () => {
  const rand = seededRandom(FUZZ_SEED);
  for (let i = 0; i < 3000; i++) {
    const bytes = randomBytes(rand, Math.floor(rand() * 200));
    const status = Math.floor(rand() * 256);
    const log = cellLog(bytes, status);
    const what = `seed ${FUZZ_SEED} case ${i}: ${JSON.stringify(new TextDecoder().decode(bytes))}`;
    const cell = await throughCell(log, rand);
    ok(cell.done, `marker not found, ${what}`);
    equal(cell.exitCode, status, what);
    ok(!cell.output.includes(NONCE), `nonce in output ${JSON.stringify(cell.output)}, ${what}`);
    // The prompt check reads the raw log's tail: it finds the same end marker.
    const raw = new TextDecoder().decode(log);
    ok(!lastMarkerIsStart(raw, NONCE), what);
    equal(lastEndMarker(raw, NONCE), raw.lastIndexOf(`\x1b]${endPayload(String(status), NONCE)}`));
    // Cut before the end marker, the cell is running as both see it.
    const running = await throughCell(cellLog(bytes, undefined), rand);
    ok(!running.done, `ended early, ${what}`);
    ok(lastMarkerIsStart(new TextDecoder().decode(cellLog(bytes, undefined)), NONCE), what);
  }
});

Deno.test("text fuzz: hostile output reads as a person would read it, and ends at its marker", async () => {
  const rand = seededRandom(FUZZ_SEED);
  for (let i = 0; i < 3000; i++) {
    const hostile = hostileOutput(rand, {
      nonce: NONCE,
      newline: rand() < 0.5 ? "\r\n" : "\n",
      longLineChance: 0.01,
    });
    const what = `seed ${FUZZ_SEED} case ${i}: ${hostile.recipe.join(" ")}`;
    const cell = await throughCell(cellLog(hostile.bytes, 3), rand);
    ok(cell.done, `marker not found, ${what}`);
    equal(cell.exitCode, 3, what);
    equal(
      cell.output,
      hostile.reading,
      `${what}\n got ${JSON.stringify(cell.output)}\nwant ${JSON.stringify(hostile.reading)}`,
    );
    ok(!cell.output.includes(NONCE), what);
    const running = await throughCell(cellLog(hostile.bytes, undefined), rand);
    ok(!running.done, `ended early, ${what}`);
    equal(running.output, hostile.reading, `so far, ${what}`);
    ok(lastMarkerIsStart(new TextDecoder().decode(cellLog(hostile.bytes, undefined)), NONCE), what);
  }
});

Deno.test("TerminalText reports private modes set and reset, in stream order", () => {
  const modes: string[] = [];
  const lines: string[] = [];
  const term = new TerminalText((line) => lines.push(line), {
    onMode: (mode, on) => modes.push(`${mode}${on ? "h" : "l"}`),
  });
  term.push(new TextEncoder().encode("a\x1b[?2004hb\r\n\x1b[?2004l\x1b[?1;25hc\x1b[?2"));
  term.push(new TextEncoder().encode("004h\x1b[2Jd\n"));
  assertEquals(modes, ["2004h", "2004l", "1h", "25h", "2004h"]);
  assertEquals(lines, ["ab", "cd"]);
});

Deno.test("integration: keys typed ahead of a Ctrl-C's prompt end their cell only when dropped", async () => {
  // `k int` racing a fire: the terminal in cooked mode echoed the code, typed while the shell
  // was between prompts; the Ctrl-C's prompt (status 130) came next. That end counted, and the
  // shell then read the code at that prompt and ran it, outside any cell.
  const code = "sleep 1; echo RUN5";
  const typedAhead = "^C\x1b[?2004l\r\x1b[?2004h\x1b[?2004l\r\r\n \b \b" + code + "\r\n" +
    endMarker("130", NONCE) + "\x1b[?2004hroot@vm:~# ";
  const ran = code + "\r\n\x1b[?2004l\r" + startMarker(NONCE) + "RUN5\r\n" + endMarker("0", NONCE) +
    "\x1b[?2004hroot@vm:~# ";
  for (const read of [true, false]) {
    const typed = { lines: [code], continuations: 0 };
    const detector = createDetector({ mode: "integration", nonce: NONCE }, typed)!;
    const text = new CellText(typed, new OutputSink(1_000_000), detector, 1000);
    text.push(enc.encode(typedAhead));
    equal(detector.isDone(text.partial, 0), false, "ended at the Ctrl-C's prompt at once");
    if (read) {
      text.push(enc.encode(ran));
      equal(detector.isDone(text.partial, 0), true);
      assertEquals([detector.exitCode, (await text.finish()).output], [0, "RUN5"]);
    } else {
      // Dropped: nothing more comes; the prompt's end stands once the pane is quiet.
      equal(detector.isDone(text.partial, 100), false);
      equal(detector.isDone(text.partial, 400), true);
      equal(detector.exitCode, 130);
    }
  }
});

Deno.test("TerminalText: line feeds walking back down after a move up start no new lines", () => {
  // Python 3.13's pyrepl before each prompt it draws: up a row, then a line feed.
  assertEquals(cleanTerminalBytes(enc.encode("a\n\x1b[1A\nin? x\n")).lines, ["a", "in? x"]);
  // Written over an earlier row: a line of its own, as before.
  assertEquals(cleanTerminalBytes(enc.encode("a\n\x1b[1Ab\nc\n")).lines, ["a", "b", "c"]);
  // A move up from a line with text: nothing to walk back.
  assertEquals(cleanTerminalBytes(enc.encode("a\x1b[1A\n\n")).lines, ["a", ""]);
});

Deno.test("integration: a prompt with no echo of the code ends its cell only after a long quiet", async () => {
  // Keys a Ctrl-C flushed before any echo leave only its prompt: the cell waited its limit.
  const lost = "^C\r\n" + endMarker("130", NONCE) + "root@vm:~# ";
  const code = "echo hi";
  const typed = { lines: [code], continuations: 0 };
  const detector = createDetector({ mode: "integration", nonce: NONCE }, typed)!;
  const text = new CellText(typed, new OutputSink(1_000_000), detector, 1000);
  text.push(enc.encode(lost));
  assertEquals([detector.isDone(text.partial, 1000), detector.isDone(text.partial, 3500)], [
    false,
    true,
  ]);
  equal(detector.exitCode, 130);
  // A prompt left over from before the cell, then the code's echo: its own end stands.
  const late = createDetector({ mode: "integration", nonce: NONCE }, typed)!;
  const lateText = new CellText(typed, new OutputSink(1_000_000), late, 1000);
  lateText.push(enc.encode(endMarker("0", NONCE) + "root@vm:~# " + code + "\r\n"));
  lateText.push(enc.encode(startMarker(NONCE) + "hi\r\n" + endMarker("0", NONCE) + "root@vm:~# "));
  equal(late.isDone(lateText.partial, 5000), true);
  assertEquals([late.exitCode, (await lateText.finish()).output], [0, "hi"]);
});

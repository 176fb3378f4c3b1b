// The marker format, written once: what the integration scripts print is what the watcher parses,
// and the tail scanners of the prompt check find the right marker. No tmux.

import { deepEqual, equal, ok } from "node:assert/strict";
import {
  continuationMarker,
  endMarker,
  endPayload,
  lastContinuationMarker,
  lastEndMarker,
  lastMarkerIsStart,
  newNonce,
  parseMarker,
  printedAfterLastEnd,
  printfFormat,
  startMarker,
  startPayload,
} from "../../src/markers.ts";
import { programProfile } from "../../src/programs/mod.ts";
import { TerminalText } from "../../src/text.ts";

const NONCE = "00112233aabbccdd";
const osc = (payload: string) => `\x1b]${payload}\x07`;

Deno.test("markers: build and parse agree; a marker without the nonce is no marker", () => {
  deepEqual(parseMarker(startPayload(NONCE), NONCE), { kind: "start" });
  deepEqual(parseMarker(endPayload("0", NONCE), NONCE), { kind: "end", exitCode: 0 });
  deepEqual(parseMarker(endPayload("-1", NONCE, "ValueError"), NONCE), {
    kind: "end",
    exitCode: -1,
    error: "ValueError",
  });
  equal(parseMarker(endPayload("0", "ffffffffffffffff"), NONCE), undefined);
  equal(parseMarker(endPayload("x", NONCE), NONCE), undefined);
  equal(parseMarker("0;window title", NONCE), undefined);
  equal(newNonce().length, 16);
});

Deno.test("markers: the tail scanners find the last marker of this session", () => {
  const end = osc(endPayload("0", NONCE));
  const fake = osc(endPayload("0", "ffffffffffffffff"));
  const tail = `out${end}$ echo${startMarker(NONCE)}hi\n${fake}`;
  ok(lastMarkerIsStart(tail, NONCE), "a foreign end marker does not count");
  equal(lastEndMarker(tail, NONCE), 3);
  const back = `${tail}${osc(endPayload("-12", NONCE))}$ `;
  ok(!lastMarkerIsStart(back, NONCE));
  ok(printedAfterLastEnd(back, NONCE));
  ok(!printedAfterLastEnd(`${tail}${end}  `, NONCE));
  equal(lastEndMarker("no markers", NONCE), -1);
});

Deno.test("markers: only the exact format is a marker; look-alikes with the nonce are not", () => {
  // Each of these once ended a cell (Number("") is 0, Number("1e2") is 100) or was taken by the
  // prompt check for an end marker (no terminator, a longer nonce).
  for (
    const payload of [
      `133;D;;k=${NONCE}`,
      `133;D;+1;k=${NONCE}`,
      `133;D;1e2;k=${NONCE}`,
      `133;D;0x1;k=${NONCE}`,
      `133;D; 0;k=${NONCE}`,
      `133;D;0;k=${NONCE}0`,
      `133;D;0;k=${NONCE};`,
      `133;D;0;x;k=${NONCE}`,
      `133;D;k=${NONCE}`,
      `133;d;0;k=${NONCE}`,
      `133;C;k=${NONCE};x`,
      `133;C;0;k=${NONCE}`,
      `133;D;99999999999;k=${NONCE}`,
      `133;D;0;k=${NONCE};err=a\x01b`,
    ]
  ) {
    equal(parseMarker(payload, NONCE), undefined, payload);
    equal(lastEndMarker(`${osc(payload)}$ `, NONCE), -1, payload);
    ok(lastMarkerIsStart(`${startMarker(NONCE)}${osc(payload)}$ `, NONCE), payload);
  }
  deepEqual(parseMarker(`133;D;-1;k=${NONCE};err=a.B_c`, NONCE), {
    kind: "end",
    exitCode: -1,
    error: "a.B_c",
  });
});

Deno.test("markers: the tail scanners take only a whole marker, as the terminal parser does", () => {
  const end = `\x1b]${endPayload("0", NONCE)}`;
  // Cut short (a newline, CAN, an ESC that is not ST): no marker; ended by BEL or ST: a marker.
  for (const cut of ["\r\n", "\x18", "\x1b[m", "\x1b"]) {
    equal(lastEndMarker(`${end}${cut}$ `, NONCE), -1, JSON.stringify(cut));
    ok(lastMarkerIsStart(`${startMarker(NONCE)}x${end}${cut}$ `, NONCE), JSON.stringify(cut));
  }
  equal(lastEndMarker(`ab${end}\x07$ `, NONCE), 2);
  equal(lastEndMarker(`ab${end}\x1b\\$ `, NONCE), 2);
  ok(printedAfterLastEnd(`${end}\x1b\\$ `, NONCE));
  ok(!printedAfterLastEnd(`${end}\x1b\\ `, NONCE));
});

Deno.test("markers: the end marker's lead ends an unfinished look-alike; printf prints it", async () => {
  // CAN ends the string a cell left open, so the ST after it cannot complete a look-alike.
  const term = new TerminalText(() => {}, {
    onOsc: (payload) => seen.push(parseMarker(payload, NONCE)),
  });
  const seen: unknown[] = [];
  term.push(new TextEncoder().encode(`x\x1b]133;D;0;k=${NONCE}${endMarker("5", NONCE)}$ `));
  deepEqual(seen, [{ kind: "end", exitCode: 5 }]);
  equal(term.finish(), "x$ ");
  // What the shells' printf makes of the format is the marker, byte for byte.
  const format = printfFormat(endMarker("%s", "%s"));
  for (const shell of ["bash", "sh"]) {
    equal(await run(shell, ["-c", `printf '${format}' 3 ${NONCE}`]), endMarker("3", NONCE), shell);
  }
  // sh's prompt carries it with its status.
  const sh = programProfile("sh").integration?.script(NONCE, {
    dir: "/nonexistent",
    cells: "/nonexistent",
    history: "/dev/null",
  }) ?? "";
  const prompt = await run("sh", ["-c", `${sh}\n(exit 3); eval "p=\\"$__k_d\\""; printf %s "$p"`]);
  equal(prompt, endMarker("3", NONCE));
});

/** The markers `output` carries, parsed as the watcher parses them. */
function markersIn(output: string) {
  const seen: unknown[] = [];
  const term = new TerminalText(() => {}, {
    onOsc: (payload) => {
      const marker = parseMarker(payload, NONCE);
      if (marker) seen.push(marker);
    },
  });
  term.push(new TextEncoder().encode(output));
  return seen;
}

async function run(program: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(program, { args, stdout: "piped", stderr: "null" })
    .output();
  return new TextDecoder().decode(out.stdout);
}

Deno.test("markers: bash's and zsh's scripts print what the watcher parses", async () => {
  for (const kind of ["bash", "zsh"] as const) {
    const script = programProfile(kind).integration?.script(NONCE, {
      dir: "/nonexistent",
      cells: "/nonexistent",
      history: "/dev/null",
    }) ?? "";
    const output = await run(kind, ["-c", `${script}\nfalse; __k_precmd; (exit 3); __k_precmd`]);
    deepEqual(markersIn(output), [
      { kind: "end", exitCode: 1 },
      { kind: "end", exitCode: 3 },
    ], kind);
  }
  const bash = programProfile("bash").integration?.script(NONCE, {
    dir: "/nonexistent",
    cells: "/nonexistent",
    history: "/dev/null",
  }) ?? "";
  deepEqual(markersIn(await run("bash", ["-c", `${bash}\nprintf %s "$PS0"`])), [{
    kind: "start",
  }]);
});

Deno.test("markers: python's script prints what the watcher parses, with the error type", async () => {
  const cells = await Deno.makeTempDir();
  try {
    const script = programProfile("python").integration?.script(NONCE, {
      dir: cells,
      cells,
      history: `${cells}/history`,
    }) ??
      "";
    await Deno.writeTextFile(`${cells}/0123456789ab.py`, "1/0");
    const driver = `${script}
import sys
sys.stdout.write(str(sys.ps1))
__k("0123456789ab")
sys.stdout.write(str(sys.ps1))`;
    deepEqual(markersIn(await run("python3", ["-c", driver])), [
      { kind: "end", exitCode: 0 },
      { kind: "start" },
      { kind: "end", exitCode: 1, error: "ZeroDivisionError" },
    ]);
  } finally {
    await Deno.remove(cells, { recursive: true });
  }
});

Deno.test("markers: a continuation prompt's marker means a command is under way", () => {
  const more = continuationMarker(NONCE);
  deepEqual(parseMarker(`133;A;k=${NONCE}`, NONCE), { kind: "more" });
  equal(parseMarker(`133;A;k=${NONCE};x`, NONCE), undefined);
  equal(parseMarker(`133;A;k=ffffffffffffffff`, NONCE), undefined);
  const end = endMarker("0", NONCE);
  ok(lastMarkerIsStart(`${end}$ echo "x\r\n${more}> `, NONCE), "continuation after the end");
  ok(!lastMarkerIsStart(`${more}> ${end}$ `, NONCE), "an end after the continuation");
  ok(lastContinuationMarker(`a${more}`, NONCE) > 0);
});

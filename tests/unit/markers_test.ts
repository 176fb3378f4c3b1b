// The marker format, written once: what the integration scripts print is what the watcher parses,
// and the tail scanners of the prompt check find the right marker. No tmux.

import { deepEqual, equal, ok } from "node:assert/strict";
import {
  endPayload,
  lastEndMarker,
  lastMarkerIsStart,
  newNonce,
  parseMarker,
  printedAfterLastEnd,
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
    const script =
      programProfile("python").integration?.script(NONCE, { cells, history: `${cells}/history` }) ??
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

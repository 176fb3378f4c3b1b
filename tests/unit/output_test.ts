// src/output.ts: OutputSink keeps a cell's output within its budget — the whole of it while it
// fits; else its head and tail around one marker line, and the whole in the output file.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { DEFAULT_MAX_OUTPUT_CHARS, maxOutputFromEnv, OutputSink } from "../../src/cell/output.ts";
import { dirTest, exists } from "../harness.ts";

/** Lines "1".."n". */
function numbered(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String(i + 1));
}

async function sink(lines: string[], budget: number, file?: string) {
  const s = new OutputSink(budget, file);
  for (const line of lines) s.push(line);
  return await s.finish();
}

dirTest("output: within the budget, the whole output and no file", async (dir) => {
  const file = `${dir}/out.txt`;
  deepEqual(await sink(["a", "b", "c"], 5, file), { output: "a\nb\nc", truncated: false });
  deepEqual(await sink([], 5, file), { output: "", truncated: false });
  ok(!(await exists(file)), "a file for output that fits");
  // Exactly the budget fits (the newlines between lines count, no final one).
  deepEqual(await sink(["abcd", "e"], 6), { output: "abcd\ne", truncated: false });
  equal((await sink(["abcd", "ef"], 6)).truncated, true);
});

dirTest(
  "output: over the budget, head and tail around one marker line; the file has all",
  async (dir) => {
    const file = `${dir}/out.txt`;
    const lines = numbered(1000);
    const r = await sink(lines, 100, file);
    equal(r.truncated, true);
    equal(r.output_file, file);
    const out = r.output.split("\n");
    const markerAt = out.findIndex((l) => l.startsWith("[… "));
    ok(markerAt > 0, r.output);
    deepEqual(out.slice(0, markerAt), numbered(markerAt), "the head is the first lines");
    const tail = out.slice(markerAt + 1);
    deepEqual(tail, lines.slice(lines.length - tail.length), "the tail is the last lines");
    ok(out.slice(0, markerAt).join("\n").length <= 50, "the head keeps to half the budget");
    ok(tail.join("\n").length <= 50, "the tail keeps to half the budget");
    // The marker counts what it hides and names the file.
    const cutLines = 1000 - markerAt - tail.length;
    const cutChars = lines.join("\n").length - out.slice(0, markerAt).join("\n").length -
      tail.join("\n").length - 2;
    equal(
      out[markerAt],
      `[… ${cutChars} characters (${cutLines} lines) cut; whole output in ${file} …]`,
    );
    equal(await Deno.readTextFile(file), lines.join("\n") + "\n");
    equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  },
);

dirTest("output: no file asked for, the marker names none", async () => {
  const r = await sink(numbered(1000), 100);
  equal(r.truncated, true);
  equal(r.output_file, undefined);
  match(r.output, /\n\[… \d+ characters \(\d+ lines\) cut …\]\n/);
});

dirTest("output: one line longer than the budget keeps only its end", async (dir) => {
  const long = "x".repeat(500) + "END";
  const r = await sink([long], 100, `${dir}/out.txt`);
  equal(r.truncated, true);
  const [marker, tail, ...rest] = r.output.split("\n");
  deepEqual(rest, []);
  // 503 characters, 50 shown: 453 cut (no line break stands between the cut and the tail).
  match(marker!, /^\[… 453 characters of a long line \(0 lines\) cut; whole output in .* …\]$/);
  equal(tail, long.slice(-50));
  equal(await Deno.readTextFile(`${dir}/out.txt`), long + "\n");
});

dirTest("output: finish's trim drops trailing prompt lines from the held-back end", async () => {
  const s = new OutputSink(1000);
  for (const line of ["out", "$ ", "$ "]) s.push(line);
  const r = await s.finish((lines) => lines.filter((l) => l !== "$ "));
  deepEqual(r, { output: "out", truncated: false });
});

dirTest("output: reset drops what came before (output starts at the start marker)", async (dir) => {
  const file = `${dir}/out.txt`;
  const s = new OutputSink(100, file);
  for (const line of numbered(500)) s.push(line);
  s.reset();
  for (const line of ["after", "reset"]) s.push(line);
  deepEqual(await s.finish(), { output: "after\nreset", truncated: false });
  ok(!(await exists(file)), "a file for the dropped output");
});

dirTest(
  "output: a big output is flushed to the file as it goes, memory stays bounded",
  async (dir) => {
    const file = `${dir}/out.txt`;
    const s = new OutputSink(100, file);
    let flushed = false;
    const line = "y".repeat(1000);
    for (let i = 0; i < 200; i++) {
      s.push(line);
      if (s.needsFlush) {
        await s.flush();
        flushed = true;
      }
    }
    ok(flushed, "needsFlush never said so over 200 KB");
    ok((await Deno.stat(file)).size > 0, "nothing in the file before the end");
    const r = await s.finish();
    equal(r.truncated, true);
    ok(r.output.length < 300, `${r.output.length} chars`);
    equal(await Deno.readTextFile(file), Array(200).fill(line).join("\n") + "\n");
  },
);

Deno.test("output: K_MAX_OUTPUT sets the budget; invalid values are ignored", () => {
  const before = Deno.env.get("K_MAX_OUTPUT");
  try {
    Deno.env.set("K_MAX_OUTPUT", "1234");
    equal(maxOutputFromEnv(), 1234);
    for (const bad of ["0", "-5", "12x", "", "1e3"]) {
      Deno.env.set("K_MAX_OUTPUT", bad);
      equal(maxOutputFromEnv(), DEFAULT_MAX_OUTPUT_CHARS, JSON.stringify(bad));
    }
  } finally {
    if (before === undefined) Deno.env.delete("K_MAX_OUTPUT");
    else Deno.env.set("K_MAX_OUTPUT", before);
  }
});

dirTest(
  "output: the cut count adds up with the shown text, whatever line the tail starts in",
  async () => {
    // Lines of varied length: every budget puts the cut at another place, inside a line or at its
    // start; shown + cut (+ the line breaks around the marker) is always the whole output.
    const lines = Array.from({ length: 40 }, (_, i) => `${i}:` + "y".repeat((i * 7) % 23));
    const whole = lines.join("\n");
    for (let budget = 20; budget < 200; budget += 3) {
      const r = await sink(lines, budget);
      if (!r.truncated) continue;
      const shown = r.output.split("\n");
      const at = shown.findIndex((l) => l.startsWith("[… "));
      const cut = Number(/\[… (\d+) characters/.exec(shown[at]!)![1]);
      const head = shown.slice(0, at).join("\n");
      const tail = shown.slice(at + 1).join("\n");
      ok(whole.startsWith(head) && whole.endsWith(tail), `budget ${budget}`);
      const middle = whole.slice(head.length, whole.length - tail.length);
      // The line breaks on either side of the marker stand for themselves: not counted as cut.
      let expected = middle;
      if (head !== "") expected = expected.replace(/^\n/, "");
      if (tail !== "") expected = expected.replace(/\n$/, "");
      equal(cut, expected.length, `budget ${budget}: ${JSON.stringify(middle)}`);
    }
  },
);

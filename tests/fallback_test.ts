// Fallback frame modes (issue 15): repeat mode's Enters never in the output, prompts with a counter,
// programs that repeat a command on an empty Enter, exact mode's continuation prompts and
// --prompt-re, deno's REPL.
import { deepEqual as assertEquals, equal, match, ok } from "node:assert/strict";
import { type World, worldTest } from "./harness.ts";

function has(program: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${program}`] }).outputSync().success;
  } catch {
    return false;
  }
}
const skip = (program: string) => has(program) ? false : `${program} is not installed`;

/** Runs a cell with a short timeout; returns status and output. */
async function cell(w: World, session: string, code: string, timeoutS = 5) {
  const r = await w.kJson(["run", "-j", "-t", String(timeoutS), session, code]);
  return { status: String(r.status), output: String(r.output), ms: Number(r.duration_ms) };
}

worldTest(
  "repeat mode: the Enters a cooked terminal echoes are no output (ipython --simple-prompt)",
  async (w) => {
    equal(
      (await w.k(
        ["new", "--prompt=repeat", "i", "ipython3", "--simple-prompt", "--no-banner"],
        {},
        w.base,
      )).code,
      0,
    );
    // ipython prints a blank line after a result, before its next prompt: that one is output.
    assertEquals(await cell(w, "i", "6*7").then((r) => [r.status, r.output]), [
      "done",
      "Out[1]: 42\n",
    ]);
    assertEquals(await cell(w, "i", "x = 5").then((r) => [r.status, r.output]), ["done", ""]);
    assertEquals(await cell(w, "i", 'print("\\nx")').then((r) => [r.status, r.output]), [
      "done",
      "\nx\n",
    ]);
  },
  { skip: skip("ipython3"), timeoutMs: 40_000 },
);

worldTest("repeat mode: a cooked-mode shell whose prompts glue on one line (dash)", async (w) => {
  equal(
    (await w.k(["new", "d", "--prompt=repeat", "env", "PS1='# '", "dash", "-i"], {}, w.base)).code,
    0,
  );
  const r = await cell(w, "d", "echo hi");
  assertEquals([r.status, r.output], ["done", "hi"]);
}, { skip: skip("dash") });

worldTest("repeat mode: a prompt with a counter and blank lines between (ipython3)", async (w) => {
  equal(
    (await w.k(
      ["new", "--prompt=repeat", "i", "ipython3", "--no-banner", "--colors=NoColor"],
      {},
      w.base,
    )).code,
    0,
  );
  const r = await cell(w, "i", "6*7", 10);
  equal(r.status, "done", JSON.stringify(r));
  equal(r.output, "Out[1]: 42");
  ok(r.ms < 3000, `${r.ms} ms`);
  assertEquals(await cell(w, "i", "y = 1").then((r) => [r.status, r.output]), ["done", ""]);
}, { skip: skip("ipython3"), timeoutMs: 40_000 });

worldTest(
  "repeat mode: irb, whose line editor erases the redrawn prompts, ends at its prompt",
  async (w) => {
    equal((await w.k(["new", "r", "irb", "--nocolorize"], {}, w.base)).code, 0);
    const r = await cell(w, "r", "x = 6*7", 10);
    equal(r.status, "done", JSON.stringify(r));
    match(r.output, /^=> 42/);
    ok(r.ms < 3000, `${r.ms} ms`);
  },
  { skip: skip("irb"), timeoutMs: 40_000 },
);

worldTest("no empty Enters for debuggers: pdb's next runs once", async (w) => {
  await Deno.writeTextFile(`${w.base}/prog.py`, "a = 1\nb = 2\nc = 3\nd = 4\nprint('end')\n");
  equal((await w.k(["new", "d", "pdb3", "prog.py"], {}, w.base)).code, 0);
  const n = await cell(w, "d", "next");
  assertEquals(n.status, "done", JSON.stringify(n));
  match(n.output, /prog\.py\(2\)<module>\(\)\n-> b = 2$/);
  const p = await cell(w, "d", "p a");
  assertEquals([p.status, p.output], ["done", "1"]);
  // Two commands: the cell ends once the prompt is back for both.
  const two = await cell(w, "d", "next\np b");
  equal(two.status, "done");
  match(two.output, /-> c = 3\n.*\n?2$/s);
}, { skip: skip("pdb3"), timeoutMs: 40_000 });

worldTest("no empty Enters for debuggers: gdb with no --prompt steps once", async (w) => {
  await Deno.writeTextFile(
    `${w.base}/t.c`,
    "int main(void) {\n  int x = 1;\n  x = 2;\n  x = 3;\n  x = 4;\n  return x;\n}\n",
  );
  const cc = await new Deno.Command("cc", {
    args: ["-g", "-O0", "-o", `${w.base}/t`, `${w.base}/t.c`],
  }).output();
  equal(cc.code, 0);
  equal((await w.k(["new", "g", "gdb", "-q", "-nx", `${w.base}/t`], {}, w.base)).code, 0);
  match((await cell(w, "g", "break main")).output, /^Breakpoint 1 at/);
  match((await cell(w, "g", "run")).output, /2\t {2}int x = 1;$/);
  const n = await cell(w, "g", "next");
  assertEquals([n.status, n.output], ["done", "3\t  x = 2;"]);
  assertEquals((await cell(w, "g", "print x")).output, "$1 = 1");
}, { skip: skip("gdb") || skip("cc"), timeoutMs: 40_000 });

worldTest("no empty Enters for debuggers: perl -de0, a counter in its prompt", async (w) => {
  equal((await w.k(["new", "p", "perl", "-de0"], {}, w.base)).code, 0);
  assertEquals(await cell(w, "p", "print 6*7").then((r) => [r.status, r.output]), ["done", "42"]);
  assertEquals(await cell(w, "p", "$x = 5").then((r) => [r.status, r.output]), ["done", ""]);
  assertEquals(await cell(w, "p", "print $x+1").then((r) => [r.status, r.output]), ["done", "6"]);
}, { skip: skip("perl") });

worldTest("exact mode: a multi-line cell through continuation prompts (irb's ?>)", async (w) => {
  const created = await w.k(
    ["new", "r", "irb", "--simple-prompt", "--nocolorize", "--prompt=>>"],
    {},
    w.base,
  );
  equal(created.code, 0, created.stderr);
  const r = await cell(w, "r", "def f(a)\n  a*2\nend");
  assertEquals([r.status, r.output], ["done", "=> :f"]);
  assertEquals((await cell(w, "r", "f(21)")).output, "=> 42");
}, { skip: skip("irb"), timeoutMs: 40_000 });

worldTest("exact mode: --prompt-re, a prompt with a counter (and never a hook)", async (w) => {
  const created = await w.k(
    ["new", "--prompt-re=^In \\[\\d+\\]: $", "i", "ipython3", "--simple-prompt", "--no-banner"],
    {},
    w.base,
  );
  equal(created.code, 0, created.stderr);
  equal(created.stdout.trim(), "OK i (exact mode)");
  assertEquals(await cell(w, "i", "6*7").then((r) => [r.status, r.output]), [
    "done",
    "Out[1]: 42\n",
  ]);
  assertEquals(await cell(w, "i", "x = 20").then((r) => [r.status, r.output]), ["done", ""]);
  assertEquals(await cell(w, "i", "x + 22").then((r) => [r.status, r.output]), [
    "done",
    "Out[3]: 42\n",
  ]);
  const bad = await w.k(["new", "--prompt-re=(", "x", "ipython3"], {}, w.base);
  equal(bad.code, 1);
  match(bad.stderr, /--prompt-re '\(' is no regular expression/);
}, { skip: skip("ipython3"), timeoutMs: 40_000 });

worldTest("deno repl: cells end at its prompt, without waiting for their timeout", async (w) => {
  equal((await w.k(["new", "d", "deno", "repl"], { NO_COLOR: "1" }, w.base)).code, 0);
  const r = await cell(w, "d", "const x = 6*7", 10);
  equal(r.status, "done", JSON.stringify(r));
  ok(r.ms < 3000, `${r.ms} ms`);
  assertEquals(await cell(w, "d", "x").then((r) => [r.status, r.output]), ["done", "42"]);
}, { skip: skip("deno"), timeoutMs: 40_000 });

worldTest(
  "deno repl: a cell of several lines runs whole (one paste), its output exact, in colour too",
  async (w) => {
    // Typed line by line, the editor dropped what came while the first line ran: `q` stayed 1,
    // and its redraws of the input (cursor up) came back as output.
    for (const [name, env] of [["d", { NO_COLOR: "1" }], ["c", {}]] as const) {
      equal((await w.k(["new", name, "deno", "repl"], env, w.base)).code, 0);
      const cells: [string, string][] = [
        ['let q = 1\nq = q + 10\nconsole.log("Q", q)', "Q 11\nundefined"],
        ["q", "11"],
        ['function g(x) {\n  return x + 1;\n}\nconsole.log("AFTER", g(1))', "AFTER 2\nundefined"],
        ["const o = {\n  a: 1,\n\n  b: [1,\n 2],\n};\no", "{ a: 1, b: [ 1, 2 ] }"],
        ["let t = `a\nb`;\nt.length", "3"],
      ];
      for (const [code, want] of cells) {
        const r = await cell(w, name, code, 10);
        assertEquals([r.status, r.output], ["done", want], `${name}: ${code} -> ${r.output}`);
      }
    }
  },
  { skip: skip("deno"), timeoutMs: 60_000 },
);

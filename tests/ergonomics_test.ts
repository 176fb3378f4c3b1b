// What an agent needs beyond "done": progress, input to a running cell, screen-faithful text,
// bounded output with the whole of it in a file, and result metadata.
import { deepEqual as assertEquals, equal, match, ok } from "node:assert/strict";
import type { DoneResult } from "../mod.ts";
import { waitFor, type World, worldTest } from "./harness.ts";

async function poll(w: World, session: string): Promise<Record<string, unknown>> {
  return await w.kJson(["poll", session]);
}

async function doneOf(w: World, session: string): Promise<Record<string, unknown>> {
  return await waitFor("done", async () => {
    const p = await poll(w, session);
    return p.status === "done" ? p : undefined;
  }, 20_000);
}

worldTest("progress: poll shows a running cell's output grow step by step", async (w) => {
  await w.kernel.create("b");
  await w.kJson(["fire", "b", "for s in 1 2 3; do echo step$s; sleep 0.6; done"]);
  const seen: string[] = [];
  await waitFor(
    "three steps",
    async () => {
      const p = await poll(w, "b");
      if (p.status === "running" && !seen.includes(String(p.output))) seen.push(String(p.output));
      return p.status === "done" || String(p.output).includes("step3");
    },
    15_000,
    100,
  );
  ok(seen.includes("step1"), JSON.stringify(seen));
  ok(seen.includes("step1\nstep2"), JSON.stringify(seen));
  equal((await doneOf(w, "b")).output, "step1\nstep2\nstep3");
});

worldTest("send: answers a read -p prompt; the result holds what followed", async (w) => {
  await w.kernel.create("b");
  const fired = await w.kJson(["fire", "b", "read -p 'name? ' n; echo \"hello $n\""]);
  await waitFor("prompt", async () => String((await poll(w, "b")).output).includes("name?"));
  // A trailing ';' must survive: tmux takes an argument ending in ';' as a separator.
  const sent = await w.k(["send", "b", "ktty;"]);
  assertEquals([sent.code, sent.stdout.trim()], [0, `OK b (sent to cell ${fired.cell_id})`]);
  const done = await doneOf(w, "b");
  assertEquals([done.output, done.exit_code], ["name? ktty;\nhello ktty;", 0]);
});

worldTest("send: answers Python input(); --no-enter then Enter key", async (w) => {
  await w.kernel.create("py", { command: "python3" });
  await w.kJson(["fire", "py", "answer = input('continue? [y/N] ')\nprint('got', answer)"]);
  await waitFor("question", async () => String((await poll(w, "py")).output).includes("[y/N]"));
  equal((await w.k(["send", "--no-enter", "py", "y"])).code, 0);
  equal((await w.k(["send", "py", "--keys", "Enter"])).code, 0);
  assertEquals((await doneOf(w, "py")).output, "continue? [y/N] y\ngot y");
});

worldTest("send --keys C-d ends a cat reading the terminal", async (w) => {
  await w.kernel.create("b");
  await w.kJson(["fire", "b", "cat"]);
  await waitFor("cat running", async () => {
    const s = await w.kJson(["status", "-j", "b"]);
    return s.pane_command === "cat";
  });
  equal((await w.k(["send", "b", "typed line"])).code, 0);
  equal((await w.k(["send", "b", "--keys", "C-d"])).code, 0);
  const done = await doneOf(w, "b");
  assertEquals([done.output, done.exit_code], ["typed line\ntyped line", 0]);
});

worldTest("text: CR progress bars, backspaces, colours, OSC titles, invalid UTF-8", async (w) => {
  await w.kernel.create("b");
  const run = async (code: string) => (await w.kernel.session("b").run(code)) as DoneResult;
  equal((await run(String.raw`printf '10%%\r50%%\r100%%\n'`)).output, "100%");
  equal((await run(String.raw`printf 'abc\b\bX\n'`)).output, "aXc");
  equal((await run(String.raw`printf '\033[1;31mred\033[0m plain\n'`)).output, "red plain");
  equal((await run(String.raw`printf '\033]0;title\007shown\n'`)).output, "shown");
  equal((await run(String.raw`printf 'a\r\nb\r\n'`)).output, "a\nb");
  const bad = await w.k(["run", "-j", "b", String.raw`printf 'bad \377\376 bytes\n'`]);
  const parsed = JSON.parse(bad.stdout);
  equal(parsed.output, "bad \uFFFD\uFFFD bytes");
});

worldTest(
  "bounded output: 300,000 lines give head, marker, tail and the whole in a file",
  async (w) => {
    await w.kernel.create("b");
    const r = await w.kJson(["run", "-j", "-t", "60", "b", "seq 1 300000"]);
    equal(r.status, "done");
    equal(r.truncated, true);
    const output = String(r.output);
    ok(output.length <= 50_000 + 200, `output is ${output.length} chars`);
    const lines = output.split("\n");
    equal(lines[0], "1");
    equal(lines[lines.length - 1], "300000");
    const marker = lines.find((l) => l.startsWith("[… "));
    ok(marker, "no marker line");
    match(marker!, /^\[… \d+ characters \(\d+ lines\) cut; whole output in .+\.out …\]$/);
    const file = String(r.output_file);
    equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    const expected = Array.from({ length: 300_000 }, (_, i) => String(i + 1)).join("\n") + "\n";
    ok((await Deno.readTextFile(file)) === expected, "output_file differs from seq 1 300000");
    // The head and tail are whole lines in order around the marker.
    const at = lines.indexOf(marker!);
    assertEquals(lines.slice(0, at), Array.from({ length: at }, (_, i) => String(i + 1)));
    const tail = lines.slice(at + 1);
    assertEquals(
      tail,
      Array.from({ length: tail.length }, (_, i) => String(300_001 - tail.length + i)),
    );
  },
  { timeoutMs: 90_000 },
);

worldTest("bounded output: -o per call and K_MAX_OUTPUT for all", async (w) => {
  await w.kernel.create("b");
  const small = await w.kJson(["run", "-j", "-o", "100", "b", "seq 1 1000"]);
  equal(small.truncated, true);
  ok(String(small.output).length < 300, String(small.output));
  ok(String(small.output).startsWith("1\n2\n"));
  ok(String(small.output).endsWith("999\n1000"));
  const env = await w.kJson(["run", "-j", "b", "seq 1 1000"], { K_MAX_OUTPUT: "60" });
  equal(env.truncated, true);
  ok(String(env.output).length < 250, String(env.output));
  const fits = await w.kJson(["run", "-j", "-o", "100", "b", "seq 1 10"]);
  assertEquals([fits.truncated, "output_file" in fits, fits.output], [
    false,
    false,
    "1\n2\n3\n4\n5\n6\n7\n8\n9\n10",
  ]);
  const bad = await w.kJson(["run", "-j", "-o", "0", "b", "echo"]);
  assertEquals([bad.code, bad.output], [1, "-o must be a positive integer"]);
  // A running cell's output so far is bounded too.
  await w.kJson(["fire", "b", "seq 1 5000; sleep 30"]);
  const running = await waitFor("running output", async () => {
    const p = await w.kJson(["poll", "-o", "200", "b"]);
    return p.status === "running" && String(p.output).includes("5000") ? p : undefined;
  });
  assertEquals([running.truncated, String(running.output).length < 400], [true, true]);
  await w.k(["int", "b"]);
});

worldTest("metadata: every final result carries timing, exit code and truncated", async (w) => {
  await w.kernel.create("b");
  const r = await w.kJson(["run", "-j", "b", "sleep 0.2; echo timed"]);
  for (const key of ["duration_ms", "started_at", "ended_at", "exit_code", "truncated"]) {
    ok(key in r, key);
  }
  const started = Date.parse(String(r.started_at));
  const ended = Date.parse(String(r.ended_at));
  ok(ended - started >= 200, `${r.started_at} .. ${r.ended_at}`);
  ok(Math.abs(ended - started - Number(r.duration_ms)) <= 2);
  match(String(r.started_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const t = await w.kJson(["run", "-j", "-t", "1", "b", "sleep 5"]);
  for (const key of ["duration_ms", "started_at", "ended_at", "truncated"]) {
    ok(key in t, `timeout ${key}`);
  }
  await w.k(["int", "b"]);
  const interrupted = await w.kJson(["poll", "b", String(t.cell_id)]);
  assertEquals([interrupted.status, interrupted.output], ["error", "interrupted"]);
  for (const key of ["duration_ms", "started_at", "ended_at"]) {
    ok(key in interrupted, `interrupted ${key}`);
  }
});

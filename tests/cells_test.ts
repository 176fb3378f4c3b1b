// Cells in real bash and python sessions: content comes back exact and state persists.
import { deepEqual as assertEquals, equal, ok } from "node:assert/strict";
import type { FinalResult } from "../mod.ts";
import { type World, worldTest } from "./harness.ts";

async function done(w: World, session: string, code: string): Promise<string> {
  const result = await w.kernel.session(session).run(code) as FinalResult;
  equal(result.status, "done", `${code} -> ${JSON.stringify(result)}`);
  return result.output;
}

worldTest("bash: single line, multi-line loop, if, function", async (w) => {
  await w.kernel.create("b", { command: "bash" });
  equal(await done(w, "b", "echo hello"), "hello");
  equal(await done(w, "b", 'for i in 1 2 3; do\n  echo "n=$i"\ndone'), "n=1\nn=2\nn=3");
  equal(await done(w, "b", "if [ 1 -lt 2 ]; then\n  echo yes\nelse\n  echo no\nfi"), "yes");
  equal(await done(w, "b", 'greet() {\n  echo "hi $1"\n}'), "");
  equal(await done(w, "b", "greet ktty"), "hi ktty");
  equal(await done(w, "b", "true"), "");
});

worldTest("bash: state persists between cells (cwd, env, variables, functions)", async (w) => {
  const dir = await Deno.makeTempDir();
  await w.kernel.create("b");
  await done(w, "b", `cd ${dir}`);
  await done(w, "b", "export KTTY_T=persisted; LOCALV=42");
  equal(await done(w, "b", "pwd"), dir);
  equal(await done(w, "b", 'echo "$KTTY_T $LOCALV"'), "persisted 42");
  await Deno.remove(dir, { recursive: true });
});

worldTest("bash: unicode, quotes and backslashes come back exact", async (w) => {
  await w.kernel.create("b");
  equal(await done(w, "b", `echo 'é ü 中文 🎉'`), "é ü 中文 🎉");
  equal(await done(w, "b", `echo "double \\"q\\" and 'single'"`), `double "q" and 'single'`);
  equal(
    await done(w, "b", String.raw`printf '%s\n' 'back\slash \n literal'`),
    String.raw`back\slash \n literal`,
  );
  equal(await done(w, "b", `echo "$((6*7))" '$HOME'`), "42 $HOME");
});

worldTest(
  "bash: code reaches the shell exact: tmux syntax in it means nothing, long lines stay whole",
  async (w) => {
    await w.kernel.create("b");
    // Characters tmux gives a meaning in its own arguments and formats: none may reach it as such.
    equal(await done(w, "b", "echo a;"), "a");
    equal(await done(w, "b", String.raw`printf '%s\n' x\;`), "x;");
    equal(await done(w, "b", String.raw`printf '%s\n' 'y\\;'`), String.raw`y\\;`);
    equal(await done(w, "b", "-n 2>/dev/null; echo ok"), "ok");
    equal(await done(w, "b", "echo '#{session_name} #S %% ;'"), "#{session_name} #S %% ;");
    // Lines of up to 24,000 bytes (é is two).
    for (const count of [4000, 4096, 4100, 12_000]) {
      const code = `s='${"é".repeat(count)}'; echo \${#s}`;
      equal(await done(w, "b", code), String(count), `${count} × é`);
    }
  },
);

worldTest("bash: a cell typed while a slow prompt hook runs arrives whole", async (w) => {
  // The end marker comes before the prompt hooks that follow it and before readline reads again;
  // text typed meanwhile would meet the terminal in cooked mode, which echoes it and cuts a line
  // at 4095 bytes. A hook after ktty's (a higher PROMPT_COMMAND index) makes that window wide.
  await w.kernel.create("b");
  const session = w.kernel.session("b");
  equal(await done(w, "b", "PROMPT_COMMAND[99]='sleep 1.2'"), ""); // longer than a second
  const long = "y".repeat(6000);
  for (const code of [`s='${long}'; echo \${#s}`, "echo short"]) {
    const r = await session.run(code, { timeoutMs: 10_000 });
    assertEquals([r.status, r.output], ["done", code === "echo short" ? "short" : "6000"]);
  }
});

worldTest("bash: long output comes back whole and in order", async (w) => {
  await w.kernel.create("b");
  const out = await done(w, "b", "seq 1 5000");
  const expected = Array.from({ length: 5000 }, (_, i) => String(i + 1)).join("\n");
  equal(out, expected);
});

worldTest("bash: output without a trailing newline, and stderr", async (w) => {
  await w.kernel.create("b");
  equal(await done(w, "b", "printf 'no newline'"), "no newline");
  equal(await done(w, "b", "echo to-stderr >&2"), "to-stderr");
});

worldTest("bash: heredoc", async (w) => {
  await w.kernel.create("b");
  equal(await done(w, "b", "cat <<'EOF'\nline one\n  line two\nEOF"), "line one\n  line two");
});

worldTest("python: expressions, statements, state between cells", async (w) => {
  await w.kernel.create("py", { command: "python3 -i" });
  equal(await done(w, "py", "x = 41"), "");
  equal(await done(w, "py", "x + 1"), "42");
  equal(await done(w, "py", "import math"), "");
  equal(await done(w, "py", "print(math.sqrt(x + 8))"), "7.0");
  equal(await done(w, "py", "'quote\"s'"), `'quote"s'`);
});

worldTest("python: functions with blank lines, classes, loops, then a statement", async (w) => {
  await w.kernel.create("py", { command: "python3 -i" });
  const code = [
    "def double(a):",
    "    b = a * 2",
    "",
    "    return b",
    "class Greeter:",
    "    def __init__(self, name):",
    "        self.name = name",
    "",
    "    def hello(self):",
    "        return f'hello {self.name}'",
    "for i in range(3):",
    "    if i % 2 == 0:",
    "        print(double(i))",
    "    else:",
    "        print('odd')",
    "print(Greeter('ktty').hello())",
  ].join("\n");
  equal(await done(w, "py", code), "0\nodd\n4\nhello ktty");
  equal(await done(w, "py", "double(21)"), "42");
});

worldTest("python: unicode, backslashes, exceptions, long output", async (w) => {
  await w.kernel.create("py", { command: "python3 -i" });
  equal(await done(w, "py", `print("é 中 \\\\ \\"q\\"")`), `é 中 \\ "q"`);
  const tb = await done(w, "py", "1/0");
  ok(tb.includes("ZeroDivisionError: division by zero"), tb);
  const out = await done(w, "py", "for i in range(3000):\n    print(i)");
  assertEquals(out.split("\n"), Array.from({ length: 3000 }, (_, i) => String(i)));
});

worldTest("cli: run -j returns one JSON object with the SPEC fields", async (w) => {
  equal((await w.k(["new", "w", "bash"])).code, 0);
  const r = await w.kJson(["run", "-j", "w", "echo hi"]);
  equal(r.code, 0);
  equal(r.status, "done");
  equal(r.output, "hi");
  ok(/^[0-9a-f]{12}$/.test(String(r.cell_id)));
  ok(typeof r.duration_ms === "number");
  ok("exit_code" in r);
  const text = await w.k(["run", "w", "echo plain"]);
  assertEquals([text.code, text.stdout], [0, "plain\n"]);
  const alias = await w.kJson(["await", "-j", "w", "echo via await"]);
  equal(alias.output, "via await");
});

worldTest("bash: with bracketed paste turned off later, cells stop waiting for it", async (w) => {
  await w.kernel.create("b");
  const meta = async () => JSON.parse(await Deno.readTextFile(`${w.sessionDir("b")}/meta.json`));
  equal((await meta()).bracketed_paste, true);
  equal(await done(w, "b", "bind 'set enable-bracketed-paste off'"), "");
  equal(await done(w, "b", "echo 0"), "0"); // waits for it once (bounded), then notes it is off
  equal((await meta()).bracketed_paste, false);
  for (let i = 1; i < 3; i++) equal(await done(w, "b", `echo ${i}`), String(i));
  equal(await done(w, "b", "for i in 1 2; do\n  echo $i\ndone"), "1\n2");
});

worldTest("bash: without its line editor (set +o emacs) cells still run", async (w) => {
  await w.kernel.create("b");
  equal(await done(w, "b", "set +o emacs; set +o vi"), "");
  equal(await done(w, "b", "echo after"), "after"); // typed once the shell waits in cooked mode
  equal(await done(w, "b", "echo again"), "again");
});

worldTest(
  "bash: a prompt hook that reads a key briefly neither eats the code nor turns waiting off",
  async (w) => {
    await w.kernel.create("b");
    equal(await done(w, "b", `PROMPT_COMMAND+=("read -t 0.6 -s -n 1 __kx || true")`), "");
    equal(await done(w, "b", "echo hello-world"), "hello-world");
    const meta = JSON.parse(await Deno.readTextFile(`${w.sessionDir("b")}/meta.json`));
    equal(meta.bracketed_paste, true);
  },
);

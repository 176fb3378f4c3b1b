// Shell integration: exact boundaries and exit codes from markers, for bash, sh, zsh, python, node.
import { deepEqual as assertEquals, equal, match, ok } from "node:assert/strict";
import type { DoneResult, FinalResult } from "../mod.ts";
import { type World, worldTest } from "./harness.ts";

async function cell(w: World, session: string, code: string): Promise<DoneResult> {
  const r = await w.kernel.session(session).run(code, { timeoutMs: 15_000 }) as FinalResult;
  equal(r.status, "done", `${code} -> ${JSON.stringify(r)}`);
  return r as DoneResult;
}

async function hasZsh(): Promise<boolean> {
  return await new Deno.Command("zsh", { args: ["-fc", "true"] }).output().then(
    (o) => o.success,
    () => false,
  );
}

worldTest(
  "bash: integration is the default; new + immediate run; status names the mode",
  async (w) => {
    const created = await w.k(["new", "b", "bash"]);
    assertEquals([created.code, created.stdout.trim()], [0, "OK b (integration mode)"]);
    const r = await w.kJson(["run", "-j", "b", "echo first"]);
    assertEquals([r.output, r.exit_code], ["first", 0]);
    equal((await w.kJson(["status", "-j", "b"])).mode, "integration");
  },
);

worldTest("bash: runs of 7, 50 and 500 identical lines come back whole", async (w) => {
  await w.kernel.create("b");
  const seven = await cell(w, "b", "for i in 1 2 3 4 5 6 7; do echo x; done; echo END");
  equal(seven.output, [...Array(7).fill("x"), "END"].join("\n"));
  equal((await cell(w, "b", "yes same | head -n 50")).output, Array(50).fill("same").join("\n"));
  equal((await cell(w, "b", "yes same | head -n 500")).output, Array(500).fill("same").join("\n"));
  // The next cell starts clean.
  equal((await cell(w, "b", "echo next")).output, "next");
});

worldTest(
  "bash: prompt look-alikes and a fake marker without the nonce are just output",
  async (w) => {
    await w.kernel.create("b");
    const lookalike = await cell(
      w,
      "b",
      "echo 'root@host:~# '; echo '>>> '; echo '$ '; echo '(gdb) '",
    );
    equal(lookalike.output, "root@host:~# \n>>> \n$ \n(gdb) ");
    const fake = await cell(
      w,
      "b",
      String
        .raw`printf 'before\033]133;D;0;k=0000000000000000\007 after\n'; printf '\033]133;C;k=nope\007x\n'; echo end`,
    );
    assertEquals([fake.output, fake.exit_code], ["before after\nx\nend", 0]);
  },
);

worldTest("bash: exit codes 0, 1, 3, 130 and the last command's status", async (w) => {
  await w.kernel.create("b");
  for (
    const [code, want] of [["true", 0], ["false", 1], ["(exit 3)", 3], ["(exit 130)", 130]] as const
  ) {
    equal((await cell(w, "b", code)).exit_code, want, code);
  }
  equal((await cell(w, "b", "false\necho last-wins")).exit_code, 0);
  equal((await cell(w, "b", "echo first\nfalse")).exit_code, 1);
  const interrupted = await w.kJson(["fire", "b", "sleep 30"]);
  equal(interrupted.status, "fired");
  equal((await w.k(["int", "b"])).code, 0);
  equal((await cell(w, "b", "echo $?")).output, "130");
});

worldTest(
  "bash: multi-line cells keep state: cd, export, functions, aliases, heredocs",
  async (w) => {
    const dir = await Deno.makeTempDir();
    await w.kernel.create("b");
    const setup = await cell(
      w,
      "b",
      `cd ${dir}\nexport KT_VAR=exported\ngreet() {\n  echo "hello $1"\n}\nalias shout='echo LOUD'\nshout\ngreet inside`,
    );
    equal(setup.output, "LOUD\nhello inside");
    equal(
      (await cell(w, "b", "pwd; echo $KT_VAR; greet again; shout")).output,
      `${dir}\nexported\nhello again\nLOUD`,
    );
    const heredoc = await cell(w, "b", "cat <<EOF\nline one\n  indented $KT_VAR\nEOF\necho after");
    equal(heredoc.output, "line one\n  indented exported\nafter");
    await Deno.remove(dir, { recursive: true });
  },
);

worldTest("bash: set -u, pipefail, and a user replacing PS1 and PROMPT_COMMAND", async (w) => {
  await w.kernel.create("b");
  await cell(w, "b", "set -u; set -o pipefail");
  const unbound = await cell(w, "b", "echo $KT_NOT_SET");
  match(unbound.output, /KT_NOT_SET: unbound variable/);
  equal(unbound.exit_code, 1);
  equal((await cell(w, "b", "false | true")).exit_code, 1);
  await cell(w, "b", `PS1='custom> '; PROMPT_COMMAND='KT_PC=ran'; PS0=''`);
  const after = await cell(w, "b", "echo still-exact; echo $KT_PC; (exit 5)");
  assertEquals([after.output, after.exit_code], ["still-exact\nran", 5]);
  equal((await cell(w, "b", "echo twice")).output, "twice");
});

worldTest(
  "bash: an unknown program falls back to repeat mode; --prompt=repeat chooses it",
  async (w) => {
    const unknown = await w.k(["new", "u", "sh", "-c", "'exec bash --norc -i'"]);
    assertEquals([unknown.code, unknown.stdout.trim()], [0, "OK u (repeat mode)"]);
    equal((await w.kJson(["run", "-j", "u", "echo via-repeat"])).output, "via-repeat");
    const forced = await w.k(["new", "r", "bash", "--prompt=repeat"]);
    assertEquals([forced.code, forced.stdout.trim()], [0, "OK r (repeat mode)"]);
    const r = await w.kJson(["run", "-j", "r", "echo forced"]);
    assertEquals([r.output, r.exit_code], ["forced", null]);
  },
);

worldTest(
  "bash: when the markers cannot be installed, the session falls back to repeat and says so",
  async (w) => {
    // Restricted bash refuses to source a path with a slash: the integration script never loads.
    const r = await w.k(["new", "rb", "bash", "--norc", "-r"]);
    equal(r.code, 0);
    match(
      r.stdout,
      /^OK rb \(repeat mode; shell integration failed: no shell-integration marker within 5 s\)\n$/,
    );
    const status = await w.kJson(["status", "-j", "rb"]);
    assertEquals([status.mode, typeof status.fallback], ["repeat", "string"]);
    equal((await w.kJson(["run", "-j", "rb", "echo works-anyway"])).output, "works-anyway");
  },
  { timeoutMs: 40_000 },
);

worldTest("sh (dash): exact output, exit codes, multi-line state", async (w) => {
  await w.kernel.create("d", { command: "dash" });
  equal(
    (await cell(w, "d", "for i in 1 2 3 4 5 6 7; do echo x; done")).output,
    Array(7).fill("x").join("\n"),
  );
  const multi = await cell(w, "d", "X=5\ncd /tmp\nfor i in 1 2; do\n  echo $i\ndone\n(exit 4)");
  assertEquals([multi.output, multi.exit_code], ["1\n2", 4]);
  equal((await cell(w, "d", 'echo "$X $(pwd)"')).output, "5 /tmp");
  await cell(w, "d", "PS1='changed$ '");
  equal((await cell(w, "d", "echo after-ps1; false")).exit_code, 1);
  equal((await cell(w, "d", "echo again")).output, "again");
});

worldTest("zsh: exact output, exit codes, multi-line state", async (w) => {
  if (!(await hasZsh())) throw new Error("zsh is not installed (setup.sh installs it)");
  await w.kernel.create("z", { command: "zsh -f" });
  const r = await cell(w, "z", "echo hi; false");
  assertEquals([r.output, r.exit_code], ["hi", 1]);
  const multi = await cell(
    w,
    "z",
    "cd /tmp\nexport ZV=1\nfor i in 1 2; do\n  echo $i\ndone\nprintf 'no-newline'",
  );
  assertEquals([multi.output, multi.exit_code], ["1\n2\nno-newline", 0]);
  equal((await cell(w, "z", "echo $(pwd) $ZV")).output, "/tmp 1");
  equal((await cell(w, "z", "repeat 50 echo same")).output, Array(50).fill("same").join("\n"));
});

worldTest(
  "python: blank lines in bodies, expression echo, tracebacks with exit 1 and error type",
  async (w) => {
    await w.kernel.create("py", { command: "python3" });
    const defs = await cell(
      w,
      "py",
      "def f(a):\n    b = a * 2\n\n    return b\n\n\nclass C:\n\n    def m(self):\n        return 'm'\nprint(f(2))\nC().m()\nf(5)",
    );
    assertEquals([defs.output, defs.exit_code], ["4\n'm'\n10", 0]);
    const value = await cell(w, "py", "x = 41\nx + 1");
    assertEquals([value.output, value.exit_code, value.error], ["42", 0, undefined]);
    const boom = await cell(w, "py", "print('before')\n1/0\nprint('not reached')");
    assertEquals([boom.exit_code, boom.error], [1, "ZeroDivisionError"]);
    ok(boom.output.startsWith("before\nTraceback (most recent call last):"), boom.output);
    ok(boom.output.endsWith("ZeroDivisionError: division by zero"), boom.output);
    ok(!boom.output.includes("not reached"));
    const syntax = await cell(w, "py", "def broken(:");
    assertEquals([syntax.exit_code, syntax.error], [1, "SyntaxError"]);
    equal(
      (await cell(w, "py", "for i in range(7):\n    print('x')")).output,
      Array(7).fill("x").join("\n"),
    );
    await cell(w, "py", "import sys\nsys.ps1 = 'changed> '");
    equal((await cell(w, "py", "x")).output, "41");
  },
);

worldTest("node: multi-line functions, persistent declarations, await, errors", async (w) => {
  await w.kernel.create("js", { command: "node" });
  await cell(w, "js", "const base = 40");
  const fn = await cell(w, "js", "function add(x) {\n  return x + 2;\n}\n\nadd(base)");
  assertEquals([fn.output, fn.exit_code], ["42", 0]);
  equal(
    (await cell(w, "js", "await new Promise((r) => setTimeout(r, 50)); 'awaited'")).output,
    "'awaited'",
  );
  const err = await cell(w, "js", "missing()");
  assertEquals([err.exit_code, err.error], [1, "ReferenceError"]);
  match(err.output, /^Uncaught ReferenceError: missing is not defined/);
  equal((await cell(w, "js", "console.log('log'); base")).output, "log\n40");
});

// The python family (python3, ipython, pdb), each with its markers: exact output, state that
// persists, errors with exit_code/error, "" for a cell that prints nothing, prompt answers; a
// debugger a cell's breakpoint() reaches holds the session until the call is done; profiles chosen
// with --program, and an embedder's.
import { deepEqual, equal, ok } from "node:assert/strict";
import type { DoneResult, FinalResult } from "../mod.ts";
import { endMarker, Kernel, type ProgramDefinition, startMarker } from "../mod.ts";
import { parseOneJson, timed, waitFor, type World, worldTest } from "./harness.ts";

/** How long a cell may take, end to end, for a program that answers at once (under load). */
const PROMPT_CELL_MS = 2500;

function hasProgram(name: string): boolean {
  const path = Deno.env.get("PATH") ?? "";
  return path.split(":").some((dir) => {
    try {
      return Deno.statSync(`${dir}/${name}`).isFile;
    } catch {
      return false;
    }
  });
}

/** Runs `code`; asserts it is done within the bound, and returns its result. */
async function cell(w: World, session: string, code: string): Promise<DoneResult> {
  const { value, ms } = await timed(() => w.kernel.session(session).run(code));
  const result = value as FinalResult;
  equal(result.status, "done", `${code} -> ${JSON.stringify(result)}`);
  ok(ms < PROMPT_CELL_MS, `${code}: ${ms} ms`);
  return result as DoneResult;
}

/** The family's common shape: a definition, its use, an error, an empty cell. */
async function definitionUseError(w: World, s: string, error: string): Promise<void> {
  equal((await cell(w, s, "def double(n):\n    return 2 * n\n")).output, "");
  const use = await cell(w, s, "double(21)");
  deepEqual([use.output, use.exit_code, use.error], ["42", 0, undefined]);
  const failed = await cell(w, s, "1/0");
  deepEqual([failed.exit_code, failed.error], [1, error]);
  ok(failed.output.endsWith("ZeroDivisionError: division by zero"), failed.output);
  const empty = await cell(w, s, "x = double(3)");
  deepEqual([empty.output, empty.exit_code], ["", 0]);
  equal((await cell(w, s, 'print("a")\nprint(x)')).output, "a\n6");
}

worldTest("python3: definition, use, error, empty cell, each at once", async (w) => {
  const created = await w.kernel.create("py", { command: "python3", cwd: w.base });
  equal(created.mode, "integration");
  await definitionUseError(w, "py", "ZeroDivisionError");
});

/** ipython as pip installs it, else as Debian's ipython3 package does (what setup.sh installs). */
const IPYTHON = ["ipython", "ipython3"].find(hasProgram) ?? "ipython";
const NO_IPYTHON = !hasProgram(IPYTHON) &&
  "ipython is not installed (pip install ipython, or apt install ipython3)";

worldTest("ipython: definition, use, error, empty cell, magics; no blank lines", async (w) => {
  const created = await w.kernel.create("ip", { command: IPYTHON, cwd: w.base });
  deepEqual([created.program, created.mode], ["ipython", "integration"]);
  await definitionUseError(w, "ip", "ZeroDivisionError");
  const syntax = await cell(w, "ip", "def (:");
  deepEqual([syntax.exit_code, syntax.error], [1, "SyntaxError"]);
  equal((await cell(w, "ip", "%time y = 2")).exit_code, 0);
  equal((await cell(w, "ip", "!echo shell")).output, "shell");
  // Its history is the session's own (IPYTHONDIR in the session's directory).
  const history = await w.kernel.session("ip").run(
    "import IPython; IPython.get_ipython().history_manager.hist_file",
  ) as FinalResult;
  ok(history.status === "done" && history.output.includes(`${w.home}/`), history.output);
}, { skip: NO_IPYTHON, timeoutMs: 60_000 });

worldTest("pdb: python3 -m pdb prog.py steps once per cell, exact, errors reported", async (w) => {
  await Deno.writeTextFile(`${w.base}/prog.py`, "a = 1\nb = a + 1\nc = b * 10\nprint('c is', c)\n");
  const created = await w.kernel.create("d", { command: "python3 -m pdb prog.py", cwd: w.base });
  deepEqual([created.program, created.mode], ["pdb", "integration"]);
  // One `n` is one step: pdb would repeat it on an empty Enter, and none is typed.
  const step = await cell(w, "d", "n");
  ok(step.output.includes("-> b = a + 1"), step.output);
  equal((await cell(w, "d", "p a")).output, "1");
  const failed = await cell(w, "d", "p nothere");
  deepEqual([failed.output, failed.exit_code, failed.error], [
    "*** NameError: name 'nothere' is not defined",
    1,
    "NameError",
  ]);
  equal((await cell(w, "d", "!z = 5")).output, "");
  // Lines of a cell are commands in turn.
  equal((await cell(w, "d", "p z\np z + 1")).output, "5\n6");
  const next = await cell(w, "d", "n");
  ok(next.output.includes("-> c = b * 10"), next.output);
});

/** A function that stops at a breakpoint between two prints. */
const STOPS = 'def g(n):\n    print("before", n)\n    breakpoint()\n    print("after", n)\n' +
  "    return n * 2\n";

async function debuggerInCell(w: World, s: string): Promise<void> {
  equal((await cell(w, s, STOPS)).output, "");
  // The cell ends at the debugger's prompt, with what the call printed so far.
  const stopped = await cell(w, s, "g(21)");
  equal(stopped.nested, "pdb");
  ok(stopped.output.startsWith("before 21\n"), stopped.output);
  ok(stopped.output.endsWith('-> print("after", n)'), stopped.output);
  deepEqual((await w.kernel.session(s).status()).program, [
    (await w.kernel.session(s).info()).program,
    "pdb",
  ]);
  const status = await w.k(["status", s]);
  ok(status.stdout.includes("program: "), status.stdout);
  ok(/program: \w+ → pdb/.test(status.stdout), status.stdout);
  // The next cells are debugger commands, each exact.
  const p = await cell(w, s, "p n");
  deepEqual([p.output, p.nested], ["21", "pdb"]);
  const bad = await cell(w, s, "p nothere");
  deepEqual([bad.exit_code, bad.error, bad.nested], [1, "NameError", "pdb"]);
  // `c` runs on: the rest of the original call's output, and python's own prompt is back.
  const on = await cell(w, s, "c");
  equal(on.nested, undefined);
  equal(on.exit_code, 0);
  equal(on.output, "after 21\n42");
  deepEqual((await w.kernel.session(s).status()).program.length, 1);
  equal((await cell(w, s, "double = 3\ndouble")).output, "3");
}

worldTest("python3: a breakpoint() in a cell hands the session to pdb until c", async (w) => {
  await w.kernel.create("py", { command: "python3", cwd: w.base });
  await debuggerInCell(w, "py");
});

worldTest("ipython: a breakpoint() in a cell hands the session to pdb until c", async (w) => {
  await w.kernel.create("ip", { command: IPYTHON, cwd: w.base });
  await debuggerInCell(w, "ip");
}, { skip: NO_IPYTHON, timeoutMs: 60_000 });

/**
 * Ctrl-C after a debugger's `c` is a KeyboardInterrupt, at the prompt and in the code `c` let
 * run: pdb's own handler stayed installed and broke into pdb again, and at the prompt that pdb
 * (which cannot re-enter readline) left the session naming it, every later cell typed to it.
 * pdb.set_trace() and pdb.pm() hand the session over as a breakpoint() does.
 */
async function noDebuggerLeftBehind(w: World, s: string): Promise<void> {
  const session = w.kernel.session(s);
  const defs = "keep = 42\nimport time\n" + STOPS +
    'def slow():\n    breakpoint()\n    print("sleeping", flush=True)\n    time.sleep(30)\n' +
    '    print("never")\n';
  equal((await cell(w, s, defs)).output, "");
  equal((await cell(w, s, "g(1)")).nested, "pdb");
  equal((await cell(w, s, "c")).output, "after 1\n2");
  deepEqual((await w.kJson(["int", "-j", s])).prompt_back, true);
  deepEqual((await session.status()).program.length, 1, "a debugger named after k int");
  equal((await cell(w, s, "x = 1\nx + keep")).output, "43");
  equal((await cell(w, s, "slow()")).nested, "pdb");
  const on = await w.kJson(["fire", s, "c"]);
  await waitFor("the code c let run", async () => {
    return String((await w.kJson(["poll", s, String(on.cell_id)])).output).includes("sleeping");
  });
  const int = await w.kJson(["int", "-j", s]);
  equal(int.prompt_back, true, JSON.stringify(int));
  const ended = await w.kJson(["poll", s, String(on.cell_id)]);
  deepEqual([ended.status, ended.output], ["error", "interrupted"]);
  deepEqual((await session.status()).program.length, 1, "a debugger named after k int");
  equal((await cell(w, s, "keep")).output, "42");
  // pdb's own entry points.
  equal((await cell(w, s, "import pdb; pdb.set_trace(); y = keep")).nested, "pdb");
  deepEqual([(await cell(w, s, "p keep")).output, (await cell(w, s, "c")).nested], [
    "42",
    undefined,
  ]);
  equal((await session.run("1/0")).status, "done");
  const pm = await cell(w, s, "pdb.pm()");
  equal(pm.nested, "pdb");
  ok(pm.output.endsWith("-> 1/0"), pm.output);
  equal((await cell(w, s, "q")).nested, undefined);
  equal((await cell(w, s, "keep + 1")).output, "43");
  // pdb's `debug` runs a debugger inside the debugger: leaving it leaves the outer one named.
  equal((await cell(w, s, "def f():\n    return 41\nbreakpoint()\nz = 2")).nested, "pdb");
  equal((await cell(w, s, "debug f()")).nested, "pdb");
  equal((await cell(w, s, "c")).nested, "pdb");
  deepEqual([(await cell(w, s, "p f() + 1")).output, (await cell(w, s, "c")).nested], [
    "42",
    undefined,
  ]);
  equal((await cell(w, s, "z")).output, "2");
}

worldTest(
  "python3: k int after a debugger's c leaves none behind; pdb.set_trace(), pdb.pm()",
  async (w) => {
    await w.kernel.create("py", { command: "python3", cwd: w.base });
    await noDebuggerLeftBehind(w, "py");
  },
  { timeoutMs: 60_000 },
);

worldTest(
  "ipython: k int after a debugger's c leaves none behind; pdb.set_trace(), pdb.pm()",
  async (w) => {
    await w.kernel.create("ip", { command: IPYTHON, cwd: w.base });
    await noDebuggerLeftBehind(w, "ip");
  },
  { skip: NO_IPYTHON, timeoutMs: 60_000 },
);

worldTest("k new --program=NAME picks the profile; an unknown name is refused", async (w) => {
  const r = await w.k(
    ["new", "--program=python", "hid", "sh", "-c", "'exec python3 -q'"],
    {},
    w.base,
  );
  equal(r.code, 0, r.stderr);
  ok(r.stdout.includes("integration mode"), r.stdout);
  equal((await w.kernel.session("hid").info()).program, "python");
  equal((await cell(w, "hid", "6*7")).output, "42");
  const bad = await w.k(["new", "--program=nosuch", "x", "bash"], {}, w.base);
  ok(bad.code !== 0, bad.stdout + bad.stderr);
  ok(bad.stderr.includes("unknown program 'nosuch'"), bad.stderr);
  // An explicit --prompt wins over the profile.
  const exact = await w.k(["new", "--program=python", "ex", "python3", "--prompt=>>>"], {}, w.base);
  ok(exact.stdout.includes("exact mode"), exact.stdout + exact.stderr);
}, { timeoutMs: 60_000 });

/** A tiny REPL no profile knows: `calc> ` reads a line, `:load FILE` runs a file's python. */
const CALC = `#!/usr/bin/env python3
import sys
env = {"prompt": "calc> ", "start": "", "status": 0}
while True:
    sys.stdout.write(str(env["prompt"]))
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        break
    line = line.strip()
    if line.startswith(":load "):
        exec(open(line[6:]).read(), env)
        continue
    sys.stdout.write(env["start"])
    try:
        print(eval(line, {}))
        env["status"] = 0
    except Exception as e:
        print("error:", e)
        env["status"] = 1
`;

/** The embedder's profile of calc: its prompt carries the end marker, `:load` installs it. */
const calcProfile: ProgramDefinition = {
  kind: "calc",
  names: /^calc$/,
  integration: {
    file: "calc.py",
    script: (nonce) =>
      `class Prompt:\n    def __str__(self):\n` +
      `        return ${JSON.stringify(endMarker("%d", nonce))} % status + "calc> "\n` +
      `prompt = Prompt()\nstart = ${JSON.stringify(startMarker(nonce))}\n`,
    installLine: (path) => `:load ${path}`,
    typeCell: (code) => ({ lines: [code.trim()] }),
  },
};

worldTest("an embedder's profile gets markers; a k without it still runs its cells", async (w) => {
  await Deno.writeTextFile(`${w.base}/calc`, CALC, { mode: 0o755 });
  const kernel = new Kernel({ home: w.home, socket: w.socket, programs: [calcProfile] });
  const made = await kernel.create("c", { command: `${w.base}/calc`, cwd: w.base });
  deepEqual([made.program, made.mode], ["calc", "integration"]);
  const ok1 = await kernel.session("c").run("6*7") as DoneResult;
  deepEqual([ok1.status, ok1.output, ok1.exit_code], ["done", "42", 0]);
  const bad = await kernel.session("c").run("1/0") as DoneResult;
  deepEqual([bad.status, bad.output, bad.exit_code], ["done", "error: division by zero", 1]);
  // k (another process) has no such profile: it types the cell as written, and says so.
  const r = parseOneJson(await w.k(["run", "-j", "c", "2+3"]), "k run");
  deepEqual([r.status, r.output, r.exit_code], ["done", "5", 0]);
  const status = await w.k(["status", "c"]);
  ok(status.stdout.includes("program profile 'calc' is not known"), status.stdout);
}, { timeoutMs: 60_000 });

/** A python3.13 that runs: on PATH, or one pyenv installed (not in Debian 12's apt). */
function python313(): string | undefined {
  const home = Deno.env.get("HOME") ?? "";
  const root = Deno.env.get("PYENV_ROOT") ?? `${home}/.pyenv`;
  let pyenv: string[] = [];
  try {
    pyenv = [...Deno.readDirSync(`${root}/versions`)].filter((e) => e.name.startsWith("3.13"))
      .map((e) => `${root}/versions/${e.name}/bin/python3.13`);
  } catch { /* no pyenv */ }
  return ["python3.13", ...pyenv].find((p) => {
    try {
      return new Deno.Command(p, { args: ["--version"], stdout: "null", stderr: "null" })
        .outputSync().success;
    } catch {
      return false;
    }
  });
}

const PY313 = python313();

worldTest(
  "python 3.13 (pyrepl with and without colour, PYTHON_BASIC_REPL) gives 3.11's output",
  async (w) => {
    // NO_COLOR: pyrepl then takes ps1 as it is, which must be a str.
    const envs: [string, Record<string, string>][] = [
      ["pyrepl", { NO_COLOR: "" }],
      ["plain", { NO_COLOR: "1" }],
      ["basic", { PYTHON_BASIC_REPL: "1" }],
    ];
    for (const [name, env] of envs) {
      await w.kernel.create(name, { command: `${PY313}`, cwd: w.base, env });
      await definitionUseError(w, name, "ZeroDivisionError");
      // pyrepl moves up a row and feeds a line before each prompt it draws, input()'s and
      // pdb's too: that was a blank line in the output (`\nin? abc`, `3\n`).
      const asked = await w.kJson(["fire", name, 'v = input("in? "); print("got", v)']);
      await waitFor("input() asking", async () => (await w.paneLog(name)).includes("in? "));
      equal((await w.k(["send", name, "abc"])).code, 0);
      const got = await waitFor("the answer", async () => {
        const p = await w.kJson(["poll", name, String(asked.cell_id)]);
        return p.status === "done" ? p : undefined;
      });
      equal(got.output, "in? abc\ngot abc", name);
      equal((await cell(w, name, STOPS)).output, "");
      equal((await cell(w, name, "g(3)")).nested, "pdb");
      equal((await cell(w, name, "p n")).output, "3", name);
      equal((await cell(w, name, "c")).output, "after 3\n6", name);
    }
  },
  {
    skip: !PY313 &&
      "python3.13 is not installed (Debian 12's apt has none; pyenv has none): 3.11 only",
    timeoutMs: 60_000,
  },
);

// Integration profiles of REPLs beyond the shells, python and node (issue 15): psql, sqlite3, lua,
// R, irb, pry, gdb. Each made with a plain `k new s <program>`: a definition, its use in the next
// cell, the program's own error (exit_code, error), an empty output, each back at once.
import { deepEqual as assertEquals, equal, match, ok } from "node:assert/strict";
import { type Cleanup, runCommand, type World, worldTest } from "./harness.ts";

/** A cell's expected result: its output (exact, or a pattern) and exit code (and error). */
interface Expect {
  code: string;
  output: string | RegExp;
  exitCode?: number;
  error?: string | RegExp;
  /** The program nested in the session's own that reads the next cells (`nested`). */
  nested?: string;
}

/** One program's case. */
interface ReplCase {
  name: string;
  /** The program that must be installed. */
  program: string;
  /** The session's command line, as words, given a private dir (what it starts, it stops). */
  command: (dir: string, cleanup: Cleanup) => Promise<string[]>;
  /** The cells, in order. */
  cells: Expect[];
}

/** A generous bound on one cell (-t), and the much shorter one its answer must come within. */
const CELL_TIMEOUT_S = 30;
const PROMPT_MS = 5_000;

function installed(program: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${program}`], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

async function runCell(w: World, cell: Expect): Promise<void> {
  const r = await w.kJson(["run", "-j", "-t", String(CELL_TIMEOUT_S), "s", cell.code]);
  const what = `${cell.code} -> ${JSON.stringify(r)}`;
  equal(r.status, "done", what);
  if (typeof cell.output === "string") equal(r.output, cell.output, what);
  else match(String(r.output), cell.output, what);
  equal(r.exit_code, cell.exitCode ?? 0, what);
  if (cell.error === undefined) equal(r.error, undefined, what);
  else if (typeof cell.error === "string") equal(r.error, cell.error, what);
  else match(String(r.error), cell.error, what);
  equal(r.nested, cell.nested, what);
  ok(Number(r.duration_ms) < PROMPT_MS, `not back at once: ${what}`);
}

/**
 * A throwaway PostgreSQL server (a unix socket in its dir, no TCP), run as the `postgres` user
 * when this is root (initdb refuses root); stopped and removed at cleanup. Returns psql's command.
 */
async function startPostgres(_dir: string, cleanup: Cleanup): Promise<string[]> {
  const bin = await postgresBin();
  // Its own dir: the world's is private to this user, and the server runs as another.
  const dir = await Deno.makeTempDir({ prefix: "ktty-pg-" });
  cleanup.add(() => Deno.remove(dir, { recursive: true }));
  const asPostgres = Deno.uid() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
  if (Deno.uid() === 0) await runCommand("chown", ["postgres", dir]);
  const run = async (argv: string[]) => {
    const all = [...asPostgres, ...argv];
    const r = await runCommand(all[0] ?? "", all.slice(1));
    equal(r.code, 0, `${argv.join(" ")}: ${r.stderr}`);
  };
  await run([`${bin}/initdb`, "-D", `${dir}/data`, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const port = String(20_000 + Math.floor(Math.random() * 20_000));
  const options = `-k ${dir} -p ${port} -c listen_addresses=''`;
  await run([
    `${bin}/pg_ctl`,
    "-D",
    `${dir}/data`,
    "-o",
    options,
    "-w",
    "-l",
    `${dir}/log`,
    "start",
  ]);
  cleanup.add(() => run([`${bin}/pg_ctl`, "-D", `${dir}/data`, "-m", "immediate", "-w", "stop"]));
  return ["psql", "-h", dir, "-p", port, "-U", "postgres"];
}

/** The directory of the newest installed PostgreSQL server's programs, or "". */
async function postgresBin(): Promise<string> {
  const versions: number[] = [];
  try {
    for await (const e of Deno.readDir("/usr/lib/postgresql")) {
      if (/^[0-9]+$/.test(e.name)) versions.push(Number(e.name));
    }
  } catch {
    return "";
  }
  const newest = versions.sort((a, b) => b - a)[0];
  return newest === undefined ? "" : `/usr/lib/postgresql/${newest}/bin`;
}

const POSTGRES_SERVER = await postgresBin().then((bin) => bin !== "" && installed(`${bin}/initdb`));

const CASES: ReplCase[] = [];

CASES.push({
  name: "psql",
  program: POSTGRES_SERVER ? "psql" : "postgresql-server-initdb",
  command: startPostgres,
  cells: [
    { code: "create table t (a int, b text);", output: "CREATE TABLE" },
    {
      code: "insert into t values (1, 'one'), (2, 'two');\nselect b from t where a = 2;",
      output: "INSERT 0 2\n  b  \n-----\n two\n(1 row)\n",
    },
    {
      code: "select * from missing;",
      output: /^psql:\S+:1: ERROR: {2}relation "missing" does not exist\nLINE 1: select \* from/,
      exitCode: 1,
      error: "42P01",
    },
    { code: "\\set quiet_var 1", output: "" },
    {
      code: "\\set v 3\nselect :v / 0;\nselect 2 as two",
      output: /zero[^]*two/,
      exitCode: 1,
      error: "22012",
    },
  ],
});

CASES.push({
  name: "sqlite3",
  program: "sqlite3",
  command: () => Promise.resolve(["sqlite3"]),
  cells: [
    { code: "create table t (a int, b text);", output: "" },
    {
      code: "insert into t values (1, 'one'), (2, 'two');\n.mode list\nselect b from t where a = 2",
      output: "two",
    },
    {
      code: "select * from missing;",
      output: /^Parse error.*no such table: missing$/,
      exitCode: 1,
    },
    { code: "select count(*) from t;", output: "2" },
  ],
});

CASES.push({
  name: "lua",
  program: "lua5.4",
  command: () => Promise.resolve(["lua5.4"]),
  cells: [
    { code: "function sq(x)\n  return x * x\nend", output: "" },
    { code: "sq(7), 'seven'", output: "49\tseven" },
    {
      code: "nosuch()",
      output: /^stdin:1: attempt to call a nil value \(global 'nosuch'\)\nstack traceback:/,
      exitCode: 1,
      error: "runtime",
    },
    { code: "local y = sq(2)", output: "" },
  ],
});

CASES.push({
  name: "R",
  program: "R",
  command: () => Promise.resolve(["R"]),
  cells: [
    { code: "sq <- function(x) {\n  x * x\n}", output: "" },
    { code: "sq(7)\ninvisible(8)\nsq(1:2)", output: "[1] 49\n[1] 1 4" },
    {
      code: "sq('a')\nprint('not reached')",
      output: "Error in x * x : non-numeric argument to binary operator",
      exitCode: 1,
      error: "simpleError",
    },
    { code: "y <- sq(2)", output: "" },
  ],
});

CASES.push({
  name: "irb",
  program: "irb",
  command: () => Promise.resolve(["irb"]),
  cells: [
    { code: "def sq(x)\n  x * x\nend", output: "=> :sq" },
    { code: "sq(7)", output: "=> 49" },
    {
      code: "nosuch(1)",
      output: /^\(irb\):1:in .*undefined method .nosuch' for main:Object \(NoMethodError\)$/,
      exitCode: 1,
      error: "NoMethodError",
    },
    { code: "# a comment only", output: "" },
  ],
});

CASES.push({
  name: "pry",
  program: "pry",
  command: () => Promise.resolve(["pry"]),
  cells: [
    { code: "def sq(x)\n  x * x\nend", output: "=> :sq" },
    { code: "sq(7)", output: "=> 49" },
    {
      code: "nosuch(1)",
      output:
        /^NoMethodError: undefined method .nosuch' for main:Object\nfrom \(pry\):\d+:in .__pry__'$/,
      exitCode: 1,
      error: "NoMethodError",
    },
    { code: "# a comment only", output: "" },
    // pry's own: its last value, its commands (`cd` into an object), a command's error.
    { code: "_ex_.class", output: "=> NoMethodError" },
    { code: "show-source sq", output: /^\nFrom: \(pry\):1:\n[^]*\ndef sq\(x\)\n {2}x \* x\nend$/ },
    { code: "cd 6", output: "" },
    { code: "self * 7", output: "=> 42" },
    {
      code: "cd nosuch",
      output: /^Error: Bad object path: "nosuch"/,
      exitCode: 1,
      error: "Pry::CommandError",
    },
    { code: "cd ..", output: "" },
    // A `binding.pry` a cell reaches: the cell ends at the nested prompt, which reads the next
    // cells; `exit` leaves it, and that cell ends with the rest of the call.
    { code: "def f\n  y = 5\n  binding.pry\n  y * 2\nend", output: "=> :f" },
    { code: "f", output: /\n => \d+: {3}binding\.pry\n/, nested: "pry" },
    { code: "y", output: "=> 5", nested: "pry" },
    { code: "exit", output: "=> 10" },
  ],
});

const C_PROGRAM = `#include <stdio.h>
int sq(int x) { return x * x; }
int main(void) {
  int x = 42;
  printf("x=%d\\n", sq(x));
  return 0;
}
`;

CASES.push({
  name: "gdb",
  program: installed("cc") ? "gdb" : "cc",
  command: async (dir) => {
    await Deno.writeTextFile(`${dir}/t.c`, C_PROGRAM);
    const cc = await runCommand("cc", ["-g", "-O0", "-o", `${dir}/t`, `${dir}/t.c`]);
    equal(cc.code, 0, cc.stderr);
    return ["gdb", "-q", "-nx", `${dir}/t`];
  },
  cells: [
    { code: "break sq", output: /^Breakpoint 1 at 0x[0-9a-f]+: file .*t\.c, line 2\.$/ },
    { code: "run", output: /Breakpoint 1, sq \(x=42\) at .*t\.c:2/ },
    // Three commands, one cell: one step each, never repeated by an empty Enter.
    { code: "up\nprint x\nprint x * 3", output: /main \(\) at [^]*\n\$1 = 42\n\$2 = 126$/ },
    {
      code: "print nosuch",
      output: 'No symbol "nosuch" in current context.',
      exitCode: 1,
      error: "gdb.error",
    },
    { code: "set var $k = 1", output: "" },
    { code: "continue", output: /x=1764\n\[Inferior 1 \(process [0-9]+\) exited normally\]$/ },
  ],
});

for (const c of CASES) {
  const available = installed(c.program);
  if (!available) console.log(`repls_test: skipping ${c.name}: '${c.program}' is not installed`);
  worldTest(`${c.name}: plain k new, definition, use, error, empty output, each at once`, async (
    w,
    cleanup,
  ) => {
    const dir = await Deno.makeTempDir({ dir: w.base, prefix: c.name });
    const argv = await c.command(dir, cleanup);
    const created = await w.k(["new", "s", ...argv], {}, w.base);
    assertEquals([created.code, created.stdout.trim()], [0, "OK s (integration mode)"]);
    for (const cell of c.cells) await runCell(w, cell);
    equal((await w.kJson(["status", "-j", "s"])).mode, "integration");
  }, { timeoutMs: 90_000, skip: available ? false : `${c.program} is not installed` });
}

worldTest(
  "pry: the session's history file, never the user's; the user's rc file and a local one loaded",
  async (
    w,
  ) => {
    const home = await Deno.makeTempDir({ dir: w.base, prefix: "home" });
    await Deno.writeTextFile(`${home}/.pryrc`, "def from_rc; 7; end\n");
    // A project's own .pryrc, loaded after ktty's script, with a prompt of its own: still marked.
    const project = await Deno.makeTempDir({ dir: w.base, prefix: "project" });
    await Deno.writeTextFile(
      `${project}/.pryrc`,
      'Pry.config.prompt = Pry::Prompt.new("mine", "", [proc { "mine> " }, proc { "mine* " }])\n',
    );
    const env = { HOME: home, XDG_DATA_HOME: "", XDG_CONFIG_HOME: "" };
    const created = await w.k(["new", "s", "pry"], env, project);
    assertEquals([created.code, created.stdout.trim()], [0, "OK s (integration mode)"]);
    await runCell(w, { code: "from_rc * 6", output: "=> 42" });
    match((await w.k(["screen", "s"])).stdout, /\n=> 42\nmine>\s*$/);
    const history = await Deno.readTextFile(`${w.home}/${w.socket}/s/history`);
    ok(history.includes("__k('"), history);
    const theirs = await Deno.stat(`${home}/.local/share/pry/pry_history`).then(
      () => true,
      () => false,
    );
    equal(theirs, false, "pry wrote the user's own history file");
  },
  { timeoutMs: 60_000, skip: installed("pry") ? false : "pry is not installed" },
);

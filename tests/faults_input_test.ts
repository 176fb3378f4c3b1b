// Fault injection, part 2: names, ids and state directories an attacker or a confused agent might
// hand ktty. Invalid session names and cell ids must never reach a path or tmux; similar names
// (`a`, `a.b`, `a.1`) must never reach each other; an unsafe state dir is refused or repaired.
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { InvalidNameError } from "../mod.ts";
import {
  assertCliError,
  assertJsonError,
  exists,
  letTimePass,
  listTree,
  waitFor,
  worldTest,
} from "./harness.ts";

const ESCAPE = `ktty-escape-${crypto.randomUUID().slice(0, 8)}`;

const BAD_NAMES: string[] = [
  "",
  ".",
  "..",
  "../x",
  `../../../${ESCAPE}`,
  "a/b",
  "/abs",
  "a b",
  " a",
  "a\nb",
  "a\tb",
  "a\rb",
  "a\x01b",
  "a\x1b[31mb",
  "a\x7f",
  "x".repeat(65),
  "-a",
  "--",
  ".hidden",
  "ü",
  "a'b",
  "$(touch pwned)",
];

/** What a verb invocation with a bad session name looks like. */
interface NameCase {
  verb: string;
  args: (name: string) => string[];
  json: boolean;
  env?: (name: string) => Record<string, string>;
}

const ALL_VERBS: NameCase[] = [
  { verb: "new", args: (n) => ["new", "--", n, "bash"], json: false },
  { verb: "run", args: (n) => ["run", "-j", "--", n, "echo x"], json: true },
  { verb: "fire", args: (n) => ["fire", "--", n, "echo x"], json: true },
  { verb: "kill", args: (n) => ["kill", "--", n], json: false },
];

const MORE_VERBS: NameCase[] = [
  { verb: "poll", args: (n) => ["poll", "--", n, "0123456789ab"], json: true },
  { verb: "int", args: (n) => ["int", "--", n], json: false },
  { verb: "status", args: (n) => ["status", "-j", "--", n], json: true },
  { verb: "send", args: (n) => ["send", "--", n, "x"], json: false },
  { verb: "notify", args: (n) => ["notify", "--", n, "hi"], json: false },
  { verb: "history", args: (n) => ["history", "--", n], json: false },
  { verb: "watch", args: (n) => ["watch", "--", n], json: false },
  {
    verb: "run via K_SESSION",
    args: () => ["run", "-j", "echo x"],
    json: true,
    env: (n) => ({ K_SESSION: n }),
  },
];

/** True when `s` holds a C0 control character or DEL. */
function hasControl(s: string): boolean {
  return [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}

worldTest("invalid session names: refused by every verb, nothing created anywhere", async (w) => {
  const cases: [string, NameCase][] = [];
  for (const name of BAD_NAMES) {
    for (const c of ALL_VERBS) cases.push([name, c]);
  }
  for (const name of ["", "../x", "a\nb", "a\x1b[31mb", "x".repeat(65), "-a"]) {
    for (const c of MORE_VERBS) {
      if (c.env && name === "") continue; // an empty K_SESSION means "not set"
      cases.push([name, c]);
    }
  }
  await pool(cases, 6, async ([name, c]) => {
    const what = `${c.verb} ${JSON.stringify(name)}`;
    const env = c.env?.(name) ?? {};
    if (c.json) {
      const r = await w.kStrictJson(c.args(name), env);
      assertJsonError(r, /^invalid session name: '.*'$/, what);
      ok(!hasControl(String(r.output)), `${what}: raw control characters in ${r.output}`);
    } else {
      const r = await w.k(c.args(name), env);
      assertCliError(r, /^k: invalid session name: '.*'$/, what);
      ok(!hasControl(r.stderr.trimEnd()), `${what}: raw control characters in ${r.stderr}`);
    }
  });
  // The km monitor too.
  for (const name of ["../x", "a\nb", ""]) {
    const out = await w.km([name]);
    const text = out.stdout;
    equal(out.code, 1, `km ${JSON.stringify(name)}: ${text}`);
    ok(/invalid session name/.test(text), `km ${JSON.stringify(name)}: ${text}`);
  }
  // The library refuses them before touching anything.
  for (const name of BAD_NAMES) {
    let threw: unknown;
    try {
      w.kernel.session(name);
    } catch (e) {
      threw = e;
    }
    ok(threw instanceof InvalidNameError, `kernel.session(${JSON.stringify(name)})`);
    await rejects(
      w.kernel.create(name),
      InvalidNameError,
      `kernel.create(${JSON.stringify(name)})`,
    );
  }
  deepEqual(await w.tmuxSessions(), [], "a tmux session was created");
  const left = (await listTree(w.base)).filter((p) => p !== "home" && p !== `home/${w.socket}`);
  deepEqual(left, [], "something was created under the state dir");
  ok(!(await exists(`/tmp/${ESCAPE}`)), "a name escaped the state dir");
  ok(!(await exists(`${Deno.cwd()}/pwned`)), "a name reached a shell");
}, { timeoutMs: 60_000 });

worldTest("a.b, a.1 and a:1 drive that session and no other (a exists too)", async (w) => {
  await w.kernel.create("a");
  await Promise.all([w.kernel.create("a.b"), w.kernel.create("a.1")]);
  // tmux holds three distinct sessions; none of the dotted ones is mistaken for `a`.
  equal((await w.tmuxSessions()).length, 3, JSON.stringify(await w.tmuxSessions()));
  for (const n of ["a", "a.b", "a.1"]) {
    const r = await w.kStrictJson(["run", "-j", n, `echo "I am ${n}"`]);
    deepEqual([r.status, r.output], ["done", `I am ${n}`], n);
  }
  // A cell in `a`; interrupting or killing the dotted sessions must not touch it.
  const fired = await w.kStrictJson(["fire", "a", "sleep 30; echo A-DONE"]);
  await waitFor("a's cell typed", async () => (await w.paneLog("a")).includes("A-DONE"));
  const intB = await w.k(["int", "a.b"]);
  deepEqual([intB.code, intB.stdout.trim()], [0, "OK a.b (no active cell; sent C-c)"]);
  const killed = await w.k(["kill", "a.1"]);
  equal(killed.code, 0, killed.stderr);
  await letTimePass(300, "an int or kill that reached `a` would show in its poll by now");
  const p = await w.kStrictJson(["poll", "a"]);
  deepEqual([p.cell_id, p.status], [fired.cell_id, "running"], "a's cell was touched");
  equal((await w.tmux(["has-session", "-t", "=a"])).code, 0, "a was killed");
  equal((await w.kStrictJson(["run", "-j", "a.b", "echo still a.b"])).output, "still a.b");

  // `a:1` — the SPEC's charset has no ':'. Either it is refused as an invalid name with nothing
  // created, or it is a session of its own. Never may it reach `a` (tmux reads `a:1` as window 1
  // of session a).
  const before = await w.paneLog("a");
  const created = await w.k(["new", "a:1", "bash"]);
  const run = await w.kStrictJson(["run", "-j", "a:1", "echo COLON_TOKEN"]);
  const fire = await w.kStrictJson(["fire", "a:1", "echo COLON_TOKEN2"]);
  const int = await w.k(["int", "a:1"]);
  const kill = await w.k(["kill", "a:1"]);
  if (created.code === 0) {
    deepEqual([run.status, run.output], ["done", "COLON_TOKEN"]);
    equal(fire.status, "fired", "a:1 is idle after its run: the fire is its own");
    equal(int.code, 0);
    equal(kill.code, 0);
  } else {
    assertCliError(created, /^k: invalid session name: 'a:1'$/, "new a:1");
    assertJsonError(run, /^invalid session name: 'a:1'$/, "run a:1");
    assertJsonError(fire, /^invalid session name: 'a:1'$/, "fire a:1");
    assertCliError(int, /^k: invalid session name: 'a:1'$/, "int a:1");
    assertCliError(kill, /^k: invalid session name: 'a:1'$/, "kill a:1");
    ok(!(await exists(`${w.home}/${w.socket}/a:1`)), "state made for a:1");
  }
  await letTimePass(300, "code that reached `a` would be in its pane log by now");
  const after = await w.paneLog("a");
  ok(!after.slice(before.length).includes("COLON_TOKEN"), "a:1 typed into a");
  const still = await w.kStrictJson(["poll", "a"]);
  deepEqual([still.cell_id, still.status], [fired.cell_id, "running"], "a:1 interrupted a's cell");
  equal((await w.k(["int", "a"])).code, 0);
});

worldTest("a state dir that is a symlink is refused; nothing is created through it", async (w) => {
  const real = `${w.base}/real`;
  await Deno.mkdir(real, { mode: 0o700 });
  // 1. K_HOME itself is a symlink.
  await Deno.symlink(real, w.home);
  assertCliError(await w.k(["new", "w", "bash"]), /^k: .*symlink/, "new, K_HOME a symlink");
  assertCliError(await w.k(["ls"]), /^k: .*symlink/, "ls, K_HOME a symlink");
  assertJsonError(await w.kStrictJson(["run", "-j", "w", "echo x"]), /symlink/, "run");
  assertJsonError(await w.kStrictJson(["fire", "w", "echo x"]), /symlink/, "fire");
  deepEqual(await listTree(real), [], "something was created through the symlink");
  // 2. The socket dir inside K_HOME is a symlink.
  await Deno.remove(w.home);
  await Deno.mkdir(w.home, { mode: 0o700 });
  await Deno.symlink(real, `${w.home}/${w.socket}`);
  assertCliError(await w.k(["new", "w", "bash"]), /^k: .*symlink/, "new, socket dir a symlink");
  assertJsonError(await w.kStrictJson(["run", "-j", "w", "echo x"]), /symlink/, "run");
  deepEqual(await listTree(real), [], "something was created through the symlink");
  deepEqual(await w.tmuxSessions(), [], "a tmux session was created");
});

const IS_ROOT = Deno.uid() === 0;

worldTest("a state dir owned by someone else is refused and left alone", async (w) => {
  // As root, a directory handed to another uid; otherwise a root-owned directory.
  let home = w.home;
  if (IS_ROOT) {
    await Deno.mkdir(w.home, { mode: 0o700 });
    await Deno.chown(w.home, 4242, 4242);
  } else home = "/";
  const env = { K_HOME: home };
  const uid = IS_ROOT ? 4242 : 0;
  const owner = new RegExp(`owned by uid ${uid}`);
  assertCliError(await w.k(["new", "w", "bash"], env), owner, "new");
  assertCliError(await w.k(["ls"], env), owner, "ls");
  assertJsonError(await w.kStrictJson(["run", "-j", "w", "echo x"], env), owner, "run");
  deepEqual(await w.tmuxSessions(), [], "a tmux session was created");
  if (IS_ROOT) {
    deepEqual(await listTree(w.home), [], "something was created in a foreign dir");
    const info = await Deno.lstat(w.home);
    deepEqual([info.uid, (info.mode ?? 0) & 0o777], [4242, 0o700], "the foreign dir was changed");
    // A foreign socket dir inside our own K_HOME too.
    await Deno.chown(w.home, 0, 0);
    await Deno.mkdir(`${w.home}/${w.socket}`, { mode: 0o700 });
    await Deno.chown(`${w.home}/${w.socket}`, 4242, 4242);
    assertCliError(await w.k(["new", "w", "bash"]), /owned by uid 4242/, "new, foreign socket dir");
  }
});

async function modeOf(path: string): Promise<number> {
  return ((await Deno.lstat(path)).mode ?? 0) & 0o777;
}

worldTest(
  "a group/world-writable state dir is repaired; every file is 0600, every dir 0700",
  async (w) => {
    await Deno.mkdir(`${w.home}/${w.socket}`, { recursive: true });
    await Deno.chmod(w.home, 0o777);
    await Deno.chmod(`${w.home}/${w.socket}`, 0o775);
    equal((await w.k(["ls"])).code, 0);
    equal(await modeOf(w.home), 0o700, "K_HOME not repaired");
    equal(await modeOf(`${w.home}/${w.socket}`), 0o700, "socket dir not repaired");
    // Use a session the ways that write files: run, fire, timeout, int, notify, a hook-free watcher.
    await w.kernel.create("w");
    await w.kernel.create("py", { command: "python3 -i" });
    equal((await w.kStrictJson(["run", "-j", "w", "echo one"])).output, "one");
    equal((await w.kStrictJson(["run", "-j", "py", "print(2)"])).output, "2");
    const fired = await w.kStrictJson(["fire", "w", "echo two"]);
    await waitFor("fired cell done", async () => {
      return (await w.kStrictJson(["poll", "w", String(fired.cell_id)])).status === "done";
    });
    equal((await w.kStrictJson(["run", "-j", "-t", "1", "w", "sleep 5"])).status, "timeout");
    equal((await w.k(["int", "w"])).code, 0);
    equal((await w.k(["notify", "w", "hello"])).code, 0);
    const wrong: string[] = [];
    for (const rel of await listTree(w.home)) {
      const path = `${w.home}/${rel}`;
      const info = await Deno.lstat(path);
      const mode = (info.mode ?? 0) & 0o777;
      if (info.isDirectory ? mode !== 0o700 : mode !== 0o600) {
        wrong.push(`${rel} ${mode.toString(8)}`);
      }
    }
    deepEqual(wrong, [], "files or dirs with open permissions");
  },
);

worldTest("cell ids that are not 12 hex chars never reach a path", async (w) => {
  await w.kernel.create("w");
  const done = await w.kStrictJson(["run", "-j", "w", "echo real"]);
  const dir = w.sessionDir("w");
  // Decoy records where a path built from a hostile id would land.
  const decoy = (where: string) =>
    JSON.stringify({
      result: { cell_id: "0123456789ab", status: "done", output: `PLANTED ${where}` },
      code: "PLANTED-CODE",
      started_at: "",
      reported: true,
    });
  await Deno.writeTextFile(`${dir}/x.json`, decoy("x.json"));
  await Deno.writeTextFile(`${dir}/meta.json.json`, decoy("meta"));
  await Deno.writeTextFile(`${w.home}/evil.json`, decoy("home"));
  const bad = [
    "../x",
    "../meta.json",
    `../../../evil`,
    "..",
    "0123456789AB",
    "0123456789abc",
    "0123456789a",
    " 0123456789ab",
    "0123456789ab ",
    "0123456789ab/",
    "012345678\n9ab",
    "0123456789ab.json",
    "%2e%2e%2fx",
    "--",
  ];
  for (const id of bad) {
    const p = await w.kStrictJson(["poll", "w", "--", id]);
    assertJsonError(p, /^invalid cell id: '/, `poll w ${JSON.stringify(id)}`);
    ok(!String(p.output).includes("PLANTED"), `poll w ${JSON.stringify(id)} read a decoy`);
    ok(!p.output?.toString().includes("\n"), "the echoed id is on one line");
  }
  // Hostile ids inside the state files are not followed either.
  await Deno.writeTextFile(`${dir}/last`, "../x");
  const last = await w.kStrictJson(["poll", "w"]);
  ok(
    !JSON.stringify(last).includes("PLANTED"),
    `poll via a hostile 'last': ${JSON.stringify(last)}`,
  );
  await Deno.writeTextFile(`${dir}/last`, String(done.cell_id));
  const lock = {
    cell_id: "../x",
    offset: 0,
    owner: { pid: 1, start: "" },
    owner_kind: "fire",
    started_at: new Date().toISOString(),
    started_ms: Date.now(),
    timeout_ms: 30_000,
    lines: ["x"],
  };
  await Deno.writeTextFile(w.lockPath("w"), JSON.stringify(lock));
  const viaLock = await w.kStrictJson(["poll", "w"]);
  ok(
    !JSON.stringify(viaLock).includes("PLANTED"),
    `poll via a hostile lock: ${JSON.stringify(viaLock)}`,
  );
  equal(viaLock.status, "error");
  equal((await w.k(["int", "w"])).code, 0, "int with a hostile lock");
  ok(!(await exists(`${dir}/x.closing`)), "a claim was made at ../x");
  ok(!(await exists(w.lockPath("w"))), "int left the hostile lock");
  await Deno.writeTextFile(
    `${dir}/events.jsonl`,
    JSON.stringify({
      schema_version: 1,
      seq: 999,
      ts: new Date().toISOString(),
      session: "w",
      status: "done",
      cell_id: "../x",
      exit_code: 0,
      duration_ms: 1,
    }) + "\n",
    { append: true },
  );
  const hist = await w.k(["history", "-j", "w"]);
  equal(hist.code, 0, hist.stderr);
  ok(!hist.stdout.includes("PLANTED"), "history followed a hostile cell id");
  // km with a hostile id.
  const km = await w.km(["w", "../x"]);
  const kmOut = km.stdout;
  deepEqual([km.code, /invalid cell id/.test(kmOut)], [1, true], kmOut);
  // Nothing new appeared outside the session's own files.
  ok(!(await exists(`${dir}/cells/../x.closing`)));
  equal((await w.kStrictJson(["run", "-j", "w", "echo fine"])).output, "fine");
});

// Bad input and the CLI's contract: one clear line, exit 1, nothing created or disturbed.
import { deepEqual as assertEquals, equal, match, ok } from "node:assert/strict";
import { exists, worldTest } from "./harness.ts";

worldTest("invalid session names: one line, exit 1, nothing created anywhere", async (w) => {
  const bad = [
    "",
    ".",
    "..",
    "../x",
    "a/b",
    "a b",
    "a\nb",
    "a\x01b",
    "x".repeat(65),
    "-a",
    ".hidden",
  ];
  for (const name of bad) {
    const r = await w.k(["new", "--", name, "bash"]);
    equal(r.code, 1, `name ${JSON.stringify(name)}`);
    equal(r.stderr.split("\n").filter((l) => l).length, 1);
    if (name !== "-a") match(r.stderr, /^k: invalid session name: '/);
  }
  const run = await w.kJson(["run", "-j", "a/b", "echo x"]);
  assertEquals([run.code, run.status], [1, "error"]);
  match(String(run.output), /^invalid session name: 'a\/b'$/);
  assertEquals(await w.tmuxSessions(), []);
  ok(!(await exists(`${w.home}/${w.socket}/a`)));
});

worldTest("missing session, missing code, bad -t, unknown verb and flag", async (w) => {
  await w.kernel.create("w");
  const cases: [string[], RegExp][] = [
    [["run", "-j", "nope", "echo"], /^no session 'nope'; use k new nope bash$/],
    [["run", "-j"], /^missing code$/],
    [["run", "-j", "w", ""], /^missing code$/],
    [["run", "-j", "-t", "0", "w", "echo"], /^-t must be a positive integer$/],
    [["run", "-j", "-t", "1.5", "w", "echo"], /^-t must be a positive integer$/],
    [["run", "-j", "-t", "abc", "w", "echo"], /^-t must be a positive integer$/],
    [["fire", "-t", "-3", "w", "echo"], /^-t must be a positive integer$/],
    [["run", "-j", "--bogus", "w", "echo"], /^unknown flag '--bogus'$/],
    [["poll", "w", "XYZ"], /^invalid cell id: 'XYZ'/],
    [["poll", "w", "0123456789ab"], /^no cell '0123456789ab' in session 'w'$/],
  ];
  for (const [args, want] of cases) {
    const r = await w.kJson(args);
    assertEquals([r.code, r.status], [1, "error"], args.join(" "));
    match(String(r.output), want);
  }
  const verb = await w.k(["frobnicate"]);
  assertEquals([verb.code, verb.stderr.trim()], [1, "k: unknown verb 'frobnicate'; see k --help"]);
  const hist = await w.k(["history", "-n", "0", "w"]);
  assertEquals([hist.code, hist.stderr.trim()], [1, "k: -n must be a positive integer"]);
  // None of that disturbed the session.
  equal((await w.kJson(["run", "-j", "w", "echo fine"])).output, "fine");
});

worldTest("code that starts with a dash is sent as code", async (w) => {
  await w.kernel.create("py", { command: "python3 -i" });
  equal((await w.kJson(["run", "-j", "py", "-1 + 3"])).output, "2");
  equal((await w.kJson(["run", "-j", "py", "--", "-2 * 2"])).output, "-4");
});

worldTest("session chosen by K_SESSION, or the only live one, else a clear error", async (w) => {
  const none = await w.kJson(["run", "-j", "echo hi"]);
  match(String(none.output), /^no session given and none is live/);
  await w.kernel.create("one");
  equal((await w.kJson(["run", "-j", "echo auto"])).output, "auto");
  await w.kernel.create("two");
  const two = await w.kJson(["run", "-j", "echo hi"]);
  match(String(two.output), /^no session given and 2 are live \(one, two\)/);
  equal((await w.kJson(["run", "-j", "echo env"], { K_SESSION: "two" })).output, "env");
});

worldTest("unsafe state dir: symlink and foreign owner refused; open modes repaired", async (w) => {
  const base = w.home.replace(/\/home$/, "");
  const real = `${base}/real`;
  await Deno.mkdir(real, { mode: 0o700 });
  await Deno.symlink(real, w.home);
  const link = await w.k(["new", "w", "bash"]);
  equal(link.code, 1);
  match(link.stderr, /^k: state dir '.*' is a symlink; refusing to use it\n$/);
  assertEquals(await w.tmuxSessions(), []);
  await Deno.remove(w.home);

  if (Deno.uid() === 0) {
    await Deno.mkdir(w.home, { mode: 0o700 });
    await Deno.chown(w.home, 65534, 65534);
    const foreign = await w.k(["new", "w", "bash"]);
    equal(foreign.code, 1);
    match(foreign.stderr, /^k: state dir '.*' is owned by uid 65534, not 0\n$/);
    assertEquals(await w.tmuxSessions(), []);
    await Deno.remove(w.home);
  }

  await Deno.mkdir(w.home, { mode: 0o777 });
  await Deno.chmod(w.home, 0o777);
  equal((await w.k(["new", "w", "bash"])).code, 0);
  equal((await Deno.stat(w.home)).mode! & 0o777, 0o700);
  for await (const entry of Deno.readDir(w.sessionDir("w"))) {
    if (entry.isFile) {
      const mode = (await Deno.stat(`${w.sessionDir("w")}/${entry.name}`)).mode! & 0o777;
      equal(mode, 0o600, entry.name);
    }
  }
  equal((await Deno.stat(w.sessionDir("w"))).mode! & 0o777, 0o700);
});

worldTest("hook must exist and be executable; it is made absolute at new", async (w) => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/detect`, "#!/bin/sh\nexit 0\n");
  const missing = await w.k(["new", "h", "bash", `--prompt=${dir}/nope`]);
  assertEquals([missing.code, missing.stderr.trim()], [1, `k: hook '${dir}/nope' does not exist`]);
  const notExec = await w.k(["new", "h", "bash", `--prompt=${dir}/detect`]);
  assertEquals([notExec.code, notExec.stderr.trim()], [
    1,
    `k: hook '${dir}/detect' is not executable`,
  ]);
  assertEquals(await w.tmuxSessions(), []);
  await Deno.chmod(`${dir}/detect`, 0o755);
  // Deno.chdir would move every test of this process: run the CLI in the directory instead.
  equal((await w.k(["new", "h", "bash", "--prompt=./detect"], {}, dir)).code, 0);
  const meta = JSON.parse(await Deno.readTextFile(`${w.sessionDir("h")}/meta.json`));
  assertEquals(meta.frame, { mode: "hook", prompt: `${dir}/./detect` });
  await Deno.remove(dir, { recursive: true });
});

worldTest("tmux missing is a clear error", async (w) => {
  const r = await w.k(["new", "w", "bash"], { PATH: "/nonexistent" });
  assertEquals([r.code, r.stderr.trim()], [1, "k: tmux not found; install tmux >= 3.0"]);
});

worldTest("version, ls, status fields, notify and history", async (w) => {
  const v = await w.k(["--version"]);
  match(v.stdout, /^ktty \d+\.\d+\.\d+\n$/);
  equal((await w.k(["-V"])).stdout, v.stdout);
  equal((await w.k(["version"])).stdout, v.stdout);
  equal((await w.k(["ls"])).stdout, "no sessions\n");
  await w.kernel.create("w");
  await w.k(["run", "w", "echo one"]);
  const status = await w.kJson(["status", "-j", "w"]);
  for (
    const key of [
      "session",
      "alive",
      "state",
      "cell_id",
      "watcher_pid",
      "pane_pid",
      "pane_command",
      "idle_s",
    ]
  ) {
    ok(key in status, key);
  }
  assertEquals([status.alive, status.state, status.pane_command], [true, "idle", "bash"]);
  const text = await w.k(["status", "w"]);
  match(text.stdout, /next: k run w '<code>'/);
  const ls = JSON.parse((await w.k(["ls", "-j"])).stdout);
  assertEquals(ls.map((s: { session: string }) => s.session), ["w"]);
  equal((await w.k(["notify", "w", "hello there"])).code, 0);
  const hist = await w.k(["history", "-n", "3", "w"]);
  const lines = hist.stdout.trim().split("\n");
  equal(lines.length, 3);
  match(lines[0]!, /^\d+ \S+ fired [0-9a-f]{12}$/);
  match(lines[1]!, /^\d+ \S+ done [0-9a-f]{12} exit=0 \d+ms {2}\$ echo one$/);
  match(lines[2]!, /^\d+ \S+ notify \S+: hello there$/);
});

worldTest("K_TRACE=1: each step of a k run on stderr, in order; stdout unchanged", async (w) => {
  await w.kernel.create("b");
  const traced = await w.k(["run", "b", "echo traced"], { K_TRACE: "1" });
  assertEquals([traced.code, traced.stdout], [0, "traced\n"]);
  const steps = traced.stderr.trim().split("\n").map((line) => {
    const [tag, ms, ...step] = line.split(" ");
    equal(tag, "k-trace", line);
    ok(Number.isFinite(Number(ms)), line);
    return step.join(" ");
  });
  const expected = ["launcher", "args parsed", "lock taken", "fired event written"];
  expected.push("tmux spawned", "log opened", "code typed", "end seen", "result recorded");
  expected.push("watch closed", "printed");
  assertEquals(steps.filter((s) => !s.endsWith(" loaded")), expected);
  equal(steps.filter((s) => s.endsWith(" loaded")).length, 1, steps.join(", "));
  const plain = await w.k(["run", "b", "echo plain"]);
  assertEquals([plain.stdout, plain.stderr], ["plain\n", ""]);
});

// Agent code is a script: no history expansion in the shells, and every session keeps its own
// history file in its state dir, never the user's own (~/.bash_history, ~/.python_history).

import { deepEqual, equal, ok } from "node:assert/strict";
import { waitFor, worldTest } from "./harness.ts";

/** The size and modification time of a file, or null when it does not exist. */
async function stamp(path: string): Promise<[number, number] | null> {
  const info = await Deno.stat(path).catch(() => undefined);
  return info ? [info.size, info.mtime?.getTime() ?? 0] : null;
}

for (const shell of ["bash", "zsh"]) {
  worldTest(`history: ${shell} expands no '!', and keeps its history in the session`, async (w) => {
    // A home of the test's own: the user's real one may be written meanwhile by anything else on
    // the machine (another test's hand-made tmux session, a person's shell).
    const home = `${w.base}/home-dir`;
    await Deno.mkdir(home);
    const userHistory = `${home}/${shell === "bash" ? ".bash_history" : ".zsh_history"}`;
    const before = await stamp(userHistory);
    await w.kernel.create("s", { command: shell, env: { HOME: home } });
    const s = w.kernel.session("s");
    for (
      const [code, want] of [
        ['echo "a!b"', "a!b"],
        ['X=1; echo "$X!!"', "1!!"],
        ["echo '!x' !y", "!x !y"],
      ]
    ) {
      const r = await s.run(code!);
      deepEqual([r.status, r.status === "done" ? r.output : r], ["done", want], code);
    }
    const file = `${w.sessionDir("s")}/history`;
    equal((await s.run("echo $HISTFILE")).status, "done");
    equal((await s.run("echo $HISTFILE") as { output: string }).output, file);
    await s.run("echo marker-in-history");
    await waitFor("the session's history file", async () => {
      return (await Deno.readTextFile(file).catch(() => "")).includes("marker-in-history");
    });
    await s.kill();
    deepEqual(await stamp(userHistory), before, `${userHistory} was written`);
  });
}

worldTest(
  "history: python's REPL history goes to the session, not ~/.python_history",
  async (w) => {
    const home = `${w.base}/home-dir`;
    await Deno.mkdir(home);
    const before = await stamp(`${home}/.python_history`);
    await w.kernel.create("p", { command: "python3 -i", env: { HOME: home } });
    const p = w.kernel.session("p");
    const r = await p.run("import readline; print(readline.get_current_history_length() < 5)");
    deepEqual([r.status, r.status === "done" ? r.output : r], ["done", "True"]);
    // An orderly exit runs site's hook, which writes the history: to the session's file.
    await p.fire("exit()");
    const file = `${w.sessionDir("p")}/history`;
    await waitFor("the session's python history", async () => await stamp(file));
    ok((await Deno.readTextFile(file)).includes("readline"));
    deepEqual(await stamp(`${home}/.python_history`), before, "~/.python_history was written");
  },
);

worldTest("history: a bash in repeat mode never writes the user's history either", async (w) => {
  const home = `${w.base}/home-dir`;
  await Deno.mkdir(home);
  const made = await w.k(["new", "--prompt=repeat", "s", "bash", "--norc"], { HOME: home }, w.base);
  equal(made.code, 0, made.stderr);
  const r = await w.kJson(["run", "-j", "s", "echo $HISTFILE"]);
  deepEqual([r.status, r.output], ["done", `${w.sessionDir("s")}/history`]);
  equal((await w.k(["kill", "s"])).code, 0); // bash writes its history as the hangup ends it
  ok(!(await Deno.stat(`${home}/.bash_history`).catch(() => undefined)), "~/.bash_history written");
});

worldTest("k history shows a cell's code, not the runner line ktty typed for it", async (w) => {
  equal((await w.k(["new", "py", "python3"], {}, w.base)).code, 0);
  equal((await w.kJson(["run", "-j", "py", "x = 6*7\nprint(x)"])).output, "42");
  const last = (await w.k(["history", "-j", "py"])).stdout.trim().split("\n").at(-1) ?? "";
  const event = JSON.parse(last) as { status: string; code: string };
  deepEqual([event.status, event.code], ["done", "x = 6*7"]);
});

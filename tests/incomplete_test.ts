// Incomplete code (an unclosed quote, bracket, block or here-document) ends its cell at once: the
// shell's continuation prompt carries a marker, the watcher cancels it with Ctrl-C, and the cell
// is `done` with exit status 2 and a note — never a wait for the time limit.

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { waitFor, type World, worldTest } from "./harness.ts";

const NOTE = /ktty: incomplete code: the shell asked for more .*did not run$/;

async function run(w: World, s: string, code: string): Promise<Record<string, unknown>> {
  return await w.kJson(["run", "-j", "-t", "20", s, code]);
}

for (const shell of ["bash", "zsh", "sh"]) {
  worldTest(`incomplete: ${shell} cancels incomplete code at once and stays usable`, async (w) => {
    equal((await w.k(["new", "s", shell], {}, w.base)).code, 0);
    // (dash prints no continuation prompt for a line break inside `${`: not checked there.)
    const codes = [`echo 'it's done'`, "cat <<EOF\nno end", "if true; then\necho x"];
    for (const code of shell === "sh" ? codes : [...codes, 'echo "${x']) {
      const r = await run(w, "s", code);
      deepEqual([r.status, r.exit_code], ["done", 2], `${code}: ${JSON.stringify(r)}`);
      // (sh: an open `if` meets the `}` ktty wraps the cell in: dash's own syntax error.)
      const sawBlock = shell === "sh" && code.startsWith("if");
      match(String(r.output), sawBlock ? /Syntax error: "}" unexpected/ : NOTE, code);
      const after = await run(w, "s", "echo after");
      deepEqual([after.status, after.output, after.exit_code], ["done", "after", 0], code);
    }
    // Complete code with continuation lines of its own is untouched.
    const loop = await run(w, "s", "for i in 1 2; do\n  echo $i\ndone\ncat <<EOF\nhere\nEOF");
    deepEqual([loop.status, loop.output, loop.exit_code], ["done", "1\n2\nhere", 0]);
  });
}

worldTest("incomplete: what ran before the incomplete command is kept (bash)", async (w) => {
  equal((await w.k(["new", "s", "bash"], {}, w.base)).code, 0);
  const r = await run(w, "s", 'echo first\necho "second');
  equal(r.status, "done");
  match(String(r.output), /^first\nktty: incomplete code/);
});

worldTest("incomplete: bash without bracketed paste (typed line by line)", async (w) => {
  equal((await w.k(["new", "s", "bash"], {}, w.base)).code, 0);
  equal((await run(w, "s", "bind 'set enable-bracketed-paste off'")).status, "done");
  const loop = await run(w, "s", "for i in 1 2; do\n  echo $i\ndone");
  deepEqual([loop.status, loop.output], ["done", "1\n2"]);
  const r = await run(w, "s", 'echo a\necho "b');
  deepEqual([r.status, r.exit_code], ["done", 2], JSON.stringify(r));
  equal((await run(w, "s", "echo ok")).output, "ok");
});

worldTest(
  "incomplete: a person's unfinished command is not typed into; k int recovers",
  async (w) => {
    equal((await w.k(["new", "s", "bash"], {}, w.base)).code, 0);
    equal((await w.tmux(["send-keys", "-t", "=s:", 'echo "unfinished', "Enter"])).code, 0);
    await waitFor(
      "the continuation prompt",
      async () => (await w.paneLog("s")).includes("unfinished"),
    );
    await waitFor(
      "the continuation marker",
      async () => (await w.paneLog("s")).includes("\x1b]133;A;k="),
    );
    const refused = await w.k(["run", "s", "echo typed-into-it"]);
    equal(refused.code, 1, refused.stdout);
    ok(
      !(await w.paneLog("s")).includes("typed-into-it"),
      "the cell was typed into the continuation",
    );
    equal((await w.k(["int", "s"])).code, 0);
    equal((await run(w, "s", "echo ok")).output, "ok");
  },
);

for (const shell of ["bash", "zsh"]) {
  worldTest(
    `${shell}: a syntax error ends its cell at once, also while a job prints`,
    async (w) => {
      // zle turns bracketed paste off before the line feed that ends its echo (readline after it):
      // the echo was taken for keys typed ahead, and a cell with no start marker (a syntax error)
      // waited for a quiet pane to end — never, with a job printing.
      equal((await w.k(["new", "s", shell], {}, w.base)).code, 0);
      equal((await run(w, "s", "(while :; do echo tick; sleep 0.1; done) &")).status, "done");
      const r = await w.kJson(["run", "-j", "-t", "5", "s", "fi"]);
      deepEqual([r.status, r.exit_code === 0], ["done", false], JSON.stringify(r));
      equal((await run(w, "s", "kill %1")).status, "done");
    },
  );
}

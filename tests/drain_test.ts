// The code that runs is exactly the code sent: what a previous cell's program left in the input
// (a terminal's reply to a query it printed, keys it was sent but did not read) is discarded
// before a cell is typed, program family by program family, in every frame mode.
import { deepEqual, equal, match } from "node:assert/strict";
import type { FinalResult } from "../mod.ts";
import { waitFor, type World, worldTest } from "./harness.ts";

/** bash without the rc files (bash, not `env … bash`: that would be a program ktty does not know). */
const BASH = "bash --norc --noprofile";

/** A cell's status, output and exit code. */
async function cell(w: World, session: string, code: string): Promise<unknown[]> {
  const r = await w.kernel.session(session).run(code, { timeoutMs: 10_000 }) as FinalResult;
  return [r.status, r.output, "exit_code" in r ? r.exit_code : undefined];
}

/** The terminal device of a session's pane. */
async function paneTty(w: World, session: string): Promise<string> {
  const out = await w.tmux(["display-message", "-p", "-t", `=${session}:`, "#{pane_tty}"]);
  equal(out.code, 0, out.stderr);
  return out.stdout.trim();
}

/**
 * Prints a cursor position query on the pane's terminal, as a program that printed it and exited
 * would, while the session's program reads at its prompt; returns once the terminal's reply has
 * reached the program's line (its echo, ending in `R`, is in the pane log).
 */
async function queryAtPrompt(w: World, session: string): Promise<void> {
  const from = (await w.paneLog(session)).length;
  await Deno.writeTextFile(await paneTty(w, session), "\x1b[6n");
  await waitFor("the reply's echo at the prompt", async () => {
    const added = (await w.paneLog(session)).slice(from);
    const query = added.indexOf("\x1b[6n");
    return query >= 0 && added.indexOf("R", query) > 0;
  });
}

/** Waits for fired cell `cellId` to end; its status and output. */
async function ended(w: World, session: string, cellId: string): Promise<unknown[]> {
  const r = await waitFor(`cell ${cellId} to end`, async () => {
    const p = await w.kernel.session(session).poll(cellId);
    return p.status === "running" ? undefined : p;
  });
  return [r.status, "output" in r ? r.output : undefined];
}

// ---------------------------------------------------------------------------------------------
// Shells and REPLs with integration: a cell prints a query, the terminal answers into the input.

/** A program family whose cells print terminal queries: the cells after them run as sent. */
interface QueryCase {
  family: string;
  command: string;
  /** Cells that print a query. */
  queries: string[];
  /** A cell run after each query, and its output. */
  next: [code: string, output: string][];
}

const QUERY_CASES: QueryCase[] = [
  {
    family: "bash",
    command: BASH,
    // Cursor position, primary and secondary device attributes: what vim, less and TUIs ask.
    queries: ["printf '\\e[6n'", "printf '\\e[c'", "printf '\\e[>c'"],
    // A multi-line cell goes as one bracketed paste: the line is emptied before it too.
    next: [["echo after", "after"], ["echo one\necho two", "one\ntwo"]],
  },
  {
    family: "zsh",
    command: "zsh -f",
    queries: ["printf '\\e[6n'", "printf '\\e[c'"],
    next: [["echo after", "after"]],
  },
  {
    // dash reads in the terminal's cooked mode: the answer waits in the terminal's line buffer.
    family: "sh",
    command: "dash",
    queries: ["printf '\\033[6n'", "printf '\\033[c'"],
    next: [["echo after", "after"]],
  },
  {
    family: "python3",
    command: "python3 -q",
    queries: ["print('\\x1b[6n')", "print('\\x1b[c')"],
    next: [["print('after')", "after"]],
  },
  {
    // Before: the answer's tail was typed before ".editor", the code ran line by line, and the
    // editor's Ctrl-D ended node (the second query cell finds it alive).
    family: "node",
    command: "node",
    queries: ["process.stdout.write('\\x1b[c'); 1", "process.stdout.write('\\x1b[6n'); 1"],
    next: [["console.log('after')", "after"]],
  },
];

for (const c of QUERY_CASES) {
  const name =
    `drain (${c.family}): answers to a cell's terminal queries never reach the next cell`;
  worldTest(name, async (w) => {
    await w.kernel.create("s", { command: c.command, cwd: w.base });
    for (const query of c.queries) {
      for (const [code, output] of c.next) {
        equal((await cell(w, "s", query))[0], "done", query);
        deepEqual(await cell(w, "s", code), ["done", output, 0], `${query}, then ${code}`);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Keys typed ahead: a cell's program reads fewer than it is sent, then ends.

/** A cell that reads part of what it is sent. */
interface UnreadCase {
  family: string;
  command: string;
  /** The cell, and the keys sent to it (no Enter). */
  reader: string;
  keys: string;
  /** How its output ends (the terminal may echo keys that came before the reader read). */
  read: RegExp;
}

const UNREAD_CASES: UnreadCase[] = [
  // Three keys sent, one read: "es" stays in the terminal's input for bash's next prompt.
  {
    family: "bash",
    command: BASH,
    reader: 'read -rn1 x; echo "got $x"',
    keys: "yes",
    read: /got y$/,
  },
  // A line and a half sent, one line read: the half stays in the terminal's line buffer.
  { family: "sh", command: "dash", reader: "head -n 1", keys: "line1\nrest", read: /line1$/ },
];

for (const c of UNREAD_CASES) {
  const name = `drain (${c.family}): keys a cell's program left unread never reach the next cell`;
  worldTest(name, async (w) => {
    await w.kernel.create("s", { command: c.command, cwd: w.base });
    const s = w.kernel.session("s");
    const fired = await s.fire(c.reader);
    if (fired.status !== "fired") throw new Error(JSON.stringify(fired));
    await s.send(c.keys, { enter: false });
    const [status, output] = await ended(w, "s", fired.cell_id);
    equal(status, "done");
    match(String(output), c.read);
    deepEqual(await cell(w, "s", "echo after"), ["done", "after", 0]);
  });
}

// ---------------------------------------------------------------------------------------------
// The modes without markers, and programs ktty knows nothing about: an answer reaches the prompt.

/** A REPL ktty knows nothing about: a Python script with a readline prompt. */
const UNKNOWN_REPL = `import readline
while True:
    try:
        line = input("db> ")
    except EOFError:
        break
    if line:
        print("got " + line)
`;

/** A session whose prompt gets an answer between two cells. */
interface PromptCase {
  name: string;
  /** The session's command line and `--prompt`. */
  session: (w: World) => Promise<{ command: string; prompt?: string }>;
  /** The cell before the answer, the cell after it, and their outputs. */
  before: [code: string, output: string];
  after: [code: string, output: string];
}

const PROMPT_CASES: PromptCase[] = [
  {
    name: "gdb, exact mode",
    session: () => Promise.resolve({ command: "gdb -q -nx", prompt: "(gdb)" }),
    before: ["print 1", "$1 = 1"],
    after: ["print 1+1", "$2 = 2"],
  },
  {
    // The echo filter sees the code alone, not what the keys before it draw.
    name: "bash, repeat mode",
    session: () => Promise.resolve({ command: BASH, prompt: "repeat" }),
    before: ["echo before", "before"],
    after: ["echo after", "after"],
  },
  {
    name: "bash, hook mode",
    session: async (w) => ({
      command: BASH,
      prompt: await w.writeScript(
        "detect",
        `#!/bin/sh\nwhile IFS= read -r line; do [ "$line" = "DONE" ] && exit 0; done\n`,
      ),
    }),
    before: ["echo before; echo DONE", "before\nDONE"],
    after: ["echo after; echo DONE", "after\nDONE"],
  },
  {
    name: "unknown program, repeat mode",
    session: async (w) => ({ command: `python3 ${await w.writeScript("repl.py", UNKNOWN_REPL)}` }),
    before: ["one", "got one"],
    after: ["two", "got two"],
  },
];

for (const c of PROMPT_CASES) {
  worldTest(`drain (${c.name}): an answer at the prompt never reaches the next cell`, async (w) => {
    await w.kernel.create("s", { ...await c.session(w), cwd: w.base });
    deepEqual(await cell(w, "s", c.before[0]), ["done", c.before[1], null]);
    await queryAtPrompt(w, "s");
    deepEqual(await cell(w, "s", c.after[0]), ["done", c.after[1], null]);
  });
}

/** Reads the terminal raw and appends every byte to a file; on the alternate screen if asked. */
const KEY_RECORDER = `import os, sys, tty
out, alternate = sys.argv[1], sys.argv[2] == "alternate"
sys.stdout.write(("\\x1b[?1049h" if alternate else "") + "keys> ")
sys.stdout.flush()
tty.setraw(0)
with open(out, "ab", buffering=0) as f:
    while True:
        f.write(os.read(0, 1024))
`;

worldTest(
  "drain (unknown program): a line is emptied, but never on the alternate screen",
  async (w) => {
    const recorder = await w.writeScript("recorder.py", KEY_RECORDER);
    for (const screen of ["normal", "alternate"]) {
      const keys = `${w.base}/${screen}.keys`;
      const command = `python3 ${recorder} ${keys} ${screen}`;
      equal((await w.kernel.create(screen, { command, cwd: w.base })).program, "other");
      equal((await w.kernel.session(screen).fire("x")).status, "fired");
      // Repeat mode: the code, then six Enters (a raw terminal reads Enter as \r).
      const got = await waitFor(`the keys ${screen} got`, async () => {
        const text = await Deno.readTextFile(keys).catch(() => "");
        return text.endsWith("\r".repeat(6)) ? text : undefined;
      });
      // A full-screen program (vim, less) gives Ctrl-U a meaning of its own: only the code.
      equal(got, (screen === "normal" ? " \x15" : "") + "x" + "\r".repeat(6), screen);
    }
  },
);

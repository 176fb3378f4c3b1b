// Hostile cell output in real sessions (issue 14): every kind of unfinished or broken escape
// sequence, invalid UTF-8, C0/C1 controls, carriage returns, backspaces, trailing blanks, very
// long lines and look-alikes of ktty's own markers (tests/hostile.ts). Each cell must end at once
// with `done`, its output must be exactly what a person would read, and the session's nonce must
// show in no output: run, poll, fire + km, screen. K_FUZZ_SEED picks other cases.

import { equal, ok } from "node:assert/strict";
import type { DoneResult, FinalResult } from "../mod.ts";
import { hostileOutput, type Random, seededRandom } from "./hostile.ts";
import { collect, PLAIN_BASH, waitFor, type World, worldTest } from "./harness.ts";

const SEED = Number(Deno.env.get("K_FUZZ_SEED") ?? 1414);
/** Cells per session: bounded so that the whole file stays well under 30 s on a busy machine. */
const CELLS = 14;
/** A marker a cell's output hid would leave the cell running: it must end well before this. */
const CELL_LIMIT_MS = 5000;

/** How each program prints a file's bytes as they are. */
const PRINT: Record<string, (path: string) => string> = {
  bash: (path) => `cat '${path}'`,
  zsh: (path) => `cat '${path}'`,
  sh: (path) => `cat '${path}'`,
  python3: (path) =>
    `import sys; _ = sys.stdout.buffer.write(open('${path}', 'rb').read()); sys.stdout.buffer.flush()`,
};

/** How each program waits until a file exists (a cell kept running while it is polled). */
const WAIT_FOR_FILE: Record<string, (path: string) => string> = {
  bash: (path) => `while [ ! -e '${path}' ]; do sleep 0.05; done`,
  sh: (path) => `while [ ! -e '${path}' ]; do sleep 0.05; done`,
  python3: (path) =>
    `import os, time\nwhile not os.path.exists('${path}'):\n    time.sleep(0.05)\n`,
};

async function nonceOf(w: World, session: string): Promise<string> {
  const meta = JSON.parse(await Deno.readTextFile(`${w.sessionDir(session)}/meta.json`));
  return meta.frame?.nonce ?? "0000000000000000";
}

/** Fails unless `result` (the library's or the CLI's) is `done` with output `reading` and shows
 * no nonce. */
function check(cell: object, reading: string, nonce: string, what: string): void {
  const result = cell as Record<string, unknown>;
  const shown = JSON.stringify(result);
  ok(!shown.includes(nonce), `the nonce shows: ${shown}\n${what}`);
  equal(result.status, "done", `${shown}\n${what}`);
  equal(
    result.output,
    reading,
    `${what}\n got ${JSON.stringify(result.output)}\nwant ${JSON.stringify(reading)}`,
  );
}

/** Runs CELLS hostile cells in the session through the library; returns the random source. */
async function fuzzCells(
  w: World,
  session: string,
  program: string,
  seed: number,
): Promise<Random> {
  const nonce = await nonceOf(w, session);
  const rand = seededRandom(seed);
  const s = w.kernel.session(session);
  for (let i = 0; i < CELLS; i++) {
    const hostile = hostileOutput(rand, { nonce, maxLines: 5, longLineChance: 0.03 });
    const path = `${w.base}/${session}-${i}.out`;
    await Deno.writeFile(path, hostile.bytes);
    const what = `${program} seed ${seed} cell ${i}: ${hostile.recipe.join(" ")}`;
    const result = await s.run(PRINT[program]!(path), { timeoutMs: CELL_LIMIT_MS });
    check(result, hostile.reading, nonce, what);
    if ("exit_code" in result && result.exit_code !== null) equal(result.exit_code, 0, what);
  }
  return rand;
}

/** One hostile cell through the CLI: `k run -j`; then `k fire`, `k poll` while it runs, `km -1`,
 * `k poll` once it is done; then the screen. */
async function throughCli(w: World, session: string, program: string, rand: Random) {
  const nonce = await nonceOf(w, session);
  const hostile = hostileOutput(rand, { nonce, maxLines: 4, longLineChance: 0 });
  const what = `${program} seed ${SEED} (cli): ${hostile.recipe.join(" ")}`;
  const path = `${w.base}/${session}-cli.out`;
  await Deno.writeFile(path, hostile.bytes);

  const run = await w.kJson(["run", "-j", "-t", "5", session, PRINT[program]!(path)]);
  check(run, hostile.reading, nonce, `${what} (k run)`);

  const go = `${w.base}/${session}-go`;
  const fired = await w.kJson([
    "fire",
    session,
    `${PRINT[program]!(path)}\n${WAIT_FOR_FILE[program]!(go)}`,
  ]);
  equal(fired.status, "fired", JSON.stringify(fired));
  const cellId = String(fired.cell_id);
  const km = w.spawnKm([session, cellId, "-1"]);
  // While it runs: the output so far is what has been printed, read as a person would.
  let last: unknown;
  const running = await waitFor(
    `the output so far in poll (last ${JSON.stringify(last)})`,
    async () => {
      const poll = await w.kJson(["poll", session, cellId]);
      last = poll;
      return poll.status === "running" && poll.output === hostile.reading ? poll : undefined;
    },
    8000,
  ).catch(async (e) => {
    throw new Error(
      `${e}\nlast poll: ${JSON.stringify(last)}\nlog: ${
        JSON.stringify((await w.paneLog(session)).slice(-3000))
      }\nwant ${JSON.stringify(hostile.reading)}\n${what}`,
    );
  });
  ok(!JSON.stringify(running).includes(nonce), `${what} (poll while running)`);
  await Deno.writeTextFile(go, "");
  const events = await collect(km);
  ok(!events.stdout.includes(nonce), `${what} (km): ${events.stdout}`);
  equal(JSON.parse(events.stdout.trim().split("\n").at(-1) ?? "{}").status, "done", events.stdout);
  const poll = await w.kJson(["poll", session, cellId]);
  check(poll, hostile.reading, nonce, `${what} (k poll)`);

  const screen = await w.k(["screen", "-j", session]);
  equal(screen.code, 0, screen.stderr);
  ok(!screen.stdout.includes(nonce), `${what} (screen): ${screen.stdout}`);
}

worldTest("hostile output: issue 14's endings, in bash, python3, sh and zsh", async (w) => {
  // `printf 'x\033'` as a cell's last output hid its end marker (the cell timed out, its output
  // showed `]133;D;0;k=<nonce>`); `printf 'x  '` lost its blanks.
  // zsh pads the line before its precmd hook (PROMPT_SP): its script does that after the marker.
  const programs = ["bash", "python3", "sh", "zsh"];
  await Promise.all(programs.map((p) => w.kernel.create(p, { command: p, cwd: w.base })));
  for (const program of programs) {
    const nonce = await nonceOf(w, program);
    const endings: [string, string][] = [
      ["x\x1b", "x"],
      ["x\x1b\x1b", "x"],
      ["x\x1b(", "x"],
      ["x\x1b[1;", "x"],
      ["x\x1b]0;title", "x"],
      ["x\x1bPq#0", "x"],
      [`x\x1b]133;D;0;k=${nonce}`, "x"],
      ["x  ", "x  "],
      ["x\t", "x\t"],
      ["x  \x1b[", "x  "],
      ["a\n  ", "a\n  "],
    ];
    for (const [i, [printed, reading]] of endings.entries()) {
      const path = `${w.base}/${program}-ending-${i}`;
      await Deno.writeTextFile(path, printed);
      const result = await w.kernel.session(program).run(PRINT[program]!(path), {
        timeoutMs: CELL_LIMIT_MS,
      });
      check(result, reading, nonce, `${program}: ${JSON.stringify(printed)}`);
    }
  }
}, { timeoutMs: 30_000 });

for (const program of ["bash", "python3", "sh"]) {
  worldTest(
    `hostile output: ${program} cells end at once, read as a person reads them`,
    async (w) => {
      await w.kernel.create("h", { command: program, cwd: w.base });
      const rand = await fuzzCells(w, "h", program, SEED);
      await throughCli(w, "h", program, rand);
    },
    { timeoutMs: 30_000 },
  );
}

worldTest("hostile output: bash in repeat mode reads the same", async (w) => {
  await w.kernel.create("r", { command: PLAIN_BASH, prompt: "repeat", cwd: w.base });
  await fuzzCells(w, "r", "bash", SEED + 1);
}, { timeoutMs: 30_000 });

worldTest(
  "hostile output: an unterminated DCS stops neither the screen nor the cells after it",
  async (w) => {
    // tmux lets a DCS string (`ESC P q`: sixel, and any `ESC P` + final byte in binary output)
    // run on through CAN, ESC and newlines up to its ST: the prompt after it was swallowed, the
    // screen stood still, and tmux missed readline turning bracketed paste on, so a multi-line
    // bash cell was typed as separate lines (the cell ended after the first one).
    await Promise.all(
      ["bash", "sh", "python3"].map((p) => w.kernel.create(p, { command: p, cwd: w.base })),
    );
    const dcs: Record<string, string> = {
      bash: String.raw`printf 'A\033Pq#0'`,
      sh: String.raw`printf 'A\033Pq#0'`,
      python3: String.raw`print('A\x1bPq#0', end='')`,
    };
    const next: Record<string, string> = {
      bash: "echo one\necho two",
      sh: "echo one; echo two",
      python3: "print('one')\nprint('two')",
    };
    for (const program of ["bash", "sh", "python3"]) {
      const s = w.kernel.session(program);
      const first = await s.run(dcs[program]!, { timeoutMs: CELL_LIMIT_MS });
      equal(first.status, "done", JSON.stringify(first));
      equal((first as FinalResult).output, "A", program);
      const after = await s.run(next[program]!, { timeoutMs: CELL_LIMIT_MS });
      equal(
        JSON.stringify([after.status, (after as FinalResult).output]),
        '["done","one\\ntwo"]',
        program,
      );
      await waitFor(`${program}'s screen to show the cell after the DCS`, async () => {
        const rows = (await s.screen()).rows;
        // (sh's continuation prompts come before the first line: `> > one`)
        return rows.some((row) => row.endsWith("one")) && rows.includes("two");
      }, 5000);
    }
  },
);

worldTest(
  "hostile output: a cell that prints its session's own end marker ends there; the next waits",
  async (w) => {
    // The nonce is in the program's own variables: a cell can print a whole end marker, and its
    // cell ends there (what it prints after belongs to no cell). The next cell is typed only once
    // the program is back at its prompt: bash's editor turns bracketed paste on there; sh has
    // none, but while a job of the shell holds its terminal it is not back (the next cell used
    // to be typed ahead into the job and to take the first cell's real end for its own, with
    // the rest of its output).
    await Promise.all([
      w.kernel.create("b", { command: "bash", cwd: w.base }),
      w.kernel.create("s", { command: "sh", cwd: w.base }),
    ]);
    const nonce = await nonceOf(w, "s");
    const fakes: [string, string][] = [
      ["b", String.raw`printf 'a\033]133;D;7;k=%s\a' "$__k_nonce"; sleep 1; echo after`],
      // A job (a subshell) prints it: the terminal is the job's until it ends.
      ["s", String.raw`(printf 'a\033]133;D;7;k=${nonce}\007'; sleep 1; echo after)`],
    ];
    for (const [session, code] of fakes) {
      const s = w.kernel.session(session);
      const fake = await s.run(code, { timeoutMs: CELL_LIMIT_MS }) as DoneResult;
      equal(
        JSON.stringify([fake.status, fake.output, fake.exit_code]),
        '["done","a",7]',
        `${session}: ${JSON.stringify(fake)}`,
      );
      const next = await s.run("echo next", { timeoutMs: CELL_LIMIT_MS }) as DoneResult;
      equal(
        JSON.stringify([next.status, next.output, next.exit_code]),
        '["done","next",0]',
        `${session}: ${JSON.stringify(next)}`,
      );
    }
  },
);

/**
 * ktty's benchmark (`deno task bench`): whole-process latency of the `k` and `km` commands, the
 * in-process library, peak memory, and whether latency grows with a session's history — each
 * against the floor measured in the same run (an empty `deno run`, one tmux client call) and
 * against the targets of issue 7. It owns a temp K_HOME and a unique K_SOCKET, and removes both
 * (tmux server, leftover processes, files) when it ends, also on Ctrl-C.
 *
 *   deno task bench [--quick] [--json] [--runs N] [--history-cells N] [--history-mb N]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { Client } from "npm:@modelcontextprotocol/client@2.4.0";
import { StdioClientTransport } from "npm:@modelcontextprotocol/client@2.4.0/stdio";
import { Kernel } from "../mod.ts";
import { isFresh } from "../src/start.ts";
import { fixed, summarize, type Summary, table } from "./_stats.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = `${ROOT}cli.ts`;
const MONITOR = `${ROOT}monitor.ts`;
const TIME_BIN = "/usr/bin/time";
/** How long the cell of a wake-up sample sleeps: km must be up and following before it ends. */
const WAKE_SLEEP_S = 0.5;
/**
 * The bash the cases drive: without the machine's rc files, whose prompt hooks (pyenv, conda, a
 * git prompt) would be measured as if they were ktty's. One case runs plain `bash` to show them.
 */
const BASH = "bash --norc --noprofile";
/** Width of the lines of the history case's big cell. */
const BIG_LINE_CHARS = 1000;

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  quick: boolean;
  json: boolean;
  /** Samples of the fast cases (floors, runs, in-process). */
  runs: number;
  /** Samples of the slow cases (new+run+kill, seq, wake-up, after-history). */
  slowRuns: number;
  /** Samples of the memory case. */
  memRuns: number;
  /** Quick cells run before the "after history" measurement. */
  historyCells: number;
  /** Megabytes the history case's big cell prints. */
  historyMb: number;
  /** Which groups of cases to run. */
  only: Set<Group>;
}

const GROUPS = ["process", "library", "memory", "history"] as const;
type Group = typeof GROUPS[number];

const USAGE = `deno task bench [--quick] [--json] [--runs N] [--history-cells N] [--history-mb N]

  --quick            fewer samples, a shorter history (about 25 s instead of about 1 min)
  --json             print one JSON document instead of the tables
  --runs N           samples of the fast cases (default 30, quick 10); slow cases use a third
  --history-cells N  quick cells run before the "after history" samples (default 2000, quick 200)
  --history-mb N     megabytes one cell prints before them (default 100, quick 10)
  --only G[,G…]      run only these groups: process, library, memory, history (floors always)`;

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      runs: { type: "string" },
      "history-cells": { type: "string" },
      "history-mb": { type: "string" },
      only: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const quick = values.quick ?? false;
  const int = (v: string | undefined, name: string, fallback: number, min = 1): number => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
    return n;
  };
  const runs = int(values.runs, "runs", quick ? 10 : 30, 3);
  const only = new Set<Group>();
  for (const name of (values.only ?? GROUPS.join(",")).split(",")) {
    const group = GROUPS.find((g) => g === name.trim());
    if (!group) throw new Error(`--only: unknown group '${name}' (${GROUPS.join(", ")})`);
    only.add(group);
  }
  return {
    quick,
    json: values.json ?? false,
    runs,
    slowRuns: Math.max(3, Math.round(runs / 3)),
    memRuns: quick ? 1 : 3,
    historyCells: int(values["history-cells"], "history-cells", quick ? 200 : 2000, 0),
    historyMb: int(values["history-mb"], "history-mb", quick ? 10 : 100, 0),
    only,
  };
}

// ---------------------------------------------------------------------------------------------
// Processes

interface ProcOutput {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, ms. */
  ms: number;
}

/** Wall-clock now in ms since the epoch, sub-millisecond. */
function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The bench's private world: state dir, socket, environment, and what it started. */
class World {
  readonly base: string;
  readonly home: string;
  readonly socket: string;
  readonly env: Record<string, string>;
  readonly kernel: Kernel;
  readonly spawned = new Set<number>();
  /** A trivial script: the floor of any `deno run`. */
  readonly emptyScript: string;
  /** The run's floors (medians), once measured. */
  floorMs: Record<Floor, number> = { deno: NaN, tmux: NaN };
  #cleaned = false;

  constructor(base: string) {
    this.base = base;
    this.home = `${base}/home`;
    this.socket = `kbench-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    const env = Deno.env.toObject();
    delete env.K_SESSION;
    this.env = { ...env, K_HOME: this.home, K_SOCKET: this.socket, NO_COLOR: "1" };
    this.kernel = new Kernel({ home: this.home, socket: this.socket });
    this.emptyScript = `${base}/empty.ts`;
  }

  /** Runs a command to its end, timed. */
  async exec(cmd: string, args: string[], env: Record<string, string> = {}): Promise<ProcOutput> {
    const command = new Deno.Command(cmd, {
      args,
      env: { ...this.env, ...env },
      clearEnv: true,
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
    const t0 = performance.now();
    const child = command.spawn();
    this.spawned.add(child.pid);
    const out = await child.output();
    const ms = performance.now() - t0;
    this.spawned.delete(child.pid);
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
      ms,
    };
  }

  /** `k <args>` as a whole process, exactly as the README runs it. */
  k(args: string[], env: Record<string, string> = {}): Promise<ProcOutput> {
    return this.exec(Deno.execPath(), ["run", "-A", CLI, ...args], env);
  }

  /** `k <args>`, throwing unless it exits 0. */
  async kOk(args: string[]): Promise<ProcOutput> {
    const out = await this.k(args);
    if (out.code !== 0) {
      throw new Error(`k ${args.join(" ")} exited ${out.code}: ${out.stderr || out.stdout}`);
    }
    return out;
  }

  /** One tmux client call on the bench's socket. */
  tmux(args: string[]): Promise<ProcOutput> {
    return this.exec("tmux", ["-f", "/dev/null", "-L", this.socket, ...args]);
  }

  /** Kills what the bench started: its children, its tmux server, stragglers, its files. */
  async cleanup(): Promise<void> {
    if (this.#cleaned) return;
    this.#cleaned = true;
    for (const pid of this.spawned) killQuietly(pid, "SIGKILL");
    await new Deno.Command("tmux", {
      args: ["-f", "/dev/null", "-L", this.socket, "kill-server"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output().catch(() => {});
    // Background watchers (`k fire`) and the programs in the panes carry our unique socket name
    // in their environment; nothing else on the machine does.
    let left = await this.#stragglers();
    for (const pid of left) killQuietly(pid, "SIGTERM");
    if (left.length > 0) await delay(200);
    left = await this.#stragglers();
    for (const pid of left) killQuietly(pid, "SIGKILL");
    // A killed server may leave its socket file behind; the name is ours alone.
    const tmuxDir = `${Deno.env.get("TMUX_TMPDIR") || "/tmp"}/tmux-${Deno.uid() ?? 0}`;
    await Deno.remove(`${tmuxDir}/${this.socket}`).catch(() => {});
    await Deno.remove(this.base, { recursive: true }).catch(() => {});
  }

  async #stragglers(): Promise<number[]> {
    const needle = `K_SOCKET=${this.socket}\0`;
    const pids: number[] = [];
    try {
      for await (const entry of Deno.readDir("/proc")) {
        const pid = Number(entry.name);
        if (!Number.isInteger(pid) || pid === Deno.pid) continue;
        try {
          const environ = await Deno.readTextFile(`/proc/${pid}/environ`);
          if (environ.includes(needle)) pids.push(pid);
        } catch {
          // gone, or not ours to read
        }
      }
    } catch {
      // no /proc: nothing more we can find
    }
    return pids;
  }
}

function killQuietly(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // already gone
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function progress(message: string): void {
  console.error(`bench: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Results

type Floor = "deno" | "tmux";

interface CaseResult {
  id: string;
  label: string;
  unit: "ms" | "MB";
  summary: Summary;
  /** The floor this case is compared with: measured alongside its samples, or the run's. */
  floor?: { kind: Floor | "rss"; median: number; paired: boolean };
  /** "ok", or what went wrong with a sample. */
  check: string;
  /** Further figures (medians of phases, sizes), for the report. */
  extra: Record<string, number | string>;
  /** Where the time of one sample goes: each step's median duration in ms, in order. */
  steps?: [step: string, ms: number][];
}

interface Target {
  id: string;
  label: string;
  /** Upper bound on the case's median. */
  limit: number;
  unit: "ms" | "MB" | "×";
  /** The figure compared (a case median, or a derived one). */
  value?: number;
  /** For a growth ratio: the absolute difference in ms, which may stay within {@link GROWTH_SLACK_MS}. */
  deltaMs?: number;
}

/** A growth below this many ms counts as none: a ratio of small figures is mostly noise. */
const GROWTH_SLACK_MS = 2;

/** Whether a target is met. */
function isMet(t: Target): boolean {
  if (t.value === undefined || !Number.isFinite(t.value)) return false;
  return t.value <= t.limit || (t.deltaMs !== undefined && t.deltaMs <= GROWTH_SLACK_MS);
}

/** Set by Ctrl-C: no new sample starts, and the run unwinds to its cleanup. */
let interrupted = false;

/** Thrown in place of the next sample once the run was interrupted. */
class Interrupted extends Error {
  override name = "Interrupted";
  constructor() {
    super("interrupted");
  }
}

/** One measurement: a value, or a value and what was wrong with the sample. */
type Sample = number | { value: number; error?: string };

/** A series of measurements and the first failure among them ("ok" when none). */
interface Series {
  values: number[];
  check: string;
  /** Floor samples taken alongside (one before each sample or pair of samples). */
  floor?: PairedFloor;
}

/**
 * A floor measured alongside a case: one floor sample before each of the case's samples, so that
 * a change in the machine's load moves the case and its floor alike and their ratio stays true.
 */
class PairedFloor {
  readonly values: number[] = [];
  constructor(readonly world: World, readonly kind: Floor) {}

  /** Takes one floor sample. */
  async sample(): Promise<void> {
    const out = this.kind === "deno"
      ? await this.world.exec(Deno.execPath(), ["run", "-A", this.world.emptyScript])
      : await this.world.tmux(["has-session", "-t", "=w"]);
    if (out.code === 0) this.values.push(out.ms);
  }
}

/** Takes one sample into `into` (kept unless it is a warm-up). */
async function take(into: Series, keep: boolean, sample: () => Promise<Sample>): Promise<void> {
  if (interrupted) throw new Interrupted();
  let got: Sample;
  try {
    got = await sample();
  } catch (e) {
    if (into.check === "ok") into.check = `FAIL: ${e instanceof Error ? e.message : String(e)}`;
    return;
  }
  const value = typeof got === "number" ? got : got.value;
  const error = typeof got === "number" ? undefined : got.error;
  if (error !== undefined && into.check === "ok") into.check = `FAIL: ${error}`.slice(0, 160);
  if (keep) into.values.push(value);
}

/** Runs `sample` `n` times after `warmup` unmeasured runs. */
async function series(
  n: number,
  warmup: number,
  sample: (i: number) => Promise<Sample>,
  floor?: PairedFloor,
): Promise<Series> {
  const out: Series = { values: [], check: "ok", floor };
  for (let i = 0; i < warmup + n; i++) {
    if (interrupted) throw new Interrupted();
    if (i >= warmup) await floor?.sample();
    await take(out, i >= warmup, () => sample(i));
  }
  return out;
}

/**
 * Samples several subjects in turn (a, b, c, a, b, c, …) so that a change in the machine's load
 * hits them all alike; returns one series per subject, in order. A paired floor takes one sample
 * per round.
 */
async function interleaved<T>(
  n: number,
  warmup: number,
  subjects: T[],
  sample: (subject: T) => Promise<Sample>,
  floor?: PairedFloor,
): Promise<Series[]> {
  const out: Series[] = subjects.map(() => ({ values: [], check: "ok", floor }));
  for (let i = 0; i < warmup + n; i++) {
    if (interrupted) throw new Interrupted();
    if (i >= warmup) await floor?.sample();
    for (const [j, subject] of subjects.entries()) {
      await take(out[j]!, i >= warmup, () => sample(subject));
    }
  }
  return out;
}

function makeCase(
  id: string,
  label: string,
  got: Series,
  extra: Record<string, number | string> = {},
  unit: "ms" | "MB" = "ms",
): CaseResult {
  const c: CaseResult = {
    id,
    label,
    unit,
    summary: summarize(got.values),
    check: got.check,
    extra,
  };
  if (got.floor && got.floor.values.length > 0) {
    c.floor = { kind: got.floor.kind, median: summarize(got.floor.values).median, paired: true };
  }
  return c;
}

/** Checks a `k run -j` result: done, with exactly `expected` as output. */
function expectDone(out: ProcOutput, expected: string): string | undefined {
  if (out.code !== 0) return `exit ${out.code}: ${(out.stderr || out.stdout).trim()}`;
  let result: { status?: string; output?: string };
  try {
    result = JSON.parse(out.stdout);
  } catch {
    return `not JSON: ${out.stdout.slice(0, 80)}`;
  }
  if (result.status !== "done") return `status ${result.status}: ${result.output}`;
  if (result.output !== expected) {
    return `output ${JSON.stringify(result.output?.slice(0, 40))}, expected ${
      JSON.stringify(expected.slice(0, 40))
    }`;
  }
  return undefined;
}

/** The parts of a result that say where a cut output is kept whole (absent before issue 5). */
interface MaybeTruncated {
  output: string;
  truncated?: boolean;
  output_file?: string;
}

/** A result's whole output: `output`, or the output file when the output was cut. */
async function wholeOutput(result: MaybeTruncated): Promise<string> {
  if (!result.truncated) return result.output;
  if (!result.output_file) throw new Error("truncated output without an output_file");
  const text = await Deno.readTextFile(result.output_file);
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}

/** Length in characters of a result's whole output (the output file's size for a cut one). */
async function wholeLength(result: MaybeTruncated): Promise<number> {
  if (!result.truncated) return result.output.length;
  if (!result.output_file) throw new Error("truncated output without an output_file");
  // ASCII output: bytes are characters. Read only the last byte, not 100 MB.
  using file = await Deno.open(result.output_file);
  const size = (await file.stat()).size;
  const last = new Uint8Array(1);
  await file.seek(Math.max(0, size - 1), Deno.SeekMode.Start);
  await file.read(last);
  return size > 0 && last[0] === 0x0a ? size - 1 : size;
}

/** Checks that `output` is exactly the lines 1..n. */
function checkSeq(output: string, n: number): string | undefined {
  const lines = output.split("\n");
  if (lines.length !== n) return `seq output has ${lines.length} lines, expected ${n}`;
  for (let i = 0; i < n; i++) {
    if (lines[i] !== String(i + 1)) return `seq line ${i + 1} is ${JSON.stringify(lines[i])}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Cases

async function floors(world: World, o: Options): Promise<Record<Floor, CaseResult>> {
  progress("floors: empty deno run, one tmux call");
  const empty = world.emptyScript;
  await Deno.writeTextFile(empty, "// intentionally empty\n");
  const deno = await series(o.runs, 3, async () => {
    const out = await world.exec(Deno.execPath(), ["run", "-A", empty]);
    return { value: out.ms, error: out.code === 0 ? undefined : out.stderr };
  });
  const tmux = await series(o.runs, 3, async () => {
    const out = await world.tmux(["has-session", "-t", "=w"]);
    return { value: out.ms, error: out.code === 0 ? undefined : out.stderr.trim() };
  });
  const result = {
    deno: makeCase("floor_deno", "floor: deno run of an empty script", deno),
    tmux: makeCase("floor_tmux", "floor: tmux has-session (one client call)", tmux),
  };
  world.floorMs = { deno: result.deno.summary.median, tmux: result.tmux.summary.median };
  return result;
}

async function processCases(world: World, o: Options): Promise<CaseResult[]> {
  const cases: CaseResult[] = [];

  // The three quick cases take turns, so that a burst of load on a shared machine hits them alike.
  progress(
    `k run: 'echo hello' in bash without and with the rc files, 'print(6*7)' in python3, ×${o.runs} each, in turn`,
  );
  const quick = [
    { id: "run_echo", label: `k run echo hello (${BASH})`, session: "w", code: "echo hello" },
    { id: "run_echo_rc", label: "k run echo hello (bash with ~/.bashrc)", session: "wrc" },
    { id: "run_python", label: "k run print(6*7) (python3)", session: "py", code: "print(6*7)" },
  ];
  const runs = await interleaved(o.runs, 2, quick, async ({ session, code }) => {
    const out = await world.k(["run", "-j", session, code ?? "echo hello"]);
    return { value: out.ms, error: expectDone(out, code === "print(6*7)" ? "42" : "hello") };
  }, new PairedFloor(world, "deno"));
  quick.forEach(({ id, label }, i) => cases.push(makeCase(id, label, runs[i]!)));

  progress(`k run 'echo hello' ×${o.slowRuns} with K_TRACE=1: where the time goes`);
  cases.push(await stepsCase(world, o));

  progress(`k new + k run + k kill ×${o.slowRuns}, without and with the rc files`);
  cases.push(await newRunKill(world, o, "new_run_kill", BASH));
  cases.push(await newRunKill(world, o, "new_run_kill_rc", "bash"));

  progress(`k run 'seq 1 100000' ×${o.slowRuns}`);
  cases.push(makeCase(
    "run_seq100k",
    "k run seq 1 100000 (output checked)",
    await series(o.slowRuns, 1, async () => {
      const out = await world.k(["run", "-j", "w", "seq 1 100000"]);
      if (out.code !== 0) return { value: out.ms, error: `exit ${out.code}: ${out.stderr}` };
      const result = JSON.parse(out.stdout) as MaybeTruncated & { status: string };
      if (result.status !== "done") return { value: out.ms, error: `status ${result.status}` };
      return { value: out.ms, error: checkSeq(await wholeOutput(result), 100_000) };
    }, new PairedFloor(world, "deno")),
  ));

  progress(`k fire, then km -1 wake-up ×${o.slowRuns}`);
  cases.push(
    await wakeCase(world, "w", o.slowRuns, "km_wake", "km -1 wake-up after the cell ends"),
  );
  return cases;
}

/** What a few trace steps stand for. */
const STEP_NOTES: Record<string, string> = {
  "launcher": "launcher: cli.ts and src/start.ts loaded",
  "bundle loaded": "start-up bundle loaded",
  "args parsed": "arguments parsed, session resolved",
  "lock taken": "cell planned, lock taken",
  "fired event written": "the fired event written, before anything is typed",
  "tmux spawned": "tmux spawned (Deno's process API loads on first use)",
  "log opened": "pane log opened, `last` written (while tmux types)",
  "code typed": "code typed: the rest of the tmux call",
  "end seen": "end marker seen (the program ran meanwhile)",
  "result recorded": "result recorded: claim, result with its fsync, done event",
  "printed": "output printed",
};

/**
 * `k run` with `K_TRACE=1`, which prints `k-trace <ms> <step>` on stderr at each step (ms since
 * the runtime's clock started): each step's duration, and what lies outside the trace (Deno's
 * start before its clock starts, and the exit), as medians.
 */
async function stepsCase(world: World, o: Options): Promise<CaseResult> {
  const durations = new Map<string, number[]>();
  const add = (step: string, ms: number) => {
    const list = durations.get(step) ?? [];
    list.push(ms);
    durations.set(step, list);
  };
  const got = await series(o.slowRuns, 2, async (i) => {
    const out = await world.k(["run", "-j", "w", "echo hello"], { K_TRACE: "1" });
    const error = expectDone(out, "hello");
    const marks = out.stderr.split("\n").flatMap((line) => {
      const m = /^k-trace (\d+(?:\.\d+)?) (.+)$/.exec(line);
      return m ? [{ ms: Number(m[1]), step: m[2]! }] : [];
    });
    if (marks.length === 0) return { value: out.ms, error: error ?? "no k-trace lines" };
    if (i >= 2) {
      let previous = 0;
      for (const { ms, step } of marks) {
        add(STEP_NOTES[step] ?? step, ms - previous);
        previous = ms;
      }
      add("outside the trace: Deno's start-up and exit", out.ms - previous);
    }
    return { value: out.ms, error };
  });
  const c = makeCase("run_echo_steps", "k run echo hello with K_TRACE=1 (steps below)", got);
  c.steps = [...durations].map(([step, list]) => [step, summarize(list).median]);
  return c;
}

/** `k new` + first `k run` + `k kill`: three whole processes in a row, starting `program`. */
async function newRunKill(
  world: World,
  o: Options,
  id: string,
  program: string,
): Promise<CaseResult> {
  const phases = { new: [] as number[], run: [] as number[], kill: [] as number[] };
  const got = await series(o.slowRuns, 1, async (i) => {
    const name = `${id}${i}`;
    const created = await world.k(["new", name, ...program.split(" ")]);
    const ran = await world.k(["run", "-j", name, "echo hello"]);
    const killed = await world.k(["kill", name]);
    phases.new.push(created.ms);
    phases.run.push(ran.ms);
    phases.kill.push(killed.ms);
    const error = created.code !== 0
      ? `new: ${created.stderr.trim()}`
      : expectDone(ran, "hello") ?? (killed.code !== 0 ? `kill: ${killed.stderr.trim()}` : "");
    return { value: created.ms + ran.ms + killed.ms, error: error || undefined };
  }, new PairedFloor(world, "deno"));
  return makeCase(id, `k new + first k run + k kill (${program})`, got, {
    new_median_ms: summarize(phases.new).median,
    run_median_ms: summarize(phases.run).median,
    kill_median_ms: summarize(phases.kill).median,
  });
}

/**
 * Wake-up latency of `km <session> <cell> -1`: `k fire` a cell that sleeps, then prints the wall
 * clock (`date +%s%N`) as its very last act; km is started right after `fire` returns (it is up
 * long before the sleep ends). The sample is the time from that printed instant to the moment
 * km's JSON line reaches the bench's pipe. It splits at the `done` event's `ts` into detection
 * (cell end → event written by the background watcher) and delivery (event → km's line).
 */
async function wakeCase(
  world: World,
  session: string,
  n: number,
  id: string,
  label: string,
): Promise<CaseResult> {
  const parts: WakeParts = { detect: [], deliver: [], fire: [] };
  const got = await series(
    n,
    1,
    () => wakeSample(world, session, parts),
    new PairedFloor(world, "tmux"),
  );
  return makeCase(id, label, got, wakeExtra(parts));
}

/** The parts of wake-up samples: detection, delivery, and the `k fire` process itself. */
interface WakeParts {
  detect: number[];
  deliver: number[];
  fire: number[];
}

function wakeExtra(parts: WakeParts): Record<string, number> {
  return {
    detect_median_ms: summarize(parts.detect).median,
    deliver_median_ms: summarize(parts.deliver).median,
    k_fire_median_ms: summarize(parts.fire).median,
  };
}

/** One wake-up sample (see {@link wakeCase}); records its parts in `parts`. */
async function wakeSample(world: World, session: string, parts: WakeParts): Promise<number> {
  const fired = await world.k(["fire", session, `sleep ${WAKE_SLEEP_S}; date +%s%N`]);
  if (fired.code !== 0) throw new Error(`fire: ${fired.stdout} ${fired.stderr}`);
  parts.fire.push(fired.ms);
  const cellId = (JSON.parse(fired.stdout) as { cell_id: string }).cell_id;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MONITOR, session, cellId, "-1"],
    env: world.env,
    clearEnv: true,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  world.spawned.add(child.pid);
  const line = await firstLine(child.stdout);
  const arrival = wallNow();
  await child.status;
  world.spawned.delete(child.pid);
  const event = JSON.parse(line.text) as { status: string; ts: string };
  const result = await world.kernel.session(session).poll(cellId);
  if (event.status !== "done" || result.status !== "done") {
    throw new Error(`km said ${event.status}, poll said ${result.status}`);
  }
  const stamp = result.output.trim().split("\n").at(-1) ?? "";
  if (!/^\d{19}$/.test(stamp)) throw new Error(`cell output ${JSON.stringify(result.output)}`);
  const endMs = Number(BigInt(stamp) / 1000n) / 1000;
  const eventMs = Date.parse(event.ts);
  parts.detect.push(eventMs - endMs);
  parts.deliver.push(arrival - eventMs);
  return arrival - endMs;
}

/** Reads a stream until its first newline; returns that line (and cancels nothing else). */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<{ text: string }> {
  const decoder = new TextDecoder();
  let text = "";
  const reader = stream.getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      const nl = text.indexOf("\n");
      if (nl >= 0) return { text: text.slice(0, nl) };
    }
  } finally {
    reader.releaseLock();
    stream.cancel().catch(() => {});
  }
  return { text };
}

/** A library `run` in this process, timed; checks the output. */
async function libRun(world: World, session: string, code: string, expected?: string) {
  const t0 = performance.now();
  const result = await world.kernel.session(session).run(code, { timeoutMs: 30_000 });
  const ms = performance.now() - t0;
  if (result.status !== "done") return { value: ms, error: `status ${result.status}` };
  if (expected !== undefined && result.output !== expected) {
    return { value: ms, error: `output ${JSON.stringify(result.output.slice(0, 40))}` };
  }
  return { value: ms };
}

/**
 * The MCP server (`deno run -A mcp.ts`, on the bench's kernel) with a real SDK client connected
 * over stdio; started once, before its samples.
 */
async function mcpClient(world: World): Promise<{ client: Client; close: () => Promise<void> }> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: ["run", "-A", `${ROOT}mcp.ts`],
    env: world.env,
    cwd: ROOT,
    stderr: "inherit",
  });
  const client = new Client({ name: "ktty-bench", version: "1" });
  await client.connect(transport);
  if (transport.pid) world.spawned.add(transport.pid);
  return { client, close: () => client.close() };
}

/** A `run` tool call through the MCP client, timed from the call to its answer; checks it. */
async function mcpRun(client: Client, session: string, code: string, expected: string) {
  const t0 = performance.now();
  const result = await client.callTool({ name: "run", arguments: { session, code } });
  const ms = performance.now() - t0;
  const value = result.structuredContent as { status?: string; output?: string } | undefined;
  if (result.isError || value?.status !== "done") {
    return { value: ms, error: `status ${value?.status}: ${value?.output}` };
  }
  if (value.output !== expected) return { value: ms, error: `output ${value.output}` };
  return { value: ms };
}

/**
 * The python family's profiles (issue 15): an in-process cell in ipython and in pdb
 * (`python3 -m pdb`), each with its markers, so each profile's cost is visible.
 */
async function pythonFamilyCases(world: World, o: Options): Promise<CaseResult[]> {
  const n = o.runs * 2;
  progress(`in-process run 'print(6*7)' in ipython and 'p 6*7' in pdb, ×${n} each, in turn`);
  const prog = `${world.base}/prog.py`;
  await Deno.writeTextFile(prog, "x = 1\n");
  await world.kernel.create("ip", { command: "ipython", cwd: world.base });
  await world.kernel.create("pdb", { command: `python3 -m pdb ${prog}`, cwd: world.base });
  const subjects = [
    { session: "ip", code: "print(6*7)" },
    { session: "pdb", code: "p 6*7" },
  ];
  const [ip, pdb] = await interleaved(
    n,
    3,
    subjects,
    ({ session, code }) => libRun(world, session, code, "42"),
    new PairedFloor(world, "tmux"),
  );
  return [
    makeCase("lib_run_ipython", "in-process Session.run print(6*7) (ipython)", ip!),
    makeCase("lib_run_pdb", "in-process Session.run p 6*7 (python3 -m pdb)", pdb!),
  ];
}

async function libraryCases(world: World, o: Options): Promise<CaseResult[]> {
  const n = o.runs * 2;
  progress(
    `in-process run 'echo hello' in bash and 'print(6*7)' in python3, and an MCP run 'echo hello', ×${n} each, in turn`,
  );
  const mcp = await mcpClient(world);
  try {
    const subjects = [
      { session: "w", code: "echo hello", expected: "hello", via: "library" },
      { session: "py", code: "print(6*7)", expected: "42", via: "library" },
      { session: "w", code: "echo hello", expected: "hello", via: "mcp" },
    ];
    const [echo, py, viaMcp] = await interleaved(
      n,
      3,
      subjects,
      ({ session, code, expected, via }) =>
        via === "mcp"
          ? mcpRun(mcp.client, session, code, expected)
          : libRun(world, session, code, expected),
      new PairedFloor(world, "tmux"),
    );
    return [
      makeCase("lib_run_echo", `in-process Session.run echo hello (${BASH})`, echo!),
      makeCase("lib_run_python", "in-process Session.run print(6*7) (python3)", py!),
      makeCase(
        "mcp_run_echo",
        `MCP run echo hello: a real client over stdio to mcp.ts (${BASH})`,
        viaMcp!,
      ),
      ...await pythonFamilyCases(world, o),
      ...await replCases(world, n),
    ];
  } finally {
    await mcp.close();
  }
}

/**
 * The REPLs with integration profiles (issue 15), where installed: one in-process cell each, so
 * the cost of each profile is visible (psql is left out: it needs a server).
 */
const REPLS = [
  { id: "sqlite3", command: ["sqlite3"], code: "select 6*7;", expected: "42" },
  { id: "lua", command: ["lua5.4"], code: "6*7", expected: "42" },
  { id: "r", command: ["R", "--vanilla", "-q"], code: "6*7", expected: "[1] 42" },
  { id: "irb", command: ["irb"], code: "6*7", expected: "=> 42" },
  { id: "pry", command: ["pry"], code: "6*7", expected: "=> 42" },
  { id: "gdb", command: ["gdb", "-q", "-nx"], code: "print 6*7", expected: "$1 = 42" },
] as const;

async function replCases(world: World, n: number): Promise<CaseResult[]> {
  const present = [];
  for (const repl of REPLS) {
    const made = await world.k(["new", `repl_${repl.id}`, ...repl.command]).catch(() => undefined);
    if (made?.code === 0 && made.stdout.includes("integration mode")) present.push(repl);
    else progress(`skipping ${repl.id}: '${repl.command[0]}' is not installed or not integrated`);
  }
  if (present.length === 0) return [];
  progress(`in-process run in ${present.map((r) => r.id).join(", ")}, ×${n} each, in turn`);
  // gdb's value history numbers each print: only its first output is known.
  const series = await interleaved(
    n,
    3,
    present,
    (r) => libRun(world, `repl_${r.id}`, r.code, r.id === "gdb" ? undefined : r.expected),
    new PairedFloor(world, "tmux"),
  );
  return present.map((r, i) =>
    makeCase(
      `lib_run_${r.id}`,
      `in-process Session.run ${r.code} (${r.command.join(" ")})`,
      series[i]!,
    )
  );
}

/** Peak RSS of one process: `/usr/bin/time -v` when present, else polling /proc VmHWM. */
async function peakRss(
  world: World,
  args: string[],
): Promise<{ mb: number; out: ProcOutput; how: string }> {
  const hasTime = await Deno.stat(TIME_BIN).then(() => true, () => false);
  if (hasTime) {
    const out = await world.exec(TIME_BIN, ["-v", Deno.execPath(), ...args]);
    const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(out.stderr)?.[1];
    if (kb === undefined) throw new Error("no RSS in /usr/bin/time output");
    return { mb: (Number(kb) * 1024) / 1e6, out, how: "/usr/bin/time -v" };
  }
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env: world.env,
    clearEnv: true,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  world.spawned.add(child.pid);
  const t0 = performance.now();
  let peakKb = 0;
  let finished = false;
  const output = child.output().finally(() => finished = true);
  while (!finished) {
    try {
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      if (kb > peakKb) peakKb = kb;
    } catch {
      break;
    }
    await delay(2);
  }
  const raw = await output;
  world.spawned.delete(child.pid);
  const decoder = new TextDecoder();
  return {
    mb: (peakKb * 1024) / 1e6,
    out: {
      code: raw.code,
      stdout: decoder.decode(raw.stdout),
      stderr: decoder.decode(raw.stderr),
      ms: performance.now() - t0,
    },
    how: "polling /proc/<pid>/status VmHWM",
  };
}

async function memoryCases(world: World, o: Options): Promise<CaseResult[]> {
  progress(`peak RSS: empty deno run, k run 'seq 1 300000' ×${o.memRuns}`);
  const empty = world.emptyScript;
  let how = "";
  const floor = await series(o.memRuns, 0, async () => {
    const got = await peakRss(world, ["run", "-A", empty]);
    how = got.how;
    return got.mb;
  });
  const times: number[] = [];
  const seq = await series(o.memRuns, 0, async () => {
    const got = await peakRss(world, [
      "run",
      "-A",
      CLI,
      "run",
      "-j",
      "-t",
      "120",
      "w",
      "seq 1 300000",
    ]);
    times.push(got.out.ms);
    if (got.out.code !== 0) return { value: got.mb, error: `exit ${got.out.code}` };
    const result = JSON.parse(got.out.stdout) as MaybeTruncated & { status: string };
    if (result.status !== "done") return { value: got.mb, error: `status ${result.status}` };
    return { value: got.mb, error: checkSeq(await wholeOutput(result), 300_000) };
  });
  const floorCase = makeCase("rss_floor", "peak RSS: deno run of an empty script", floor, {
    how,
  }, "MB");
  const seqCase = makeCase("rss_300k", "peak RSS: k run seq 1 300000 (output checked)", seq, {
    how,
    wall_median_ms: summarize(times).median,
  }, "MB");
  seqCase.floor = { kind: "rss", median: floorCase.summary.median, paired: false };
  return [floorCase, seqCase];
}

/**
 * Does latency grow with history? Session `hist` runs `historyCells` quick cells and one cell
 * printing `historyMb` MB of real output (lines of 1000 `x`); then a new session `fresh` is
 * made, and every measurement alternates between the two so that the machine's load hits both
 * alike: in-process run, whole-process run, km wake-up, km start on a finished cell, k history.
 */
async function historyCases(world: World, o: Options): Promise<CaseResult[]> {
  const hist = "hist";
  await world.kOk(["new", hist, ...BASH.split(" ")]);
  progress(`history: ${o.historyCells} quick cells`);
  const t0 = performance.now();
  const filler = await series(o.historyCells, 0, (i) => libRun(world, hist, `echo c${i}`, `c${i}`));
  const fillMs = performance.now() - t0;

  const bytes = o.historyMb * 1_000_000;
  const lines = Math.ceil(bytes / BIG_LINE_CHARS);
  progress(`history: one cell printing ${o.historyMb} MB (${lines} lines)`);
  const big = await series(bytes > 0 ? 1 : 0, 0, async () => {
    const t = performance.now();
    const result = await world.kernel.session(hist).run(
      `head -c ${bytes} /dev/zero | tr '\\0' x | fold -w ${BIG_LINE_CHARS}; echo`,
      { timeoutMs: 600_000 },
    );
    const ms = performance.now() - t;
    if (result.status !== "done") return { value: ms, error: `status ${result.status}` };
    const expected = bytes + lines - 1;
    const length = await wholeLength(result as MaybeTruncated);
    if (length !== expected) {
      return { value: ms, error: `output ${length} chars, expected ${expected}` };
    }
    return { value: ms };
  });
  const dir = `${world.home}/${world.socket}/${hist}`;
  const log = await Deno.stat(`${dir}/pane.log`).catch(() => undefined);
  const events = await Deno.readTextFile(`${dir}/events.jsonl`)
    .then((t) => t.split("\n").length - 1, () => 0);

  const fresh = "fresh";
  await world.kOk(["new", fresh, ...BASH.split(" ")]);
  const subjects: [string, string] = [fresh, hist];
  const cases: CaseResult[] = [];
  const pair = (id: string, label: string, got: Series[], extra?: WakeParts[]) => {
    cases.push(
      makeCase(`${id}_fresh`, `${label}, fresh session`, got[0]!, extra && wakeExtra(extra[0]!)),
      makeCase(`${id}_after`, `${label}, after history`, got[1]!, extra && wakeExtra(extra[1]!)),
    );
  };
  progress("history: fresh vs after-history session, alternating");
  pair(
    "hist_lib_run",
    "in-process run echo",
    await interleaved(
      o.runs,
      2,
      subjects,
      (s) => libRun(world, s, "echo hello", "hello"),
      new PairedFloor(world, "tmux"),
    ),
  );
  pair(
    "hist_k_run",
    "k run echo",
    await interleaved(o.slowRuns, 1, subjects, async (s) => {
      const out = await world.k(["run", "-j", s, "echo hello"]);
      return { value: out.ms, error: expectDone(out, "hello") };
    }, new PairedFloor(world, "deno")),
  );
  const parts: WakeParts[] = [{ detect: [], deliver: [], fire: [] }, {
    detect: [],
    deliver: [],
    fire: [],
  }];
  pair(
    "hist_km_wake",
    "km -1 wake-up",
    await interleaved(
      o.slowRuns,
      0,
      subjects,
      (s) => wakeSample(world, s, parts[s === fresh ? 0 : 1]!),
      new PairedFloor(world, "tmux"),
    ),
    parts,
  );
  pair(
    "hist_km_done",
    "km <finished cell> -1 (whole process)",
    await interleaved(o.slowRuns, 1, subjects, async (s) => {
      const ran = await world.kernel.session(s).run("true");
      if (ran.status !== "done") throw new Error(`run: ${ran.status}`);
      const out = await world.exec(Deno.execPath(), ["run", "-A", MONITOR, s, ran.cell_id, "-1"]);
      const status = out.stdout.includes('"status":"done"') ? undefined : out.stdout.trim();
      return { value: out.ms, error: status };
    }, new PairedFloor(world, "deno")),
  );
  pair(
    "hist_k_history",
    "k history -n 5 (whole process)",
    await interleaved(o.slowRuns, 1, subjects, async (s) => {
      const out = await world.k(["history", "-n", "5", s]);
      return { value: out.ms, error: out.code === 0 ? undefined : out.stderr.trim() };
    }, new PairedFloor(world, "deno")),
  );

  const fill = makeCase("hist_fill", `${o.historyCells} quick in-process cells (each)`, filler, {
    total_s: fillMs / 1000,
  });
  const bigCase = makeCase("hist_big", `one in-process cell printing ${o.historyMb} MB`, big, {
    mb_per_s: big.values[0] ? o.historyMb / (big.values[0] / 1000) : NaN,
    pane_log_mb: log ? log.size / 1e6 : NaN,
    events,
  });
  for (const c of [fill, bigCase]) {
    c.floor = { kind: "tmux", median: world.floorMs.tmux, paired: false };
  }
  return [fill, bigCase, ...cases];
}

// ---------------------------------------------------------------------------------------------
// Report

interface Machine {
  date: string;
  nproc: number;
  cpu: string;
  memory_gib: number;
  os: string;
  deno: string;
  tmux: string;
  python: string;
  /** How `k` and `km` started: from their fresh start-up bundles, or from the sources. */
  startup: string;
  sessions: Record<string, string>;
}

async function machine(world: World): Promise<Machine> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const memKb = Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? NaN);
  const tmux = await world.exec("tmux", ["-V"]).catch(() => undefined);
  const python = await world.exec("python3", ["--version"]).catch(() => undefined);
  return {
    date: new Date().toISOString(),
    nproc: navigator.hardwareConcurrency,
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memory_gib: Math.round((memKb / 1024 / 1024) * 10) / 10,
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
    tmux: tmux?.stdout.trim() ?? "missing",
    python: python?.stdout.trim() ?? "missing",
    startup: isFresh("k") && isFresh("km")
      ? "bundle"
      : "sources (no fresh bundle: run deno task build)",
    sessions: {},
  };
}

function targetsFor(cases: Map<string, CaseResult>): Target[] {
  const med = (id: string) => cases.get(id)?.summary.median;
  const growth = (id: string): Pick<Target, "value" | "deltaMs"> => {
    const before = med(`${id}_fresh`);
    const after = med(`${id}_after`);
    return before && after ? { value: after / before, deltaMs: after - before } : {};
  };
  const ratio = (id: string, base: string): Pick<Target, "value" | "deltaMs"> => {
    const over = med(id);
    const under = med(base);
    return over && under ? { value: over / under, deltaMs: over - under } : {};
  };
  const list: Target[] = [
    { id: "run_echo", label: "k run echo (bash --norc)", limit: 35, unit: "ms" },
    {
      id: "run_echo_rc",
      label: "k run echo (bash + this machine's ~/.bashrc)",
      limit: 35,
      unit: "ms",
    },
    { id: "run_python", label: "k run print(6*7) (python)", limit: 35, unit: "ms" },
    { id: "new_run_kill", label: "k new + run + kill (bash --norc)", limit: 150, unit: "ms" },
    {
      id: "new_run_kill_rc",
      label: "k new + run + kill (bash + this machine's ~/.bashrc)",
      limit: 150,
      unit: "ms",
    },
    { id: "run_seq100k", label: "k run seq 1 100000", limit: 250, unit: "ms" },
    { id: "km_wake", label: "km -1 wake-up after cell end", limit: 30, unit: "ms" },
    { id: "lib_run_echo", label: "in-process run (bash echo)", limit: 5, unit: "ms" },
    { id: "lib_run_python", label: "in-process run (python print)", limit: 5, unit: "ms" },
    ...REPLS.filter((r) => cases.has(`lib_run_${r.id}`)).map((r): Target => ({
      id: `lib_run_${r.id}`,
      label: `in-process run (${r.id}: ${r.code})`,
      limit: 10,
      unit: "ms",
    })),
    {
      id: "mcp_over_lib",
      label: "MCP run echo ÷ in-process run echo (issue 17: about the same)",
      limit: 1.5,
      unit: "×",
      ...ratio("mcp_run_echo", "lib_run_echo"),
    },
    { id: "rss_300k", label: "k peak RSS, 300,000 lines", limit: 100, unit: "MB" },
    {
      id: "hist_lib_run_after",
      label: "in-process run after history",
      limit: 5,
      unit: "ms",
    },
    {
      id: "growth_lib",
      label: "in-process run: after history ÷ fresh",
      limit: 1.25,
      unit: "×",
      ...growth("hist_lib_run"),
    },
    {
      id: "growth_k",
      label: "k run: after history ÷ fresh",
      limit: 1.25,
      unit: "×",
      ...growth("hist_k_run"),
    },
    {
      id: "growth_km",
      label: "km wake-up: after history ÷ fresh",
      limit: 1.25,
      unit: "×",
      ...growth("hist_km_wake"),
    },
    {
      id: "growth_km_done",
      label: "km <done cell> -1: after history ÷ fresh",
      limit: 1.25,
      unit: "×",
      ...growth("hist_km_done"),
    },
    {
      id: "growth_k_history",
      label: "k history -n 5: after history ÷ fresh",
      limit: 1.25,
      unit: "×",
      ...growth("hist_k_history"),
    },
  ];
  // Targets of groups that did not run are left out.
  return list.map((t) => ({ ...t, value: t.value ?? med(t.id) }))
    .filter((t) => t.value !== undefined);
}

function unitText(value: number | undefined, unit: string): string {
  if (value === undefined || !Number.isFinite(value)) return "-";
  if (unit === "×") return `${fixed(value, 2)}×`;
  return `${fixed(value, Math.abs(value) < 10 ? 2 : 1)} ${unit}`;
}

function report(
  m: Machine,
  o: Options,
  floor: Record<Floor, CaseResult>,
  cases: CaseResult[],
  targets: Target[],
): string[] {
  const out: string[] = [];
  out.push(`ktty bench ${m.date}${o.quick ? " (--quick)" : ""}`);
  out.push(
    `machine: ${m.nproc} × ${m.cpu}, ${m.memory_gib} GiB RAM, ${m.os}; deno ${m.deno}, ${m.tmux}, ${m.python}`,
  );
  out.push(`start-up: k and km from ${m.startup}`);
  out.push(
    `sessions: ${Object.entries(m.sessions).map(([k, v]) => `${k}: ${v}`).join("; ")}`,
  );
  out.push("");
  const rows: string[][] = [["case", "n", "median", "p90", "floor", "÷floor", "check"]];
  for (const c of [floor.deno, floor.tmux, ...cases]) {
    const s = c.summary;
    const f = c.floor;
    const floorText = f === undefined
      ? "-"
      : `${f.kind} ${unitText(f.median, f.kind === "rss" ? "MB" : "ms")}${f.paired ? "" : "*"}`;
    rows.push([
      c.label,
      String(s.n),
      unitText(s.median, c.unit),
      unitText(s.p90, c.unit),
      floorText,
      f === undefined ? "-" : `${fixed(s.median / f.median, f.median < 5 ? 1 : 2)}×`,
      c.check,
    ]);
  }
  out.push(...table(rows));
  out.push("");
  out.push(
    "floor: deno = an empty `deno run`, tmux = one tmux client call, each measured once before every",
  );
  out.push(
    "sample of the case (so load changes hit both); * = the run's floor measured at the start.",
  );
  const notes = cases.filter((c) => Object.keys(c.extra).length > 0);
  for (const c of notes) {
    const parts = Object.entries(c.extra).map(([k, v]) =>
      `${k}=${typeof v === "number" ? fixed(v, 1) : v}`
    );
    out.push(`  ${c.id}: ${parts.join(", ")}`);
  }
  for (const c of cases.filter((c) => c.steps)) {
    out.push("");
    out.push(`where the time of one sample of "${c.label}" goes (step medians):`);
    const rows = c.steps!.map(([step, ms]) => [`  ${step}`, unitText(ms, "ms")]);
    const total = c.steps!.reduce((sum, [, ms]) => sum + ms, 0);
    out.push(
      ...table([["  step", "ms"], ...rows, ["  sum of the step medians", unitText(total, "ms")]]),
    );
  }
  out.push("");
  out.push("targets (issue 7; medians on this machine)");
  const trows: string[][] = [["target", "limit", "measured", "result"]];
  for (const t of targets) {
    const met = isMet(t);
    const delta = t.deltaMs === undefined
      ? ""
      : ` (${t.deltaMs >= 0 ? "+" : ""}${fixed(t.deltaMs, 1)} ms)`;
    trows.push([
      t.label,
      `≤ ${unitText(t.limit, t.unit)}${
        t.deltaMs === undefined ? "" : ` or +${GROWTH_SLACK_MS} ms`
      }`,
      unitText(t.value, t.unit) + delta,
      t.value === undefined ? "n/a" : met ? "met" : "MISSED",
    ]);
  }
  out.push(...table(trows));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(argv: string[]): Promise<number> {
  let o: Options | undefined;
  try {
    o = parseOptions(argv);
  } catch (e) {
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (!o) {
    console.log(USAGE);
    return 0;
  }
  const options = o;
  const world = new World(await Deno.makeTempDir({ prefix: "ktty-bench-" }));
  const onSignal = () => {
    if (interrupted) {
      // A second Ctrl-C: do not wait for the current sample any longer.
      world.cleanup().finally(() => Deno.exit(130));
      return;
    }
    interrupted = true;
    progress("interrupted; ending the current sample, then cleaning up");
    // Unblock the current sample: its processes and the sessions it may be waiting on go. The
    // cleanup proper runs once the run has unwound, so nothing is recreated after it.
    for (const pid of world.spawned) killQuietly(pid, "SIGKILL");
    new Deno.Command("tmux", {
      args: ["-f", "/dev/null", "-L", world.socket, "kill-server"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output().catch(() => {});
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  const started = performance.now();
  try {
    const m = await machine(world);
    progress(`state ${world.home}, socket ${world.socket}`);
    const programs = [["w", BASH], ["wrc", "bash"], ["py", "python3"]] as const;
    for (const [name, program] of programs) {
      const out = await world.kOk(["new", name, ...program.split(" ")]);
      m.sessions[name] = `${program}, ${out.stdout.trim().replace(/^OK \S+ \((.*)\)$/, "$1")}`;
    }
    const floor = await floors(world, options);
    const groups: Record<Group, (world: World, o: Options) => Promise<CaseResult[]>> = {
      process: processCases,
      library: libraryCases,
      memory: memoryCases,
      history: historyCases,
    };
    const cases: CaseResult[] = [];
    for (const group of GROUPS) {
      if (options.only.has(group)) cases.push(...await groups[group](world, options));
    }
    const byId = new Map(cases.map((c) => [c.id, c]));
    const targets = targetsFor(byId);
    const seconds = (performance.now() - started) / 1000;
    if (options.json) {
      console.log(JSON.stringify(
        {
          machine: m,
          options: { ...options, only: [...options.only] },
          floors: floor,
          cases,
          targets: targets.map((t) => ({
            ...t,
            met: isMet(t),
          })),
          seconds,
        },
        null,
        2,
      ));
    } else {
      for (const line of report(m, options, floor, cases, targets)) console.log(line);
      console.log(`\n(${fixed(seconds, 0)} s)`);
    }
    return cases.some((c) => c.check !== "ok") ? 1 : 0;
  } catch (e) {
    if (interrupted) return 130;
    throw e;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    await world.cleanup();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

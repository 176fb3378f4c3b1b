/**
 * The benchmark of remote sessions (issue 18): `k run -j w true` locally beside
 * `k --host kt-a run -j w true` over SSH to 127.0.0.1 (a real sshd, tests/sshd.ts), with the shared
 * connection warm, and the first call (no shared connection yet) apart. Each remote case stands
 * beside its floor, measured in the same run and taking turns with it sample by sample: `ssh kt-a
 * true` over a warm control master (warm), or over a new connection (cold); the local case beside an
 * empty `deno run`. "k + ssh" adds the local `k run` and the warm ssh floor: what a remote call
 * should cost (the remote k run plus one round trip); "over" is what the remote call costs beyond it.
 *
 *   deno run -A bench/remote.ts [--runs N] [--cold N] [--json]
 *
 * It owns a temp dir (the sshd, its keys, the local and remote K_HOME) and unique tmux sockets,
 * and removes them (tmux servers, ssh masters, watchers, sshd) when it ends, also on Ctrl-C.
 * `k host setup` writes the artifact to the real `~/.local/share/ktty/` (a versioned cache).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { fixed, summarize, table } from "./_stats.ts";
import { Sshd } from "../tests/sshd.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = `${ROOT}cli.ts`;
const BASH = ["bash", "--norc", "--noprofile"];

interface Options {
  runs: number;
  cold: number;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string", default: "20" },
      cold: { type: "string", default: "5" },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  const runs = Number(values.runs);
  const cold = Number(values.cold);
  if (!(runs > 0 && cold > 0)) throw new Error("--runs and --cold must be positive integers");
  return { runs, cold, json: values.json };
}

/** One timed process: how long from spawn to exit, its status and stdout. */
interface Timed {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** The bench's world: sshd, the local and remote states, and every process to end. */
class Bench {
  readonly base = Deno.makeTempDirSync({ prefix: "ktty-remote-bench-" });
  readonly id = `${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  readonly localSocket = `kremote-l-${this.id}`;
  readonly remote = { home: `${this.base}/remote-home`, socket: `kremote-r-${this.id}` };
  sshd: Sshd | undefined;
  config = "";

  async start(): Promise<void> {
    this.sshd = await Sshd.start(`${this.base}/sshd`);
    this.config = await this.sshd.writeClientConfig(
      `${this.base}/ssh_config`,
      this.remote,
      { home: `${this.base}/remote-b`, socket: `kremote-b-${this.id}` },
    );
  }

  /** `k <args>` as a user runs it; `home` is the local K_HOME (a fresh one has no connection). */
  k(args: string[], home = `${this.base}/home`): Promise<Timed> {
    return timed(Deno.execPath(), ["run", "-A", CLI, ...args], {
      K_HOME: home,
      K_SOCKET: this.localSocket,
      K_SSH_COMMAND: `ssh -F ${this.config}`,
    });
  }

  /** `ssh kt-a true`, over the bench's own control master (warm) or a new connection. */
  ssh(warm: boolean): Promise<Timed> {
    const master = warm
      ? [
        "-o",
        "ControlMaster=auto",
        "-o",
        `ControlPath=${this.base}/cm`,
        "-o",
        "ControlPersist=300",
      ]
      : [];
    return timed("ssh", ["-F", this.config, ...master, "kt-a", "true"], {});
  }

  /** Ends every process the bench started (found by its temp dir or sockets) and removes it. */
  async cleanup(): Promise<void> {
    await this.sshd?.stop().catch(() => {});
    for (const socket of [this.localSocket, this.remote.socket]) {
      await new Deno.Command("tmux", {
        args: ["-f", "/dev/null", "-L", socket, "kill-server"],
        stdout: "null",
        stderr: "null",
      }).output().catch(() => {});
    }
    for (const pid of this.#strays()) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    await Deno.remove(this.base, { recursive: true }).catch(() => {});
  }

  /** Processes carrying the bench's dir or sockets: ssh masters, watchers. */
  #strays(): number[] {
    const out: number[] = [];
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name) || Number(entry.name) === Deno.pid) continue;
      try {
        const cmd = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
        const env = Deno.readTextFileSync(`/proc/${entry.name}/environ`);
        if (cmd.includes(this.base) || env.includes(this.id)) out.push(Number(entry.name));
      } catch {
        // not ours, or gone
      }
    }
    return out;
  }
}

async function timed(command: string, args: string[], env: Record<string, string>): Promise<Timed> {
  const t0 = performance.now();
  const out = await new Deno.Command(command, {
    args,
    env,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  const decoder = new TextDecoder();
  return {
    ms,
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** Throws unless `out` is a finished `true` cell (a figure of a failed call means nothing). */
function checkRun(out: Timed, what: string): number {
  let status = "";
  try {
    status = String((JSON.parse(out.stdout) as { status?: unknown }).status);
  } catch {
    // not JSON
  }
  if (out.code !== 0 || status !== "done") {
    throw new Error(`${what}: exit ${out.code}: ${out.stdout}${out.stderr}`.trim());
  }
  return out.ms;
}

function checkOk(out: Timed, what: string): number {
  if (out.code !== 0) throw new Error(`${what}: exit ${out.code}: ${out.stderr}`.trim());
  return out.ms;
}

/** Takes `n` samples of each subject in turn (so that a burst of load hits them alike). */
async function inTurns(n: number, subjects: (() => Promise<number>)[]): Promise<number[][]> {
  const out = subjects.map(() => [] as number[]);
  for (let i = 0; i < n; i++) {
    for (const [j, subject] of subjects.entries()) out[j]?.push(await subject());
  }
  return out;
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const bench = new Bench();
  const onSignal = () => bench.cleanup().finally(() => Deno.exit(130));
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    await bench.start();
    const setup = await bench.k(["host", "setup", "kt-a"]);
    checkOk(setup, "k host setup kt-a");
    checkOk(await bench.k(["new", "w", ...BASH]), "k new w");
    checkOk(await bench.k(["--host", "kt-a", "new", "w", ...BASH]), "k --host kt-a new w");
    const empty = `${bench.base}/empty.ts`;
    Deno.writeTextFileSync(empty, "");
    // Warm-up: the shared connection, the bench's own master, the caches of both sides.
    checkRun(await bench.k(["--host", "kt-a", "run", "-j", "w", "true"]), "warm-up");
    checkOk(await bench.ssh(true), "warm-up ssh");
    const [local, deno, warm, sshWarm] = await inTurns(options.runs, [
      async () => checkRun(await bench.k(["run", "-j", "w", "true"]), "local k run"),
      async () => checkOk(await timed(Deno.execPath(), ["run", empty], {}), "deno run"),
      async () => checkRun(await bench.k(["--host", "kt-a", "run", "-j", "w", "true"]), "remote"),
      async () => checkOk(await bench.ssh(true), "ssh warm"),
    ]);
    // Cold: a fresh local K_HOME has no shared connection (its master lives on to the cleanup).
    let fresh = 0;
    const [cold, sshCold] = await inTurns(options.cold, [
      async () => {
        const home = `${bench.base}/cold-${fresh++}`;
        const args = ["--host", "kt-a", "run", "-j", "w", "true"];
        return checkRun(await bench.k(args, home), "remote, cold");
      },
      async () => checkOk(await bench.ssh(false), "ssh cold"),
    ]);
    report(options, {
      local: local ?? [],
      deno: deno ?? [],
      warm: warm ?? [],
      sshWarm: sshWarm ?? [],
      cold: cold ?? [],
      sshCold: sshCold ?? [],
    });
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await bench.cleanup();
  }
}

interface Samples {
  local: number[];
  deno: number[];
  warm: number[];
  sshWarm: number[];
  cold: number[];
  sshCold: number[];
}

function report(options: Options, s: Samples): void {
  const m = (xs: number[]) => summarize(xs).median;
  const expected = m(s.local) + m(s.sshWarm);
  const rows = [
    { case: "k run -j w true (local)", samples: s.local, floor: "deno run (empty)", of: s.deno },
    {
      case: "k --host kt-a run (warm)",
      samples: s.warm,
      floor: "ssh kt-a true (warm master)",
      of: s.sshWarm,
    },
    {
      case: "k --host kt-a run (cold, first)",
      samples: s.cold,
      floor: "ssh kt-a true (new connection)",
      of: s.sshCold,
    },
  ];
  if (options.json) {
    console.log(JSON.stringify({
      cases: rows.map((r) => ({
        case: r.case,
        ...summarize(r.samples),
        floor: r.floor,
        floor_median: m(r.of),
      })),
      warm_expected_ms: expected,
      warm_over_expected_ms: m(s.warm) - expected,
    }));
    return;
  }
  const lines = [["case", "n", "median ms", "p90 ms", "floor", "floor ms", "÷ floor"]];
  for (const r of rows) {
    const sum = summarize(r.samples);
    const floor = m(r.of);
    lines.push([
      r.case,
      String(sum.n),
      fixed(sum.median),
      fixed(sum.p90),
      r.floor,
      fixed(floor),
      `${fixed(sum.median / floor, 2)}×`,
    ]);
  }
  for (const line of table(lines)) console.log(line);
  console.log(
    `warm remote k run: ${fixed(m(s.warm))} ms; local k run + warm ssh: ${fixed(expected)} ms; ` +
      `over: ${fixed(m(s.warm) - expected)} ms`,
  );
}

if (import.meta.main) await main();

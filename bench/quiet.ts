/**
 * The benchmark of a quiet fleet (issue 16): what idle followers cost, how fast a follower wakes
 * on a cell's end, what `k ls -j` costs over many sessions — each beside its floor measured in the
 * same run (an idle `deno` process; an empty `deno run`). It owns a temp K_HOME and a unique
 * K_SOCKET and removes both (tmux server, its followers, files) when it ends.
 *
 *   deno run -A bench/quiet.ts [--followers N] [--seconds S] [--sessions N] [--runs N] [--json]
 *       [--only idle,all,wake,ls]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { Kernel } from "../mod.ts";
import { summarize } from "./_stats.ts";
import { SESSION_FORMAT } from "../src/tmux.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = `${ROOT}cli.ts`;
const MONITOR = `${ROOT}monitor.ts`;
const BASH = "bash --norc --noprofile";
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on Linux). */
const TICKS_PER_S = 100;
const GROUPS = ["idle", "all", "wake", "ls"] as const;
type Group = typeof GROUPS[number];

interface Options {
  followers: number;
  seconds: number;
  sessions: number;
  runs: number;
  json: boolean;
  only: Set<Group>;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      followers: { type: "string", default: "50" },
      seconds: { type: "string", default: "30" },
      sessions: { type: "string", default: "200" },
      runs: { type: "string", default: "15" },
      json: { type: "boolean", default: false },
      only: { type: "string" },
    },
    strict: true,
  });
  const only = new Set<Group>();
  for (const g of (values.only ?? GROUPS.join(",")).split(",")) {
    if (!(GROUPS as readonly string[]).includes(g)) throw new Error(`--only: unknown group '${g}'`);
    only.add(g as Group);
  }
  return {
    followers: Number(values.followers),
    seconds: Number(values.seconds),
    sessions: Number(values.sessions),
    runs: Number(values.runs),
    json: values.json,
    only,
  };
}

/** CPU ticks (user + system, all threads) and RSS of a process, from /proc. */
function procUsage(pid: number): { ticks: number; rssKb: number } {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { ticks, rssKb };
  } catch {
    return { ticks: 0, rssKb: 0 };
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class World {
  readonly base = Deno.makeTempDirSync({ prefix: "ktty-quiet-bench-" });
  readonly socket = `kquiet-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  readonly env: Record<string, string>;
  readonly kernel: Kernel;
  readonly children = new Set<Deno.ChildProcess>();

  constructor() {
    const env = Deno.env.toObject();
    delete env.K_SESSION;
    this.env = { ...env, K_HOME: `${this.base}/home`, K_SOCKET: this.socket, NO_COLOR: "1" };
    this.kernel = new Kernel({ home: `${this.base}/home`, socket: this.socket });
  }

  spawn(args: string[]): Deno.ChildProcess {
    const child = new Deno.Command(Deno.execPath(), {
      args,
      env: this.env,
      clearEnv: true,
      cwd: this.base,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.children.add(child);
    return child;
  }

  async exec(args: string[]): Promise<{ ms: number; code: number; stdout: string }> {
    const t0 = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args,
      env: this.env,
      clearEnv: true,
      cwd: this.base,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      ms: performance.now() - t0,
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
    };
  }

  async stop(child: Deno.ChildProcess): Promise<void> {
    try {
      child.kill("SIGTERM");
    } catch {
      // gone
    }
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await child.stdin.close().catch(() => {});
    this.children.delete(child);
  }

  /** How long one `tmux list-sessions` of every session on the socket takes, process and all. */
  async listSessionsMs(): Promise<number> {
    const t0 = performance.now();
    const out = await new Deno.Command("tmux", {
      args: ["-f", "/dev/null", "-L", this.socket, "list-sessions", "-F", "#{session_name}"],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) throw new Error("tmux list-sessions failed");
    return performance.now() - t0;
  }

  async sessions(n: number, prefix: string): Promise<string[]> {
    const names = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
    for (let i = 0; i < names.length; i += 8) {
      await Promise.all(
        names.slice(i, i + 8).map((name) =>
          this.kernel.create(name, { command: BASH, cwd: this.base })
        ),
      );
    }
    return names;
  }

  async cleanup(): Promise<void> {
    for (const child of [...this.children]) await this.stop(child);
    await new Deno.Command("tmux", {
      args: ["-f", "/dev/null", "-L", this.socket, "kill-server"],
      stdout: "null",
      stderr: "null",
    }).output().catch(() => {});
    await Deno.remove(this.base, { recursive: true }).catch(() => {});
  }
}

interface Row {
  case: string;
  value: string;
  floor: string;
  ratio: string;
  target: string;
}

/** CPU (% of one core) and RSS of `pids` over `seconds`, idle. */
async function idleCost(
  pids: number[],
  seconds: number,
): Promise<{ cpuPct: number; rssMb: number; spawned: number }> {
  const before = pids.map(procUsage);
  const childrenBefore = pids.map(childFaults);
  await delay(seconds * 1000);
  const after = pids.map(procUsage);
  const ticks = after.reduce((sum, u, i) => sum + u.ticks - (before[i]?.ticks ?? 0), 0);
  const rssKb = after.reduce((sum, u) => sum + u.rssKb, 0);
  const spawned = pids.map(childFaults).filter((c, i) => c > (childrenBefore[i] ?? 0)).length;
  return { cpuPct: ticks / TICKS_PER_S / seconds * 100, rssMb: rssKb / 1024, spawned };
}

/**
 * Minor page faults of the children `pid` has reaped (cminflt, /proc/<pid>/stat): every process
 * it spawned and waited for adds hundreds, so a count that stays put means nothing was spawned.
 */
function childFaults(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[8]);
  } catch {
    return 0;
  }
}

async function firstLine(child: Deno.ChildProcess): Promise<string> {
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  return text.split("\n")[0] ?? "";
}

/** Reads lines from a child's stdout, calling `onLine` with each and its arrival time. */
function readLines(child: Deno.ChildProcess, onLine: (line: string, atMs: number) => void): void {
  (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of child.stdout) {
      const at = performance.timeOrigin + performance.now();
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) onLine(line, at);
    }
  })().catch(() => {});
}

/**
 * A script for `deno run` that makes the tmux call `k ls` makes (list-sessions with ktty's format,
 * on the bench's socket) and nothing else; with `reads`, it also reads every session's
 * `meta.json` and prints how many it read. No ktty module is loaded: it is a floor.
 */
function floorScript(home: string, socket: string, reads: boolean): string {
  const call = `const listing = new Deno.Command("tmux", { args: ${
    JSON.stringify(["-u", "-f", "/dev/null", "-L", socket, "list-sessions", "-F", SESSION_FORMAT])
  }, stdin: "null", stdout: "piped", stderr: "null" }).output();\n`;
  if (!reads) return `${call}await listing;\n`;
  return call + `const dir = ${JSON.stringify(`${home}/${socket}`)};\n` +
    `let n = 0;\n` +
    `for (const e of Deno.readDirSync(dir)) {\n` +
    `  if (!e.isDirectory) continue;\n` +
    `  JSON.parse(Deno.readTextFileSync(\`\${dir}/\${e.name}/meta.json\`));\n` +
    `  n++;\n` +
    `}\n` +
    `await listing;\n` +
    `console.log(n);\n`;
}

async function main(argv: string[]): Promise<number> {
  const o = parseOptions(argv);
  const world = new World();
  const rows: Row[] = [];
  const onSignal = () => {
    world.cleanup().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const idleScript = `${world.base}/idle.ts`;
    await Deno.writeTextFile(idleScript, "await Deno.stdin.read(new Uint8Array(1));\n");
    const emptyScript = `${world.base}/empty.ts`;
    await Deno.writeTextFile(emptyScript, "");
    let names: string[] = [];
    if (o.only.has("idle") || o.only.has("all") || o.only.has("wake")) {
      console.error(`quiet bench: ${o.followers} sessions`);
      names = await world.sessions(o.followers, "f");
    }
    if (o.only.has("idle")) {
      console.error(`quiet bench: ${o.followers} idle km followers for ${o.seconds} s`);
      const idle = world.spawn(["run", "-A", idleScript]);
      const followers = names.map((n) => world.spawn(["run", "-A", MONITOR, n]));
      await delay(5000); // started and settled
      const pids = followers.map((c) => c.pid);
      const [cost, floor] = await Promise.all([
        idleCost(pids, o.seconds),
        idleCost([idle.pid], o.seconds),
      ]);
      rows.push({
        case: `${o.followers} idle km followers, ${o.seconds} s: CPU (% of one core), all`,
        value: `${cost.cpuPct.toFixed(2)} %`,
        floor: `idle deno: ${floor.cpuPct.toFixed(2)} %`,
        ratio: "",
        target: `< 1 % — ${cost.cpuPct < 1 ? "met" : "missed"}`,
      });
      rows.push({
        case: `the same: RSS, all; followers that spawned a process while idle`,
        value: `${cost.rssMb.toFixed(0)} MB; ${cost.spawned}`,
        floor: `idle deno: ${floor.rssMb.toFixed(0)} MB`,
        ratio: "",
        target: "",
      });
      for (const c of [...followers, idle]) await world.stop(c);
    }
    if (o.only.has("all")) {
      console.error(`quiet bench: km --all over ${o.followers} sessions for ${o.seconds} s`);
      const idle = world.spawn(["run", "-A", idleScript]);
      const all = world.spawn(["run", "-A", MONITOR, "--all"]);
      await delay(3000);
      const [cost, floor] = await Promise.all([
        idleCost([all.pid], o.seconds),
        idleCost([idle.pid], o.seconds),
      ]);
      rows.push({
        case: `km --all over ${o.followers} idle sessions, ${o.seconds} s: CPU; RSS`,
        value: `${cost.cpuPct.toFixed(2)} %; ${cost.rssMb.toFixed(0)} MB`,
        floor: `idle deno: ${floor.cpuPct.toFixed(2)} %; ${floor.rssMb.toFixed(0)} MB`,
        ratio: "",
        target: "",
      });
      for (const c of [all, idle]) await world.stop(c);
    }
    if (o.only.has("wake")) {
      console.error(`quiet bench: wake-up on a cell's end, km and km --all`);
      const one = names[0]!;
      const single: number[] = [];
      const viaAll: number[] = [];
      const all = world.spawn(["run", "-A", MONITOR, "--all"]);
      const allArrivals = new Map<string, number>();
      readLines(all, (line, at) => {
        try {
          const e = JSON.parse(line) as { status: string; cell_id?: string };
          if (e.status === "done" && e.cell_id) allArrivals.set(e.cell_id, at);
        } catch {
          // not an event
        }
      });
      await delay(2000);
      for (let i = 0; i < 10; i++) {
        const fired = await world.kernel.session(one).fire("sleep 0.3");
        if (fired.status !== "fired") throw new Error(`fire: ${fired.status}`);
        const km = world.spawn(["run", "-A", MONITOR, one, fired.cell_id, "-1"]);
        const line = await firstLine(km);
        const at = performance.timeOrigin + performance.now();
        await world.stop(km);
        const event = JSON.parse(line) as { ts: string; status: string };
        if (event.status !== "done") throw new Error(`km said ${line}`);
        single.push(at - Date.parse(event.ts));
        const deadline = Date.now() + 5000;
        while (!allArrivals.has(fired.cell_id) && Date.now() < deadline) await delay(5);
        const atAll = allArrivals.get(fired.cell_id);
        if (atAll !== undefined) viaAll.push(atAll - Date.parse(event.ts));
      }
      await world.stop(all);
      rows.push({
        case: "wake-up: the `done` event appended → km <cell> -1 prints it (n=10)",
        value: `${summarize(single).median.toFixed(2)} ms`,
        floor: "",
        ratio: "",
        target: "~5 ms (unchanged)",
      });
      rows.push({
        case: `the same through one km --all over ${o.followers} sessions (n=${viaAll.length})`,
        value: `${summarize(viaAll).median.toFixed(2)} ms`,
        floor: "",
        ratio: "",
        target: "",
      });
    }
    if (o.only.has("ls")) {
      console.error(`quiet bench: ${o.sessions} sessions for k ls -j`);
      await world.sessions(Math.max(0, o.sessions - names.length), "l");
      // Interleaved, beside the floor (an empty `deno run`) and what `k ls` cannot go below: k's
      // own start (`k version`: the launcher and its bundle), the one tmux call it makes, and a
      // bare `deno run` that makes that call alone (ktty's format), then also reads one small
      // file per session (the least "bounded reads per session" can be).
      const tmuxScript = `${world.base}/tmux.ts`;
      await Deno.writeTextFile(tmuxScript, floorScript(`${world.base}/home`, world.socket, false));
      const readsScript = `${world.base}/reads.ts`;
      await Deno.writeTextFile(readsScript, floorScript(`${world.base}/home`, world.socket, true));
      const runs = {
        ls: [] as number[],
        empty: [] as number[],
        k: [] as number[],
        tmux: [] as number[],
        denoTmux: [] as number[],
        denoReads: [] as number[],
      };
      for (let i = 0; i < o.runs; i++) {
        runs.empty.push((await world.exec(["run", "-A", emptyScript])).ms);
        const l = await world.exec(["run", "-A", CLI, "ls", "-j"]);
        if (l.code !== 0) throw new Error(`k ls -j exited ${l.code}`);
        runs.ls.push(l.ms);
        runs.k.push((await world.exec(["run", "-A", CLI, "version"])).ms);
        runs.tmux.push(await world.listSessionsMs());
        runs.denoTmux.push((await world.exec(["run", "-A", tmuxScript])).ms);
        const r = await world.exec(["run", "-A", readsScript]);
        if (r.stdout.trim() !== String(o.sessions)) {
          throw new Error(`the reads floor read ${r.stdout.trim()} sessions, not ${o.sessions}`);
        }
        runs.denoReads.push(r.ms);
      }
      const [lsMs, floorMs, kMs, tmuxMs, denoTmuxMs, denoReadsMs] = [
        runs.ls,
        runs.empty,
        runs.k,
        runs.tmux,
        runs.denoTmux,
        runs.denoReads,
      ].map((a) => summarize(a).median) as [number, number, number, number, number, number];
      rows.push({
        case: `\`k ls -j\` over ${o.sessions} idle sessions (n=${o.runs}, interleaved)`,
        value: `${lsMs.toFixed(1)} ms`,
        floor: `empty deno run: ${floorMs.toFixed(1)} ms`,
        ratio: `${(lsMs / floorMs).toFixed(2)}×`,
        target: `≤ 2× — ${lsMs <= 2 * floorMs ? "met" : "missed"}`,
      });
      rows.push({
        case: `the same run: \`k version\` (k's own start); one \`tmux list-sessions\` alone`,
        value: `${kMs.toFixed(1)} ms; ${tmuxMs.toFixed(1)} ms`,
        floor: `empty deno run: ${floorMs.toFixed(1)} ms`,
        ratio: `${(kMs / floorMs).toFixed(2)}×; ${(tmuxMs / floorMs).toFixed(2)}×`,
        target: "",
      });
      rows.push({
        case: `the same run: a bare \`deno run\` making k ls's one tmux call; that and one ` +
          `small file read per session`,
        value: `${denoTmuxMs.toFixed(1)} ms; ${denoReadsMs.toFixed(1)} ms`,
        floor: `empty deno run: ${floorMs.toFixed(1)} ms`,
        ratio: `${(denoTmuxMs / floorMs).toFixed(2)}×; ${(denoReadsMs / floorMs).toFixed(2)}×`,
        target: `k ls ÷ the latter: ${(lsMs / denoReadsMs).toFixed(2)}×`,
      });
    }
  } finally {
    await world.cleanup();
    Deno.removeSignalListener("SIGINT", onSignal);
  }
  if (o.json) console.log(JSON.stringify(rows, null, 2));
  else {
    console.log("| case | value | floor | ÷ floor | target |");
    console.log("| --- | --- | --- | --- | --- |");
    for (const r of rows) {
      console.log(`| ${r.case} | ${r.value} | ${r.floor} | ${r.ratio} | ${r.target} |`);
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

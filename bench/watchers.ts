/**
 * The benchmark of background watchers (issue 16): N fired cells in N sessions, and the watcher
 * processes they cost (counted from /proc), their memory and inotify instances, beside the floor
 * of one watcher watching one cell (what each fired cell cost before: one process each). It owns
 * a temp K_HOME and a unique K_SOCKET and removes both when it ends.
 *
 *   deno run -A bench/watchers.ts [--sessions N] [--json]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Kernel } from "../mod.ts";

const BASH = "bash --norc --noprofile";

/** A watcher's RSS and how many inotify instances it holds, from /proc. */
function footprint(pid: number): { rssMb: number; inotify: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const rssMb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  let inotify = 0;
  for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      if (Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`) === "anon_inode:inotify") inotify++;
    } catch {
      // closed meanwhile
    }
  }
  return { rssMb, inotify };
}

/** The live watcher processes of socket `socket`. */
function watcherPids(socket: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      const env = Deno.readTextFileSync(`/proc/${entry.name}/environ`);
      if (cmd.includes("watcher.ts") && env.includes(`K_SOCKET=${socket}\0`)) {
        pids.push(Number(entry.name));
      }
    } catch {
      // not ours, or gone
    }
  }
  return pids;
}

async function settle(what: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { sessions: { type: "string", default: "50" }, json: { type: "boolean" } },
  });
  const n = Number(values.sessions);
  const base = Deno.makeTempDirSync({ prefix: "ktty-watchers-bench-" });
  const socket = `kwatch-${Deno.pid}`;
  const kernel = new Kernel({ home: `${base}/home`, socket });
  const names = Array.from({ length: n }, (_, i) => `w${i}`);
  try {
    for (let i = 0; i < n; i += 8) {
      await Promise.all(names.slice(i, i + 8).map((s) => kernel.create(s, { command: BASH })));
    }
    // The floor: one fired cell, one watcher (each fired cell's cost before).
    await kernel.session(names[0] ?? "w0").fire("sleep 60");
    await settle(() => watcherPids(socket).length === 1, 5000);
    const [first] = watcherPids(socket);
    if (first === undefined) throw new Error("no watcher started");
    await new Promise((r) => setTimeout(r, 500)); // its start-up done
    const one = footprint(first);
    const t0 = performance.now();
    await Promise.all(names.slice(1).map((s) => kernel.session(s).fire("sleep 60")));
    const fireMs = (performance.now() - t0) / Math.max(1, n - 1);
    await new Promise((r) => setTimeout(r, 1000)); // every cell taken up
    const pids = watcherPids(socket);
    const all = pids.map(footprint);
    const rssMb = all.reduce((s, f) => s + f.rssMb, 0);
    const inotify = all.reduce((s, f) => s + f.inotify, 0);
    const rows = {
      sessions: n,
      watcher_processes: pids.length,
      watcher_rss_mb: Math.round(rssMb),
      watcher_inotify_instances: inotify,
      floor_one_watcher_one_cell_rss_mb: Math.round(one.rssMb),
      before_n_processes_rss_mb: Math.round(one.rssMb * n),
      fire_ms_each_concurrent: Math.round(fireMs * 10) / 10,
    };
    if (values.json) console.log(JSON.stringify(rows));
    else {
      console.log(`| ${n} fired cells in ${n} sessions | value | floor / before |`);
      console.log(`| --- | --- | --- |`);
      console.log(`| watcher processes (from /proc) | ${pids.length} | ${n} (one per cell) |`);
      console.log(
        `| watcher RSS | ${rssMb.toFixed(0)} MB | ${(one.rssMb * n).toFixed(0)} MB (${n} × ${
          one.rssMb.toFixed(0)
        } MB, one watcher of one cell) |`,
      );
      console.log(`| inotify instances of the watchers | ${inotify} | ${n * one.inotify} |`);
    }
  } finally {
    await Promise.all(names.map((s) => kernel.session(s).interrupt().catch(() => {})));
    await new Deno.Command("tmux", { args: ["-f", "/dev/null", "-L", socket, "kill-server"] })
      .output().catch(() => {});
    await settle(() => watcherPids(socket).length === 0, 10_000);
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();

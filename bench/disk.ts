/**
 * The benchmark of a session's disk (issue 16): the disk a session's state uses after many cells
 * (10,000 by default), beside its floor measured in the same run — the bytes the cells' outputs
 * themselves need. The limits are the defaults unless `K_LOG_MAX`, `K_EVENTS_MAX`,
 * `K_RESULTS_KEEP` or `K_RESULTS_DAYS` are set. It owns a temp K_HOME and a unique K_SOCKET and
 * removes both when it ends.
 *
 *   deno run -A bench/disk.ts [--cells N] [--lines L] [--json]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Kernel } from "../mod.ts";
import { diskLimits } from "../src/session/disk.ts";
import { fixed, table } from "./_stats.ts";

const BASH = "bash --norc --noprofile";

/** Bytes on disk (holes excluded) and written (file lengths) under `path`. */
function diskUse(path: string): { used: number; length: number } {
  const info = Deno.statSync(path);
  let used = (info.blocks ?? 0) * 512;
  let length = info.isFile ? info.size : 0;
  if (info.isDirectory) {
    for (const entry of Deno.readDirSync(path)) {
      const inner = diskUse(`${path}/${entry.name}`);
      used += inner.used;
      length += inner.length;
    }
  }
  return { used, length };
}

function mib(bytes: number): string {
  return `${fixed(bytes / 1024 / 1024, 2)} MiB`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      cells: { type: "string", default: "10000" },
      lines: { type: "string", default: "20" },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  const cells = Number(values.cells);
  const lines = Number(values.lines);
  const base = Deno.makeTempDirSync({ prefix: "ktty-disk-bench-" });
  const socket = `kdisk-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const kernel = new Kernel({ home: `${base}/home`, socket });
  const dir = `${base}/home/${socket}/d`;
  try {
    await kernel.create("d", { command: BASH, cwd: base });
    const session = kernel.session("d");
    let floor = 0; // the bytes of the cells' outputs, as their results hold them
    const t0 = performance.now();
    for (let i = 0; i < cells; i++) {
      const first = i * lines + 1;
      const r = await session.run(`seq ${first} ${first + lines - 1}`);
      if (r.status !== "done") throw new Error(`cell ${i}: ${JSON.stringify(r)}`);
      floor += new TextEncoder().encode(r.output).length;
    }
    const seconds = (performance.now() - t0) / 1000;
    const total = diskUse(dir);
    const part = (name: string) => diskUse(`${dir}/${name}`);
    const log = part("pane.log");
    const events = part("events.jsonl");
    const results = part("cells");
    const limits = diskLimits();
    const row = {
      cells,
      lines_per_cell: lines,
      seconds: Number(fixed(seconds, 1)),
      used_bytes: total.used,
      written_bytes: total.length,
      floor_bytes: floor,
      pane_log_bytes: log.used,
      events_bytes: events.used,
      results_bytes: results.used,
      limits,
    };
    if (values.json) {
      console.log(JSON.stringify(row));
      return;
    }
    console.log(
      `disk of one session after ${cells} cells of ${lines} lines (${fixed(seconds, 0)} s; ` +
        `K_LOG_MAX ${mib(limits.logMaxBytes)}, K_EVENTS_MAX ${mib(limits.eventsMaxBytes)}, ` +
        `K_RESULTS_KEEP ${limits.resultsKeep}, K_RESULTS_DAYS ${limits.resultsDays})`,
    );
    for (
      const line of table([
        ["what", "on disk", "written"],
        ["session state (all)", mib(total.used), mib(total.length)],
        ["  pane.log", mib(log.used), mib(log.length)],
        ["  events.jsonl", mib(events.used), mib(events.length)],
        ["  cells/ (results)", mib(results.used), mib(results.length)],
        ["floor: the cells' outputs", mib(floor), ""],
      ])
    ) console.log(line);
  } finally {
    await kernel.session("d").kill().catch(() => undefined);
    await new Deno.Command("tmux", { args: ["-L", socket, "kill-server"], stderr: "null" })
      .output().catch(() => undefined);
    Deno.removeSync(base, { recursive: true });
  }
}

if (import.meta.main) await main();

/**
 * `k ls`: every session on the socket as one table (or a JSON array), joining tmux, the
 * kernel's state and the event log; `--prune` removes the stale sessions' state first.
 * @module
 */

import { type FleetEntry, UsageError } from "../../mod.ts";
import { EXIT_OK, printJson, printText } from "./output.ts";
import type { Verb } from "./verb.ts";

/** A number of seconds as a short age: 42s, 7m, 3h, 2d. */
function age(seconds: number | null): string {
  if (seconds === null) return "-";
  if (seconds < 100) return `${seconds}s`;
  if (seconds < 100 * 60) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 48 * 3600) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

const HEADER = [
  "SESSION",
  "STATE",
  "CELL",
  "AGE",
  "IDLE",
  "LAST",
  "PROGRAM",
  "PID",
  "CLIENTS",
  "MODE",
  "WHERE",
];

/** One row of the table. */
function row(s: FleetEntry): string[] {
  if (s.state === "unmanaged") {
    return [s.session, s.state, "-", "-", age(s.idle_s), "-", s.pane_command, String(s.pane_pid)]
      .concat([String(s.clients), "-", `${s.user}@${s.host}`]);
  }
  return [
    s.session,
    s.state,
    s.cell_id ?? "-",
    age(s.cell_age_s),
    age(s.idle_s),
    s.last_event ? `${s.last_event} ${age(s.last_event_age_s)}` : "-",
    s.pane_command ?? "-",
    s.pane_pid === null ? "-" : String(s.pane_pid),
    String(s.clients),
    s.mode,
    `${s.user}@${s.host}`,
  ];
}

/** The table: one row per session, columns aligned. */
function printTable(sessions: FleetEntry[]): void {
  if (sessions.length === 0) {
    printText("no sessions");
    return;
  }
  const rows = [HEADER, ...sessions.map(row)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  for (const r of rows) {
    printText(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd());
  }
}

/** `k ls [-j] [--prune]` */
export const ls: Verb = {
  name: "ls",
  usage: "k ls [-j] [--prune] [--host <target>]…",
  summary: "every session on the socket (-j: a JSON array)",
  details: [
    "Joins tmux (alive, pane pid, the program in the pane, idle time, clients watching),",
    "the cell state (idle, running, timeout, watcher-dead; stale when the tmux session is",
    "gone but its state remains; active cell and its age) and the last event and its age.",
    "Tmux sessions without ktty state (made by hand) are listed as unmanaged.",
    "--prune removes the stale sessions' state and says which it removed.",
    "--host (repeatable, or K_HOST=a,b): the sessions of those hosts over SSH, one table, each",
    "record with its target (see k host setup).",
  ],
  examples: ["k ls", "k ls -j", "k ls --prune", "k ls -j --host gpu --host ci-7"],
  flags: [
    { name: "json", short: "j", type: "boolean", description: "a JSON array of the records" },
    { name: "prune", type: "boolean", description: "remove the stale sessions' state" },
  ],
  args: "flags",
  json: "flag",
  async run({ kernel, verb, flags, positionals }) {
    if (positionals.length > 0) throw new UsageError(`usage: ${verb.usage}`);
    const pruned = flags.has("prune") ? await kernel.prune() : [];
    const sessions: FleetEntry[] = await kernel.fleet();
    if (flags.has("json")) {
      // By code unit, as the fleet comes (localeCompare would load a collator: milliseconds).
      const rows = [...pruned, ...sessions];
      if (pruned.length > 0) {
        rows.sort((a, b) => a.session < b.session ? -1 : +(a.session > b.session));
      }
      printJson(rows);
      return EXIT_OK;
    }
    if (flags.has("prune")) {
      if (pruned.length === 0) printText("nothing to prune");
      for (const s of pruned) {
        const last = s.last_event ? `; last event ${s.last_event}` : "";
        printText(`pruned ${s.session} (stale: its tmux session was gone${last})`);
      }
    }
    printTable(sessions);
    return EXIT_OK;
  },
};

/**
 * Process identity on Linux: a pid plus its start time (from /proc) names one process for good,
 * even after the pid is reused, so a lock's owner can be proved alive or dead.
 * @module
 */

/** A process as the lock records it. */
export interface ProcessId {
  /** The pid. */
  pid: number;
  /** The start time in clock ticks since boot (`/proc/<pid>/stat` field 22); "" if unknown. */
  start: string;
}

/** Reads a process's start time; undefined when there is no such (live) process. */
export function processStart(pid: number): Promise<string | undefined> {
  return Promise.resolve(processStartNow(pid));
}

function processStartNow(pid: number): string | undefined {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`); // a tiny read, on every liveness check
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    return ""; // no /proc here: identity unknown, treated as alive
  }
  // Field 2 (comm) is parenthesised and may hold spaces; fields resume after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (rest[0] === "Z" || rest[0] === "X") return undefined; // a zombie is dead
  return rest[19] ?? "";
}

/** The identity of process `pid` now, or undefined when it does not exist. */
export async function processId(pid: number): Promise<ProcessId | undefined> {
  const start = await processStart(pid);
  return start === undefined ? undefined : { pid, start };
}

/** True while the very process `id` names is alive. */
export async function isAlive(id: ProcessId): Promise<boolean> {
  const start = await processStart(id.pid);
  if (start === undefined) return false;
  return id.start === "" || start === "" || start === id.start;
}

/** Sends `signal` to the process `id` names, if it is still that process. */
export async function signalProcess(id: ProcessId, signal: Deno.Signal): Promise<boolean> {
  if (!(await isAlive(id))) return false;
  try {
    Deno.kill(id.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to process group `pgid` (a process started detached leads its own group). */
export function signalGroup(pgid: number, signal: Deno.Signal): boolean {
  try {
    Deno.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

const STOP_POLL_MS = 20;
/** How long a background watcher gets to close its hook after SIGTERM before SIGKILL. */
export const WATCHER_STOP_GRACE_MS = 1000;

/**
 * Stops the process `id` names: SIGTERM, then up to `graceMs` for it to exit (and clean up), then
 * SIGKILL to it and its process group. Returns once it is gone.
 */
export async function stopProcess(id: ProcessId, graceMs: number): Promise<void> {
  if (!(await signalProcess(id, "SIGTERM"))) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await isAlive(id))) return;
    await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
  }
  if (await isAlive(id)) {
    signalGroup(id.pid, "SIGKILL");
    await signalProcess(id, "SIGKILL");
  }
}

/** The pids of every live descendant of `pid` (children, their children, …), read from /proc. */
export async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  try {
    for await (const entry of Deno.readDir("/proc")) {
      if (!/^[0-9]+$/.test(entry.name)) continue;
      try {
        const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        const list = parents.get(ppid) ?? [];
        list.push(Number(entry.name));
        parents.set(ppid, list);
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    return [];
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of parents.get(queue.shift() as number) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/**
 * Whether terminal `tty` is in raw (non-canonical) mode, as a line editor such as readline sets it
 * while it reads a line; undefined when `stty` cannot say (no such terminal, no stty).
 */
export async function terminalRaw(tty: string): Promise<boolean | undefined> {
  try {
    const out = await new Deno.Command("stty", {
      args: ["-F", tty, "-a"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) return undefined;
    const words = new TextDecoder().decode(out.stdout).split(/\s+/);
    if (words.includes("-icanon")) return true;
    return words.includes("icanon") ? false : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The foreground process group of the terminal `pid` runs on (`/proc/<pid>/stat` field 8, the
 * group leader's pid): what holds the terminal now. Undefined when unknown.
 */
export function foregroundGroup(pid: number): number | undefined {
  const tpgid = Number(statFields(pid)?.[5]);
  return Number.isInteger(tpgid) && tpgid > 0 ? tpgid : undefined;
}

/** The fields of `/proc/<pid>/stat` after the command name, or undefined when it is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** The process group of `pid`, or undefined when it is gone. */
export function processGroup(pid: number): number | undefined {
  const pgrp = Number(statFields(pid)?.[2]);
  return Number.isInteger(pgrp) && pgrp > 0 ? pgrp : undefined;
}

/** The command name of `pid` (`/proc/<pid>/comm`), or "?" when it is gone. */
export function commandName(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
  } catch {
    return "?";
  }
}

/** Whether process `pid` is gone (or a zombie, which is as good as gone). */
export function processGone(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state === undefined || state === "Z" || state === "X";
}

/** The live members of process group `pgid`, read from /proc (a scan: use when needed only). */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  try {
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^[0-9]+$/.test(entry.name)) continue;
      const pid = Number(entry.name);
      if (processGroup(pid) === pgid && !processGone(pid)) out.push(pid);
    }
  } catch {
    return [];
  }
  return out.sort((a, b) => a - b);
}

/** The children of `pid` (`/proc/<pid>/task/<pid>/children`); empty when unknown. */
export function childrenOf(pid: number): number[] {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim();
    return text === "" ? [] : text.split(" ").map(Number);
  } catch {
    return [];
  }
}

/**
 * Process identity on Linux: a pid plus its start time (from /proc) names one process for good,
 * even after the pid is reused, so a lock's owner can be proved alive or dead, and a session's
 * process tree, read before its terminal closes, can be ended later without touching a stranger.
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

/** {@link processStart}, synchronously (for a caller holding a flock, which must not yield). */
export function processStartNow(pid: number): string | undefined {
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
export function isAlive(id: ProcessId): Promise<boolean> {
  return Promise.resolve(isAliveNow(id));
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

/** Every process's children, from one scan of /proc; empty when /proc cannot be read. */
async function parentMap(): Promise<Map<number, number[]>> {
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
    return new Map();
  }
  return parents;
}

/** The pids of every live descendant of `pid` (children, their children, …), read from /proc. */
export async function descendants(pid: number): Promise<number[]> {
  const parents = await parentMap();
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

/** A process of a tree, named for good: its identity and its command name when it was found. */
export interface TreeProcess extends ProcessId {
  /** Its command name (`/proc/<pid>/comm`), read while it was alive. */
  command: string;
}

/**
 * The process `root` names and its live descendants, each named by pid and start time, so that
 * each can be signalled later, after it was reparented, and never a process that took its pid.
 * A process that left the tree before this call (a daemon that double-forked, reparented to init)
 * is not in it. Empty when `root` is gone. This process itself is never in it.
 */
export async function processTree(root: ProcessId): Promise<TreeProcess[]> {
  if (!isAliveNow(root)) return [];
  return await withDescendants([{ ...root, command: commandName(root.pid) }]);
}

/**
 * `tree`, and the descendants of its live members that it lacks (what they forked since it was
 * read), appended.
 */
async function withDescendants(tree: readonly TreeProcess[]): Promise<TreeProcess[]> {
  const out = [...tree];
  const known = new Set([Deno.pid, ...tree.map((p) => p.pid)]);
  const children = await childrenReader();
  const queue = tree.filter(isAliveNow);
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for (const pid of children(parent.pid)) {
      if (known.has(pid)) continue;
      known.add(pid);
      const start = processStartNow(pid);
      if (start === undefined) continue;
      const child = { pid, start, command: commandName(pid) };
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/**
 * How to list a process's children: its threads' `children` files in /proc (a few small reads),
 * else, on a kernel without them, one scan of /proc for the whole tree.
 */
async function childrenReader(): Promise<(pid: number) => number[]> {
  try {
    Deno.statSync(`/proc/${Deno.pid}/task/${Deno.pid}/children`);
    return childrenOfEveryThread;
  } catch {
    const parents = await parentMap();
    return (pid) => parents.get(pid) ?? [];
  }
}

/** The children of `pid`, whichever of its threads forked them. */
function childrenOfEveryThread(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      const text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`).trim();
      if (text !== "") out.push(...text.split(" ").map(Number));
    }
  } catch {
    // gone meanwhile, or a thread gone meanwhile: what was read is what there is
  }
  return out;
}

/** Whether the very process `id` names is alive now (a synchronous {@link isAlive}). */
/** {@link isAlive}, synchronously (for a caller holding a flock, which must not yield). */
export function isAliveNow(id: ProcessId): boolean {
  const start = processStartNow(id.pid);
  if (start === undefined) return false;
  return id.start === "" || start === "" || start === id.start;
}

/** One step of ending processes: a signal, and how long they get to end after it. */
export interface EndStep {
  /**
   * The signal to send; undefined to send none and only wait, for one already sent (the hangup
   * a terminal's close sends).
   */
  signal: "SIGTERM" | "SIGKILL" | undefined;
  /** How long to wait for every process to be gone before the next step. */
  graceMs: number;
}

/** A process that a signal ended. */
export interface EndedProcess {
  /** Its command name (`sleep`). */
  command: string;
  /** Its pid. */
  pid: number;
  /** The signal it ended after. */
  signal: "SIGTERM" | "SIGKILL";
}

/** What {@link endProcesses} did. */
export interface EndResult {
  /** The processes a signal ended, step by step. */
  ended: EndedProcess[];
  /** The processes still alive after the last step. */
  survivors: TreeProcess[];
}

/**
 * Ends the processes of `tree` (from {@link processTree}) step by step: at each step, the tree
 * grows by what its live members forked since, every live member gets the step's signal (with
 * SIGCONT after SIGTERM, so a stopped process can act on it), and the step ends as soon as all
 * are gone, else at its grace. A process is signalled only while its pid still names it (its
 * start time): a pid taken by another process since is left alone.
 */
export async function endProcesses(
  tree: readonly TreeProcess[],
  steps: readonly EndStep[],
): Promise<EndResult> {
  let members = [...tree];
  const ended: EndedProcess[] = [];
  for (const { signal, graceMs } of steps) {
    members = await withDescendants(members);
    const alive = members.filter(isAliveNow);
    if (alive.length === 0) return { ended, survivors: [] };
    if (signal !== undefined) {
      for (const process of alive) {
        signalNow(process, signal);
        if (signal === "SIGTERM") signalNow(process, "SIGCONT");
      }
    }
    await waitGone(alive, graceMs);
    if (signal === undefined) continue;
    for (const { command, pid } of alive.filter((p) => !isAliveNow(p))) {
      ended.push({ command, pid, signal });
    }
  }
  return { ended, survivors: members.filter(isAliveNow) };
}

/** Sends `signal` to the process `id` names, if it is still that process. */
function signalNow(id: ProcessId, signal: Deno.Signal): void {
  if (!isAliveNow(id)) return;
  try {
    Deno.kill(id.pid, signal);
  } catch {
    // gone meanwhile
  }
}

/** The first and the longest pause between two looks in /proc while waiting for processes. */
const GONE_FIRST_CHECK_MS = 5;
const GONE_CHECK_MAX_MS = 50;

/** Waits until every process of `processes` is gone, or `graceMs` have passed. */
async function waitGone(processes: readonly ProcessId[], graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  let pauseMs = GONE_FIRST_CHECK_MS;
  while (processes.some(isAliveNow)) {
    const left = deadline - Date.now();
    if (left <= 0) return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pauseMs, left)));
    pauseMs = Math.min(pauseMs * 2, GONE_CHECK_MAX_MS);
  }
}

/**
 * Whether terminal `tty` is in raw (non-canonical) mode, as a line editor such as readline sets it
 * while it reads a line; undefined when `stty` cannot say (no such terminal, no stty).
 */
export async function terminalRaw(tty: string): Promise<boolean | undefined> {
  const canonical = (await terminalModes(tty)).icanon;
  return canonical === undefined ? undefined : !canonical;
}

/** Local modes of a terminal, as `stty` names them; undefined when it cannot be told. */
export interface TerminalModes {
  /** Canonical input: the terminal edits a line and hands it over at Enter (`icanon`). */
  icanon?: boolean;
  /** What is typed is echoed (`echo`): off while a program reads a secret (`read -s`). */
  echo?: boolean;
}

/**
 * Terminal `tty`'s local modes, from one `stty -F <tty> -a` (no Deno API reads another terminal's
 * termios, and /proc does not show them); empty when `stty` cannot say.
 */
export async function terminalModes(tty: string): Promise<TerminalModes> {
  try {
    const out = await new Deno.Command("stty", {
      args: ["-F", tty, "-a"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) return {};
    const words = new Set(new TextDecoder().decode(out.stdout).split(/[\s;]+/));
    const flag = (name: string) =>
      words.has(`-${name}`) ? false : words.has(name) ? true : undefined;
    return { icanon: flag("icanon"), echo: flag("echo") };
  } catch {
    return {};
  }
}

/**
 * The terminal process `pid` reads (where its standard input leads: `/dev/pts/3`), from one
 * readlink, no tmux call; undefined when it is gone or its input is not a terminal.
 */
export function terminalOf(pid: number): string | undefined {
  try {
    const path = Deno.readLinkSync(`/proc/${pid}/fd/0`);
    return /^\/dev\/(pts\/[0-9]+|tty[A-Za-z0-9]*)$/.test(path) ? path : undefined;
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
  return statLine(pid)?.fields;
}

/** `/proc/<pid>/stat`: the command name and the fields after it; undefined when it is gone. */
function statLine(pid: number): { command: string; fields: string[] } | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Field 2 (comm) is parenthesised and may hold spaces; fields resume after the last ')'.
    const close = stat.lastIndexOf(")");
    return {
      command: stat.slice(stat.indexOf("(") + 1, close),
      fields: stat.slice(close + 2).split(" "),
    };
  } catch {
    return undefined;
  }
}

/**
 * The process group of `pid`, the foreground group of its terminal and its command name (what
 * {@link commandName} reads), from one read of `/proc/<pid>/stat` (each is undefined when
 * unknown, or the process is gone).
 */
export function groupsOf(pid: number): { own?: number; foreground?: number; command?: string } {
  const stat = statLine(pid);
  const positive = (v: string | undefined) => {
    const n = Number(v);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  };
  return {
    own: positive(stat?.fields[2]),
    foreground: positive(stat?.fields[5]),
    command: stat?.command,
  };
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

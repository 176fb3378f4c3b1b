/**
 * `int`: Ctrl-C, then the active cell ends as `interrupted` and its lock is released, also after
 * a timeout, a dead watcher or a corrupt lock. If the prompt does not come back (a pager, a
 * program deaf to Ctrl-C), what holds the terminal under the session's program is signalled:
 * SIGINT, SIGTERM, then SIGKILL — never the session's program itself, never a process outside
 * its pane's process tree.
 * @module
 */

import { KttyError, NoSessionError, ResultNotStoredError } from "../errors.ts";
import { cellAnnounced } from "../events/log.ts";
import { FileFollower } from "../follow.ts";
import { claimAnyLock, endClaimedCell, finishClaim, nameLast } from "../lock.ts";
import { parseMarker } from "../markers.ts";
import {
  commandName,
  descendants,
  groupMembers,
  isAlive,
  processGone,
  type ProcessId,
  processId,
  signalProcess,
} from "../proc.ts";
import { foregroundOf, shellOfSessionKind } from "../session/foreground.ts";
import { programProfile } from "../programs/mod.ts";
import { readMeta, type SessionMeta } from "../session/meta.ts";
import { fileSize, type KernelConfig, type SessionPaths, sessionPaths } from "../state.ts";
import { PASTE_MODE, TerminalText } from "../text.ts";
import { pasteText, sendKeys } from "../tmux.ts";
import type { ErrorResult } from "../types.ts";
import { backAtPrompt } from "./prompt.ts";
import { errorResult } from "./record.ts";
import { readCellOutput } from "./text.ts";
import { endCellOfDeadSession } from "./watch.ts";
import { dropFromWatcher } from "../watcher_queue.ts";

/** Without markers: output after Ctrl-C (more than its echo), then this much quiet, means the
 * program reacted. */
const SETTLE_QUIET_MS = 50;
/** Without markers: the longest wait for that. */
const SETTLE_MAX_MS = 1000;
/** With markers: the longest wait for the prompt after Ctrl-C (a program may take seconds to
 * shut down, printing as it goes). */
const INT_PROMPT_WAIT_MS = 5000;
/** Signals are sent only after this long without the prompt… */
const INT_GRACE_MS = 2000;
/** …and once the pane has printed nothing for this long (a program shutting down prints). */
const INT_QUIET_MS = 1000;
/**
 * How long each signal is given to end what holds the terminal. Ctrl-C was a SIGINT already,
 * unless the program reads the terminal raw (a pager, an editor): the SIGINT gets less time.
 */
const SIGNAL_GRACE_MS: Readonly<Record<EscalationSignal, number>> = {
  SIGINT: 500,
  SIGTERM: 1000,
  SIGKILL: 1000,
};
/** How often a signalled process is looked for in /proc meanwhile. */
const GONE_CHECK_MS = 25;
/** After the signals, the longest wait for the prompt's end marker. */
const PROMPT_AFTER_SIGNALS_MS = 2000;

/** The signals `k int` sends, in order, to what holds the terminal. */
const ESCALATION: readonly EscalationSignal[] = ["SIGINT", "SIGTERM", "SIGKILL"];

/** A signal `k int` sends to what holds the terminal. */
export type EscalationSignal = "SIGINT" | "SIGTERM" | "SIGKILL";

/** A program that held the terminal after Ctrl-C, and the signal that ended it. */
export interface EndedProgram {
  /** Its command name (`less`, `sleep`). */
  command: string;
  /** Its pid (for a process group: the group's leader). */
  pid: number;
  /** The signal that ended it. */
  signal: EscalationSignal;
}

/** What `int` did. */
export interface InterruptResult {
  /** The active cell, ended as `interrupted`; absent when no cell was active. */
  cell?: ErrorResult;
  /** What held the terminal after Ctrl-C and was ended by a signal (empty: Ctrl-C sufficed). */
  ended: EndedProgram[];
  /**
   * What still holds the terminal when even SIGKILL did not free it (a process in an
   * uninterruptible wait), else absent.
   */
  holder?: { command: string; pid: number };
  /**
   * Whether the session's program is back at its prompt, as its markers tell; null in the modes
   * without markers, which cannot tell.
   */
  prompt_back: boolean | null;
  /**
   * True when the shell came back to a prompt without ktty's markers (after `exec bash`, a new
   * shell, `unset PROMPT_COMMAND`) and `int` installed them again into it, keeping its state.
   */
  reinstalled?: boolean;
}

/** What holds the terminal under the session's program, and how to signal it. */
interface Holder {
  command: string;
  /** The group's leader, or the first process. */
  pid: number;
  /**
   * Every process to signal: the group's members in the pane's tree, or the children, each with
   * its start time (a pid reused meanwhile is never signalled).
   */
  processes: ProcessId[];
}

/**
 * Sends Ctrl-C, ends the active cell with an `interrupted` result and releases the lock; then, if
 * the program is not back at its prompt, signals what holds the terminal. Works on a timed-out
 * cell, a cell whose watcher died and a corrupt lock alike, and with no cell active.
 */
export async function interruptCell(config: KernelConfig, name: string): Promise<InterruptResult> {
  const paths = sessionPaths(config, name);
  const meta = await readMeta(paths, name);
  const before = await fileSize(paths.log);
  // Claim first: the watcher, seeing the prompt come back after Ctrl-C, must not end the cell as
  // done before the interrupt is recorded.
  let claimed: Awaited<ReturnType<typeof claimAnyLock>>;
  try {
    claimed = await claimAnyLock(paths);
  } catch (e) {
    // The lock cannot be released (a read-only file system): Ctrl-C all the same, and say so.
    if (!(e instanceof KttyError)) throw e;
    const sent = await sendKeys(config, name, ["C-c"]);
    throw new KttyError(
      e.code,
      `${e.message}; ${sent ? "sent C-c, but " : ""}the active cell's lock is not released`,
      { cause: e },
    );
  }
  // What the cell printed before the Ctrl-C, for its result: an interrupted build's log is still
  // wanted (read within the cell's output budget: a larger budget reads longer).
  const soFar = claimed !== undefined && claimed !== "corrupt"
    ? await readCellOutput(paths, meta, claimed, claimed.max_output).catch(() => undefined)
    : undefined;
  if (!(await sendKeys(config, name, ["C-c"]))) {
    if (claimed !== undefined && claimed !== "corrupt") {
      await endCellOfDeadSession(paths, meta, claimed, true);
    }
    throw new NoSessionError(name);
  }
  const result: InterruptResult = { ended: [], prompt_back: null };
  let unstored: ResultNotStoredError | undefined;
  const done = () => {
    if (meta.frame.mode === "integration") result.prompt_back = backAtPrompt(paths, meta);
    // The session is back; that the interrupt could not be recorded is said last.
    if (unstored) throw unstored;
    return result;
  };
  if (claimed !== undefined && claimed !== "corrupt") {
    if (await cellAnnounced(paths.events, claimed.cell_id)) {
      result.cell = errorResult(claimed, "interrupted");
      if (soFar && soFar.output !== "") result.cell.output_so_far = soFar.output;
      await nameLast(paths, claimed.cell_id).catch(() => {});
      try {
        await endClaimedCell(paths, name, claimed, result.cell, "interrupted");
      } catch (e) {
        if (!(e instanceof ResultNotStoredError)) throw e;
        unstored = e;
      }
    } else {
      // Its starter died before announcing it: never typed (rule 6 of src/lock.ts), no record.
      await finishClaim(paths, claimed.cell_id);
    }
    // The shared watcher would notice on its own; dropping the cell ends its hook at once.
    if (claimed.owner_kind === "fire") {
      await dropFromWatcher(config, claimed.cell_id, claimed.owner);
    }
  }
  // Children of a program without job control are fair game only where markers tell that its
  // prompt is not back: a debugger at its prompt may have a stopped inferior.
  const children = meta.frame.mode === "integration" && !programProfile(meta.kind).jobControl;
  const stuck = () => terminalHolder(meta.pane.pid, children);
  const settled = await settle(paths, meta, before, stuck);
  if (settled === "back") return done();
  if (settled === "unmarked prompt" && await reinstallMarkers(config, paths, meta, stuck)) {
    result.reinstalled = true;
    return done();
  }
  const offset = await fileSize(paths.log);
  for (const signal of ESCALATION) {
    const holder = await stuck();
    if (!holder) break;
    if (await signalAndWait(holder, signal)) {
      result.ended.push({ command: holder.command, pid: holder.pid, signal });
    }
  }
  const left = await stuck();
  if (left) {
    result.holder = { command: left.command, pid: left.pid };
    return done();
  }
  // Freed: give the shell a moment to print its prompt (its end marker), so the next run is not
  // refused as "still running".
  if (meta.frame.mode === "integration") {
    await waitForEndMarker(paths, meta, offset, PROMPT_AFTER_SIGNALS_MS);
  }
  return done();
}

/**
 * What holds the terminal under the session's program (`pane`), if anything: a foreground
 * process group other than the program's own (a shell's job, a debugger's inferior), only its
 * members in the pane's process tree; or, with `children`, the program's children (a REPL without
 * job control running one). Never the program itself.
 */
async function terminalHolder(pane: number, children: boolean): Promise<Holder | undefined> {
  if (processGone(pane)) return undefined; // the program is gone: nothing to free
  const tree = new Set(await descendants(pane));
  const foreground = foregroundOf(pane);
  if (foreground) {
    const pids = groupMembers(foreground.group).filter((pid) => tree.has(pid));
    if (pids.length === 0) return undefined;
    const pid = pids.includes(foreground.pid) ? foreground.pid : pids[0]!;
    return { command: commandName(pid), pid, processes: await identify(pids) };
  }
  if (!children) return undefined;
  // A REPL's children run in its own group: only they are signalled, one by one.
  const pids = [...tree].filter((pid) => !processGone(pid));
  if (pids.length === 0) return undefined;
  return { command: commandName(pids[0]!), pid: pids[0]!, processes: await identify(pids) };
}

/** `pids` with their start times; those gone meanwhile are left out. */
async function identify(pids: number[]): Promise<ProcessId[]> {
  const ids = await Promise.all(pids.map(processId));
  return ids.filter((id): id is ProcessId => id !== undefined);
}

/** Signals `holder`; true when all of it is gone within the signal's grace. */
async function signalAndWait(holder: Holder, signal: EscalationSignal): Promise<boolean> {
  await Promise.all(holder.processes.map((id) => signalProcess(id, signal)));
  const allGone = async () => !(await Promise.all(holder.processes.map(isAlive))).includes(true);
  const deadline = Date.now() + SIGNAL_GRACE_MS[signal];
  while (Date.now() < deadline) {
    if (await allGone()) return true;
    await new Promise((resolve) => setTimeout(resolve, GONE_CHECK_MS));
  }
  return await allGone();
}

/**
 * How the program answered Ctrl-C: `back` at its prompt (the end marker came, or nothing else
 * holds the terminal: there is nothing more to do), `unmarked prompt` (a line editor started reading
 * after Ctrl-C, yet no end marker came: the markers are gone), or `held` (something else still
 * holds the terminal, or it cannot be told).
 */
type Settled = "back" | "unmarked prompt" | "held";

/**
 * Waits (bounded) for the prompt to come back after Ctrl-C. With markers: the next end marker;
 * it gives up once {@link INT_GRACE_MS} passed and the pane has been quiet {@link INT_QUIET_MS}
 * with something still holding the terminal or a line editor reading without markers. Without
 * markers: output, then a short quiet, then whether something still holds the terminal.
 */
async function settle(
  paths: SessionPaths,
  meta: SessionMeta,
  offset: number,
  stuck: () => Promise<Holder | undefined>,
): Promise<Settled> {
  const nonce = meta.frame.mode === "integration" ? meta.frame.nonce ?? "" : undefined;
  let back = false;
  let editorReading = false;
  const decoder = new TextDecoder();
  const term = new TerminalText(() => {}, {
    onOsc: (payload) => {
      if (nonce !== undefined && parseMarker(payload, nonce)?.kind === "end") back = true;
    },
    // Bracketed paste turned on: a line editor (readline, zle) started reading a line.
    onMode: (mode, on) => {
      if (mode === PASTE_MODE && on) editorReading = true;
    },
  });
  // Without markers, the program has answered once it printed more than the terminal's own echo
  // of Ctrl-C (`^C`) and line breaks: the quiet after that echo alone is no sign of its prompt (a
  // program slow to print it, a loaded machine), and the next cell's keys typed meanwhile would be
  // echoed twice, by the terminal and by the line editor that then reads them.
  let answered = false;
  const take = (bytes: Uint8Array) => {
    term.push(bytes);
    answered ||= decoder.decode(bytes, { stream: true }).replaceAll("^C", "").trim() !== "";
  };
  const follower = await FileFollower.open(paths.log, offset);
  try {
    const start = Date.now();
    const deadline = start + (nonce !== undefined ? INT_PROMPT_WAIT_MS : SETTLE_MAX_MS);
    let grew = false;
    let lastGrowth = start;
    while (Date.now() < deadline && !back) {
      if ((await follower.readAvailable(take)) > 0) {
        grew = true;
        lastGrowth = Date.now();
      } else if (nonce === undefined && answered && Date.now() - lastGrowth >= SETTLE_QUIET_MS) {
        break;
      }
      if (back) return "back";
      const now = Date.now();
      if (nonce !== undefined && now - start >= INT_GRACE_MS && now - lastGrowth >= INT_QUIET_MS) {
        if (editorReading) return "unmarked prompt";
        if (await stuck()) return "held";
      }
      await follower.wait(grew ? SETTLE_QUIET_MS : 100);
    }
  } finally {
    await follower.close();
  }
  if (back) return "back";
  if (nonce !== undefined && editorReading) return "unmarked prompt";
  return (await stuck()) === undefined ? "back" : "held";
}

/**
 * Installs the session's markers again into the shell reading at its prompt without them: only
 * when the program is a shell of the session's own kind (bash for a bash session) — the session's
 * program itself (after `exec bash`, `unset PROMPT_COMMAND`) or a new shell of that kind started
 * in the pane — and nothing else holds the terminal. Ctrl-C has just brought it to its prompt (it
 * ends a `read` too), so the loader is typed at the prompt, never into a program. True when the
 * end marker then came.
 */
async function reinstallMarkers(
  config: KernelConfig,
  paths: SessionPaths,
  meta: SessionMeta,
  stuck: () => Promise<Holder | undefined>,
): Promise<boolean> {
  const integration = programProfile(meta.kind).integration;
  if (!integration || !shellOfSessionKind(meta)) return false;
  // A new shell in the foreground must be alone in its group (not a pipeline of shells).
  const holder = await stuck();
  if (holder && holder.processes.length !== 1) return false;
  const offset = await fileSize(paths.log);
  const loader = integration.installLine(`${paths.dir}/${integration.file}`);
  if (!(await pasteText(config, meta.name, loader + "\n", { dir: paths.dir }))) return false;
  return await waitForEndMarker(paths, meta, offset, PROMPT_AFTER_SIGNALS_MS);
}

/** Waits up to `ms` for an end marker in the log after `offset`. */
async function waitForEndMarker(
  paths: SessionPaths,
  meta: SessionMeta,
  offset: number,
  ms: number,
): Promise<boolean> {
  const nonce = meta.frame.nonce ?? "";
  let back = false;
  const term = new TerminalText(() => {}, {
    onOsc: (payload) => {
      if (parseMarker(payload, nonce)?.kind === "end") back = true;
    },
  });
  const follower = await FileFollower.open(paths.log, offset);
  try {
    const deadline = Date.now() + ms;
    while (!back && Date.now() < deadline) {
      await follower.readAvailable((bytes) => term.push(bytes));
      if (!back) await follower.wait(Math.min(100, deadline - Date.now()));
    }
  } finally {
    await follower.close();
  }
  return back;
}

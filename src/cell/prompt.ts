/**
 * The prompt check before a cell is typed (integration mode): is the program back at its prompt
 * (the last marker in the pane log's tail is an end marker) with its line editor reading? Waits,
 * bounded, while prompt hooks run; tells a busy program or a gone session apart.
 * @module
 */

import { KttyError, NoSessionError } from "../errors.ts";
import { FileFollower } from "../follow.ts";
import { lockHeld } from "../lock.ts";
import {
  lastContinuationMarker,
  lastEndMarker,
  lastMarkerIsStart,
  lastStartMarker,
  printedAfterLastEnd,
} from "../markers.ts";
import { readMetaIfAny, type SessionMeta, writeMeta } from "../session/meta.ts";
import { foregroundGroup, processGroup, terminalRaw } from "../proc.ts";
import {
  fileSize,
  ioError,
  type KernelConfig,
  pathExists,
  readTailSync,
  type SessionPaths,
} from "../state.ts";
import { PASTE_OFF, PASTE_ON } from "../text.ts";
import { hasSession, paneTty } from "../tmux.ts";

const MARKER_TAIL_BYTES = 16 * 1024;

/** The longest wait for a program's line editor to start reading after its end marker. */
export const EDITOR_WAIT_MS = 10_000;
/** How long the editor may take before the terminal's mode is asked, and how often then. */
const TTY_CHECK_AFTER_MS = 200;
const TTY_CHECK_EVERY_MS = 250;
/** How long a terminal mode must last before it counts (a hook may read a key in raw mode). */
const EDITOR_SETTLE_MS = 1000;

/**
 * Integration mode: throws unless the program is at its prompt, i.e. the last marker in the log
 * is an end marker. After `k int` a program may still be shutting down, and code typed then
 * would go to it (and its end marker would end the new cell with the old output). Only the log's
 * tail is read: the end marker comes after all of a cell's output.
 *
 * Then, where the program's line editor turns bracketed paste on as it starts reading a line
 * (bash's readline, zsh's zle), waits until it has. The end marker comes before that, and before
 * any prompt hooks that run after ktty's (`PROMPT_COMMAND[99]`, zsh's `precmd` functions); text
 * typed meanwhile meets the terminal in cooked mode, which echoes it and cuts a line at 4095
 * bytes. Usually no wait at all: the log's tail already shows it.
 *
 * Where no editor turns bracketed paste on (sh), waits while a job of the shell holds the
 * terminal, until the shell prints its prompt's end marker: an end marker the cell printed itself
 * (the nonce is in the shell's variables) or a command a person typed is no prompt.
 *
 * Bracketed paste can also have been turned off since the session began
 * (`bind 'set enable-bracketed-paste off'`): when the pane's terminal is in raw mode (an editor
 * reading) with bracketed paste still off, the session's meta is updated and the updated meta
 * returned. Throws `not_ready` after `waitMs`, and NoSessionError when the session ended or was
 * replaced (`k kill`, `k new`) meanwhile.
 */
export async function awaitPrompt(
  config: KernelConfig,
  paths: SessionPaths,
  meta: SessionMeta,
  name: string,
  waitMs: number,
  ownLock: boolean,
): Promise<SessionMeta> {
  if (meta.frame.mode !== "integration") return meta;
  const nonce = meta.frame.nonce ?? "";
  const first = promptState(paths.log, nonce);
  if (first.marker !== "end") {
    // A start marker last (or none in the tail: the program has printed on and on since one).
    // Another cell's, if its lock is there: that lock says busy.
    if (!ownLock && lockHeld(paths)) return meta;
    if (!(await hasSession(config, name))) throw new NoSessionError(name);
    throw new KttyError(
      "not_ready",
      `the program in session '${name}' is still running (it has not come back to its prompt); wait, or k int ${name}, or k kill ${name}`,
    );
  }
  if (!meta.bracketed_paste) {
    // No line editor to say it reads again: a job of the shell's holding the terminal says it
    // does not (the end marker was one the cell printed itself, or a person's command runs).
    const size = await fileSize(paths.log);
    if (jobHoldsTerminal(meta)) {
      await awaitJobEnd(config, paths, meta, name, { size, waitMs, ownLock });
    }
    return meta;
  }
  if (first.editorReading) return meta;
  const started = Date.now();
  const deadline = started + waitMs;
  const follower = await FileFollower.open(
    paths.log,
    Math.max(0, (await fileSize(paths.log)) - MARKER_TAIL_BYTES),
  );
  const decoder = new TextDecoder();
  let tail = "";
  let grown = started;
  const read = async () => {
    const n = await follower.readAvailable((bytes) => {
      tail = (tail + decoder.decode(bytes, { stream: true })).slice(-MARKER_TAIL_BYTES);
    });
    if (n > 0) grown = Date.now();
  };
  let ttyCheck = started + TTY_CHECK_AFTER_MS;
  let rawSince: number | undefined;
  try {
    while (true) {
      await read();
      if (editorReadingIn(tail, nonce)) break;
      // Another cell was started meanwhile: the lock will say busy.
      if (!ownLock && (lockHeld(paths) || lastMarkerIsStart(tail, nonce))) return meta;
      const now = Date.now();
      if (now >= ttyCheck) {
        ttyCheck = now + TTY_CHECK_EVERY_MS;
        const raw = await paneTerminalRaw(config, name);
        if (raw === undefined && !(await hasSession(config, name))) throw new NoSessionError(name);
        rawSince = raw ? rawSince ?? now : undefined;
        // Raw for a while, bracketed paste never on: an editor reads without it (turned off
        // since the session began). A prompt hook reading a key is raw only for a moment.
        if (rawSince !== undefined && now - rawSince >= EDITOR_SETTLE_MS) {
          return await noteNoBracketedPaste(paths, meta, name);
        }
        // Cooked, its prompt printed after the end marker, then quiet: a shell reading without
        // a line editor (set +o emacs, unsetopt zle). Typed text goes to it as it would by hand.
        if (
          raw === false && now - started >= EDITOR_SETTLE_MS &&
          now - grown >= EDITOR_SETTLE_MS / 2 && printedAfterLastEnd(tail, nonce)
        ) break;
      }
      if (now >= deadline) {
        throw new KttyError(
          "not_ready",
          `the program in session '${name}' has not come back to reading input (its prompt hooks still run?); wait, or k int ${name}`,
        );
      }
      await follower.wait(Math.min(TTY_CHECK_EVERY_MS, deadline - now));
    }
  } finally {
    await follower.close();
  }
  await assertSameSession(paths, meta, name);
  return meta;
}

/** Whether a job of the session's shell (another process group) holds its terminal. Read from
 * /proc: no tmux call. A REPL's children share its group: for it, never. */
function jobHoldsTerminal(meta: SessionMeta): boolean {
  const own = processGroup(meta.pane.pid);
  const foreground = foregroundGroup(meta.pane.pid);
  return own !== undefined && foreground !== undefined && foreground !== own;
}

/**
 * Waits (up to `waitMs`) until the job that held the terminal when the log was `size` bytes long
 * has ended and the shell has printed an end marker since: its prompt. Throws `not_ready`, as for
 * a program still running, after that.
 */
async function awaitJobEnd(
  config: KernelConfig,
  paths: SessionPaths,
  meta: SessionMeta,
  name: string,
  { size, waitMs, ownLock }: { size: number; waitMs: number; ownLock: boolean },
): Promise<void> {
  const nonce = meta.frame.nonce ?? "";
  const deadline = Date.now() + waitMs;
  const follower = await FileFollower.open(paths.log, size);
  const decoder = new TextDecoder();
  let tail = "";
  // Where the tail stood when the job was last seen holding the terminal: the prompt's end
  // marker comes after that.
  let heldAt = 0;
  try {
    while (true) {
      await follower.readAvailable((bytes) => {
        const text = tail + decoder.decode(bytes, { stream: true });
        const cut = Math.max(0, text.length - MARKER_TAIL_BYTES);
        tail = text.slice(cut);
        heldAt = Math.max(0, heldAt - cut);
      });
      if (jobHoldsTerminal(meta)) heldAt = tail.length;
      else if (lastEndMarker(tail, nonce) >= heldAt) return;
      // Another cell was started meanwhile: the lock will say busy.
      if (!ownLock && (lockHeld(paths) || lastMarkerIsStart(tail, nonce))) return;
      const now = Date.now();
      if (now >= deadline) {
        if (!(await hasSession(config, name))) throw new NoSessionError(name);
        throw new KttyError(
          "not_ready",
          `the program in session '${name}' is still running (a job holds its terminal); wait, or k int ${name}, or k kill ${name}`,
        );
      }
      await follower.wait(Math.min(TTY_CHECK_EVERY_MS, deadline - now));
    }
  } finally {
    await follower.close();
  }
}

/** Whether the terminal of the session's pane is in raw mode (not canonical), if tmux says. */
async function paneTerminalRaw(config: KernelConfig, name: string): Promise<boolean | undefined> {
  const tty = await paneTty(config, name);
  return tty === undefined ? undefined : await terminalRaw(tty);
}

/** Whether the session `meta` describes is still the one under its name, gone, or replaced by
 * another (`k kill`, then `k new`). */
async function sessionNow(paths: SessionPaths, meta: SessionMeta) {
  const now = await readMetaIfAny(paths).catch(() => undefined);
  if (now === undefined) return "gone";
  const same = now.frame.nonce === meta.frame.nonce && now.created_at === meta.created_at;
  return same ? "same" : "replaced";
}

/** Whether the name now belongs to another session than `meta`'s. */
export async function replaced(paths: SessionPaths, meta: SessionMeta): Promise<boolean> {
  return (await sessionNow(paths, meta)) === "replaced";
}

/** Throws NoSessionError when the session's meta is gone or belongs to a new session now. */
async function assertSameSession(paths: SessionPaths, meta: SessionMeta, name: string) {
  if ((await sessionNow(paths, meta)) !== "same") throw new NoSessionError(name);
}

/** Records that the session's editor reads without bracketed paste; returns the new meta. */
async function noteNoBracketedPaste(
  paths: SessionPaths,
  meta: SessionMeta,
  name: string,
): Promise<SessionMeta> {
  await assertSameSession(paths, meta, name);
  const updated = { ...meta, bracketed_paste: false };
  await writeMeta(paths, updated).catch(() => {}); // only spares later cells this wait
  return updated;
}

/** Whether the session's state is gone, or kept by `k kill --keep` (its metadata alone left). */
function killedMeanwhile(paths: SessionPaths): boolean {
  return !pathExists(paths.meta) || pathExists(paths.kept);
}

/** The size of the session's pane log; a clear error when it is gone (deleted by hand). */
export function paneLogSize(paths: SessionPaths, name: string): number {
  try {
    return Deno.statSync(paths.log).size;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw ioError("read", paths.log, e);
    // Killed meanwhile: k kill removes the state, `k kill --keep` all but its history.
    if (killedMeanwhile(paths)) throw new NoSessionError(name);
    throw new KttyError(
      "state_corrupt",
      `the pane log of session '${name}' is gone (${paths.log}), so no output can be read; k kill ${name}, then k new ${name}`,
    );
  }
}

/** Whether the log's tail shows the line editor reading at the prompt: bracketed paste turned on
 * after the last end marker, and not turned off since, and no continuation prompt since (it then
 * reads the rest of a command). Cell output cannot fake it: it comes before. */
function editorReadingIn(tail: string, nonce: string): boolean {
  const on = tail.lastIndexOf(PASTE_ON);
  const end = lastEndMarker(tail, nonce);
  return on > tail.lastIndexOf(PASTE_OFF) && on > end && lastContinuationMarker(tail, nonce) < end;
}

/** The last `bytes` of the log as text (`whole`: the log is no longer), or undefined. */
function logTail(log: string, bytes: number): { text: string; whole: boolean } | undefined {
  try {
    const file = Deno.openSync(log, { read: true });
    try {
      const tail = readTailSync(file, bytes);
      return { text: new TextDecoder().decode(tail.bytes), whole: tail.start === 0 };
    } finally {
      file.close();
    }
  } catch {
    return undefined;
  }
}

/** Whether the program is at its prompt with its line editor reading: see {@link awaitPrompt}. */
export function atPromptAndReading(paths: SessionPaths, meta: SessionMeta): boolean {
  if (meta.frame.mode !== "integration") return true;
  const state = promptState(paths.log, meta.frame.nonce ?? "");
  if (state.marker !== "end") return false;
  return meta.bracketed_paste ? state.editorReading : !jobHoldsTerminal(meta);
}

/**
 * Whether the program is back at its prompt as the markers tell (the last one in the log's tail
 * is an end marker); true in the modes without markers, which cannot tell.
 */
export function backAtPrompt(paths: SessionPaths, meta: SessionMeta): boolean {
  const state = markerState(paths, meta);
  return state === undefined || state.marker === "end";
}

/** What the pane log's tail says of the markers: see {@link markerState}. */
export interface MarkerState {
  /** The kind of the last marker with the session's nonce, if any in the tail. */
  marker: "start" | "end" | undefined;
  /** Whether a line editor started reading after the last end marker (bracketed paste on). */
  editorReading: boolean;
}

/**
 * The markers' state from the pane log's tail (one read of a few KiB), or undefined in the modes
 * without markers.
 */
export function markerState(paths: SessionPaths, meta: SessionMeta): MarkerState | undefined {
  if (meta.frame.mode !== "integration") return undefined;
  return promptState(paths.log, meta.frame.nonce ?? "");
}

/**
 * Whether the program reads at a prompt printed without ktty's markers: the last marker is a
 * cell's start marker, and a line editor started reading after it. After `exec bash`,
 * `unset PROMPT_COMMAND` or a new shell, that cell never ends by itself; `k int` reinstalls the
 * markers. (A readline program the cell runs looks the same: callers check the foreground.)
 */
export function readsWithoutMarkers(state: MarkerState | undefined): boolean {
  return state?.marker === "start" && state.editorReading;
}

/** From the log's tail: the kind of the last marker with `nonce`, if any, and whether the line
 * editor is reading ({@link editorReadingIn}). The last 4 KiB are read first: a prompt follows
 * its end marker closely. */
function promptState(log: string, nonce: string): MarkerState {
  for (const bytes of [4 * 1024, MARKER_TAIL_BYTES]) {
    const read = logTail(log, bytes);
    if (read === undefined) break;
    const tail = read.text;
    // A continuation prompt, like a start, means a command is under way.
    const start = Math.max(lastStartMarker(tail, nonce), lastContinuationMarker(tail, nonce));
    const end = lastEndMarker(tail, nonce);
    if (start < 0 && end < 0 && !read.whole) continue; // look further back
    const marker = start < 0 && end < 0 ? undefined : start > end ? "start" : "end";
    return { marker, editorReading: editorReadingIn(tail, nonce) };
  }
  return { marker: undefined, editorReading: false };
}

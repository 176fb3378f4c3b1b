/**
 * A session's output pipe — tmux `pipe-pane` running a cat that appends to `pane.log`, the source
 * of every cell's output — and its death. Its command keeps a sign beside the log and rewrites it
 * when cat ends (see `pipeCommand` in src/tmux.ts): whoever comes next reads it — the active
 * cell's watcher, woken by the sign's doorbell on the log; `k status` and `k ls`; the next cell —
 * and the pipe is re-armed, appending to the same log. What the pane printed while it was dead is
 * lost. The sign also tells a pipe closed by tmux (the pane or session ended) from one that died.
 * @module
 */

import { appendEvent } from "../events/log.ts";
import { type KernelConfig, type SessionPaths, writeFileAtomic } from "../state.ts";
import { pipeSignPath, type PipeState, rearmPipe } from "../tmux.ts";
import type { SessionMeta } from "./meta.ts";

/** How a session's output pipe ended, as its sign tells. */
export type PipeEnd =
  /**
   * `cat` ended on its own while tmux had the pipe open: killed or failed. `status` is its exit
   * status (128 + a signal's number when killed); undefined when ktty found the pipe closed with
   * no sign (the shell around cat was killed first).
   */
  | { kind: "died"; status: number | undefined; atMs: number }
  /**
   * `cat` read the end of its input: tmux closed the pipe, as it does when the pane or the
   * session ends (or someone ran `tmux pipe-pane` without a command).
   */
  | { kind: "eof"; atMs: number };

/** Signal numbers (Linux) by name, for saying what ended the pipe. */
const SIGNALS: Readonly<Record<number, string>> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  6: "SIGABRT",
  9: "SIGKILL",
  13: "SIGPIPE",
  15: "SIGTERM",
};

/**
 * How the session's output pipe ended, if its sign says it did for this session's pane;
 * undefined while it runs (or with no sign). A sign of an earlier session of the same name is
 * removed. One read of a small file, no regular expression: cheap enough for every cell.
 */
export function readPipeEnd(paths: SessionPaths, meta: SessionMeta): PipeEnd | undefined {
  const path = pipeSignPath(paths.log);
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return undefined; // none: a session made before signs, or one just taken
  }
  if (text.startsWith("- ") || !text.endsWith("\n")) return undefined; // running, being written
  const [status = "", pid = "", ...rest] = text.slice(0, -1).split(" ");
  const code = status === "?" ? undefined : Number(status);
  if (rest.length > 0 || status === "" || !Number.isInteger(code ?? 0)) return undefined;
  if (Number(pid) !== meta.pane.pid) {
    takePipeEnd(paths); // an earlier session's pipe, ended as this one began
    return undefined;
  }
  let atMs: number;
  try {
    atMs = Deno.statSync(path).mtime?.getTime() ?? Date.now();
  } catch {
    return undefined; // taken meanwhile
  }
  return code === 0 ? { kind: "eof", atMs } : { kind: "died", status: code, atMs };
}

/**
 * Removes the sign: true for the one caller that removed it, which then answers for the death
 * (ends the cell it broke, or notes it), so a death is reported once. The re-armed pipe writes
 * its own.
 */
export function takePipeEnd(paths: SessionPaths): boolean {
  try {
    Deno.removeSync(pipeSignPath(paths.log));
    return true;
  } catch {
    return false;
  }
}

/**
 * Leaves a sign for a pipe tmux found closed without one made since `sinceMs` (the shell around
 * cat was killed before cat), so that the active cell's watcher learns of it as of any other
 * death. An older sign is replaced: the pipe it speaks of was re-armed since.
 */
export async function signPipeClosed(
  paths: SessionPaths,
  meta: SessionMeta,
  sinceMs: number,
): Promise<void> {
  const end = readPipeEnd(paths, meta);
  if (end !== undefined && end.atMs >= sinceMs) return;
  await writeFileAtomic(pipeSignPath(paths.log), `? ${meta.pane.pid}\n`, { durable: false })
    .catch(() => {});
}

/** What ended the pipe, in words: `cat was killed by SIGKILL`. */
export function pipeEndText(end: PipeEnd): string {
  if (end.kind === "eof") return "tmux closed it while the pane lived on";
  const status = end.status;
  if (status === undefined) return "it was found closed";
  if (status > 128 && status - 128 < 64) {
    return `cat was killed by ${SIGNALS[status - 128] ?? `signal ${status - 128}`}`;
  }
  return `cat exited with status ${status}`;
}

/** What re-arming did, in words, for the messages below. */
function rearmText(name: string, state: PipeState): string {
  if (state === "piped") return "it was re-armed and the session is usable";
  if (state === "gone") return "the session is gone too";
  return `it could not be re-armed: k kill ${name}, then k new ${name}`;
}

/**
 * The one-line error of the cell that was running when session `name`'s output pipe died: what
 * happened, that it was re-armed, what was lost, where the output so far is, and the way on.
 */
export function pipeDiedMessage(
  name: string,
  cellId: string,
  end: PipeEnd,
  state: PipeState,
): string {
  return `session '${name}': its output pipe (the cat that tmux pipes the pane's output into) died while the cell ran (${
    pipeEndText(end)
  }); ${
    rearmText(name, state)
  }, but what the program printed while it was dead is lost, so the cell's end could not be seen (its output so far: k poll ${name} ${cellId}; if its program still runs, k screen ${name} shows it and k int ${name} stops it)`;
}

/**
 * For a pipe death no cell answers for (found idle, by `k status`): re-arms the pipe and appends
 * a `notify` event from `ktty` saying what happened and what was lost, so `k history` and `km`
 * keep it. Returns the pipe's state and the message.
 */
export async function notePipeDeath(
  config: KernelConfig,
  paths: SessionPaths,
  meta: SessionMeta,
  end: PipeEnd,
): Promise<{ state: PipeState; message: string }> {
  const state = await rearmPipe(config, meta.name, paths.log);
  const message = idleDeathMessage(meta.name, end, rearmText(meta.name, state));
  if (state !== "gone") await noteEvent(paths, meta.name, message);
  return { state, message };
}

/**
 * For the next cell, before its tmux call (which re-arms the pipe, and the re-armed pipe rewrites
 * the sign): a pipe death found idle, taken. One read of the sign, nothing spawned.
 */
export function takeIdlePipeDeath(paths: SessionPaths, meta: SessionMeta): PipeEnd | undefined {
  const end = readPipeEnd(paths, meta);
  return end?.kind === "died" && takePipeEnd(paths) ? end : undefined;
}

/** A death {@link takeIdlePipeDeath} took, noted as by {@link notePipeDeath} (while tmux types). */
export async function noteIdlePipeDeath(
  paths: SessionPaths,
  meta: SessionMeta,
  end: PipeEnd,
): Promise<void> {
  await noteEvent(paths, meta.name, idleDeathMessage(meta.name, end, "the next cell re-armed it"));
}

function idleDeathMessage(name: string, end: PipeEnd, how: string): string {
  return `the output pipe of session '${name}' had died (${
    pipeEndText(end)
  }); ${how}; what the pane printed while it was dead is lost`;
}

async function noteEvent(paths: SessionPaths, name: string, message: string): Promise<void> {
  await appendEvent(paths.events, name, { status: "notify", from: "ktty", message })
    .catch(() => {});
}

/**
 * A session's metadata file (what program runs, how its frames are detected, which pane it is),
 * and what of it the library shows: {@link SessionInfo}, without the storage format's secrets.
 * @module
 */

import { KttyError, NoSessionError } from "../errors.ts";
import { FRAME_MODES, type FrameConfig, type FrameMode } from "../frame/mod.ts";
import type { ProcessId } from "../proc.ts";
import type { ProgramKind } from "../programs/mod.ts";
import {
  type KernelConfig,
  readJsonFile,
  type SessionPaths,
  sessionPaths,
  writeFileAtomic,
} from "../state.ts";
import { isRecord } from "../types.ts";

/** What the kernel records about a session when it is made. */
export interface SessionMeta {
  /** The session's name. */
  name: string;
  /** The program's command line as typed. */
  command: string;
  /** The program family, for shaping typed code. */
  kind: ProgramKind;
  /** How the end of a cell is detected. */
  frame: FrameConfig;
  /** The pane's width in columns (older sessions: 10000). */
  columns?: number;
  /** The program's process in the pane. */
  pane: ProcessId;
  /** When the session was made, UTC ISO-8601. */
  created_at: string;
  /** Whether the program reads pasted text as one unit (bracketed paste). */
  bracketed_paste?: boolean;
}

/** Writes the session's metadata atomically. */
export function writeMeta(paths: SessionPaths, meta: SessionMeta): Promise<void> {
  return writeFileAtomic(paths.meta, JSON.stringify(meta));
}

/** The session's metadata, or undefined when the session has no state. */
export async function readMetaIfAny(paths: SessionPaths): Promise<SessionMeta | undefined> {
  let value: unknown;
  try {
    value = await readJsonFile(paths.meta);
  } catch (e) {
    if (e instanceof KttyError && e.code === "state_corrupt") {
      throw new KttyError("state_corrupt", `corrupt session file '${paths.meta}'; use k kill`);
    }
    throw e;
  }
  if (value === undefined) return undefined;
  if (
    !isRecord(value) || typeof value.name !== "string" || typeof value.command !== "string" ||
    !isRecord(value.frame) || !isRecord(value.pane) ||
    !Object.hasOwn(FRAME_MODES, String(value.frame.mode))
  ) {
    throw new KttyError("state_corrupt", `corrupt session file '${paths.meta}'; use k kill`);
  }
  return value as unknown as SessionMeta;
}

/** The session's metadata; {@link NoSessionError} when the session has no state. */
export async function readMeta(paths: SessionPaths, name: string): Promise<SessionMeta> {
  const meta = await readMetaIfAny(paths);
  if (!meta) throw new NoSessionError(name);
  return meta;
}

/** What a session is, as `k new` made it: its program and how its cells' ends are detected. */
export interface SessionInfo {
  /** The session's name. */
  session: string;
  /** The program's command line, as given to `new`. */
  command: string;
  /** The program family ktty recognised in it (`other` when none). */
  program: ProgramKind;
  /** How the end of a cell is detected. */
  mode: FrameMode;
  /** Why shell integration is not used where it was expected (it failed), else null. */
  fallback: string | null;
  /** When the session was made, UTC ISO-8601. */
  created_at: string;
}

/** The public view of a session's metadata. */
export function sessionInfo(meta: SessionMeta): SessionInfo {
  return {
    session: meta.name,
    command: meta.command,
    program: meta.kind,
    mode: meta.frame.mode,
    fallback: meta.frame.fallback ?? null,
    created_at: meta.created_at,
  };
}

/**
 * Whether session `name` has state (its directory) on this socket, live or stale. Creates and
 * checks nothing: an unreadable state dir reads as no state.
 */
export async function sessionHasState(config: KernelConfig, name: string): Promise<boolean> {
  return await Deno.lstat(sessionPaths(config, name).dir).then(() => true, () => false);
}

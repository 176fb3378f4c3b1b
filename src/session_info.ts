/**
 * Cheap questions about one session's state that touch nothing: does it have state, and what
 * does its metadata say. For callers (the `k` command) that must not reach into the state dir.
 * @module
 */

import { readMeta, type SessionMeta } from "./meta.ts";
import { type KernelConfig, sessionPaths } from "./state.ts";

/**
 * Whether session `name` has state (its directory) on this socket, live or stale. Creates and
 * checks nothing: an unreadable state dir reads as no state.
 *
 * @param config the kernel's configuration
 * @param name the session's name (validated)
 */
export async function sessionHasState(config: KernelConfig, name: string): Promise<boolean> {
  return await Deno.lstat(sessionPaths(config, name).dir).then(() => true, () => false);
}

/**
 * The session's metadata as `k new` recorded it; `NoSessionError` when it has no state.
 *
 * @param config the kernel's configuration
 * @param name the session's name (validated)
 */
export async function sessionMeta(config: KernelConfig, name: string): Promise<SessionMeta> {
  return await readMeta(sessionPaths(config, name), name);
}

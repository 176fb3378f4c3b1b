/**
 * Which session a verb acts on when none is named: `K_SESSION`, else the only live one.
 * @module
 */

import { UsageError } from "../errors.ts";
import { type KernelConfig, sessionPaths } from "../state.ts";
import { listSessions } from "./status.ts";

/**
 * The session a verb acts on: `name` if given, else `K_SESSION`, else the only live session.
 */
export async function resolveSessionName(config: KernelConfig, name?: string): Promise<string> {
  if (name !== undefined) {
    sessionPaths(config, name);
    return name;
  }
  const fromEnv = Deno.env.get("K_SESSION");
  if (fromEnv) {
    sessionPaths(config, fromEnv);
    return fromEnv;
  }
  const live = (await listSessions(config)).filter((s) => s.alive);
  if (live.length === 1 && live[0]) return live[0].session;
  if (live.length === 0) {
    throw new UsageError("no session given and none is live; use k new <session> bash");
  }
  throw new UsageError(
    `no session given and ${live.length} are live (${
      live.map((s) => s.session).join(", ")
    }); name one or set K_SESSION`,
  );
}

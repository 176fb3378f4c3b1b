/**
 * The MCP server's own options: how long one tool call may block (`--max-wait N`,
 * `K_MCP_MAX_WAIT`), read once at start. Clients cut a tool call off at about 60 s, so `run` and
 * `wait` return by this bound whatever the cell does: the cell goes on, and the result says so.
 * @module
 */

import { UsageError } from "../../mod.ts";

/** The default bound of a blocking tool call (`run`, `wait`), in seconds: below clients' ~60 s. */
export const DEFAULT_MAX_WAIT_S = 45;
/** The environment variable that sets the bound, in seconds. */
export const MAX_WAIT_ENV = "K_MCP_MAX_WAIT";

/** What the server is started with. */
export interface ServerOptions {
  /** The longest a tool call blocks, in ms. */
  maxWaitMs: number;
}

/** A positive whole number of seconds, or a usage error naming where it came from. */
function seconds(value: string, from: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`${from} must be a positive integer (seconds); got '${value}'`);
  }
  return n;
}

/**
 * The options from `--max-wait N` (seconds), else `K_MCP_MAX_WAIT`, else the default.
 *
 * @param maxWaitS the flag's value, if given
 * @param env the environment to read `K_MCP_MAX_WAIT` from
 */
export function serverOptions(
  maxWaitS: number | undefined,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): ServerOptions {
  if (maxWaitS !== undefined) {
    return { maxWaitMs: seconds(String(maxWaitS), "--max-wait") * 1000 };
  }
  const fromEnv = env(MAX_WAIT_ENV);
  if (fromEnv !== undefined && fromEnv !== "") {
    return { maxWaitMs: seconds(fromEnv, MAX_WAIT_ENV) * 1000 };
  }
  return { maxWaitMs: DEFAULT_MAX_WAIT_S * 1000 };
}

/**
 * ktty's MCP server: the `k` verbs an agent needs (new, run, fire, poll, wait, send, interrupt,
 * screen, kill, list, status, history) as tools of the Model Context Protocol, on stdio, with
 * sessions and cells as subscribable resources. Any MCP client (Claude Code and Desktop, Codex,
 * VS Code, Cursor…) starts it as a child process:
 *
 *   deno run -A mcp.ts [--max-wait N]      (or `k mcp [--max-wait N]`)
 *
 * It drives the same sessions as `k`, with the same `K_HOME` and `K_SOCKET`: a person can
 * `k peek` what the agent does and `k poll` its cells. This entry is the only module that loads
 * the MCP SDK (a pinned npm dependency); `mod.ts` and the other `k` verbs never do.
 *
 * @example
 * ```ts
 * import { serveMcp } from "./mcp.ts";
 *
 * // Serves on stdin/stdout until the client goes away; then hands running cells over.
 * Deno.exit(await serveMcp({ maxWaitS: 30 }));
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { serveMcp } from "./src/mcp/server.ts";

export { serveMcp } from "./src/mcp/server.ts";
export type { ServeOptions } from "./src/mcp/server.ts";

const USAGE = `usage: deno run -A mcp.ts [--max-wait N]

Serves ktty's tools over MCP on stdin/stdout (see the README's "MCP server").
  --max-wait N   the longest a tool call blocks, in seconds (default $K_MCP_MAX_WAIT, else 45)`;

/**
 * Runs the server with command-line arguments (`--max-wait N`, `--help`).
 *
 * @param argv the arguments after `mcp.ts`
 * @returns the exit status: 0 when the client went away, 1 on bad arguments, 128 + a signal's
 *   number when stopped by it
 *
 * @example
 * ```ts
 * import { main } from "./mcp.ts";
 * Deno.exit(await main(["--max-wait", "30"]));
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  let maxWait: string | undefined;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { "max-wait": { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.error(USAGE);
      return 0;
    }
    maxWait = values["max-wait"];
  } catch (e) {
    console.error(`ktty mcp: ${e instanceof Error ? e.message : e}\n${USAGE}`);
    return 1;
  }
  const maxWaitS = maxWait === undefined ? undefined : Number(maxWait);
  try {
    return await serveMcp({ maxWaitS });
  } catch (e) {
    console.error(`ktty mcp: ${e instanceof Error ? e.message : e}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

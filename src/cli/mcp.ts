/**
 * `k mcp`: serve ktty's tools to an agent runtime over the Model Context Protocol, on stdio. The
 * server (`mcp.ts`, with the MCP SDK it needs) is loaded only here, through a computed URL: it is
 * neither in the start-up bundle nor in the graph Deno reads when `k` starts, so no other verb
 * pays for it.
 * @module
 */

import { UsageError } from "../../mod.ts";
import { WATCHER_URL } from "../start.ts";
import type { Verb } from "./verb.ts";

/**
 * The server's entry, `mcp.ts` at the root. Made from the watcher's URL, which `start.ts` computes
 * in `src/` whether `k` runs from the sources or from the bundle (this module's own URL is not
 * the same in both).
 */
const MCP_URL = new URL("../mcp.ts", WATCHER_URL).href;

/** What `mcp.ts` exports that this verb uses. */
interface McpModule {
  serveMcp(options: { maxWaitS?: number }): Promise<number>;
}

function isMcpModule(value: unknown): value is McpModule {
  return typeof (value as Partial<McpModule> | null)?.serveMcp === "function";
}

/** `k mcp [--max-wait N]` */
export const mcp: Verb = {
  name: "mcp",
  usage: "k mcp [--max-wait N]",
  summary: "serve the verbs to an agent as MCP tools (stdio)",
  details: [
    "For an MCP client (Claude Code, Claude Desktop, Codex, VS Code) to start as a child:",
    "tools new, run, fire, poll, wait, send, interrupt, screen, kill, list, status, history;",
    "resources ktty://session/<name>[/cell/<id>], updated at a cell's end when subscribed.",
    "--max-wait N: the longest one call blocks, in seconds (default $K_MCP_MAX_WAIT, else 45):",
    "a longer cell comes back running, and the agent calls wait. Stdout is the protocol's.",
  ],
  examples: [
    "k mcp   # as a client starts it: claude mcp add ktty -- k mcp",
    "k mcp --max-wait 30",
  ],
  flags: [{
    name: "max-wait",
    type: "integer",
    description: "the longest a tool call blocks, in seconds (default 45)",
  }],
  args: "flags",
  json: "never",
  async run({ verb, flags, positionals }) {
    if (positionals.length > 0) throw new UsageError(`usage: ${verb.usage}`);
    const loaded: unknown = await import(MCP_URL);
    if (!isMcpModule(loaded)) throw new Error(`${MCP_URL} exports no serveMcp`);
    return await loaded.serveMcp({ maxWaitS: flags.integer("max-wait") });
  },
};

/**
 * The one place the MCP server's third-party code comes in: the official MCP TypeScript SDK (v2,
 * `@modelcontextprotocol/server`) and the schema library it is built on (zod), each pinned to
 * one exact version, as full `npm:` specifiers so that they resolve without an import map: from
 * `deno run mcp.ts` in any directory, and from an installed `k` (`k mcp`). `deno.lock` pins
 * their integrity. Only `mcp.ts` reaches this module: `mod.ts` and every other `k` verb never
 * load it (tests/unit/dependencies_test.ts).
 * @module
 */

export {
  McpServer,
  ProtocolError,
  ProtocolErrorCode,
  ResourceTemplate,
} from "npm:@modelcontextprotocol/server@2.4.0";
export type {
  CallToolResult,
  JSONRPCMessage,
  ReadResourceResult,
  ServerContext,
  ToolAnnotations,
  Transport,
} from "npm:@modelcontextprotocol/server@2.4.0";
export { serveStdio, StdioServerTransport } from "npm:@modelcontextprotocol/server@2.4.0/stdio";
export * as z from "npm:zod@4.6.7";

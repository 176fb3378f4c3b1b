/**
 * An MCP client for tests/mcp_test.ts to kill mid-run: it starts the server (`mcp.ts`) with this
 * process's environment (the test's K_HOME and K_SOCKET), makes session `<session>` in its
 * working directory, prints `server <pid>` on stdout, then runs `<code>` and waits for it.
 *
 *   deno run -A tests/mcp_client_fixture.ts <session> <code>
 * @module
 */

import { Client } from "npm:@modelcontextprotocol/client@2.4.0";
import { StdioClientTransport } from "npm:@modelcontextprotocol/client@2.4.0/stdio";

const [session, code] = Deno.args;
if (session === undefined || code === undefined) {
  console.error("usage: mcp_client_fixture.ts <session> <code>");
  Deno.exit(2);
}
const transport = new StdioClientTransport({
  command: Deno.execPath(),
  args: ["run", "-A", new URL("../mcp.ts", import.meta.url).pathname],
  env: Deno.env.toObject(),
  cwd: Deno.cwd(),
  stderr: "inherit",
});
const client = new Client({ name: "ktty-test-fixture", version: "1" });
await client.connect(transport);
const created = await client.callTool({
  name: "new",
  arguments: { session, command: "bash --norc --noprofile", cwd: Deno.cwd() },
});
if (created.isError) {
  console.error(JSON.stringify(created));
  Deno.exit(1);
}
console.log(`server ${transport.pid}`);
await client.callTool({ name: "run", arguments: { session, code } });
console.log("run returned"); // not reached: the test kills this process first

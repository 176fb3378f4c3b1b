// The kernel has no third-party dependency: the module graphs of mod.ts (the library) and of the
// k and km entries (what every command loads) hold only local files and node: built-ins. The MCP
// server's graph (mcp.ts) is the one that holds the pinned SDK, and only it. No tmux needed.

import { deepEqual, ok } from "node:assert/strict";
import { ROOT } from "../harness.ts";

/** Every module specifier in the graph of `entry`, as `deno info --json` lists it. */
async function graphOf(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules?: { specifier?: string }[];
  };
  // (Not `npmPackages`: that is the lock file's whole resolution, whichever graph uses it.)
  return (info.modules ?? []).map((m) => m.specifier ?? "");
}

/** The specifiers that are not local files or node: built-ins. */
function thirdParty(specifiers: string[]): string[] {
  return specifiers.filter((s) => !s.startsWith("file://") && !s.startsWith("node:"));
}

for (const entry of ["mod.ts", "src/k.ts", "src/km.ts", "cli.ts", "monitor.ts", "src/watcher.ts"]) {
  Deno.test(`dependencies: ${entry} loads no third-party module`, async () => {
    deepEqual(thirdParty(await graphOf(entry)), []);
  });
}

Deno.test("dependencies: mcp.ts loads the pinned MCP SDK", async () => {
  const outside = thirdParty(await graphOf("mcp.ts"));
  ok(outside.some((s) => s.startsWith("npm:/@modelcontextprotocol/server@2.4.0")), outside.join());
  ok(outside.some((s) => s.startsWith("npm:/zod@4.6.7")), outside.join());
});

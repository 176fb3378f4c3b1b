// The MCP server's pieces that need no tmux: its bound (flag, environment, default) and its
// resource URIs (names escaped and read back; anything else is no resource).

import { deepEqual, throws } from "node:assert/strict";
import { UsageError } from "../../mod.ts";
import { DEFAULT_MAX_WAIT_S, MAX_WAIT_ENV, serverOptions } from "../../src/mcp/options.ts";
import { cellUri, parseUri, sessionUri } from "../../src/mcp/resources.ts";

Deno.test("mcp options: --max-wait, else K_MCP_MAX_WAIT, else the default", () => {
  const env = (values: Record<string, string>) => (name: string) => values[name];
  deepEqual(serverOptions(undefined, env({})), { maxWaitMs: DEFAULT_MAX_WAIT_S * 1000 });
  deepEqual(serverOptions(undefined, env({ [MAX_WAIT_ENV]: "20" })), { maxWaitMs: 20_000 });
  deepEqual(serverOptions(5, env({ [MAX_WAIT_ENV]: "20" })), { maxWaitMs: 5_000 });
  deepEqual(serverOptions(undefined, env({ [MAX_WAIT_ENV]: "" })), { maxWaitMs: 45_000 });
  for (const bad of ["0", "-3", "1.5", "ten", "1e3"]) {
    throws(() => serverOptions(undefined, env({ [MAX_WAIT_ENV]: bad })), UsageError, bad);
  }
  throws(() => serverOptions(0, env({})), /--max-wait must be a positive integer/);
});

Deno.test("mcp resources: URIs name a session or a cell, escaped, and read back", () => {
  for (const name of ["w", "a.b", "a:1", "x_y-z"]) {
    deepEqual(parseUri(sessionUri(name)), { kind: "session", session: name });
    deepEqual(parseUri(cellUri(name, "3f2a9c01b7de")), {
      kind: "cell",
      session: name,
      cellId: "3f2a9c01b7de",
    });
  }
  deepEqual(sessionUri("a:1"), "ktty://session/a%3A1");
  deepEqual(parseUri("ktty://session/..%2Fx"), { kind: "session", session: "../x" });
  for (const uri of ["file:///etc/passwd", "ktty://session/w/cells/1", "ktty://other/w", "x"]) {
    deepEqual(parseUri(uri), undefined, uri);
  }
  deepEqual(parseUri("ktty://session/%E0%A4%A"), undefined);
});

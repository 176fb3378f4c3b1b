// The kernel has no third-party dependency: the module graphs of mod.ts (the library) and of the
// k and km entries (what every command loads) hold only local files and node: built-ins. The MCP
// server's graph (mcp.ts) is the one that holds the pinned SDK, and only it. And a local kernel
// pays nothing for remote hosts: importing mod.ts loads no module of src/remote/. No tmux needed.

import { deepEqual, ok } from "node:assert/strict";
import { ROOT } from "../harness.ts";

/** One import of a module, as `deno info --json` lists it. */
interface Dependency {
  /** The module it loads when it runs (absent for a type-only import). */
  code?: { specifier?: string };
  /** True for an `import()`, which loads nothing until it runs. */
  isDynamic?: boolean;
}

/** The module graph of `entry`, as `deno info --json` gives it. */
async function infoOf(entry: string): Promise<{
  roots: string[];
  modules: { specifier: string; dependencies?: Dependency[] }[];
}> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Every module specifier in the graph of `entry`, as `deno info --json` lists it. */
async function graphOf(entry: string): Promise<string[]> {
  // (Not `npmPackages`: that is the lock file's whole resolution, whichever graph uses it.)
  return ((await infoOf(entry)).modules ?? []).map((m) => m.specifier ?? "");
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

Deno.test("dependencies: importing mod.ts loads no src/remote module (a kernel with a host does)", async () => {
  const info = await infoOf("mod.ts");
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  // What runs at import: the static code imports from mod.ts on (type-only imports and import()
  // load nothing then).
  const loaded = new Set<string>();
  const queue = [...info.roots];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (loaded.has(next)) continue;
    loaded.add(next);
    for (const dependency of bySpecifier.get(next)?.dependencies ?? []) {
      const target = dependency.code?.specifier;
      if (target && !dependency.isDynamic) queue.push(target);
    }
  }
  ok([...loaded].some((s) => s.endsWith("/src/kernel.ts")), `the walk missed the library`);
  deepEqual([...loaded].filter((s) => s.includes("/src/remote/")), []);
  // It is in the graph all the same: as the import() of a kernel with a host.
  ok(info.modules.some((m) => m.specifier.endsWith("/src/remote/library.ts")), "no remote library");
});

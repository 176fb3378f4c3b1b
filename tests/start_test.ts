/**
 * The start-up bundle (src/start.ts, src/build.ts): built from the sources, used only while every
 * source it was built from is unchanged, never required. Runs on a copy of the repository, so the
 * real checkout's bundle and sources are not touched while other tests use them.
 */

import { deepEqual as assertEquals, match as assertMatch, ok as assert } from "node:assert/strict";
import { ROOT, runCommand } from "./harness.ts";

const VERSION_LINE = /^ktty \d+\.\d+\.\d+/;

/** Copies what the commands need (cli.ts, monitor.ts, mod.ts, deno.json, src/) without bundles. */
async function copyRepository(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ktty-start-" });
  for (const file of ["cli.ts", "monitor.ts", "mod.ts", "deno.json"]) {
    await Deno.copyFile(`${ROOT}${file}`, `${dir}/${file}`);
  }
  const copyTree = async (from: string, to: string) => {
    await Deno.mkdir(to, { recursive: true });
    for await (const entry of Deno.readDir(from)) {
      if (entry.name.includes(".bundle.")) continue;
      if (entry.isDirectory) await copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
      else if (entry.isFile) await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
    }
  };
  await copyTree(`${ROOT}src`, `${dir}/src`);
  return dir;
}

async function version(dir: string, env: Record<string, string> = {}): Promise<string> {
  const out = await runCommand("deno", ["run", "-A", `${dir}/cli.ts`, "--version"], { env });
  assertEquals(out.code, 0, out.stderr);
  return out.stdout.trim();
}

Deno.test({
  name: "start-up bundle: built from the sources, used only while they are unchanged",
  sanitizeResources: false,
  fn: async () => {
    const dir = await copyRepository();
    try {
      const built = await runCommand("deno", ["run", "-A", `${dir}/src/build.ts`]);
      assertEquals(built.code, 0, built.stderr);
      assertMatch(built.stderr, /build: src\/k\.bundle\.js \(\d+ modules\)/);
      assertMatch(built.stderr, /build: src\/km\.bundle\.js \(\d+ modules\)/);
      const start = await import(`file://${dir}/src/start.ts`) as typeof import("../src/start.ts");
      assert(start.isFresh("k") && start.isFresh("km"), "fresh bundles right after the build");
      const manifest = JSON.parse(await Deno.readTextFile(`${dir}/src/k.bundle.json`));
      const inputs = (manifest.inputs as [string, ...number[]][]).map(([path]) => path);
      for (const path of ["deno.json", "mod.ts", "src/k.ts", "src/cell/start.ts", "src/text.ts"]) {
        assert(inputs.includes(path), `manifest lacks ${path}: ${inputs.join(" ")}`);
      }

      // The real bundle runs; then a marked one shows that a fresh bundle is what runs.
      assertMatch(await version(dir), VERSION_LINE);
      const marked = (await Deno.readTextFile(`${dir}/src/k.bundle.js`))
        .replace("console.log(`ktty ${VERSION}`)", "console.log(`ktty-from-bundle ${VERSION}`)");
      assert(marked.includes("ktty-from-bundle"), "the version line was not found in the bundle");
      await Deno.writeTextFile(`${dir}/src/k.bundle.js`, marked);
      assertMatch(await version(dir), /^ktty-from-bundle /);
      assertMatch(await version(dir, { K_BUNDLE: "0" }), VERSION_LINE);

      // Any source newer than the build: the sources run, and the monitor's bundle is stale too.
      const later = new Date(Date.now() + 5_000);
      await Deno.utime(`${dir}/src/text.ts`, later, later);
      assert(!start.isFresh("k") && !start.isFresh("km"), "stale after a source changed");
      assertMatch(await version(dir), VERSION_LINE);

      // A rebuild makes it fresh again. A file replaced with its mtime set back (rsync -a does
      // that) is noticed all the same.
      assertEquals((await runCommand("deno", ["run", "-A", `${dir}/src/build.ts`])).code, 0);
      assert(start.isFresh("k"), "fresh after the rebuild");
      const file = `${dir}/src/text.ts`;
      const { mtime, atime } = await Deno.stat(file);
      await Deno.copyFile(file, `${file}.tmp`);
      await Deno.rename(`${file}.tmp`, file);
      await Deno.utime(file, atime ?? new Date(), mtime ?? new Date());
      assert(!start.isFresh("k"), "stale after a file was replaced, mtime kept");
      assertEquals((await runCommand("deno", ["run", "-A", `${dir}/src/build.ts`])).code, 0);
      assert(start.isFresh("k"), "fresh after the second rebuild");

      // A missing or broken manifest means the sources.
      await Deno.writeTextFile(`${dir}/src/k.bundle.json`, "{not json");
      assert(!start.isFresh("k"), "a broken manifest is not fresh");
      await Deno.remove(`${dir}/src/k.bundle.json`);
      assert(!start.isFresh("k"), "no manifest is not fresh");
      assertMatch(await version(dir), VERSION_LINE);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

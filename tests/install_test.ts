/**
 * `k` and `km` installed as commands the way the README says (`deno install -g … --config
 * deno.json`, here under a temporary `--root`), then run from another directory: the version, a
 * session, a cell, a fired cell (its background watcher), the monitor, the kill. The installed `k`
 * runs its start-up bundle when the bundle is fresh, as `deno run cli.ts` does.
 */

import { deepEqual as assertEquals, match as assertMatch, ok as assert } from "node:assert/strict";
import { dirname } from "node:path";
import { VERSION } from "../mod.ts";
import { isFresh } from "../src/start.ts";
import { type CliResult, ROOT, runCommand, worldTest } from "./harness.ts";

/** Installs `entry` as command `name` under `root`, exactly as the README's install section. */
async function install(root: string, name: string, entry: string): Promise<string> {
  const out = await runCommand(
    Deno.execPath(),
    ["install", "-g", "-A", "-f", "-n", name, "--root", root, "--config", "deno.json", entry],
    { cwd: ROOT },
  );
  assertEquals(out.code, 0, `deno install ${name}: ${out.stderr}`);
  const bin = `${root}/bin/${name}`;
  assert((await Deno.stat(bin)).isFile, `no ${bin}`);
  return bin;
}

function parseJson(out: CliResult): Record<string, unknown> {
  try {
    return JSON.parse(out.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON (exit ${out.code}): ${out.stdout}${out.stderr}`);
  }
}

worldTest(
  "install: k and km installed with deno install -g run from another directory",
  async (w) => {
    const root = await Deno.makeTempDir({ prefix: "ktty-install-" });
    const cwd = await Deno.makeTempDir({ prefix: "ktty-install-cwd-" });
    try {
      const k = await install(root, "k", "cli.ts");
      const km = await install(root, "km", "monitor.ts");
      // The installed scripts call `deno` by name: the one running this test.
      const env = w.env({ PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}` });
      const run = (bin: string, args: string[], extra: Record<string, string> = {}) =>
        runCommand(bin, args, { env: { ...env, ...extra }, cwd });

      const fresh = isFresh("k"); // deno task test builds the bundle first; alone, maybe not
      const version = await run(k, ["--version"], { K_TRACE: "1" });
      assertEquals(version.code, 0, version.stderr);
      assertEquals(version.stdout.trim(), `ktty ${VERSION}`);
      assertMatch(version.stderr, fresh ? / bundle loaded\n/ : / sources loaded\n/);

      const created = await run(k, ["new", "s", "bash"]);
      assertEquals(created.code, 0, created.stderr);
      assertMatch(created.stdout, /^OK s\b/);

      const ran = await run(k, ["run", "-j", "s", "echo hi"]);
      assertEquals(ran.code, 0, ran.stderr);
      const result = parseJson(ran);
      assertEquals([result.status, result.output], ["done", "hi"]);

      // A fired cell is finished by a background watcher the installed k spawns; km -1 waits for it.
      const fired = parseJson(await run(k, ["fire", "s", "sleep 0.2; echo later"]));
      assertEquals(fired.status, "fired", JSON.stringify(fired));
      const cellId = String(fired.cell_id);
      const waited = await run(km, ["s", cellId, "-1"]);
      assertEquals(waited.code, 0, waited.stderr);
      assertEquals(parseJson(waited).status, "done", waited.stdout);
      const polled = parseJson(await run(k, ["poll", "s", cellId]));
      assertEquals([polled.status, polled.output], ["done", "later"]);

      const snapshot = await run(km, ["s", "--snapshot"]);
      assertEquals(snapshot.code, 0, snapshot.stderr);
      const events = snapshot.stdout.trim().split("\n").map((line) => JSON.parse(line));
      const done = events.filter((e) => e.status === "done").map((e) => e.cell_id);
      assertEquals(done, [result.cell_id, cellId]);

      const killed = await run(k, ["kill", "s"]);
      assertEquals(killed.code, 0, killed.stderr);
      assert((await w.tmux(["has-session", "-t", "s"])).code !== 0, "the session outlived k kill");

      // Nothing is written where the command runs (no lock file, no node_modules).
      assertEquals(await Array.fromAsync(Deno.readDir(cwd)), []);
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
      await Deno.remove(cwd, { recursive: true }).catch(() => {});
    }
  },
);

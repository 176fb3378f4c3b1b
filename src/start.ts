/**
 * How the `k` and `km` commands start: from a prebuilt bundle when it is fresh, else from the
 * sources.
 *
 * A fresh `deno run` of `src/k.ts` loads about 55 modules; Deno reads, checks and links each one,
 * which costs a `k` call 5–8 ms, and their records fill enough heap that a short `k run` meets
 * V8's first young-generation collection (another 1–3 ms). One bundled module avoids both:
 * `deno task build` (which `setup.sh` and `deno task test` run) writes `src/k.bundle.js` and
 * `src/km.bundle.js` with `deno bundle`. They sit in `src/`, next to the modules they were built
 * from, so that a URL made from `import.meta.url` (the fire watcher's) means the same in both.
 *
 * A bundle is a cache, never a second source of truth: its manifest lists every source file it
 * was built from with its size, modification and change times and inode, and a bundle whose
 * manifest does not match the files on disk (an edit, a checkout, another Deno) is not used. `K_BUNDLE=0` runs the
 * sources always.
 * @module
 */

import { KttyError, UsageError } from "./errors.ts";
import { mark } from "./trace.ts";

/** What a command's entry module exports. */
export interface CommandModule {
  /** Runs the command with `argv`; resolves to its exit status. */
  main(argv: string[]): Promise<number>;
}

/** The commands that have a bundle. */
export type CommandName = "k" | "km";

/**
 * Every bundle `deno task build` writes: the start-up bundles of the commands, and `ktty`, the
 * self-contained artifact `k host setup` copies to a remote host (src/artifact.ts).
 */
export type BundleName = CommandName | "ktty";

/** What a bundle was built from. */
export interface BundleManifest {
  /** The Deno version that built it. */
  deno: string;
  /**
   * Every source module, relative to the repository root, with what a stat says of it: size,
   * mtime and ctime (ms) and inode. A tool can set an mtime back (`cp -p`, `rsync -a`), not a
   * ctime; a replaced file has another inode.
   */
  inputs: [path: string, ...stamp: FileStamp][];
  /** The SHA-256 of the bundle, in hex (the artifact's remote directory is named after it). */
  sha256?: string;
}

/** What the manifest records of a file: size, mtime (ms), ctime (ms), inode. */
export type FileStamp = [size: number, mtimeMs: number, ctimeMs: number, ino: number];

/** The stamp of `path` now. */
export function stampOf(path: string): FileStamp {
  const info = Deno.statSync(path);
  return [info.size, info.mtime?.getTime() ?? -1, info.ctime?.getTime() ?? -1, info.ino ?? -1];
}

/** The repository root, as a path with a trailing slash (paths, not URLs: Deno's file calls take
 * a URL ~40 µs slower each, which across a manifest's 30 files is a millisecond). */
export const ROOT: string = decodeURIComponent(new URL("../", import.meta.url).pathname);

/**
 * The background watcher's entry (src/watcher.ts), as a URL, which `deno run` takes as well as a
 * path. Computed here, beside the start-up bundles: this module's URL is in src/ whether it runs
 * from the sources or inside a bundle.
 */
export const WATCHER_URL: string = new URL("./watcher.ts", import.meta.url).href;

/**
 * Loads module `path` of src/ from the sources, outside the bundle, on demand: what only some
 * calls use (remote hosts, k host setup) would otherwise be in every `k`'s start-up bundle,
 * whose size every call pays (~0.04 ms per KiB). The URL is made from this module's, which is in
 * src/ in the sources and in a bundle alike; the artifact on a remote host has no sources, so
 * those features say they run from a checkout.
 */
export async function loadSource<T>(path: string, what: string): Promise<T> {
  const url = new URL(path, import.meta.url).href;
  try {
    return await import(url) as T;
  } catch (e) {
    if (!(e instanceof TypeError) || !/not found|Module not found/i.test(e.message)) throw e;
    throw new KttyError(
      "invalid_argument",
      `${what} runs from a ktty checkout; ${decodeURIComponent(new URL(url).pathname)} is not here`,
    );
  }
}

/** What `--host` without a value is told. */
export const HOST_NEEDED = "--host needs a host (an ssh alias, user@host, ssh://user@host:port)";

/**
 * `--host <target>`, `-H <target>` and `--host=<target>` (repeatable) taken out of `words`: how
 * `km` and `k ls` take their hosts anywhere among their arguments (before the verb, `k` reads
 * them as global options).
 */
export function takeHosts(words: readonly string[]): { hosts: string[]; rest: string[] } {
  const hosts: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (word === "--host" || word === "-H") {
      const value = words[++i];
      if (value === undefined) throw new UsageError(HOST_NEEDED);
      hosts.push(value);
    } else if (word.startsWith("--host=")) hosts.push(word.slice("--host=".length));
    else rest.push(word);
  }
  return { hosts, rest };
}

/** What `deno run` takes after its flags to start a background watcher. */
let watcherEntry: readonly string[] = [WATCHER_URL];

/** What `deno run` takes after its flags to start a background watcher: its module and words. */
export function watcherModule(): readonly string[] {
  return watcherEntry;
}

/**
 * Makes background watchers start from `url` with the word `watcher`: the artifact (one file,
 * without the sources beside it) starts its watchers from itself.
 */
export function startWatchersFrom(url: string): void {
  watcherEntry = [url, "watcher"];
}

/** Where `name`'s bundle and manifest live. */
export function bundlePaths(name: BundleName): { bundle: string; manifest: string } {
  return { bundle: `${ROOT}src/${name}.bundle.js`, manifest: `${ROOT}src/${name}.bundle.json` };
}

/** Whether `name`'s bundle exists and was built from the source files as they are now. */
export function isFresh(name: BundleName): boolean {
  return freshManifest(name) !== undefined;
}

/** `name`'s manifest, if its bundle exists and was built from the source files as they are now. */
export function freshManifest(name: BundleName): BundleManifest | undefined {
  try {
    const manifest = JSON.parse(
      Deno.readTextFileSync(bundlePaths(name).manifest),
    ) as BundleManifest;
    if (manifest.deno !== Deno.version.deno) return undefined;
    if (!Array.isArray(manifest.inputs) || manifest.inputs.length === 0) return undefined;
    for (const [path, ...stamp] of manifest.inputs) {
      const now = stampOf(ROOT + path);
      if (stamp.length !== now.length || now.some((v, i) => v !== stamp[i])) return undefined;
    }
    return manifest;
  } catch {
    return undefined; // no manifest, a bad one, a file gone, no permission to read: the sources
  }
}

function isCommandModule(value: unknown): value is CommandModule {
  return typeof (value as Partial<CommandModule> | null)?.main === "function";
}

/**
 * Loads command `name` (its fresh bundle, else its sources `src/<name>.ts`), runs it with `argv`
 * and resolves to its exit status. The sources' URL is computed, not written out: Deno loads the
 * whole module graph of a literal `import("./k.ts")` at start-up, used or not (~2 ms).
 */
export async function start(name: CommandName, argv: string[]): Promise<number> {
  mark("launcher");
  let command: CommandModule | undefined;
  let bundleUsed = false;
  if (Deno.env.get("K_BUNDLE") !== "0" && isFresh(name)) {
    const url = new URL(`${name}.bundle.js`, import.meta.url).href; // start.ts is in src/ too
    const loaded: unknown = await import(url).catch(() => undefined);
    if (isCommandModule(loaded)) command = loaded;
    bundleUsed = command !== undefined;
  }
  if (command === undefined) {
    const loaded: unknown = await import(new URL(`${name}.ts`, import.meta.url).href);
    if (!isCommandModule(loaded)) throw new Error(`src/${name}.ts exports no main`);
    command = loaded;
  }
  mark(bundleUsed ? "bundle loaded" : "sources loaded");
  return await command.main(argv);
}

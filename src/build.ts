/**
 * `deno task build`: writes the start-up bundles of `k` and `km` (see `start.ts`) and the
 * remote artifact `ktty` (see `artifact.ts`) with `deno bundle`, each with the manifest of the
 * sources it was built from.
 *
 * Exits 0 also when a bundle cannot be made (a Deno without `deno bundle`, a read-only checkout):
 * the commands then run from the sources, only slower, and it says so on stderr.
 * @module
 */

import { type BundleManifest, type BundleName, bundlePaths, ROOT, stampOf } from "./start.ts";

const ENTRIES: Record<BundleName, string> = {
  k: "src/k.ts",
  km: "src/km.ts",
  ktty: "src/artifact.ts",
};

async function deno(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  if (!out.success) {
    const why = text.decode(out.stderr).trim().split("\n").at(-1) ?? "";
    throw new Error(`deno ${args[0]} failed: ${why}`);
  }
  return text.decode(out.stdout);
}

/** The local modules `entry` loads, relative to the root. */
async function sourcesOf(entry: string): Promise<string[]> {
  const info = JSON.parse(await deno(["info", "--json", entry])) as {
    modules?: { specifier?: string }[];
  };
  // deno info names files by their real paths: compare with the root's real path (a symlink).
  const root = `${Deno.realPathSync(ROOT)}/`;
  const files = (info.modules ?? [])
    .map((m) => m.specifier ?? "")
    .filter((s) => s.startsWith("file://"))
    .map((s) => decodeURIComponent(new URL(s).pathname))
    .filter((path) => path.startsWith(root))
    .map((path) => path.slice(root.length));
  if (!files.includes(entry)) throw new Error(`deno info did not list ${entry}`);
  return files.sort();
}

function snapshot(files: string[]): BundleManifest["inputs"] {
  return files.map((path) => [path, ...stampOf(ROOT + path)]);
}

function writeAtomic(target: string, write: (tmp: string) => void): void {
  const tmp = `${target}.${Deno.pid}.tmp`;
  try {
    write(tmp);
    Deno.renameSync(tmp, target);
  } finally {
    try {
      Deno.removeSync(tmp);
    } catch {
      // renamed, or never written
    }
  }
}

/** The SHA-256 of a file, in hex. */
async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function build(name: BundleName): Promise<number> {
  const entry = ENTRIES[name];
  const { bundle, manifest } = bundlePaths(name);
  const files = await sourcesOf(entry);
  const before = snapshot(files);
  const tmp = `${bundle}.${Deno.pid}.tmp`;
  try {
    await deno(["bundle", "--quiet", "--platform", "deno", "--output", tmp, entry]);
    const after = snapshot(files);
    if (JSON.stringify(after) !== JSON.stringify(before)) {
      throw new Error("the sources changed while bundling; run it again");
    }
    // No moment shows a manifest next to a bundle it does not describe.
    try {
      Deno.removeSync(manifest);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    Deno.renameSync(tmp, bundle);
    const text = JSON.stringify(
      {
        deno: Deno.version.deno,
        inputs: before,
        sha256: await sha256(bundle),
      } satisfies BundleManifest,
    );
    writeAtomic(manifest, (path) => Deno.writeTextFileSync(path, `${text}\n`));
  } finally {
    try {
      Deno.removeSync(tmp);
    } catch {
      // renamed, or never written
    }
  }
  return files.length;
}

if (import.meta.main) {
  for (const name of Object.keys(ENTRIES) as BundleName[]) {
    try {
      const count = await build(name);
      console.error(`build: src/${name}.bundle.js (${count} modules)`);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      console.error(`build: no bundle for ${name} (${why}); it runs from the sources`);
    }
  }
}

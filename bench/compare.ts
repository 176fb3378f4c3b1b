/**
 * Compares two checkouts of ktty with their samples interleaved (a, b, a, b, …), so a change in
 * the machine's load hits both alike: `k run` of `echo hello` as a whole process, and
 * `Session.run` of `echo hello` in process. Each tree gets its own state dir and tmux socket, and
 * should have its start-up bundle built (`deno task build` in it).
 *
 *   deno run -A bench/compare.ts <before-dir> <after-dir> [n]
 * @module
 */

import { fixed, summarize } from "./_stats.ts";

interface Tree {
  label: string;
  dir: string;
  env: Record<string, string>;
  run: (code: string) => Promise<unknown>;
  close: () => Promise<void>;
}

const SESSION = "cmp";
const SHELL = "bash --norc --noprofile";

async function k(tree: Tree, args: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${tree.dir}/cli.ts`, ...args],
    env: tree.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`${tree.label}: k ${args.join(" ")} failed`);
}

async function openTree(label: string, dir: string): Promise<Tree> {
  const home = await Deno.makeTempDir({ prefix: `ktty-cmp-${label}-` });
  const socket = `ktty-cmp-${label}-${Deno.pid}`;
  const { Kernel } = await import(new URL(`file://${dir}/mod.ts`).href);
  const kernel = new Kernel({ home, socket });
  await kernel.create("lib", { command: SHELL });
  const session = kernel.session("lib");
  const tree: Tree = {
    label,
    dir,
    env: { ...Deno.env.toObject(), K_HOME: home, K_SOCKET: socket },
    run: (code) => session.run(code),
    close: async () => {
      await session.kill().catch(() => {});
      await k(tree, ["kill", SESSION]).catch(() => {});
      await Deno.remove(home, { recursive: true });
    },
  };
  await k(tree, ["new", SESSION, SHELL]);
  return tree;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const [before, after, count] = Deno.args;
if (!before || !after) {
  console.error("usage: deno run -A bench/compare.ts <before-dir> <after-dir> [n]");
  Deno.exit(2);
}
const n = Number(count ?? 40);
const trees = [await openTree("before", before), await openTree("after", after)];
try {
  const cases = [
    {
      name: "k run echo (process)",
      warmup: 3,
      n,
      sample: (t: Tree) => time(() => k(t, ["run", SESSION, "echo hello"])),
    },
    {
      name: "Session.run echo (in process)",
      warmup: 10,
      n: n * 3,
      sample: (t: Tree) => time(() => t.run("echo hello")),
    },
  ];
  for (const c of cases) {
    const series: number[][] = trees.map(() => []);
    for (let i = 0; i < c.warmup + c.n; i++) {
      for (const [j, tree] of trees.entries()) {
        const ms = await c.sample(tree);
        if (i >= c.warmup) series[j]!.push(ms);
      }
    }
    const [a, b] = series.map((s) => summarize(s).median);
    console.log(
      `${c.name}: before ${fixed(a, 2)} ms, after ${fixed(b, 2)} ms, after/before ${
        fixed((b ?? 0) / (a ?? 1), 3)
      } (n=${c.n} each, interleaved)`,
    );
  }
} finally {
  for (const tree of trees) await tree.close();
}

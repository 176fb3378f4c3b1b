// src/proc.ts: a process tree read from /proc, named by pid and start time, ended step by step;
// what forks meanwhile is ended too, a survivor is reported, a pid taken by a stranger is left.

import { deepEqual, equal, ok } from "node:assert/strict";
import { endProcesses, processId, processTree, type TreeProcess } from "../../src/proc.ts";
import { dirTest, isRunning, procInfo, waitFor } from "../harness.ts";

/** A tag no other test's `sleep` carries. */
function seconds(): string {
  return String(800_000 + Math.floor(Math.random() * 99_000));
}

/** Spawns `bash -c <script>`, killed at the end of `body` whatever happens. */
async function withBash(
  script: string,
  body: (child: Deno.ChildProcess) => Promise<void>,
): Promise<void> {
  const child = new Deno.Command("bash", { args: ["-c", script], stdin: "piped" }).spawn();
  try {
    await body(child);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // ended by the test
    }
    await child.stdin.close().catch(() => {});
    await child.status;
  }
}

/**
 * The tree of `pid`, once its command line holds `command`, or once it starts with it for a
 * `command` the script execs (bash's own command line holds the script, exec included).
 */
async function treeOnce(pid: number, command: string, execd = false): Promise<TreeProcess[]> {
  await waitFor(`${command} to run`, async () => {
    const cmdline = (await procInfo(pid))?.cmdline;
    return execd ? cmdline?.startsWith(command) : cmdline?.includes(command);
  });
  const id = await processId(pid);
  ok(id, `pid ${pid} is gone`);
  return await processTree(id);
}

dirTest("proc: what even the last signal leaves alive is a survivor", async () => {
  const s = seconds();
  await withBash(`trap '' TERM; exec sleep ${s}`, async (child) => {
    const tree = await treeOnce(child.pid, `sleep ${s}`, true);
    deepEqual(tree.map((p) => [p.pid, p.command]), [[child.pid, "sleep"]]);
    const termOnly = await endProcesses(tree, [{ signal: "SIGTERM", graceMs: 300 }]);
    deepEqual(termOnly, { ended: [], survivors: tree });
    const killed = await endProcesses(tree, [{ signal: "SIGKILL", graceMs: 2000 }]);
    deepEqual(killed, {
      ended: [{ command: "sleep", pid: child.pid, signal: "SIGKILL" }],
      survivors: [],
    });
  });
});

dirTest("proc: what the tree forked after it was read is ended with it", async () => {
  const s = seconds();
  await withBash(`read line; sleep ${s} & wait`, async (child) => {
    const tree = await treeOnce(child.pid, "read line");
    equal(tree.length, 1);
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("go\n"));
    writer.releaseLock();
    const [late] = await waitFor("the late child", async () => {
      const kids = await processTree(tree[0]!);
      return kids.length === 2 ? kids.slice(1) : undefined;
    });
    try {
      const ending = await endProcesses(tree, [{ signal: "SIGTERM", graceMs: 2000 }]);
      deepEqual(
        ending.ended.map((p) => [p.pid, p.signal]).sort(),
        [[child.pid, "SIGTERM"], [late!.pid, "SIGTERM"]].sort(),
      );
      deepEqual(ending.survivors, []);
    } finally {
      await endProcesses([late!], [{ signal: "SIGKILL", graceMs: 1000 }]); // left by a failure
    }
  });
});

dirTest(
  "proc: a pid now naming another process (its start time differs) is never signalled",
  async () => {
    const s = seconds();
    await withBash(`exec sleep ${s}`, async (child) => {
      const [real] = await treeOnce(child.pid, `sleep ${s}`, true);
      const stranger = { ...real!, start: String(Number(real!.start) + 1) };
      const result = await endProcesses([stranger], [
        { signal: "SIGTERM", graceMs: 200 },
        { signal: "SIGKILL", graceMs: 200 },
      ]);
      deepEqual(result, { ended: [], survivors: [] });
      ok(await isRunning(child.pid), "a process the tree did not name was signalled");
    });
  },
);

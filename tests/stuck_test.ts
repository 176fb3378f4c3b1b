// Never stranded: what takes the terminal (a pager, an editor, a nested REPL) is left with k int
// or k send, and the session keeps its memory (a variable set first is still there after).

import { deepEqual, equal, match } from "node:assert/strict";
import { waitFor, type World, worldTest } from "./harness.ts";

/** A session with a variable set, and a file to page through. */
async function sessionWithMemory(w: World): Promise<void> {
  await w.kernel.create("s");
  const r = await w.kJson(["run", "-j", "s", "export X=kept; seq 1 300 > seq.txt"]);
  equal(r.status, "done");
}

async function memoryKept(w: World): Promise<void> {
  const r = await w.kJson(["run", "-j", "s", "echo $X"]);
  deepEqual([r.status, r.output], ["done", "kept"]);
}

worldTest("stuck: a pager that outlived its cell's timeout is ended by k int", async (w) => {
  await sessionWithMemory(w);
  const timedOut = await w.kJson(["run", "-j", "-t", "1", "s", "less seq.txt"]);
  equal(timedOut.status, "timeout");
  const screen = await w.kJson(["screen", "-j", "s"]);
  deepEqual([screen.alternate_screen, (screen.foreground as { command: string }).command], [
    true,
    "less",
  ]);
  const int = await w.k(["int", "s"]);
  deepEqual(
    [int.code, int.stdout.trim()],
    [0, `OK s (interrupted cell ${timedOut.cell_id}; less ended by SIGTERM)`],
  );
  await memoryKept(w);
});

worldTest("stuck: an editor opened by a cell is ended by k int", async (w) => {
  await sessionWithMemory(w);
  const fired = await w.kJson(["fire", "s", "vi -n seq.txt"]);
  await waitFor("vi on the alternate screen", async () => {
    return (await w.kJson(["screen", "-j", "s"])).alternate_screen === true;
  });
  const int = await w.k(["int", "s"]);
  equal(int.code, 0);
  match(int.stdout, new RegExp(`^OK s \\(interrupted cell ${fired.cell_id}; vim?\\S* ended by`));
  await memoryKept(w);
});

worldTest(
  "stuck: python typed into bash is used through k send and left with exit()",
  async (w) => {
    await sessionWithMemory(w);
    const fired = await w.kJson(["fire", "s", "python3 -q"]);
    await waitFor("python's prompt", async () => (await w.paneLog("s")).endsWith(">>> "));
    equal((await w.k(["send", "s", "x = 6 * 7"])).code, 0);
    equal((await w.k(["send", "s", "print(x)"])).code, 0);
    equal((await w.k(["send", "s", "exit()"])).code, 0);
    const done = await waitFor("the cell's end", async () => {
      const r = await w.kJson(["poll", "s", String(fired.cell_id)]);
      return r.status === "done" ? r : undefined;
    });
    match(String(done.output), /^42$/m);
    await memoryKept(w);
  },
);

worldTest(
  "stuck: a nested REPL left running is ended by k int, not the session's shell",
  async (w) => {
    await sessionWithMemory(w);
    const fired = await w.kJson(["fire", "s", "python3 -q"]);
    await waitFor("python's prompt", async () => (await w.paneLog("s")).endsWith(">>> "));
    const int = await w.k(["int", "s"]);
    deepEqual(
      [int.code, int.stdout.trim()],
      [0, `OK s (interrupted cell ${fired.cell_id}; python3 ended by SIGTERM)`],
    );
    await memoryKept(w);
  },
);

worldTest("stuck: poll and status name what holds the terminal and the way out", async (w) => {
  await sessionWithMemory(w);
  const idle = await w.kJson(["status", "-j", "s"]);
  deepEqual([idle.foreground, idle.alternate_screen, idle.hint], [null, false, null]);
  const fired = await w.kJson(["fire", "s", "less seq.txt"]);
  const status = await waitFor("less in the foreground", async () => {
    const r = await w.kJson(["status", "-j", "s"]);
    return r.alternate_screen === true ? r : undefined;
  });
  equal((status.foreground as { command: string }).command, "less");
  equal(status.hint, "less is a pager: k send s --keys q to leave it, or k int s");
  const poll = await w.kJson(["poll", "s"]);
  deepEqual([poll.status, (poll.foreground as { command: string }).command, poll.hint], [
    "running",
    "less",
    status.hint,
  ]);
  // The way the hint names works, and the session is as it was.
  equal((await w.k(["send", "s", "--keys", "q"])).code, 0);
  await waitFor("the pager's cell done", async () => {
    return (await w.kJson(["poll", "s", String(fired.cell_id)])).status === "done";
  });
  const after = await w.kJson(["status", "-j", "s"]);
  deepEqual([after.state, after.foreground, after.hint], ["idle", null, null]);
  await memoryKept(w);
});

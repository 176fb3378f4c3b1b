// Never stranded: what takes the terminal (a pager, an editor, a nested REPL) is left with k int
// or k send, and the session keeps its memory (a variable set first is still there after).

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { count, waitFor, type World, worldTest } from "./harness.ts";

/** A session with a variable set, and a file to page through, in the world's own directory. */
async function sessionWithMemory(w: World): Promise<void> {
  await w.kernel.create("s", { cwd: w.base });
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

for (const code of ["exec bash", "unset PROMPT_COMMAND", "PROMPT_COMMAND=()"]) {
  worldTest(
    `stuck: after ${code} the hint names k int, which reinstalls the markers`,
    async (w) => {
      await sessionWithMemory(w);
      const timedOut = await w.kJson(["run", "-j", "-t", "1", "s", code]);
      equal(timedOut.status, "timeout");
      const status = await waitFor("the hint", async () => {
        const r = await w.kJson(["status", "-j", "s"]);
        return String(r.hint).startsWith("the shell reads at a prompt without") ? r : undefined;
      });
      match(String(status.next), /k int s reinstalls them/);
      const int = await w.k(["int", "s"]);
      deepEqual(
        [int.code, int.stdout.trim()],
        [0, `OK s (interrupted cell ${timedOut.cell_id}; shell integration reinstalled)`],
      );
      await memoryKept(w);
      // Markers again: exit codes and a cell that ends at once.
      const r = await w.kJson(["run", "-j", "s", "echo again; (exit 3)"]);
      deepEqual([r.status, r.output, r.exit_code], ["done", "again", 3]);
    },
  );
}

worldTest(
  "stuck: a new shell started in the pane gets the markers, and keeps its own state",
  async (w) => {
    await sessionWithMemory(w);
    equal((await w.kJson(["run", "-j", "-t", "1", "s", "bash"])).status, "timeout");
    equal((await w.k(["int", "s"])).code, 0);
    const inner = await w.kJson(["run", "-j", "s", "INNER=yes; echo $SHLVL"]);
    equal(inner.status, "done");
    equal((await w.kJson(["run", "-j", "s", "echo $INNER $X"])).output, "yes kept");
    // Leaving it comes back to the session's own shell, whose markers were never gone.
    equal((await w.kJson(["run", "-j", "s", "exit"])).status, "done");
    const outer = await w.kJson(["run", "-j", "s", "echo ${INNER:-none} $X"]);
    deepEqual([outer.status, outer.output], ["done", "none kept"]);
  },
);

worldTest("stuck: a read -p answered after its cell timed out; the cell ends done", async (w) => {
  await sessionWithMemory(w);
  const timedOut = await w.kJson(["run", "-j", "-t", "1", "s", "read -p 'name? ' n; echo got $n"]);
  equal(timedOut.status, "timeout");
  equal((await w.k(["send", "s", "ktty"])).code, 0);
  const done = await waitFor("the cell done", async () => {
    const r = await w.kJson(["poll", "s", String(timedOut.cell_id)]);
    return r.status === "done" ? r : undefined;
  });
  match(String(done.output), /got ktty$/);
  await memoryKept(w);
});

worldTest(
  "stuck: git log in its pager (200 commits) is left with q, or ended by k int",
  async (w) => {
    await sessionWithMemory(w);
    const setup = [
      "git init -q repo && cd repo",
      "git config user.email a@b.c && git config user.name t",
      "for i in $(seq 1 200); do git commit -q --allow-empty -m c$i; done",
    ].join(" && ");
    equal((await w.kJson(["run", "-j", "-t", "60", "s", setup])).status, "done");
    const first = await w.kJson(["run", "-j", "-t", "1", "s", "GIT_PAGER=less git log"]);
    equal(first.status, "timeout");
    equal(first.hint, "less is a pager: k send s --keys q to leave it, or k int s");
    equal((await w.k(["send", "s", "--keys", "q"])).code, 0);
    await waitFor("the pager's cell done", async () => {
      return (await w.kJson(["poll", "s", String(first.cell_id)])).status === "done";
    });
    const second = await w.kJson(["run", "-j", "-t", "1", "s", "GIT_PAGER=less git log"]);
    equal(second.status, "timeout");
    const int = await w.k(["int", "s"]);
    // Ctrl-C may end git (and its pager with it), or the pager outlives it and gets a signal.
    match(
      int.stdout.trim(),
      new RegExp(
        `^OK s \\(interrupted cell ${second.cell_id}(; (less|git) ended by SIG[A-Z]+)?\\)$`,
      ),
    );
    await memoryKept(w);
  },
  { timeoutMs: 60_000 },
);

worldTest(
  "stuck: k new on a live session whose shell lost its markers names the repair",
  async (w) => {
    await sessionWithMemory(w);
    equal((await w.k(["new", "s"])).stdout.trim(), "OK s (alive)");
    equal((await w.kJson(["run", "-j", "-t", "1", "s", "exec bash"])).status, "timeout");
    await waitFor("the repair named", async () => {
      const r = await w.k(["new", "s"]);
      return r.stdout.includes("without ktty's markers") ? r : undefined;
    });
    const again = await w.k(["new", "s"]);
    equal(
      again.stdout.trim(),
      "OK s (alive; the shell reads at a prompt without ktty's markers (exec bash, a new shell, unset PROMPT_COMMAND?): k int s reinstalls them, keeping the shell's state (a read -e waiting for input looks the same: answer it with k send s '…'))",
    );
    equal((await w.k(["int", "s"])).code, 0);
    equal((await w.k(["new", "s"])).stdout.trim(), "OK s (alive)");
    await memoryKept(w);
  },
);

worldTest(
  "stuck: a pipeline into a pager whose first command ended is named and ended",
  async (w) => {
    await sessionWithMemory(w);
    const fired = await w.kJson(["fire", "s", "seq 1 200 | less"]);
    const status = await waitFor("less holding the terminal", async () => {
      const r = await w.kJson(["status", "-j", "s"]);
      return (r.foreground as { command?: string } | null)?.command === "less" ? r : undefined;
    });
    equal(status.hint, "less is a pager: k send s --keys q to leave it, or k int s");
    const int = await w.k(["int", "s"]);
    deepEqual(
      [int.code, int.stdout.trim()],
      [0, `OK s (interrupted cell ${fired.cell_id}; less ended by SIGTERM)`],
    );
    await memoryKept(w);
  },
);

worldTest(
  "stuck: another kind of shell exec'd in a bash session gets no bash loader",
  async (w) => {
    await sessionWithMemory(w);
    const loaders = count(await w.paneLog("s"), "integration.bash'");
    equal((await w.kJson(["run", "-j", "-t", "1", "s", "exec zsh -f"])).status, "timeout");
    await waitFor("zsh in the pane", async () => (await w.foreground("s")) === "zsh");
    const status = await w.kJson(["status", "-j", "s"]);
    ok(!String(status.hint).includes("reinstalls"), String(status.hint));
    const int = await w.k(["int", "s"]);
    equal(int.code, 1, "the prompt is not back, and k int says so");
    match(int.stderr, /not back at its prompt/);
    // The loader was typed when the session was made; never again, into zsh.
    equal(
      count(await w.paneLog("s"), "integration.bash'"),
      loaders,
      "a bash loader typed into zsh",
    );
  },
);

worldTest(
  "stuck: a program that exec'd over the shell is named, and k run is not advised",
  async (w) => {
    await sessionWithMemory(w);
    equal((await w.kJson(["run", "-j", "-t", "1", "s", "exec python3 -q"])).status, "timeout");
    equal((await w.k(["int", "s"])).code, 1);
    const status = await w.kJson(["status", "-j", "s"]);
    equal(status.state, "idle");
    match(String(status.next), /not back at its prompt: k screen s .* k send s/);
    ok(!String(status.next).startsWith("k run"), String(status.next));
  },
);

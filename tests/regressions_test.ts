// Regressions found in review: each test failed before its fix.
import { deepEqual, deepEqual as assertEquals, equal, match, ok } from "node:assert/strict";
import { collect, exists, waitFor, worldTest } from "./harness.ts";

worldTest("int waits for a slow shutdown; the next cell gets its own output", async (w) => {
  await w.kernel.create("w");
  const code = [
    'python3 -c "',
    "import time",
    "try: print('python' '-up', flush=True); time.sleep(60)",
    "except KeyboardInterrupt:",
    '    print(\\"shutting down\\", flush=True); time.sleep(1.5); print(\\"bye\\")"',
  ].join("\n");
  const fired = await w.kJson(["fire", "w", code]);
  equal(fired.status, "fired");
  // Python is up and sleeping inside its try: it printed python-up (the echo shows 'python' '-up').
  await waitFor("python up and sleeping", async () => {
    return String((await w.kJson(["poll", "w"])).output).includes("python-up");
  });
  equal((await w.k(["int", "w"])).code, 0);
  const next = await w.kJson(["run", "-j", "w", "echo NEXT-CELL"]);
  assertEquals([next.status, next.output], ["done", "NEXT-CELL"]);
});

worldTest(
  "repeat mode: k int waits past the terminal's ^C echo for the prompt; the next cell's echo is not doubled",
  async (w) => {
    await w.kernel.create("r", { prompt: "repeat" });
    // A prompt 300 ms slow to come (a loaded machine): Ctrl-C's echo, then quiet, then the prompt.
    // Typed before it, the next cell's keys were echoed twice (by the terminal, then by readline):
    // its output began with `bash-5.2# echo back`.
    const slow = "PROMPT_COMMAND='e=$((${EPOCHREALTIME/./}+300000)); " +
      "while ((${EPOCHREALTIME/./}<e)); do :; done'";
    equal((await w.kJson(["run", "-j", "r", slow])).status, "done");
    const fired = await w.kJson(["fire", "r", "sleep 30"]);
    await waitFor("sleep in the foreground", async () => (await w.foreground("r")) === "sleep");
    const int = await w.k(["int", "r"]);
    deepEqual([int.code, int.stdout.trim()], [0, `OK r (interrupted cell ${fired.cell_id})`]);
    const back = await w.kJson(["run", "-j", "r", "echo back"]);
    deepEqual([back.status, back.output], ["done", "back"]);
  },
);

worldTest(
  "a program that ignores Ctrl-C: k int ends it with a signal; the session stays",
  async (w) => {
    await w.kernel.create("w");
    equal((await w.kJson(["run", "-j", "w", "X=kept"])).status, "done");
    const fired = await w.kJson(["fire", "w", "bash -c \"trap '' INT; sleep 100\""]);
    // The trap is set once `sleep 100` (the command after it) is in the foreground.
    await waitFor("sleep in the foreground", async () => (await w.foreground("w")) === "sleep");
    const int = await w.k(["int", "w"]);
    deepEqual(
      [int.code, int.stdout.trim()],
      [0, `OK w (interrupted cell ${fired.cell_id}; sleep ended by SIGTERM)`],
    );
    const next = await w.kJson(["run", "-j", "w", "echo $X"]);
    assertEquals([next.status, next.output], ["done", "kept"]);
  },
);

worldTest("concurrent k new of one name: one creates, the others find it alive", async (w) => {
  const results = await Promise.all([1, 2, 3].map(() => w.k(["new", "c", "bash"])));
  assertEquals(results.map((r) => r.code), [0, 0, 0]);
  const lines = results.map((r) => r.stdout.trim()).sort();
  assertEquals(lines, ["OK c (alive)", "OK c (alive)", "OK c (integration mode)"]);
  equal((await w.kJson(["run", "-j", "c", "echo one-session"])).output, "one-session");
  const sessions = (await w.tmux(["list-sessions", "-F", "#{session_name}"])).stdout.trim();
  equal(sessions, "c");
});

worldTest("an unterminated OSC in the output does not hide the end marker", async (w) => {
  await w.kernel.create("w");
  const r = await w.kJson([
    "run",
    "-j",
    "-t",
    "5",
    "w",
    String.raw`printf '\033]0;no end'; echo x`,
  ]);
  equal(r.status, "done");
  equal((await w.kJson(["run", "-j", "w", "echo fine"])).output, "fine");
});

worldTest("flags after the code's first word belong to the code", async (w) => {
  await w.kernel.create("w");
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/f`, "x");
  const ls = await w.kJson(["run", "-j", "w", "ls", "-t", dir]);
  assertEquals([ls.status, ls.output], ["done", "f"]);
  const help = await w.kJson(["run", "-j", "w", "echo", "-h", "--help"]);
  assertEquals([help.status, help.output], ["done", "-h --help"]);
  await Deno.remove(dir, { recursive: true });
});

worldTest("k run killed by SIGTERM or SIGINT hands its cell to a background watcher", async (w) => {
  await w.kernel.create("w");
  for (const [signal, status] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
    const child = w.spawnK(["run", "w", `sleep 1; echo survived-${signal}`]);
    // Wait until the cell is typed (its lock names the k run process), then stop k run.
    await waitFor(
      "the cell typed (its lock names k run)",
      async () => {
        const lock = await Deno.readTextFile(`${w.sessionDir("w")}/lock`).catch(() => "");
        return lock.includes(`"pid":${child.pid}`);
      },
      10_000,
      20,
    );
    child.kill(signal);
    equal((await collect(child)).code, status);
    const done = await waitFor("the cell done", async () => {
      const p = await w.kJson(["poll", "w"]);
      return p.status === "done" ? p : undefined;
    }, 15_000);
    assertEquals([done.status, done.output], ["done", `survived-${signal}`]);
  }
});

worldTest("poll of a running cell reads only both ends of a long output", async (w) => {
  await w.kernel.create("w");
  await w.kJson(["fire", "w", "seq 1 400000; sleep 30"]);
  const p = await waitFor("the poll to show the last line", async () => {
    const p = await w.kJson(["poll", "-o", "200", "w"]);
    return String(p.output ?? "").endsWith("\n400000") ? p : undefined;
  }, 30_000);
  equal(p.status, "running");
  equal(p.truncated, true);
  const output = String(p.output);
  ok(output.startsWith("1\n2\n3\n"), output);
  ok(output.endsWith("\n399999\n400000"), output);
  match(output, /\n\[… about \d+ bytes of output cut; the cell is still running …\]\n/);
  ok(output.length < 400, `${output.length} chars`);
  equal((await w.k(["int", "w"])).code, 0);
}, { timeoutMs: 60_000 });

worldTest(
  "a pane log gone under a session: run fails before typing, and holds no lock",
  async (w) => {
    await w.kernel.create("b");
    const log = `${w.sessionDir("b")}/pane.log`;
    await Deno.remove(log);
    const marker = `${w.sessionDir("b")}/ran`;
    const first = await w.kJson(["run", "-j", "b", `echo typed > ${marker}`]);
    equal(first.code, 1);
    match(String(first.output), /pane\.log/);
    // Nothing was typed, nothing is held.
    const status = await w.k(["status", "b"]);
    match(status.stdout, /^state: idle$/m);
    match(status.stdout, /^cell_id: -$/m);
    equal(await Deno.stat(marker).then(() => true, () => false), false, "the code was typed");
  },
);

worldTest("k send with empty text presses Enter", async (w) => {
  await w.kernel.create("b");
  await w.kJson(["fire", "b", 'read -r x; echo "got[$x]"']);
  await waitFor("reading", async () => (await w.kJson(["poll", "b"])).status === "running");
  equal((await w.k(["send", "b", ""])).code, 0);
  const done = await waitFor("done", async () => {
    const p = await w.kJson(["poll", "b"]);
    return p.status === "done" ? p : undefined;
  });
  equal(done.output, "\ngot[]"); // the empty line read echoes, then what followed
});

worldTest(
  "run: a throwing onStarted comes back as the error; the cell goes on; the process ends",
  async (w) => {
    await w.kernel.create("w");
    const script = `${w.home.replace(/\/home$/, "")}/on-started.ts`;
    const mod = new URL("../mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { Kernel } from ${JSON.stringify(mod)};
try {
  await new Kernel().session("w").run("sleep 0.3; echo after-callback", {
    onStarted: () => {
      throw new Error("boom");
    },
  });
} catch (e) {
  console.log("caught " + (e as Error).message);
}
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-lock", script],
      env: w.env(),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(20_000), // a watch left open would keep the process alive
    }).output();
    const text = new TextDecoder();
    assertEquals(
      [out.code, text.decode(out.stdout).trim()],
      [0, "caught boom"],
      text.decode(out.stderr),
    );
    const done = await waitFor("recorded by a background watcher", async () => {
      const p = await w.kJson(["poll", "w"]);
      return p.status === "done" ? p : undefined;
    });
    equal(done.output, "after-callback");
  },
);

worldTest(
  "the code of a cell never shows in a process's argv (ps, /proc/<pid>/cmdline)",
  async (w) => {
    await w.kernel.create("b");
    // A tight poller over /proc: it must see the tmux calls that type (proof it is fast enough),
    // and never the code they type.
    const poller = new Deno.Command("python3", {
      args: [
        "-c",
        `
import os, re, sys
seen_tmux = seen_secret = 0
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[1]):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read()
        except OSError:
            continue
        if int(pid) == os.getpid() or not argv.split(b"\\0")[0].endswith(b"tmux"):
            continue
        if re.search(rb"load-buffer\\0-b\\0k-b-[0-9a-f]{8}", argv):
            seen_tmux += 1
            if seen_tmux == 1:
                open(sys.argv[3], "w").close()
        if b"SECRET-" in argv:
            seen_secret += 1
print(seen_tmux, seen_secret)
`,
        `${w.home}/stop-poller`,
        `${w.home}/poller-up`,
        `${w.home}/poller-saw-tmux`,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      await waitFor("the poller is up", () => exists(`${w.home}/poller-up`));
      // At least 20 cells, and on until the poller saw a typing call (a loaded machine is slow).
      for (let i = 0; i < 200; i++) {
        if (i >= 20 && await exists(`${w.home}/poller-saw-tmux`)) break;
        const r = await w.kernel.session("b").run(`export TOKEN=SECRET-${i}; echo ok`);
        equal(r.output, "ok");
      }
    } finally {
      await Deno.writeTextFile(`${w.home}/stop-poller`, "");
    }
    const [tmuxSeen, secretSeen] = new TextDecoder().decode((await poller.output()).stdout)
      .trim().split(" ").map(Number);
    ok((tmuxSeen ?? 0) > 0, "the poller never saw a tmux call: too slow to tell");
    equal(secretSeen, 0, "the code was visible in a process's argv");
  },
);

worldTest(
  "typing that fails after the cell was announced ends it as an error, in order",
  async (w) => {
    await w.kernel.create("b");
    await w.tmux(["kill-session", "-t", "b"]); // behind ktty's back: its state says alive
    const ran = await w.kJson(["run", "-j", "b", "echo hi"]);
    assertEquals([ran.code, ran.status], [1, "error"]);
    match(String(ran.output), /no session 'b'/);
    const polled = await w.kJson(["poll", "b"]);
    assertEquals([polled.status, polled.output], ["error", ran.output]);
    const log = await Deno.readTextFile(`${w.sessionDir("b")}/events.jsonl`);
    const events = log.trim().split("\n").map((l) => JSON.parse(l));
    const mine = events.filter((e) => e.cell_id === polled.cell_id || e.status === "closed");
    assertEquals(mine.map((e) => e.status), ["fired", "error", "closed"]);
  },
);

worldTest(
  "simultaneous fires while the line editor starts late: one fired, the rest busy",
  async (w) => {
    await w.kernel.create("b");
    equal((await w.kJson(["run", "-j", "b", "PROMPT_COMMAND[99]='sleep 0.4'"])).status, "done");
    // Every fire arrives while the prompt hook still runs: they all wait, then race for the lock.
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => w.kJson(["fire", "b", `sleep 1; echo F${i}`])),
    );
    const statuses = results.map((r) => r.status === "fired" ? "fired" : String(r.output));
    equal(statuses.filter((s) => s === "fired").length, 1, JSON.stringify(statuses));
    for (const s of statuses.filter((s) => s !== "fired")) match(s, /^active cell '/);
  },
);

worldTest("an interrupted cell keeps what it printed: output_so_far", async (w) => {
  // It said only "interrupted": a long build's log was gone with k int.
  await w.kernel.create("w");
  const fired = await w.kJson(["fire", "w", 'echo "partial: 1"; seq 2 3; sleep 30']);
  await waitFor("the partial output", async () => {
    return String((await w.kJson(["poll", "w"])).output).endsWith("3");
  });
  const int = JSON.parse((await w.k(["int", "-j", "w"])).stdout) as {
    cell: Record<string, unknown>;
  };
  deepEqual([int.cell.output, int.cell.output_so_far], ["interrupted", "partial: 1\n2\n3"]);
  const polled = await w.kJson(["poll", "w", String(fired.cell_id)]);
  deepEqual([polled.status, polled.output_so_far], ["error", "partial: 1\n2\n3"]);
  // Nothing printed: no field.
  await w.kJson(["fire", "w", "sleep 30"]);
  await waitFor("sleep in the foreground", async () => (await w.foreground("w")) === "sleep");
  const quiet = JSON.parse((await w.k(["int", "-j", "w"])).stdout) as {
    cell: Record<string, unknown>;
  };
  equal("output_so_far" in quiet.cell, false, JSON.stringify(quiet));
});

// k screen and Session.screen on real sessions: a pager on the alternate screen, its way out, a
// busy session, a status line at the far right of the wide pane, no session.

import { deepEqual, equal, match, ok } from "node:assert/strict";
import type { Screen } from "../mod.ts";
import { waitFor, worldTest } from "./harness.ts";

worldTest(
  "screen: a pager holds the alternate screen; after q the shell's prompt is back",
  async (w) => {
    await w.kernel.create("s", { cwd: w.base });
    const s = w.kernel.session("s");
    await s.run("X=kept; seq 1 300 > seq.txt");
    const fired = await s.fire("less seq.txt");
    if (fired.status !== "fired") throw new Error(`not fired: ${JSON.stringify(fired)}`);
    const cellId = fired.cell_id;
    const paged = await waitFor("less on the screen", async () => {
      const screen = await s.screen();
      return screen.alternate_screen && screen.rows.includes("1") ? screen : undefined;
    });
    equal(paged.foreground?.command, "less");
    ok(paged.foreground && paged.foreground.pid > 0);
    deepEqual(paged.size, { columns: 1000, rows: 50 });
    deepEqual(paged.rows.slice(0, 3), ["1", "2", "3"]);
    equal(paged.rows.at(-1), "seq.txt", "less's prompt line, trailing blanks trimmed");
    equal(paged.cursor.row, 49);
    // The JSON of k screen -j is the same record.
    const json = await w.kJson(["screen", "-j", "s"]) as unknown as Screen & { code: number };
    equal(json.code, 0);
    deepEqual([json.alternate_screen, json.foreground?.command], [true, "less"]);
    // Text mode prints the rows.
    const text = await w.k(["screen", "s"]);
    deepEqual([text.code, text.stdout.split("\n").slice(0, 2)], [0, ["1", "2"]]);

    await s.send("q", { enter: false });
    const back = await waitFor("the prompt back", async () => {
      const screen = await s.screen();
      return screen.alternate_screen ? undefined : screen;
    });
    equal(back.foreground, null, "the session's own program holds its terminal");
    // The pager's cell ends when its watcher sees the prompt: then the next cell runs.
    await waitFor("the pager's cell done", async () => {
      return (await s.poll(cellId)).status === "done";
    });
    equal((await s.run("echo $X")).output, "kept");
  },
);

worldTest("screen: a busy session is read without a lock and nothing is typed", async (w) => {
  await w.kernel.create("s");
  const s = w.kernel.session("s");
  await s.fire("sleep 30");
  await waitFor("sleep in the foreground", async () => (await w.foreground("s")) === "sleep");
  const before = await w.paneLog("s");
  const screen = await s.screen();
  equal(screen.foreground?.command, "sleep");
  equal(screen.alternate_screen, false);
  ok(screen.rows.some((row) => row.includes("sleep 30")), JSON.stringify(screen.rows));
  equal(await w.paneLog("s"), before, "screen typed nothing");
  equal((await s.status()).state, "running");
  await s.interrupt();
});

worldTest(
  "screen: a status line at the far right costs a count, not a thousand blanks",
  async (w) => {
    await w.kernel.create("s");
    const s = w.kernel.session("s");
    // Column 990 of the 1000-column pane, as a full-screen program's ruler would be.
    await s.run("clear; printf 'left\\033[990Gright\\n'");
    const screen = await s.screen();
    const row = screen.rows.find((r) => r.startsWith("left"));
    equal(row, "left [… 985 blanks …] right");
    // Empty rows at the bottom are dropped.
    ok(screen.rows.length < 10, JSON.stringify(screen.rows));
  },
);

worldTest("screen: no such session is a clear error", async (w) => {
  const r = await w.k(["screen", "nope"]);
  equal(r.code, 1);
  match(r.stderr, /no session 'nope'/);
});

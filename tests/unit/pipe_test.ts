// The output pipe's sign without tmux: a follower tells a writer's close (the sign's doorbell)
// from growth and from readers; the sign is read for this session's pane only, and said in words.
import { deepEqual, equal, ok } from "node:assert/strict";
import { FileFollower } from "../../src/follow.ts";
import type { SessionMeta } from "../../src/session/meta.ts";
import { pipeEndText, readPipeEnd, takePipeEnd } from "../../src/session/pipe.ts";
import { pathsIn } from "../../src/state.ts";
import { dirTest, timed } from "../harness.ts";

dirTest(
  "pipe: a writer closing the log wakes its follower and says so; reading does not",
  async (dir) => {
    const path = `${dir}/pane.log`;
    await Deno.writeTextFile(path, "x");
    const f = await FileFollower.open(path, 0);
    try {
      // A reader opening and closing the file: no writer's close.
      (await Deno.open(path, { read: true })).close();
      await f.readAvailable(() => {});
      equal(f.takeWriterClosed(), false);
      // The doorbell: opened for appending, nothing written, closed (`: >> log`).
      const waited = timed(() => f.wait(10_000));
      (await Deno.open(path, { append: true })).close();
      const { ms } = await waited;
      ok(ms < 5_000, `woke after ${ms} ms`);
      equal(f.takeWriterClosed(), true);
      equal(f.takeWriterClosed(), false, "taken once");
    } finally {
      await f.close();
    }
  },
);

dirTest("pipe: the sign is read for this pane only; another pane's is removed", async (dir) => {
  const paths = pathsIn(dir);
  const meta = { name: "s", pane: { pid: 4242, start: "" } } as SessionMeta;
  const sign = `${paths.log}.pipe`;
  equal(readPipeEnd(paths, meta), undefined, "no sign");
  await Deno.writeTextFile(sign, "- 4242\n");
  equal(readPipeEnd(paths, meta), undefined, "running");
  await Deno.writeTextFile(sign, "137 4242\n");
  deepEqual({ ...readPipeEnd(paths, meta), atMs: 0 }, { kind: "died", status: 137, atMs: 0 });
  await Deno.writeTextFile(sign, "0 4242\n");
  equal(readPipeEnd(paths, meta)?.kind, "eof");
  await Deno.writeTextFile(sign, "? 4242\n");
  deepEqual({ ...readPipeEnd(paths, meta), atMs: 0 }, { kind: "died", status: undefined, atMs: 0 });
  for (const text of ["", "137 4242", "1x 4242\n", " 4242\n", "137 4242 9\n"]) {
    await Deno.writeTextFile(sign, text);
    equal(readPipeEnd(paths, meta), undefined, `not a sign (yet): ${JSON.stringify(text)}`);
  }
  equal(takePipeEnd(paths), true);
  equal(takePipeEnd(paths), false, "taken once");
  await Deno.writeTextFile(sign, "137 999\n");
  equal(readPipeEnd(paths, meta), undefined, "an earlier session's pane");
  equal(takePipeEnd(paths), false, "and removed");
});

dirTest("pipe: what ended it, in words", () => {
  const died = (status: number | undefined) => ({ kind: "died", status, atMs: 0 }) as const;
  equal(pipeEndText(died(137)), "cat was killed by SIGKILL");
  equal(pipeEndText(died(143)), "cat was killed by SIGTERM");
  equal(pipeEndText(died(128 + 10)), "cat was killed by signal 10");
  equal(pipeEndText(died(1)), "cat exited with status 1");
  equal(pipeEndText(died(undefined)), "it was found closed");
  equal(pipeEndText({ kind: "eof", atMs: 0 }), "tmux closed it while the pane lived on");
  return Promise.resolve();
});

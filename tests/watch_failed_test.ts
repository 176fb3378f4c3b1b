/**
 * A follower that cannot watch files (issue 16): it says so once on stderr and in a note that
 * `k status` shows as `watch_failed`, and it still follows, by polling. The inotify limits are per
 * user namespace: km runs in one of its own (`unshare -U -r`) whose `max_inotify_instances` is 0,
 * so nothing else on the machine (the other tests, their followers) loses a watch.
 * @module
 */

import assert from "node:assert/strict";
import { MONITOR, PLAIN_BASH, runCommand, waitFor, worldTest } from "./harness.ts";

/** A user namespace of our own where no inotify instance can be made: can it be had here? */
const NO_INOTIFY = "echo 0 > /proc/sys/user/max_inotify_instances";
const CAN_UNSHARE = (await runCommand("unshare", ["-U", "-r", "sh", "-c", NO_INOTIFY])).code === 0;

/** The lines a child prints on stdout, as they come. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const parts = pending.split("\n");
    pending = parts.pop() ?? "";
    yield* parts;
  }
}

worldTest(
  "a follower that cannot watch files says so once, k status shows it, and it still follows",
  async (w) => {
    await w.kernel.create("s", { command: PLAIN_BASH, cwd: w.base });
    const km = new Deno.Command("unshare", {
      args: ["-U", "-r", "sh", "-c", `${NO_INOTIFY} && exec "$0" "$@"`, Deno.execPath()]
        .concat(["run", "-A", "--no-lock", MONITOR, "s"]),
      env: w.env(),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(km.stderr).text();
    const out = lines(km.stdout);
    try {
      const note = await waitFor("watch_failed in k status", async () => {
        const status = await w.kJson(["status", "-j", "s"]);
        return typeof status.watch_failed === "string" ? status.watch_failed : undefined;
      });
      assert.match(note, new RegExp(`^pid ${km.pid} cannot watch files \\(.+\\): it polls every`));
      // It still follows: a cell's end reaches it (within a poll).
      const ran = await w.kJson(["run", "-j", "s", "echo hi"]);
      assert.equal(ran.status, "done");
      const done = await waitFor("km prints the done", async () => {
        for await (const line of out) {
          const event = JSON.parse(line);
          if (event.status === "done") return event;
        }
      });
      assert.equal(done.cell_id, ran.cell_id);
    } finally {
      km.kill("SIGTERM");
      await km.status;
    }
    const said = (await stderr).split("\n").filter((l) => l.startsWith("ktty: "));
    assert.equal(said.length, 1, `said once: ${said.join(" | ")}`);
    assert.match(said[0] ?? "", /cannot watch files .*max_user_instances/);
    // The note names a process that is gone now: k status no longer shows it.
    assert.equal((await w.kJson(["status", "-j", "s"])).watch_failed, null);
  },
  {
    timeoutMs: 60_000,
    skip: CAN_UNSHARE ? false : "needs a user namespace of its own (unshare -U -r)",
  },
);

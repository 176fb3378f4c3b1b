// src/follow.ts: FileFollower on a plain file — reads from an offset, wakes on growth (file
// watch), falls back to its timeout without one, and closes cleanly.
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { FileFollower } from "../../src/follow.ts";
import { dirTest, timed } from "../harness.ts";

const dec = new TextDecoder();

/** Everything the follower can read now, as text. */
async function readAll(f: FileFollower): Promise<string> {
  let text = "";
  await f.readAvailable((bytes) => text += dec.decode(bytes));
  return text;
}

dirTest("follow: reads from the offset; the offset advances with what was read", async (dir) => {
  const path = `${dir}/log`;
  await Deno.writeTextFile(path, "0123456789");
  const f = await FileFollower.open(path, 4, false);
  try {
    equal(f.offset, 4);
    equal(await readAll(f), "456789");
    equal(f.offset, 10);
    equal(await readAll(f), "", "nothing new");
    await Deno.writeTextFile(path, "ab", { append: true });
    equal(await readAll(f), "ab");
    equal(f.offset, 12);
  } finally {
    await f.close();
  }
});

dirTest("follow: readAvailableOnce hands over one chunk of at most 256 KiB", async (dir) => {
  const path = `${dir}/log`;
  await Deno.writeFile(path, new Uint8Array(300 * 1024).fill(0x61));
  const f = await FileFollower.open(path, 0, false);
  try {
    const sizes: number[] = [];
    equal(await f.readAvailableOnce((b) => sizes.push(b.length)), 256 * 1024);
    equal(await f.readAvailableOnce((b) => sizes.push(b.length)), 44 * 1024);
    equal(await f.readAvailableOnce((b) => sizes.push(b.length)), 0);
    deepEqual(sizes, [256 * 1024, 44 * 1024]);
  } finally {
    await f.close();
  }
});

dirTest("follow: growth wakes a waiting follower long before its timeout", async (dir) => {
  const path = `${dir}/log`;
  await Deno.writeTextFile(path, "");
  const f = await FileFollower.open(path, 0);
  try {
    const waited = timed(() => f.wait(10_000));
    await Deno.writeTextFile(path, "grown\n", { append: true });
    const { ms } = await waited;
    ok(ms < 5_000, `woke after ${ms} ms`);
    equal(await readAll(f), "grown\n");
  } finally {
    await f.close();
  }
});

dirTest(
  "follow: a change seen while not waiting makes the next wait return at once",
  async (dir) => {
    const path = `${dir}/log`;
    await Deno.writeTextFile(path, "");
    const f = await FileFollower.open(path, 0);
    try {
      await Deno.writeTextFile(path, "x", { append: true });
      // The watch's event arrives on its own; the first wait takes it, or is woken by it.
      const { ms } = await timed(() => f.wait(10_000));
      ok(ms < 5_000, `first wait took ${ms} ms`);
      equal(await readAll(f), "x");
    } finally {
      await f.close();
    }
  },
);

dirTest("follow: without a watch, wait is the poll: it returns after its timeout", async (dir) => {
  const path = `${dir}/log`;
  await Deno.writeTextFile(path, "");
  const f = await FileFollower.open(path, 0, false);
  try {
    const { ms } = await timed(() => f.wait(30));
    ok(ms >= 25 && ms < 2_000, `waited ${ms} ms`);
    const zero = await timed(() => f.wait(-5));
    ok(zero.ms < 1_000, `a negative wait took ${zero.ms} ms`);
  } finally {
    await f.close();
  }
});

dirTest("follow: wait ends when `also` settles, resolved or rejected", async (dir) => {
  const path = `${dir}/log`;
  await Deno.writeTextFile(path, "");
  const f = await FileFollower.open(path, 0, false);
  try {
    for (const also of [Promise.resolve("done"), Promise.reject(new Error("aborted"))]) {
      const { ms } = await timed(() => f.wait(10_000, also));
      ok(ms < 5_000, `took ${ms} ms`);
    }
  } finally {
    await f.close();
  }
});

dirTest("follow: a truncated file reads nothing until it grows past the offset", async (dir) => {
  const path = `${dir}/log`;
  await Deno.writeTextFile(path, "0123456789");
  const f = await FileFollower.open(path, 0, false);
  try {
    equal(await readAll(f), "0123456789");
    await Deno.truncate(path, 0);
    equal(await readAll(f), "", "no bytes from a file shorter than the offset");
    equal(f.offset, 10);
    await Deno.writeTextFile(path, "abcdefghijklmn", { append: true });
    equal(await readAll(f), "klmn", "reading goes on from the offset");
    equal(f.offset, 14);
  } finally {
    await f.close();
  }
});

dirTest("follow: close ends the watch and the file; a second close is harmless", async (dir) => {
  const path = `${dir}/log`;
  await Deno.writeTextFile(path, "abc");
  const f = await FileFollower.open(path, 0);
  await f.close();
  await f.close();
  await rejects(f.readAvailable(() => {}));
});

dirTest("follow: opening a missing file fails with NotFound", async (dir) => {
  await rejects(FileFollower.open(`${dir}/missing`, 0), Deno.errors.NotFound);
});

/**
 * The library on a remote host (issue 18): `new Kernel({ host })` against a real sshd on
 * 127.0.0.1 (tests/sshd.ts). Every method with a `k` verb runs there and returns what it returns
 * locally; the sessions live in the state dir the target's login gets (its K_HOME and K_SOCKET,
 * by the client config's SetEnv), never in this side's. Errors keep their codes; the methods that
 * read this machine only say so. (That a local kernel never loads the remote code is checked in
 * tests/unit/dependencies_test.ts.)
 *
 * Each test gets its own sshd and remote state (kt-a's world); `K_SSH_COMMAND` points ssh at the
 * fixture's client config in this process while the test runs.
 * @module
 */

import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import {
  type CellResult,
  InvalidCellIdError,
  Kernel,
  KttyError,
  type KttyEvent,
  type NewSessionOptions,
  NoSessionError,
  type StalledEvent,
  UsageError,
} from "../mod.ts";
import { type Cleanup, exists, waitFor, withDeadline, World, worldTest } from "./harness.ts";
import { type Sshd, sshdMissing, startSshSide } from "./sshd.ts";

const skip = sshdMissing();
/** A shell without the machine's rc files (they are slow here, and not ktty's). */
const PLAIN = "bash --norc --noprofile";
/** The bound on any one stream or failure in these tests. */
const BOUND_MS = 20_000;

/** One test's remote side: kt-a's state (a world of its own) and a kernel on kt-a. */
interface Remote {
  sshd: Sshd;
  /** kt-a's remote state: its K_HOME and tmux socket. */
  a: World;
  /** The library on kt-a, its SSH control socket in the test's own world. */
  kernel: Kernel;
}

/**
 * Starts sshd, writes the client config, points `K_SSH_COMMAND` at it (restored at cleanup),
 * installs ktty on kt-a (`k host setup`), and makes a kernel on kt-a.
 */
async function remote(w: World, cleanup: Cleanup): Promise<Remote> {
  const { sshd, a, config } = await startSshSide(w, cleanup);
  const before = Deno.env.get("K_SSH_COMMAND");
  Deno.env.set("K_SSH_COMMAND", `ssh -F ${config}`);
  cleanup.add(() => {
    if (before === undefined) Deno.env.delete("K_SSH_COMMAND");
    else Deno.env.set("K_SSH_COMMAND", before);
  });
  const setUp = await w.k(["host", "setup", "kt-a"], { K_SSH_COMMAND: `ssh -F ${config}` });
  equal(setUp.code, 0, `k host setup kt-a: ${setUp.stdout}${setUp.stderr}\nsshd: ${sshd.log}`);
  return { sshd, a, kernel: new Kernel({ host: "kt-a", home: w.home }) };
}

/** {@link remote}, and a plain bash session `s` made through the library. */
async function remoteSession(w: World, cleanup: Cleanup): Promise<Remote> {
  const r = await remote(w, cleanup);
  const made = await r.kernel.create("s", { command: PLAIN });
  deepEqual([made.created, made.session, made.mode], [true, "s", "integration"]);
  return r;
}

/** The events of a stream, collected until it ends (bounded). */
async function collected(
  stream: AsyncIterable<KttyEvent | StalledEvent>,
): Promise<(KttyEvent | StalledEvent)[]> {
  return await withDeadline(Array.fromAsync(stream), BOUND_MS, "the event stream to end");
}

/** Polls a remote cell through the library until it no longer runs. */
async function settled(r: Remote, cellId: string): Promise<CellResult> {
  return await waitFor(
    `cell ${cellId} to end`,
    async () => {
      const result = await r.kernel.session("s").poll(cellId);
      return result.status === "running" || result.status === "timeout" ? undefined : result;
    },
    BOUND_MS,
    200,
  );
}

/** Asserts `promise` rejects with a {@link KttyError} of `code`. */
async function rejectsWith(promise: Promise<unknown>, code: string, what: string): Promise<void> {
  await rejects(promise, (e: unknown) => {
    ok(e instanceof KttyError, `${what}: ${e}`);
    equal(e.code, code, `${what}: ${e.message}`);
    return true;
  });
}

worldTest(
  "remote library: create and run there, in the target's state dir, not here",
  async (w, c) => {
    const r = await remote(w, c);
    const made = await r.kernel.create("s", {
      command: PLAIN,
      env: { KT_GREETING: "hello there" },
      cwd: r.a.base,
    });
    deepEqual(
      [made.created, made.session, made.command, made.program, made.mode],
      [true, "s", PLAIN, "bash", "integration"],
    );
    ok(await exists(`${r.a.sessionDir("s")}/meta.json`), "the remote state dir holds s");
    ok(!(await exists(w.sessionDir("s"))), "this side holds no session state");
    equal((await r.kernel.create("s", { command: PLAIN })).created, false, "alive: nothing done");

    let startedId: string | undefined;
    let startedAt = 0;
    const run = await r.kernel.session("s").run('sleep 1; echo "$KT_GREETING"; pwd', {
      onStarted: (id) => {
        startedId = id;
        startedAt = Date.now();
      },
    });
    equal(run.status, "done", JSON.stringify(run));
    if (run.status !== "done") return;
    deepEqual([run.output, run.exit_code], [`hello there\n${r.a.base}`, 0]);
    equal(startedId, run.cell_id, "onStarted names the cell");
    // onStarted came while the cell ran (it sleeps 1 s), not with its result.
    ok(Date.now() - startedAt >= 500, `onStarted ${Date.now() - startedAt} ms before the result`);
    ok(await exists(`${r.a.sessionDir("s")}/cells/${run.cell_id}.json`), "its result is there");

    const failed = await r.kernel.session("s").run("(exit 3)", { cellId: "0123456789ab" });
    deepEqual(
      [
        failed.status,
        "cell_id" in failed && failed.cell_id,
        "exit_code" in failed && failed.exit_code,
      ],
      ["done", "0123456789ab", 3],
    );
    const timedOut = await r.kernel.session("s").run("sleep 3; echo late", { timeoutMs: 1000 });
    equal(timedOut.status, "timeout", JSON.stringify(timedOut));
    if (timedOut.status !== "timeout") return;
    const late = await settled(r, timedOut.cell_id);
    deepEqual([late.status, "output" in late && late.output], ["done", "late"]);

    // A callback that throws: run rethrows, and the cell goes on there under a watcher.
    const boom = new Error("boom");
    let thrownFor: string | undefined;
    await rejects(
      r.kernel.session("s").run("sleep 1; echo handed", {
        onStarted: (id) => {
          thrownFor = id;
          throw boom;
        },
      }),
      (e: unknown) => e === boom,
    );
    ok(thrownFor, "onStarted was called");
    const handed = await settled(r, thrownFor);
    deepEqual([handed.status, "output" in handed && handed.output], ["done", "handed"]);
  },
  { skip, timeoutMs: 120_000 },
);

worldTest("remote library: fire, events to the end, poll, send, interrupt", async (w, c) => {
  const r = await remoteSession(w, c);
  const s = r.kernel.session("s");
  let firedStarted: string | undefined;
  const fired = await s.fire("sleep 3; echo fired", { onStarted: (id) => firedStarted = id });
  equal(fired.status, "fired", JSON.stringify(fired));
  if (fired.status !== "fired") return;
  equal(firedStarted, fired.cell_id);
  const busy = await s.run("echo never");
  deepEqual(busy, {
    status: "error",
    output: `active cell '${fired.cell_id}'`,
    active_cell_id: fired.cell_id,
  });
  const running = await s.poll();
  deepEqual(["cell_id" in running && running.cell_id, running.status], [fired.cell_id, "running"]);
  const events = await collected(
    s.events({ cellId: fired.cell_id, signal: AbortSignal.timeout(BOUND_MS) }),
  );
  deepEqual(events.map((e) => e.status), ["fired", "done"]);
  ok(events.every((e) => e.session === "s" && "seq" in e && e.seq > 0), JSON.stringify(events));
  const done = await s.poll(fired.cell_id);
  deepEqual([done.status, "output" in done && done.output], ["done", "fired"]);

  // send: into a read the cell waits in.
  const reading = await s.fire('read -r line; echo "got $line"');
  if (reading.status !== "fired") throw new Error(JSON.stringify(reading));
  await waitFor("the read to wait", async () => (await s.status()).state === "running");
  const sent = await s.send("hi");
  deepEqual(sent, { cell_id: reading.cell_id, foreground: null });
  const got = await settled(r, reading.cell_id);
  equal(got.status, "done");
  match("output" in got ? got.output : "", /got hi$/);
  await rejectsWith(s.send("nobody"), "no_active_cell", "send at the prompt");

  // interrupt: a cell that would run for a minute.
  const long = await s.fire("sleep 60");
  if (long.status !== "fired") throw new Error(JSON.stringify(long));
  const interrupted = await s.interrupt();
  deepEqual(
    [interrupted.cell?.cell_id, interrupted.cell?.status, interrupted.prompt_back],
    [long.cell_id, "error", true],
  );
  deepEqual(interrupted.ended, []);
  equal((await s.status()).state, "idle");

  // The stream ends when its signal aborts, without an error.
  const stop = new AbortController();
  const following = collected(s.events({ signal: stop.signal }));
  const note = await s.notify("from the library", "tests");
  stop.abort();
  deepEqual((await following).map((e) => e.status).filter((x) => x !== "notify"), []);
  deepEqual([note.status, note.session, "from" in note && note.from], ["notify", "s", "tests"]);
}, { skip, timeoutMs: 120_000 });

worldTest(
  "remote library: status, screen, history, fleet, kernel.events, resolve, kill, prune",
  async (w, c) => {
    const r = await remoteSession(w, c);
    const s = await r.kernel.resolve(); // the only live session there
    deepEqual([s.name, s.host], ["s", "kt-a"]);
    const run = await s.run("echo one");
    equal(run.status, "done");

    const status = await s.status();
    deepEqual(
      [status.session, status.alive, status.state, status.socket, status.command],
      ["s", true, "idle", r.a.socket, PLAIN],
    );
    const screen = await s.screen();
    equal(screen.session, "s");
    ok(screen.rows.some((row) => row.includes("one")), JSON.stringify(screen.rows));
    const history = await s.history(2);
    deepEqual(history.map((h) => [h.event.status, h.code]), [
      ["fired", undefined],
      ["done", "echo one"],
    ]);

    // The merged stream: the first completion in the named sessions.
    const made = await r.kernel.create("t", { command: PLAIN });
    equal(made.created, true);
    const since = new Date();
    const fired = await r.kernel.session("t").fire("sleep 0.5; echo t");
    if (fired.status !== "fired") throw new Error(JSON.stringify(fired));
    const first = await collected(r.kernel.events({
      sessions: ["s", "t"],
      since,
      once: true,
      signal: AbortSignal.timeout(BOUND_MS),
    }));
    deepEqual(first.map((e) => [e.session, e.status]).at(-1), ["t", "done"]);

    const fleet = await r.kernel.fleet();
    deepEqual(fleet.map((e) => [e.session, e.state, e.socket]), [
      ["s", "idle", r.a.socket],
      ["t", "idle", r.a.socket],
    ]);

    // prune: t's tmux session ends behind ktty's back; its state stays until pruned.
    equal((await r.a.tmux(["kill-session", "-t", "t"])).code, 0);
    await waitFor(
      "t to be stale",
      async () => (await r.kernel.session("t").status()).state === "stale",
    );
    const pruned = await r.kernel.prune();
    deepEqual(pruned.map((p) => [p.session, p.pruned]), [["t", true]]);
    ok(!(await exists(r.a.sessionDir("t"))), "t's state is gone");

    const killed = await s.kill();
    deepEqual(killed, { ended: [], survivors: [] });
    ok(!(await exists(r.a.sessionDir("s"))), "s's state is gone");
    await rejects(s.status(), NoSessionError);
    deepEqual(await r.kernel.fleet(), []);
  },
  { skip, timeoutMs: 120_000 },
);

worldTest(
  "remote library: errors keep their codes; what reads this machine only says so",
  async (w, c) => {
    const r = await remote(w, c);
    const nope = r.kernel.session("nope");
    await rejects(nope.run("echo x"), NoSessionError);
    await rejects(nope.status(), NoSessionError);
    await rejects(collected(nope.events({ follow: false })), NoSessionError);
    await rejects(nope.poll("not-a-cell"), InvalidCellIdError);
    await rejects(nope.run(""), UsageError); // checked here, in the library's terms
    await rejects(nope.run("x", { timeoutMs: -1 }), /timeoutMs must be a positive integer/);
    await rejects(
      r.kernel.create("x", { shell: "zsh" } as NewSessionOptions),
      /create option 'shell' has no k new flag/,
    );
    await rejects(r.kernel.resolve(), /none is live/);

    for (
      const [method, call] of [
        ["handOff", () => nope.handOff()],
        ["attach", () => nope.attach()],
        ["info", () => nope.info()],
        ["hasState", () => nope.hasState()],
        ["follow", () => Array.fromAsync(nope.follow())],
      ] as const
    ) await rejectsWith(call(), "remote_unsupported", method);
    throws(
      () => nope.logStart(),
      (e: unknown) => e instanceof KttyError && e.code === "remote_unsupported",
    );
    const calc = { kind: "calc", names: /^calc$/, prompt: "calc>" };
    throws(() => r.kernel.register(calc), /register works on this machine only, not on kt-a/);
    throws(
      () => new Kernel({ host: "kt-a", programs: [calc] }),
      /programs works on this machine only/,
    );
    throws(() => new Kernel({ host: "kt-a", socket: "x" }), UsageError);

    // The transport's own failures: bounded, with their codes.
    const down = new Kernel({ host: "kt-down", home: w.home });
    await withDeadline(rejectsWith(down.fleet(), "ssh_failed", "kt-down"), BOUND_MS, "kt-down");
    await rejectsWith(
      new Kernel({ host: "-oProxyCommand=x", home: w.home }).fleet(),
      "invalid_argument",
      "a target like an option",
    );
  },
  { skip, timeoutMs: 90_000 },
);

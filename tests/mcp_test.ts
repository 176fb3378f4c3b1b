// The MCP server through the SDK's own client over stdio (a real client and a real server
// process, `deno run -A mcp.ts`, on the test's K_HOME and K_SOCKET): the tools and their schemas,
// cells run and fired and waited for, progress, the push for a subscribed cell's end (both
// protocol eras), send, screen, interrupt, kill, tool errors for bad input, and what a client
// killed mid-run or a server killed outright leaves behind.

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { dirname } from "node:path";
import { Client } from "npm:@modelcontextprotocol/client@2.4.0";
import { StdioClientTransport } from "npm:@modelcontextprotocol/client@2.4.0/stdio";
import {
  type Cleanup,
  isRunning,
  ROOT,
  runCommand,
  waitFor,
  type World,
  worldTest,
} from "./harness.ts";

const SERVER = `${ROOT}mcp.ts`;
const FIXTURE = `${ROOT}tests/mcp_client_fixture.ts`;
/** The session program: bash without the machine's rc files (their prompt hooks cost time). */
const BASH = "bash --norc --noprofile";

const TOOLS = [
  "fire",
  "history",
  "interrupt",
  "kill",
  "list",
  "new",
  "poll",
  "run",
  "screen",
  "send",
  "status",
  "wait",
];

/** A tool's answer: its structured content (checked equal to its text block) and `isError`. */
interface Answer {
  isError: boolean;
  value: Record<string, unknown>;
  text: string;
}

/** A connected client and its server process. */
interface Connection {
  client: Client;
  /** The server's pid. */
  pid: number;
  call(
    name: string,
    args: Record<string, unknown>,
    options?: Parameters<Client["callTool"]>[1],
  ): Promise<Answer>;
}

/** The server's environment: this process's (certificates, PATH) and the world's. */
function serverEnv(w: World): Record<string, string> {
  return { ...Deno.env.toObject(), ...w.env() };
}

/** Starts a server for `w` (`command args…`, default `deno run -A mcp.ts`) and connects to it. */
async function connect(
  w: World,
  cleanup: Cleanup,
  options: { args?: string[]; command?: string; modern?: boolean; env?: Record<string, string> } =
    {},
): Promise<Connection> {
  const transport = new StdioClientTransport({
    command: options.command ?? Deno.execPath(),
    args: options.args ?? ["run", "-A", SERVER],
    env: options.env ?? serverEnv(w),
    cwd: w.base,
    stderr: "inherit",
  });
  const client = new Client(
    { name: "ktty-test", version: "1" },
    options.modern ? { versionNegotiation: { mode: { pin: "2026-07-28" } } } : {},
  );
  await client.connect(transport);
  cleanup.add(() => client.close());
  const pid = transport.pid;
  ok(pid !== null && pid !== undefined, "no server pid");
  return {
    client,
    pid,
    async call(name, args, callOptions) {
      const result = await client.callTool({ name, arguments: args }, callOptions);
      const content = result.content as { type: string; text: string }[];
      equal(content.length, 1, `${name}: one content block`);
      const text = content[0]?.text ?? "";
      const isError = result.isError === true;
      if (result.structuredContent === undefined) {
        ok(isError, `${name}: no structured content: ${text}`); // the SDK's own input errors
        return { isError, value: { status: "error", output: text }, text };
      }
      const value = result.structuredContent as Record<string, unknown>;
      deepEqual(JSON.parse(text), value, `${name}: the text block is the structured content`);
      return { isError, value, text };
    },
  };
}

/** `new` over MCP: a plain bash in the world's directory. */
async function newSession(mcp: Connection, w: World, session = "w"): Promise<void> {
  const made = await mcp.call("new", { session, command: BASH, cwd: w.base });
  equal(made.isError, false, made.text);
  deepEqual([made.value.created, made.value.mode], [true, "integration"]);
}

worldTest("mcp: the tools and their schemas; new, run, fire then wait", async (w, cleanup) => {
  const mcp = await connect(w, cleanup);
  const { tools } = await mcp.client.listTools();
  deepEqual(tools.map((t) => t.name).sort(), TOOLS);
  for (const tool of tools) {
    ok((tool.description ?? "").length > 60, `${tool.name}: a description for a model`);
    const properties = (tool.inputSchema.properties ?? {}) as Record<
      string,
      { description?: string }
    >;
    for (const [field, schema] of Object.entries(properties)) {
      ok((schema.description ?? "").length > 10, `${tool.name}.${field}: described`);
    }
  }
  const run = tools.find((t) => t.name === "run")!;
  deepEqual(run.inputSchema.required, ["code"]);
  const runFields = run.inputSchema.properties as Record<string, Record<string, unknown>>;
  deepEqual([runFields.timeout_s?.default, runFields.timeout_s?.type], [30, "integer"]);
  match(String(runFields.code?.description), /Example:/);
  const wait = tools.find((t) => t.name === "wait")!;
  const waitFields = wait.inputSchema.properties as Record<string, Record<string, unknown>>;
  deepEqual([waitFields.timeout_s?.default, waitFields.timeout_s?.maximum], [45, 45]);

  await newSession(mcp, w);
  const ran = await mcp.call("run", { session: "w", code: "x=41; echo $((x + 1))" });
  deepEqual([ran.isError, ran.value.status, ran.value.output, ran.value.exit_code], [
    false,
    "done",
    "42",
    0,
  ]);
  const failed = await mcp.call("run", { code: "false" }); // the only live session
  deepEqual([failed.isError, failed.value.status, failed.value.exit_code], [false, "done", 1]);

  const fired = await mcp.call("fire", { session: "w", code: "sleep 0.5; echo later" });
  deepEqual([fired.isError, fired.value.status], [false, "fired"]);
  const cellId = String(fired.value.cell_id);
  const busy = await mcp.call("run", { session: "w", code: "echo never" });
  deepEqual([busy.isError, busy.value.active_cell_id], [true, cellId]);
  const waited = await mcp.call("wait", { session: "w", cell_id: cellId });
  deepEqual([waited.isError, waited.value.status, waited.value.output], [false, "done", "later"]);

  // The same sessions as k's: a person's `k poll` reads the agent's cells.
  const polled = await w.kJson(["poll", "w", cellId]);
  deepEqual([polled.status, polled.output], ["done", "later"]);
  const history = await mcp.call("history", { session: "w", n: 2 });
  const events = history.value.events as { status: string; code?: string }[];
  deepEqual(events.map((e) => [e.status, e.code]), [
    ["fired", undefined],
    ["done", "sleep 0.5; echo later"],
  ]);
  const listed = await mcp.call("list", {});
  deepEqual((listed.value.sessions as { session: string; state: string }[]).map((s) => s.state), [
    "idle",
  ]);
  const status = await mcp.call("status", {});
  deepEqual([status.value.session, status.value.state], ["w", "idle"]);
});

worldTest(
  "mcp: bad input and an unknown session are tool errors, never a crash",
  async (w, cleanup) => {
    const mcp = await connect(w, cleanup);
    await newSession(mcp, w);
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ["run", { session: "nope", code: "echo" }, /^no session 'nope'/],
      ["run", { session: "../x", code: "echo" }, /^invalid session name/],
      ["run", { session: "w", code: "" }, /code/],
      ["run", { session: "w" }, /code/],
      ["run", { session: "w", code: "echo", timeout_s: -1 }, /timeout_s/],
      ["run", { session: "w", code: "echo\0" }, /NUL/],
      ["poll", { session: "w", cell_id: "../../etc" }, /cell id/],
      ["wait", { session: "w", timeout_s: 3600 }, /timeout_s/],
      ["send", { session: "w" }, /text to type or keys to send/],
      ["send", { session: "w", text: "y", keys: ["q"] }, /text to type or keys to send/],
      ["status", { session: "nope" }, /^no session 'nope'/],
      ["screen", { session: 42 }, /session/],
      ["new", { session: "n2", command: "true", env: { TERM: "dumb" } }, /TERM/],
    ];
    for (const [tool, args, want] of cases) {
      const answer = await mcp.call(tool, args);
      equal(answer.isError, true, `${tool} ${JSON.stringify(args)}: ${answer.text}`);
      equal(answer.value.status, "error");
      match(String(answer.value.output), want, `${tool} ${JSON.stringify(args)}`);
    }
    // An unknown tool is the protocol's error; the server goes on.
    await mcp.client.callTool({ name: "frobnicate", arguments: {} }).then(
      () => ok(false, "an unknown tool was called"),
      (e) => match(String(e), /frobnicate/),
    );
    const ran = await mcp.call("run", { session: "w", code: "echo still here" });
    deepEqual([ran.value.status, ran.value.output], ["done", "still here"]);
    deepEqual(await w.tmuxSessions(), ["w"]); // nothing made by the refused calls
  },
);

worldTest(
  "mcp: a run past the bound comes back running, with progress; wait sees its real end",
  async (w, cleanup) => {
    const mcp = await connect(w, cleanup, { args: ["run", "-A", SERVER, "--max-wait", "2"] });
    await newSession(mcp, w);
    const progress: string[] = [];
    const code = "for i in 1 2 3 4; do echo step$i; sleep 0.6; done; echo end";
    const ran = await mcp.call("run", { session: "w", code }, {
      onprogress: (p) => progress.push(p.message ?? ""),
    });
    deepEqual([ran.isError, ran.value.status], [false, "running"]);
    match(String(ran.value.output), /^step1/);
    match(String(ran.value.next), /call wait \(session "w", cell_id "[0-9a-f]{12}"\)/);
    ok(progress.some((m) => /step\d/.test(m)), `progress: ${JSON.stringify(progress)}`);
    const cellId = String(ran.value.cell_id);

    // A subscribed cell's end is pushed (resources/updated), and wait returns at that end.
    const uri = `ktty://session/w/cell/${cellId}`;
    const updated: string[] = [];
    mcp.client.setNotificationHandler("notifications/resources/updated", (n) => {
      updated.push(n.params.uri);
    });
    await mcp.client.subscribeResource({ uri });
    const waited = await mcp.call("wait", { session: "w", cell_id: cellId });
    deepEqual([waited.value.status, waited.value.output], [
      "done",
      "step1\nstep2\nstep3\nstep4\nend",
    ]);
    await waitFor("the update notification", () => Promise.resolve(updated.includes(uri)));
    const read = await mcp.client.readResource({ uri });
    equal(JSON.parse((read.contents[0] as { text: string }).text).status, "done");
    // The bound passing recorded no timeout: the cell ran within its own limit.
    const events = (await w.kJson(["poll", "w", cellId])).status;
    equal(events, "done");
    const log = await Deno.readTextFile(`${w.sessionDir("w")}/events.jsonl`);
    ok(!log.includes('"timeout"'), log);

    // A cell past its own limit is `timeout`; wait goes on to its real end (km -1).
    const timedOut = await mcp.call("run", {
      session: "w",
      code: "sleep 1.5; echo late",
      timeout_s: 1,
    });
    deepEqual([timedOut.value.status, timedOut.isError], ["timeout", false]);
    match(String(timedOut.value.next), /past its time limit/);
    const late = await mcp.call("wait", { session: "w" });
    deepEqual([late.value.status, late.value.output, late.value.cell_id], [
      "done",
      "late",
      timedOut.value.cell_id,
    ]);
  },
  { timeoutMs: 40_000 },
);

worldTest(
  "mcp: send answers a read -p; screen; interrupt; a session's death is pushed; kill",
  async (w, cleanup) => {
    const mcp = await connect(w, cleanup);
    await newSession(mcp, w);
    const fired = await mcp.call("fire", {
      session: "w",
      code: "read -p 'name? ' n; echo \"hello $n\"",
    });
    await waitFor("the prompt on the screen", async () => {
      const screen = await mcp.call("screen", { session: "w" });
      return (screen.value.rows as string[]).at(-1) === "name?";
    });
    const sent = await mcp.call("send", { session: "w", text: "ktty" });
    deepEqual([sent.isError, sent.value.cell_id], [false, fired.value.cell_id]);
    const answered = await mcp.call("wait", { session: "w" });
    deepEqual([answered.value.status, answered.value.output], ["done", "name? ktty\nhello ktty"]);

    const slept = await mcp.call("fire", { session: "w", code: "sleep 30" });
    const interrupted = await mcp.call("interrupt", { session: "w" });
    equal(interrupted.isError, false, interrupted.text);
    const cell = interrupted.value.cell as Record<string, unknown>;
    deepEqual([cell.cell_id, cell.status, cell.output], [
      slept.value.cell_id,
      "error",
      "interrupted",
    ]);
    equal(interrupted.value.prompt_back, true);
    const after = await mcp.call("run", { session: "w", code: "echo free" });
    deepEqual([after.value.status, after.value.output], ["done", "free"]);

    // The session resource is updated when its program dies under a cell.
    const updated: string[] = [];
    mcp.client.setNotificationHandler("notifications/resources/updated", (n) => {
      updated.push(n.params.uri);
    });
    await mcp.client.subscribeResource({ uri: "ktty://session/w" });
    const died = await mcp.call("run", { session: "w", code: "exit" });
    deepEqual([died.isError, died.value.status], [true, "error"]);
    match(String(died.value.output), /session 'w' ended/);
    await waitFor(
      "the session's update",
      () => Promise.resolve(updated.includes("ktty://session/w")),
    );

    const killed = await mcp.call("kill", { session: "w" });
    deepEqual([killed.isError, killed.value], [false, { session: "w", status: "killed" }]);
    const gone = await mcp.call("status", { session: "w" });
    deepEqual([gone.isError, gone.value.status], [true, "error"]);
    deepEqual(await w.tmuxSessions(), []);
  },
);

worldTest(
  "mcp: a client killed mid-run leaves its cell to k poll; a server killed outright, to k int",
  async (w, cleanup) => {
    // The client dies: its server sees its stdin close, hands the cell over and exits.
    const client = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", FIXTURE, "c", "sleep 1; echo survived"],
      env: serverEnv(w),
      cwd: w.base,
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    cleanup.add(() => client.kill("SIGKILL"));
    const reader = client.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let said = "";
    while (!/server \d+\n/.test(said)) {
      const { value, done } = await reader.read();
      if (done) break;
      said += value;
    }
    const serverPid = Number(/server (\d+)/.exec(said)?.[1]);
    ok(serverPid > 0, `fixture said: ${said}`);
    const lock = await waitFor("the cell typed", () => w.readLockFile("c"));
    equal(lock.owner.pid, serverPid);
    client.kill("SIGKILL");
    await client.status;
    await waitFor("the server's exit", async () => !(await isRunning(serverPid)));
    const polled = await w.kJson(["poll", "c", lock.cell_id]);
    ok(polled.status === "running" || polled.status === "done", JSON.stringify(polled));
    const done = await waitFor("the cell's end", async () => {
      const r = await w.kJson(["poll", "c", lock.cell_id]);
      return r.status === "done" ? r : undefined;
    });
    equal(done.output, "survived");

    // The server is SIGKILLed: nothing hands over, and the lock names a dead owner.
    const mcp = await connect(w, cleanup);
    const running = mcp.call("run", { session: "c", code: "sleep 30" }).catch(() => undefined);
    const second = await waitFor("the cell typed", async () => {
      const l = await w.readLockFile("c");
      return l?.cell_id !== lock.cell_id ? l : undefined;
    });
    Deno.kill(mcp.pid, "SIGKILL");
    await running;
    await waitFor("the server's death", async () => !(await isRunning(mcp.pid)));
    const orphan = await w.kJson(["poll", "c", second.cell_id]);
    deepEqual(orphan.status, "error");
    match(String(orphan.output), /watcher died/);
    equal((await w.k(["int", "c"])).code, 0);
    const again = await w.kJson(["run", "-j", "c", "echo recovered"]);
    deepEqual([again.status, again.output], ["done", "recovered"]);
  },
  { timeoutMs: 40_000 },
);

worldTest("mcp: a 2026-07-28 client subscribes with subscriptions/listen", async (w, cleanup) => {
  const mcp = await connect(w, cleanup, { modern: true });
  equal(mcp.client.getProtocolEra(), "modern");
  await newSession(mcp, w);
  const fired = await mcp.call("fire", { session: "w", code: "sleep 0.5; echo modern" });
  const uri = `ktty://session/w/cell/${fired.value.cell_id}`;
  const updated: string[] = [];
  mcp.client.setNotificationHandler("notifications/resources/updated", (n) => {
    updated.push(n.params.uri);
  });
  const subscription = await mcp.client.listen({ resourceSubscriptions: [uri] });
  cleanup.add(() => subscription.close());
  deepEqual(subscription.honoredFilter.resourceSubscriptions, [uri]);
  await waitFor("the update notification", () => Promise.resolve(updated.includes(uri)));
  const polled = await mcp.call("poll", { session: "w", cell_id: fired.value.cell_id });
  deepEqual([polled.value.status, polled.value.output], ["done", "modern"]);
});

worldTest("mcp: k mcp from an installed k serves the same tools", async (w, cleanup) => {
  const root = await Deno.makeTempDir({ prefix: "ktty-mcp-install-" });
  cleanup.add(() => Deno.remove(root, { recursive: true }));
  const installed = await runCommand(
    Deno.execPath(),
    ["install", "-g", "-A", "-f", "-n", "k", "--root", root, "--config", "deno.json", "cli.ts"],
    { cwd: ROOT },
  );
  equal(installed.code, 0, installed.stderr);
  const env = { ...serverEnv(w), PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH")}` };
  const mcp = await connect(w, cleanup, { command: `${root}/bin/k`, args: ["mcp"], env });
  const { tools } = await mcp.client.listTools();
  deepEqual(tools.map((t) => t.name).sort(), TOOLS);
  await newSession(mcp, w);
  const ran = await mcp.call("run", { session: "w", code: "echo installed" });
  deepEqual([ran.value.status, ran.value.output], ["done", "installed"]);
});

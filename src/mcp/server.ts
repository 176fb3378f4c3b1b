/**
 * The MCP server: the tools (`tools.ts`) and resources (`resources.ts`) over one kernel, served
 * on stdio by the SDK's `serveStdio` (both protocol eras, 2025 and 2026-07-28). It lives as long
 * as its client: when the client goes away (stdin closes) or the process is told to stop
 * (SIGINT, SIGTERM, SIGHUP), the cells it still watches are handed to background watchers first.
 * @module
 */

import { Kernel, VERSION } from "../../mod.ts";
import { type ServerOptions, serverOptions } from "./options.ts";
import {
  ListenPeek,
  NoSuchResourceError,
  parseUri,
  readRef,
  sessionUri,
  Subscriptions,
} from "./resources.ts";
import { errorMessage } from "./results.ts";
import { Runs } from "./runs.ts";
import {
  McpServer,
  ProtocolError,
  ProtocolErrorCode,
  type ReadResourceResult,
  ResourceTemplate,
  serveStdio,
  StdioServerTransport,
} from "./sdk.ts";
import { TOOLS } from "./tools.ts";

/** What the model is told about the server as a whole, when its client shows it. */
function instructions(boundS: number): string {
  return [
    "ktty runs code in persistent terminal sessions (real tmux sessions: a person can watch",
    "with `k peek <session>`). Start one with `new` (bash by default; python3, node, gdb, any",
    "REPL), then `run` code in it: the session keeps its cwd, variables and imports between",
    `cells. A call blocks at most ${boundS} s: a longer cell comes back \`running\` with its`,
    "cell_id — then `wait` for its end (or `poll`). For long jobs, `fire` then `wait`. Answer a",
    "prompt with `send`, stop a cell with `interrupt`, look at the terminal with `screen`.",
    "Hints in results name the `k` command line: `k int` is interrupt, `k send` is send,",
    "`k poll` is poll, `km … -1` is wait, `k kill` is kill.",
  ].join(" ");
}

/** A resource error as the protocol has it: the URI or the session is not there. */
function resourceError(e: unknown): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.InvalidParams, errorMessage(e));
}

/** The resource read callback: the session's status, or the cell's state, as JSON. */
async function read(kernel: Kernel, uri: URL): Promise<ReadResourceResult> {
  const ref = parseUri(uri.href);
  if (!ref) throw resourceError(new NoSuchResourceError(uri.href));
  let value: unknown;
  try {
    value = await readRef(kernel, ref);
  } catch (e) {
    throw resourceError(e);
  }
  return {
    contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(value) }],
  };
}

/** One server instance over `kernel`: its tools, resources and subscription handlers. */
function buildServer(
  kernel: Kernel,
  options: ServerOptions,
  runs: Runs,
  subscriptions: Subscriptions,
): McpServer {
  const server = new McpServer({ name: "ktty", version: VERSION }, {
    capabilities: { resources: { subscribe: true } },
    instructions: instructions(Math.round(options.maxWaitMs / 1000)),
  });
  const sessionsChanged = () => {
    if (server.isConnected()) server.sendResourceListChanged();
  };
  for (const tool of TOOLS) tool.register(server, { kernel, runs, options, sessionsChanged });
  server.registerResource(
    "session",
    new ResourceTemplate("ktty://session/{session}", {
      list: async () => ({
        resources: (await kernel.fleet())
          .filter((s) => s.state !== "unmanaged")
          .map((s) => ({
            uri: sessionUri(s.session),
            name: s.session,
            description: `session ${s.session}: ${s.state}`,
            mimeType: "application/json",
          })),
      }),
    }),
    {
      description: "A session's status, as `k status -j` (subscribe: updated at each event)",
      mimeType: "application/json",
    },
    (uri) => read(kernel, uri),
  );
  server.registerResource(
    "cell",
    new ResourceTemplate("ktty://session/{session}/cell/{cell_id}", { list: undefined }),
    {
      description: "A cell's state, as `k poll` (subscribe: updated at its timeout and its end)",
      mimeType: "application/json",
    },
    (uri) => read(kernel, uri),
  );
  // The 2025 era's subscriptions (the 2026-07-28 era's come through ListenPeek).
  server.server.setRequestHandler("resources/subscribe", async (request) => {
    try {
      await subscriptions.add(request.params.uri);
    } catch (e) {
      throw resourceError(e);
    }
    return {};
  });
  server.server.setRequestHandler("resources/unsubscribe", (request) => {
    subscriptions.remove(request.params.uri);
    return {};
  });
  return server;
}

/** The exit statuses of a server stopped by a signal: 128 + the signal's number. */
const STOP_SIGNALS: readonly [Deno.Signal, number][] = [
  ["SIGINT", 130],
  ["SIGTERM", 143],
  ["SIGHUP", 129],
];

/** Options of {@link serveMcp}. */
export interface ServeOptions {
  /** The kernel to serve (default: `K_HOME`, `K_SOCKET`). */
  kernel?: Kernel;
  /**
   * The longest a tool call blocks, in seconds (`run`, `wait`): default `K_MCP_MAX_WAIT`, else
   * 45, below the ~60 s after which clients give up on a call.
   */
  maxWaitS?: number;
}

/**
 * Serves ktty over MCP on this process's stdin and stdout until the client goes away or a
 * signal (SIGINT, SIGTERM, SIGHUP) stops it; then hands the cells it watches to background
 * watchers. Nothing else may write to stdout meanwhile.
 *
 * @param options the kernel and the longest a tool call blocks
 * @returns the exit status: 0 when the client went away, 128 + the signal's number when stopped
 */
export async function serveMcp(options: ServeOptions = {}): Promise<number> {
  const kernel = options.kernel ?? new Kernel();
  const settings = serverOptions(options.maxWaitS);
  const runs = new Runs();
  let current: McpServer | undefined;
  const subscriptions = new Subscriptions(kernel, async (uri) => {
    if (current?.isConnected()) await current.server.sendResourceUpdated({ uri });
  });
  let finish: (status: number) => void = () => {};
  const finished = new Promise<number>((resolve) => finish = resolve);
  let stopping = false;
  const stop = async (status: number) => {
    if (stopping) return;
    stopping = true;
    subscriptions.closeAll();
    const handedOver = await runs.handOffAll();
    if (handedOver.length > 0) {
      console.error(`ktty mcp: handed cells to background watchers: ${handedOver.join(", ")}`);
    }
    finish(status);
  };
  const listeners: [Deno.Signal, () => void][] = STOP_SIGNALS.map(([signal, status]) => {
    const listener = () => void stop(status);
    Deno.addSignalListener(signal, listener);
    return [signal, listener];
  });
  const transport = new ListenPeek(new StdioServerTransport(), subscriptions, () => void stop(0));
  const handle = serveStdio(() => {
    current = buildServer(kernel, settings, runs, subscriptions);
    return current;
  }, {
    transport,
    onerror: (e) => console.error(`ktty mcp: ${e.message}`),
  });
  try {
    return await finished;
  } finally {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
    await handle.close().catch(() => {});
  }
}

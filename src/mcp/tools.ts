/**
 * The tools: one per `k` verb an agent needs, each a thin mapping of its inputs onto the library
 * (`Kernel`, `Session`) and of the library's result onto the answer (`results.ts`). Input schemas
 * carry descriptions written for a model: what each field does, its default, an example.
 * @module
 */

import {
  type BusyResult,
  type CellResult,
  type FinalResult,
  FIRE_TIMEOUT_MS,
  type Kernel,
  RUN_TIMEOUT_MS,
  type Session,
  UsageError,
} from "../../mod.ts";
import type { ServerOptions } from "./options.ts";
import { reportProgress } from "./progress.ts";
import { errorResult, type JsonObject, statusResult, toolResult } from "./results.ts";
import type { Runs } from "./runs.ts";
import type { CallToolResult, McpServer, ServerContext, ToolAnnotations } from "./sdk.ts";
import { z } from "./sdk.ts";

/** What a tool's action gets besides its arguments. */
export interface ToolDeps {
  /** The kernel (K_HOME, K_SOCKET of the server). */
  kernel: Kernel;
  /** The cells this server watches. */
  runs: Runs;
  /** The server's options (its bound). */
  options: ServerOptions;
  /** Tells the client the list of resources (the sessions) changed. */
  sessionsChanged: () => void;
}

/** One tool, its schema and its action; `register` adds it to a server. */
export interface ToolRegistration {
  /** The tool's name. */
  name: string;
  /** Adds the tool to `server`. */
  register(server: McpServer, deps: ToolDeps): void;
}

/** A tool's definition: typed by its input schema. */
interface ToolDefinition<Input extends z.ZodObject> {
  name: string;
  title: string;
  /** For the model; `{bound}` is replaced by the server's bound in seconds. */
  description: string;
  input: (deps: ToolDeps) => Input;
  annotations: ToolAnnotations;
  call(args: z.output<Input>, deps: ToolDeps, ctx: ServerContext): Promise<CallToolResult>;
}

/** Seconds, for texts. */
function secondsOf(ms: number): number {
  return Math.round(ms / 1000);
}

/**
 * Makes a tool's registration: its schema is built for the server (the bound is in it), every
 * throw becomes a tool error (`isError`), never a protocol error.
 */
function defineTool<Input extends z.ZodObject>(def: ToolDefinition<Input>): ToolRegistration {
  return {
    name: def.name,
    register(server, deps) {
      const bound = String(secondsOf(deps.options.maxWaitMs));
      // The SDK types a handler's arguments by a conditional type over its input schema, which a
      // generic schema leaves unresolved: registered as the base object schema, the arguments
      // are what `def.input` parses them into.
      const inputSchema: z.ZodObject = def.input(deps);
      server.registerTool(def.name, {
        title: def.title,
        description: def.description.replaceAll("{bound}", bound),
        inputSchema,
        annotations: def.annotations,
      }, async (args, ctx) => {
        try {
          return await def.call(args as z.output<Input>, deps, ctx);
        } catch (e) {
          return errorResult(def.name, e);
        }
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Fields

const sessionField = () =>
  z.string().optional().describe(
    "The session's name (letters, digits, _ . : -; up to 64). Default: the only live session. " +
      'Example: "work".',
  );
const namedSessionField = (what: string) =>
  z.string().describe(
    `The session's name (letters, digits, _ . : -; up to 64) ${what}. Example: "work".`,
  );
const cellIdField = (fallback: string) =>
  z.string().optional().describe(
    `A cell id (12 hex characters) from run, fire or list. Default: ${fallback}. ` +
      'Example: "3f2a9c01b7de".',
  );
const maxOutputField = () =>
  z.number().int().positive().optional().describe(
    "Output budget in characters (default $K_MAX_OUTPUT, else 50000). Past it the head and tail " +
      'are kept, "truncated" is true and "output_file" holds the whole output. Example: 20000.',
  );
const codeField = () =>
  z.string().min(1).describe(
    "The code to type at the session's prompt, as you would type it: one or more lines, run " +
      'as one cell. Example: "cd /tmp && ls -la" in bash, "import math; math.sqrt(2)" in ' +
      "python3.",
  );

/** The inputs of run and fire: the session, the code, the cell's own limit, the output budget. */
function cellInput(defaultMs: number, pastIt: string, example: number) {
  return z.object({
    session: sessionField(),
    code: codeField(),
    timeout_s: z.number().int().positive().default(secondsOf(defaultMs)).describe(
      `The cell's time limit in seconds (default ${secondsOf(defaultMs)}). Past it ${pastIt} ` +
        `and the cell goes on running in the background. Example: ${example}.`,
    ),
    max_output: maxOutputField(),
  });
}

/** What to do next about a cell that still runs, in this server's tools. */
function nextStep(session: string, cellId: string, why: string): string {
  return `${why}: call wait (session "${session}", cell_id "${cellId}") to block until it ends, ` +
    "poll for its output so far, interrupt to stop it";
}

/** The result, with `next` when the cell still runs (past its limit, or past the call's bound). */
function withNext(
  session: string,
  result: CellResult | FinalResult | BusyResult,
  why: string,
): JsonObject & { status: string } {
  const value: JsonObject & { status: string } = { ...result };
  if (result.status === "running") value.next = nextStep(session, result.cell_id, why);
  if (result.status === "timeout") {
    value.next = nextStep(session, result.cell_id, "past its time limit it goes on running");
  }
  return value;
}

/** The output so far of a session's active (else latest) cell, for a first progress report. */
function outputSoFar(session: Session): () => Promise<string> {
  return async () => {
    const state = await session.poll(undefined, { maxOutput: 2_000 });
    return "output" in state ? state.output : "";
  };
}

// ---------------------------------------------------------------------------------------------
// Tools

const newTool = defineTool({
  name: "new",
  title: "New session",
  description: "Start a program in a new terminal session (a real tmux session a person can " +
    "watch with `k peek <session>`) and wait for its first prompt. Default program: bash; also " +
    "python3, node, zsh, gdb, psql, any REPL. Shells, python3 and node get `integration` mode: " +
    "exact cell ends and exit codes. On a live session nothing is done (`created: false`).",
  input: () =>
    z.object({
      session: namedSessionField("to create"),
      command: z.string().optional().describe(
        "The program's command line, run through the shell as typed. Default: bash. Examples: " +
          '"python3", "node", "gdb -q ./a.out", "psql mydb".',
      ),
      prompt: z.string().optional().describe(
        "How a cell's end is seen, for programs without integration. Default: integration " +
          'where known, else repeat mode. A prompt string (exact mode), e.g. "(gdb)"; ' +
          '"repeat"; or a path to an executable hook containing "/".',
      ),
      env: z.record(z.string(), z.string()).optional().describe(
        "Variables to add or override in the session's environment (they win over everything). " +
          'Example: {"DEBUG": "1", "PAGER": "less"}.',
      ),
      agent_defaults: z.boolean().default(true).describe(
        "Add the agent defaults where unset: PAGER=cat, GIT_EDITOR=true, " +
          "GIT_TERMINAL_PROMPT=0, DEBIAN_FRONTEND=noninteractive… (no program waits for a " +
          "person). Default true.",
      ),
      cwd: z.string().optional().describe(
        "The program's working directory. Default: the server's. Example: \"/home/me/project\".",
      ),
    }),
  annotations: { idempotentHint: true, destructiveHint: false, openWorldHint: true },
  async call(args, { kernel, sessionsChanged }) {
    const result = await kernel.create(args.session, {
      command: args.command,
      prompt: args.prompt,
      env: args.env,
      agentDefaults: args.agent_defaults,
      cwd: args.cwd,
    });
    if (result.created) sessionsChanged();
    return toolResult({ ...result });
  },
});

const runTool = defineTool({
  name: "run",
  title: "Run a cell",
  description: "Run code in a session and wait for its result: the output as a person reads it " +
    "(echo, prompts and escape codes removed) and, in integration mode, the exit code. " +
    "`done` means the program is back at its prompt: check `exit_code`. The session keeps its " +
    "state (cwd, variables, imports) between cells. Waits at most timeout_s (the cell's own " +
    "limit) and at most {bound} s (this server's bound): past its limit the result is " +
    "`timeout`, past the bound `running`, each with cell_id and the output so far — the cell " +
    "goes on: call wait for its end. Refused with `active cell '<id>'` while another cell runs " +
    "(nothing is typed); for long jobs use fire.",
  input: () => cellInput(RUN_TIMEOUT_MS, "the result is `timeout`", 120),
  annotations: { destructiveHint: true, openWorldHint: true },
  async call(args, { kernel, runs, options }, ctx) {
    const session = await kernel.resolve(args.session);
    const stopProgress = reportProgress(ctx, session, outputSoFar(session));
    try {
      const timeoutMs = args.timeout_s * 1000;
      const outcome = await runs.run(
        session,
        args.code,
        { timeoutMs, maxOutput: args.max_output },
        options.maxWaitMs,
        ctx.mcpReq.signal,
      );
      if (outcome.kind === "ended") {
        return statusResult(withNext(session.name, outcome.result, ""));
      }
      const why = `still running after ${secondsOf(options.maxWaitMs)} s, this server's bound ` +
        `(its own limit is ${args.timeout_s} s)`;
      const state = await session.poll(outcome.cellId, { maxOutput: args.max_output });
      return statusResult(withNext(session.name, state, why));
    } finally {
      stopProgress();
    }
  },
});

const fireTool = defineTool({
  name: "fire",
  title: "Fire a cell",
  description: "Start code in a session and return at once with its cell_id (`fired`); a " +
    "background watcher records its result. Then call wait to block until it ends, or poll " +
    "its output so far. For builds, test suites, anything long. Refused with `active cell " +
    "'<id>'` while another cell runs (nothing is typed).",
  input: () => cellInput(FIRE_TIMEOUT_MS, "it is reported `timeout`", 1800),
  annotations: { destructiveHint: true, openWorldHint: true },
  async call(args, { kernel }) {
    const session = await kernel.resolve(args.session);
    const options = { timeoutMs: args.timeout_s * 1000, maxOutput: args.max_output };
    return statusResult({ ...await session.fire(args.code, options) });
  },
});

const pollTool = defineTool({
  name: "poll",
  title: "Poll a cell",
  description: "A cell's state now, without waiting: `running` (with the output so far), " +
    "`done`, `timeout` (past its limit, still running) or `error` (interrupted, its session " +
    "gone).",
  input: () =>
    z.object({
      session: sessionField(),
      cell_id: cellIdField("the active cell, else the most recent"),
      max_output: maxOutputField(),
    }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async call(args, { kernel }) {
    const session = await kernel.resolve(args.session);
    const state = await session.poll(args.cell_id, { maxOutput: args.max_output });
    return statusResult(withNext(session.name, state, "it is still running"));
  },
});

const waitTool = defineTool({
  name: "wait",
  title: "Wait for a cell",
  description: "Block until a cell ends (`done`, interrupted, its session gone) or timeout_s " +
    "passes, then return its state as poll does. A `timeout` does not end the wait: the cell " +
    "still runs. If it comes back `running` or `timeout`, call wait again. Use after fire, or " +
    "after a run that came back `running`.",
  input: ({ options }) =>
    z.object({
      session: sessionField(),
      cell_id: cellIdField("the active cell, else the most recent"),
      timeout_s: z.number().int().positive().max(secondsOf(options.maxWaitMs))
        .default(secondsOf(options.maxWaitMs)).describe(
          `The longest to wait, in seconds (default and most: ${
            secondsOf(options.maxWaitMs)
          }, this server's bound). Example: 30.`,
        ),
      max_output: maxOutputField(),
    }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async call(args, { kernel }, ctx) {
    const session = await kernel.resolve(args.session);
    let cellId = args.cell_id;
    const stopProgress = reportProgress(ctx, session, outputSoFar(session));
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), args.timeout_s * 1000);
    const signal = AbortSignal.any([stop.signal, ctx.mcpReq.signal]);
    try {
      for await (const event of session.events({ cellId, once: true, signal })) {
        if ("cell_id" in event && event.cell_id) cellId = event.cell_id;
      }
      const state = await session.poll(cellId, { maxOutput: args.max_output });
      const why = `still running after ${args.timeout_s} s of waiting`;
      return statusResult(withNext(session.name, state, why));
    } finally {
      clearTimeout(timer);
      stopProgress();
    }
  },
});

const sendTool = defineTool({
  name: "send",
  title: "Send input",
  description: "Type into what holds the terminal while a cell runs: answer a `read -p`, a " +
    "[y/N], a password prompt, `input()`; or drive a pager, an editor, a nested REPL left in " +
    "the foreground. Types `text` and Enter, or sends `keys` instead. Starts no cell and " +
    "takes no lock; refused when the program is idle at its prompt (that is run's job).",
  input: () =>
    z.object({
      session: sessionField(),
      text: z.string().optional().describe(
        'The text to type. Example: "y". Give text or keys, not both.',
      ),
      enter: z.boolean().default(true).describe("Press Enter after the text (default true)."),
      keys: z.array(z.string().min(1)).optional().describe(
        'tmux key names to send instead of text. Examples: ["C-d"], ["Escape"], ["q"], ' +
          '["Up", "Enter"], ["C-c"].',
      ),
    }),
  annotations: { destructiveHint: true, openWorldHint: true },
  async call(args, { kernel }) {
    const hasKeys = args.keys !== undefined && args.keys.length > 0;
    if (hasKeys === (args.text !== undefined)) {
      throw new UsageError("give text to type or keys to send (one of them)");
    }
    const session = await kernel.resolve(args.session);
    const sent = await session.send(args.text ?? "", { enter: args.enter, keys: args.keys });
    return toolResult({ session: session.name, ...sent });
  },
});

const interruptTool = defineTool({
  name: "interrupt",
  title: "Interrupt",
  description: "Ctrl-C: end the active cell as interrupted and free the session (also after a " +
    "timeout). If something still holds the terminal (a pager, an editor, a program deaf to " +
    "Ctrl-C), it is signalled SIGINT, then SIGTERM, then SIGKILL — never the session's own " +
    "program. The session keeps its state. An error when the prompt is not back after that.",
  input: () => z.object({ session: sessionField() }),
  annotations: { destructiveHint: true, openWorldHint: false },
  async call(args, { kernel }) {
    const session = await kernel.resolve(args.session);
    const result = await session.interrupt();
    const stuck = result.holder !== undefined || result.prompt_back === false;
    return toolResult({ session: session.name, ...result }, stuck);
  },
});

/** A read-only tool answering with one session's record, as `k <verb> -j` prints it. */
function sessionRecordTool(
  name: string,
  title: string,
  description: string,
  read: (session: Session) => Promise<object>,
): ToolRegistration {
  return defineTool({
    name,
    title,
    description,
    input: () => z.object({ session: sessionField() }),
    annotations: { readOnlyHint: true, openWorldHint: false },
    async call(args, { kernel }) {
      return toolResult({ ...await read(await kernel.resolve(args.session)) });
    },
  });
}

const screenTool = sessionRecordTool(
  "screen",
  "Screen",
  "What the terminal shows now, as a person sees it: the visible rows, the cursor, whether a " +
    "full-screen program (less, vi, top) holds the alternate screen, and the foreground " +
    "program. Takes no lock, types nothing: works while a cell runs.",
  (session) => session.screen(),
);

const killTool = defineTool({
  name: "kill",
  title: "Kill session",
  description: "End a session: its program, its tmux session, its watcher and its state. What " +
    "the program held in memory is lost.",
  input: () => z.object({ session: namedSessionField("to end") }),
  annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async call(args, { kernel, sessionsChanged }) {
    await kernel.session(args.session).kill();
    sessionsChanged();
    return toolResult({ session: args.session, status: "killed" });
  },
});

const listTool = defineTool({
  name: "list",
  title: "List sessions",
  description: "Every session of this kernel, as `k ls -j`: state (idle, running, timeout, " +
    "watcher-dead, stale, unmanaged), active cell and age, program, mode, idle time, last " +
    "event, and `next`: the next useful step.",
  input: () =>
    z.object({
      prune: z.boolean().default(false).describe(
        "Remove the stale sessions' state first (their tmux session is gone); they stay in " +
          'the list marked "pruned": true. Default false.',
      ),
    }),
  annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
  async call(args, { kernel }) {
    const pruned = args.prune ? await kernel.prune() : [];
    const sessions = [...pruned, ...await kernel.fleet()]
      .sort((a, b) => a.session.localeCompare(b.session));
    return toolResult({ sessions });
  },
});

const statusTool = sessionRecordTool(
  "status",
  "Session status",
  "One session's record, as in list: its state, active cell, program, foreground program and " +
    "the way out of it (`hint`), and `next`: the next useful step.",
  (session) => session.status(),
);

const historyTool = defineTool({
  name: "history",
  title: "History",
  description: "The session's last n events, oldest first: fired, done, timeout, interrupted, " +
    "error, notify, closed; a cell's end carries its first code line (`code`).",
  input: () =>
    z.object({
      session: sessionField(),
      n: z.number().int().positive().max(1000).default(20).describe(
        "How many events (default 20). Example: 5.",
      ),
    }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async call(args, { kernel }) {
    const session = await kernel.resolve(args.session);
    const entries = await session.history(args.n);
    const events = entries.map((e) =>
      e.code === undefined ? e.event : { ...e.event, code: e.code }
    );
    return toolResult({ session: session.name, events });
  },
});

/** Every tool, in the order `k help` lists their verbs. */
export const TOOLS: readonly ToolRegistration[] = [
  newTool,
  runTool,
  fireTool,
  pollTool,
  waitTool,
  sendTool,
  screenTool,
  interruptTool,
  killTool,
  listTool,
  statusTool,
  historyTool,
];

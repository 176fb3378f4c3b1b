/**
 * Making a session: one creator per name, a fresh state directory, the program started in a
 * detached tmux session (with the integration loader typed at once), then its first prompt.
 * @module
 */

import { appendEvent } from "../events/log.ts";
import { newNonce } from "../markers.ts";
import { chosenProfile, profileOf, type ProgramProfile } from "../programs/mod.ts";
import { KttyError, UsageError } from "../errors.ts";
import {
  type FrameConfig,
  frameMode,
  INTEGRATION_TIMEOUT_MS,
  READY_TIMEOUT_MS,
  resolveHook,
  withFirstPrompt,
} from "../frame/mod.ts";
import { isAlive, type ProcessId, processId } from "../proc.ts";
import {
  createExclusive,
  ensureStateDir,
  type KernelConfig,
  makePrivateDir,
  pathExists,
  readJsonFile,
  removeIfExists,
  type SessionPaths,
  sessionPaths,
  socketDir,
} from "../state.ts";
import {
  assertTmuxVersion,
  hasSession,
  killSession,
  newSession,
  resizeWindow,
  sessionOwner,
  tmuxName,
} from "../tmux.ts";
import { environmentFile, launcherArgv, sessionEnvironment } from "./environment.ts";
import {
  readMetaIfAny,
  type SessionInfo,
  sessionInfo,
  type SessionMeta,
  writeMeta,
} from "./meta.ts";
import { markersLostHint } from "./foreground.ts";
import { waitReady } from "./ready.ts";
import { removeAllButHistory, removeState } from "./remove.ts";

/** Pane height. */
export const PANE_ROWS = 50;
/** How often a second `new` of the same name looks whether the first is done. */
const CREATE_WAIT_POLL_MS = 50;

/** Options of {@link createSession}. */
export interface NewSessionOptions {
  /** The program's command line (default `bash`), run through the shell exactly as typed. */
  command?: string;
  /**
   * How to tell a cell ended: unset for shell integration where the program has it (bash, zsh,
   * sh, python3, node; repeat mode otherwise), `repeat` for repeat mode, a prompt string
   * (`(gdb)`) for exact mode, a path with a `/` (`./detect`) for hook mode, a regular
   * expression (`/^In \[\d+\]: $/`) for exact mode with a prompt that varies.
   */
  prompt?: string | RegExp;
  /**
   * The program's profile by name (`psql`, `ipython`, or one registered with the kernel), for a
   * command line it is not recognised in (`docker exec -it db psql` is; a wrapper script is
   * not); default: recognised from the command line. An explicit `prompt` wins over it.
   */
  program?: string;
  /** The program's working directory (default: this process's). */
  cwd?: string;
  /**
   * Variables to add or override in the session's environment (they win over everything else).
   * The session starts from this process's environment, less what describes its own terminal
   * (`TERM`, `TMUX`, `COLUMNS`…), plus `K_SESSION`, `K_HOME`, `K_SOCKET` and the agent defaults.
   */
  env?: Record<string, string>;
  /**
   * Whether to add the agent defaults (no pager, no editor opened by git, no password prompt;
   * see the README) where this process's environment leaves them unset. Default true.
   */
  agentDefaults?: boolean;
}

/** What `new` did. */
export interface NewSessionResult extends SessionInfo {
  /** False when the session was already alive (nothing was done). */
  created: boolean;
  /**
   * On a live session that is not healthy (its shell reads without ktty's markers): what is
   * wrong and the repair, in `k`'s verbs; absent when it is healthy.
   */
  repair?: string;
}

async function frameFor(
  prompt: string | RegExp | undefined,
  cwd: string,
  profile: ProgramProfile,
): Promise<FrameConfig> {
  const repeat: FrameConfig = profile.noEmptyEnters
    ? { mode: "repeat", noEmptyEnters: true }
    : { mode: "repeat" };
  if (prompt === undefined) {
    if (profile.integration) return { mode: "integration", nonce: newNonce() };
    return profile.prompt ? { mode: "exact", prompt: profile.prompt } : repeat;
  }
  if (prompt instanceof RegExp) return { mode: "exact", prompt: prompt.source, pattern: true };
  if (prompt === "repeat") return repeat;
  if (prompt === "") throw new UsageError("--prompt needs a value");
  if (prompt.includes("/")) return { mode: "hook", prompt: await resolveHook(prompt, cwd) };
  return { mode: "exact", prompt };
}

/**
 * Starts `command` in a new detached session and returns once it shows its first prompt. On a
 * live session it does nothing. A failed start leaves nothing behind.
 */
export async function createSession(
  config: KernelConfig,
  name: string,
  options: NewSessionOptions = {},
): Promise<NewSessionResult> {
  const paths = sessionPaths(config, name);
  const cwd = options.cwd ?? Deno.cwd();
  const command = options.command?.trim() || "bash";
  const profile = options.program ? chosenProfile(options.program) : profileOf(command);
  const frame = await frameFor(options.prompt, cwd, profile);
  await ensureStateDir(config);
  await assertTmuxVersion(config);
  // One creator per name at a time: a second `new` waits for the first and finds it alive.
  const creating = creatingPath(config, name);
  const deadline = Date.now() + READY_TIMEOUT_MS + INTEGRATION_TIMEOUT_MS;
  const self = await processId(Deno.pid) ?? { pid: Deno.pid, start: "" };
  while (true) {
    if (await createExclusive(creating, JSON.stringify(self))) {
      // Alive means done: its creator released the name only after its first prompt.
      const live = await liveSession(config, paths, name);
      if (!live) break;
      await removeIfExists(creating);
      const repair = markersLostHint(paths, live);
      return { ...sessionInfo(live), created: false, ...(repair ? { repair } : {}) };
    }
    const owner = await readJsonFile(creating).catch(() => undefined) as ProcessId | undefined;
    if (!owner || typeof owner.pid !== "number" || !(await isAlive(owner))) {
      await removeIfExists(creating); // its creator died: take over
      continue;
    }
    if (Date.now() > deadline) {
      throw new KttyError("io", `session '${name}' is being created by another process`);
    }
    await new Promise((resolve) => setTimeout(resolve, CREATE_WAIT_POLL_MS));
  }
  try {
    const env = sessionEnvironment({
      caller: Deno.env.toObject(),
      agentDefaults: options.agentDefaults ?? true,
      own: {
        K_SESSION: name,
        K_HOME: config.home,
        K_SOCKET: config.socket,
        // A shell in any mode (repeat mode too, a nested one) keeps its history in the session.
        HISTFILE: paths.history,
        ...profile.environment?.(paths),
      },
      explicit: options.env ?? {},
    });
    return await createFresh(config, name, paths, { command, profile, frame, cwd, env });
  } finally {
    await removeIfExists(creating);
  }
}

/** The file a creator of session `name` holds while it works (its pid and start time). */
function creatingPath(config: KernelConfig, name: string): string {
  return `${socketDir(config)}/.${name}.creating`;
}

/**
 * Waits while another process is creating session `name` (a `k new` still waiting for the first
 * prompt): a cell typed, or a Ctrl-C sent, while the program loads would reach its loader. Costs
 * one `lstat` when nobody is creating it.
 */
export async function awaitCreation(config: KernelConfig, name: string): Promise<void> {
  const path = creatingPath(config, name);
  const deadline = Date.now() + READY_TIMEOUT_MS + INTEGRATION_TIMEOUT_MS;
  while (true) {
    // Nearly always absent: one synchronous lstat, where a failed asynchronous open costs a
    // fresh `k run` up to a millisecond.
    if (!pathExists(path)) return;
    const owner = await readJsonFile(path).catch(() => undefined) as ProcessId | undefined;
    if (!owner || typeof owner.pid !== "number" || owner.pid === Deno.pid) return;
    if (!(await isAlive(owner))) return;
    if (Date.now() > deadline) {
      throw new KttyError(
        "not_ready",
        `session '${name}' is still being created (k new, process ${owner.pid}); try again ` +
          `once it returns, or k kill ${name}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, CREATE_WAIT_POLL_MS));
  }
}

/** The session's metadata when it has state and a live tmux session; else undefined. */
async function liveSession(
  config: KernelConfig,
  paths: SessionPaths,
  name: string,
): Promise<SessionMeta | undefined> {
  const [existing, alive] = await Promise.all([
    readMetaIfAny(paths).catch(() => undefined),
    hasSession(config, name),
  ]);
  return existing && alive ? existing : undefined;
}

/** What {@link createFresh} starts. */
interface Fresh {
  command: string;
  profile: ProgramProfile;
  frame: FrameConfig;
  cwd: string;
  env: Record<string, string>;
}

/** Creates the session from nothing; the caller holds the name's creation lock. */
async function createFresh(
  config: KernelConfig,
  name: string,
  paths: SessionPaths,
  { command, profile, frame, cwd, env }: Fresh,
): Promise<NewSessionResult> {
  // Stale state (program gone) or a stray tmux session of ktty's without state: start over.
  // A tmux session someone else made on the socket is theirs: never end it.
  const owner = await sessionOwner(config, name);
  if (owner === "other") {
    throw new KttyError(
      "foreign_session",
      `tmux session '${name}' on socket '${config.socket}' was not started by ktty, which ` +
        `never ends it; pick another name, or end it yourself: ` +
        `tmux -L ${config.socket} kill-session -t '=${tmuxName(name)}'`,
    );
  }
  if (owner === "ktty") await killSession(config, name);
  // The history an earlier session of the name kept (`k kill --keep`) is continued: its event log
  // goes on (after `closed`, then `started`), its cells stay pollable.
  const continued = await keepHistoryOnly(paths, name);
  if (!continued) await removeState(paths);
  try {
    if (!continued) await Deno.mkdir(paths.dir, { mode: 0o700 });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new KttyError("io", `session '${name}' is being created by another process`);
    }
    throw e;
  }
  const envPath = `${paths.dir}/environment`;
  try {
    await makePrivateDir(paths.cells);
    await Deno.writeFile(paths.log, new Uint8Array(), { mode: 0o600, createNew: true });
    // The integration loader is typed in the same tmux call that starts the program: the
    // terminal holds it until the program first reads a line.
    let loader: string | undefined;
    const integration = profile.integration;
    if (frame.mode === "integration" && integration) {
      const scriptPath = `${paths.dir}/${integration.file}`;
      const script = integration.script(frame.nonce ?? "", paths);
      await Deno.writeTextFile(scriptPath, script, { mode: 0o600, createNew: true });
      loader = integration.installLine(scriptPath) + "\n";
    }
    // The environment goes through a private file the launcher reads and removes: never argv.
    await Deno.writeTextFile(envPath, environmentFile(env), { mode: 0o600, createNew: true });
    const columns = frameMode(frame.mode).columns;
    const panePid = await newSession(config, name, {
      argv: launcherArgv(envPath, command),
      logPath: paths.log,
      cwd,
      columns,
      rows: PANE_ROWS,
      type: loader,
    });
    const meta: SessionMeta = {
      name,
      command,
      kind: profile.kind,
      frame,
      columns,
      pane: await processId(panePid) ?? { pid: panePid, start: "" },
      created_at: new Date().toISOString(),
    };
    await writeMeta(paths, meta);
    let ready = await waitReady(config, paths, meta);
    if (ready.fallback) {
      // Without markers the echo must be recognised: widen the pane so typed code never wraps.
      meta.frame = { ...await frameFor("repeat", cwd, profile), fallback: ready.fallback };
      meta.columns = frameMode("repeat").columns;
      await resizeWindow(config, name, meta.columns);
      ready = { ...await waitReady(config, paths, meta), bracketedPaste: ready.bracketedPaste };
    }
    meta.frame = withFirstPrompt(meta.frame, ready.partial);
    meta.bracketed_paste = ready.bracketedPaste;
    await writeMeta(paths, meta);
    await removeIfExists(envPath); // the launcher removed it, unless its PATH had no `rm`
    await appendEvent(paths.events, name, {
      status: "started",
      command,
      program: profile.kind,
      mode: meta.frame.mode,
      pid: Deno.pid,
      user: Deno.env.get("USER") || Deno.env.get("LOGNAME") || String(Deno.uid() ?? "unknown"),
      ...(continued ? { continued: true } : {}),
    });
    return { ...sessionInfo(meta), created: true };
  } catch (e) {
    await killSession(config, name).catch(() => false);
    await (continued ? removeAllButHistory(paths) : removeState(paths));
    throw e;
  }
}

/**
 * When the state directory holds the history `k kill --keep` kept: closes its log (if nobody
 * did) and removes all but that history; returns true then. False when there is none to go on.
 */
async function keepHistoryOnly(paths: SessionPaths, name: string): Promise<boolean> {
  if (!pathExists(paths.kept)) return false;
  await appendEvent(paths.events, name, { status: "closed", reason: "replaced" });
  await removeAllButHistory(paths);
  await removeIfExists(paths.meta);
  await removeIfExists(paths.kept);
  return true;
}

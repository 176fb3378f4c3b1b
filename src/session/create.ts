/**
 * Making a session: one creator per name, a fresh state directory, the program started in a
 * detached tmux session (with the integration loader typed at once), then its first prompt.
 * @module
 */

import { newNonce } from "../markers.ts";
import { type ProgramKind, programKind, programProfile } from "../programs/mod.ts";
import { KttyError, UsageError } from "../errors.ts";
import {
  type FrameConfig,
  frameMode,
  INTEGRATION_TIMEOUT_MS,
  READY_TIMEOUT_MS,
  resolveHook,
} from "../frame/mod.ts";
import { isAlive, type ProcessId, processId } from "../proc.ts";
import {
  createExclusive,
  ensureStateDir,
  type KernelConfig,
  makePrivateDir,
  readJsonFile,
  removeIfExists,
  type SessionPaths,
  sessionPaths,
  socketDir,
} from "../state.ts";
import { assertTmuxVersion, hasSession, killSession, newSession, resizeWindow } from "../tmux.ts";
import {
  readMetaIfAny,
  type SessionInfo,
  sessionInfo,
  type SessionMeta,
  writeMeta,
} from "./meta.ts";
import { markersLostHint } from "./foreground.ts";
import { waitReady } from "./ready.ts";
import { removeState } from "./remove.ts";

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
   * (`(gdb)`) for exact mode, a path with a `/` (`./detect`) for hook mode.
   */
  prompt?: string;
  /** The program's working directory (default: this process's). */
  cwd?: string;
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
  prompt: string | undefined,
  cwd: string,
  kind: ProgramKind,
): Promise<FrameConfig> {
  if (prompt === undefined) {
    return programProfile(kind).integration
      ? { mode: "integration", nonce: newNonce() }
      : { mode: "repeat" };
  }
  if (prompt === "repeat") return { mode: "repeat" };
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
  const kind = programKind(command);
  const frame = await frameFor(options.prompt, cwd, kind);
  await ensureStateDir(config);
  await assertTmuxVersion(config);
  // One creator per name at a time: a second `new` waits for the first and finds it alive.
  const creating = `${socketDir(config)}/.${name}.creating`;
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
    return await createFresh(config, name, paths, { command, kind, frame, cwd });
  } finally {
    await removeIfExists(creating);
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
  kind: ProgramKind;
  frame: FrameConfig;
  cwd: string;
}

/** Creates the session from nothing; the caller holds the name's creation lock. */
async function createFresh(
  config: KernelConfig,
  name: string,
  paths: SessionPaths,
  { command, kind, frame, cwd }: Fresh,
): Promise<NewSessionResult> {
  // Stale state (program gone) or a stray tmux session without state: start over.
  if (await hasSession(config, name)) await killSession(config, name);
  await removeState(paths);
  try {
    await Deno.mkdir(paths.dir, { mode: 0o700 });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new KttyError("io", `session '${name}' is being created by another process`);
    }
    throw e;
  }
  try {
    await makePrivateDir(paths.cells);
    await Deno.writeFile(paths.log, new Uint8Array(), { mode: 0o600, createNew: true });
    // The integration loader is typed in the same tmux call that starts the program: the
    // terminal holds it until the program first reads a line.
    let loader: string | undefined;
    const integration = programProfile(kind).integration;
    if (frame.mode === "integration" && integration) {
      const scriptPath = `${paths.dir}/${integration.file}`;
      const script = integration.script(frame.nonce ?? "", paths);
      await Deno.writeTextFile(scriptPath, script, { mode: 0o600, createNew: true });
      loader = integration.installLine(scriptPath) + "\n";
    }
    const columns = frameMode(frame.mode).columns;
    const panePid = await newSession(config, name, {
      command,
      logPath: paths.log,
      cwd,
      columns,
      rows: PANE_ROWS,
      type: loader,
    });
    const meta: SessionMeta = {
      name,
      command,
      kind,
      frame,
      columns,
      pane: await processId(panePid) ?? { pid: panePid, start: "" },
      created_at: new Date().toISOString(),
    };
    await writeMeta(paths, meta);
    const ready = await waitReady(config, paths, meta);
    if (ready.fallback) {
      // Without markers the echo must be recognised: widen the pane so typed code never wraps.
      meta.frame = { mode: "repeat", fallback: ready.fallback };
      meta.columns = frameMode("repeat").columns;
      await resizeWindow(config, name, meta.columns);
      await waitReady(config, paths, meta);
    }
    meta.bracketed_paste = ready.bracketedPaste;
    await writeMeta(paths, meta);
    return { ...sessionInfo(meta), created: true };
  } catch (e) {
    await killSession(config, name).catch(() => false);
    await removeState(paths);
    throw e;
  }
}

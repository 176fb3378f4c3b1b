/**
 * The kernel as a typed library: a {@link Kernel} names a state dir and a tmux socket; a
 * {@link Session} drives one session's cells. A kernel with a `host` delegates each method to
 * src/remote/library.ts (the same verbs, run there over SSH), loaded only then.
 * @module
 */

import { interruptCell, type InterruptResult } from "./cell/interrupt.ts";
import type { CellOptions, PollOptions } from "./cell/options.ts";
import { pollCell } from "./cell/poll.ts";
import { type SendOptions, type SendResult, sendToCell } from "./cell/send.ts";
import { fireCell, handOffRun, runCell } from "./cell/start.ts";
import { type AttachOptions, attachSession } from "./session/attach.ts";
import {
  awaitCreation,
  createSession,
  type NewSessionOptions,
  type NewSessionResult,
} from "./session/create.ts";
import { type HistoryEntry, notifySession, sessionHistory } from "./session/history.ts";
import { type LogStart, readLogStart } from "./session/disk.ts";
import {
  type KillOptions,
  type KillResult,
  killSessionAndState,
  pruneStaleSessions,
} from "./session/remove.ts";
import { resolveSessionName } from "./session/resolve.ts";
import { type ProgramDefinition, registerProgram } from "./programs/mod.ts";
import { type FleetEntry, listFleet, type SessionStatus, sessionStatus } from "./session/status.ts";
import { type EventStreamOptions, sessionEvents } from "./events/stream.ts";
import { fleetEvents, type FleetEventsOptions } from "./events/fleet.ts";
import { type FollowItem, type FollowOptions, followSession } from "./session/follow.ts";
import { readMeta, sessionHasState, type SessionInfo, sessionInfo } from "./session/meta.ts";
import { type Screen, sessionScreen } from "./session/screen.ts";
import { KttyError, UsageError } from "./errors.ts";
import { loadSource } from "./start.ts";
import type { RemoteBackend } from "./remote/library.ts";
import {
  assertSessionName,
  configFromEnv,
  ensureStateDir,
  type KernelConfig,
  sessionPaths,
} from "./state.ts";
import type {
  BusyResult,
  CellResult,
  FinalResult,
  FiredResult,
  KttyEvent,
  StalledEvent,
} from "./types.ts";

/** What a {@link Kernel} is made with: its state dir and socket, programs to add, a host. */
export interface KernelOptions extends Partial<KernelConfig> {
  /** Profiles of programs ktty does not know (see {@link Kernel.register}). */
  programs?: readonly ProgramDefinition[];
  /**
   * A remote host, as `ssh` takes it: an alias of your SSH config, `user@host` or
   * `ssh://user@host:port`. The kernel's sessions then live there, driven over one shared SSH
   * connection by the ktty installed there (`k host setup <host>` first), and each method returns
   * what it returns locally (errors included, with the same codes). The state dir and tmux socket
   * are the remote login's (its `K_HOME` and `K_SOCKET`); `home` is where this side keeps the SSH
   * control socket; `socket` and `programs` cannot be given. `K_SSH_COMMAND` names the ssh command
   * line (`ssh -F ~/.ssh/agents`). Differences: a time limit counts in whole seconds (rounded up:
   * `k`'s `-t`); `handOff`, `logStart`, `attach`, `follow`, `info`, `hasState` and `register`
   * throw `remote_unsupported`; the transport's failures throw `ssh_failed`, `connection_lost`
   * (naming the cell, which runs on there), `remote_not_installed` or `version_mismatch`.
   * Default: this machine.
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const gpu = new Kernel({ host: "gpu" });
   * await gpu.create("train", { command: "bash" });
   * const result = await gpu.session("train").run("nvidia-smi -L");
   * if (result.status === "done") console.log(result.output);
   * ```
   */
  host?: string;
}

/**
 * One ktty kernel: a state directory and a tmux socket, here or on a remote host. Creating one
 * touches nothing.
 */
export class Kernel {
  /** Where state lives and which socket is driven (with a host: this side's SSH sockets). */
  readonly config: KernelConfig;
  /** The remote host the sessions live on, as given; undefined for this machine. */
  readonly host: string | undefined;
  #stateDir: Promise<void> | undefined;
  #remote: (() => Promise<RemoteBackend>) | undefined;

  /**
   * Makes a kernel handle; nothing is created until a session is used.
   *
   * @param config state dir and socket; each defaults to `K_HOME`/`K_SOCKET` or their defaults;
   *   `programs`: profiles of programs to add (see {@link Kernel.register}); `host`: a remote
   *   host (see {@link KernelOptions.host})
   * @throws {KttyError} `remote_unsupported` for `programs` with a host; {@link UsageError} for
   *   `socket` with a host
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const kernel = new Kernel({ home: "/tmp/k-demo", socket: "demo" });
   * ```
   */
  constructor(config: KernelOptions = {}) {
    const host = config.host;
    this.host = host;
    if (host !== undefined) {
      if (config.programs?.length) throw remoteUnsupported("programs", host, registerInstead);
      if (config.socket !== undefined) {
        throw new UsageError(
          `socket names a tmux socket on this machine; on ${host} it is the login's K_SOCKET ` +
            "(SetEnv in your SSH config can give it)",
        );
      }
      this.#remote = () => remoteOn(this.config, host);
    }
    for (const program of config.programs ?? []) registerProgram(program);
    const defaults = config.home && config.socket ? undefined : configFromEnv();
    this.config = {
      home: config.home ?? defaults?.home ?? "",
      socket: config.socket ?? defaults?.socket ?? "ktty",
    };
    assertSessionName(this.config.socket);
  }

  /**
   * Adds a program's profile: sessions whose command line runs it (or made with `program: kind`)
   * get it. Profiles are known to the whole process (a session's meta names its profile by
   * `kind`); a `k` that does not know the kind types that session's cells as written, and says
   * so in `k status`. Registering a kind again replaces it.
   *
   * @param program the profile
   * @throws {UsageError} a malformed kind, or a built-in one's; {@link KttyError}
   *   `remote_unsupported` on a remote host
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const kernel = new Kernel();
   * kernel.register({ kind: "calc", names: /^calc$/, prompt: "calc>" });
   * ```
   */
  register(program: ProgramDefinition): void {
    if (this.host !== undefined) throw remoteUnsupported("register", this.host, registerInstead);
    registerProgram(program);
  }

  /**
   * Starts a session and waits for its first prompt; does nothing if it is already alive.
   *
   * @param name the session's name
   * @param options program, prompt mode, working directory
   * @returns whether it was created, and its metadata
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const kernel = new Kernel();
   * await kernel.create("py", { command: "python3 -i" });
   * ```
   */
  async create(name: string, options: NewSessionOptions = {}): Promise<NewSessionResult> {
    if (this.#remote) return await (await this.#remote()).create(name, options);
    return await createSession(this.config, name, options);
  }

  /**
   * A handle on session `name` (validated; nothing is checked until it is used).
   *
   * @param name the session's name
   * @returns the handle
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const work = new Kernel().session("work");
   * ```
   */
  session(name: string): Session {
    assertSessionName(name);
    return new Session(this.config, name, () => this.#ready(), this.host);
  }

  /**
   * The session a verb should act on: `name`, else `K_SESSION`, else the only live session.
   *
   * @param name an explicit session name, if any
   * @returns the handle
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const session = await new Kernel().resolve();
   * ```
   */
  async resolve(name?: string): Promise<Session> {
    const resolved = this.#remote
      ? await (await this.#remote()).resolve(name)
      : await resolveSessionName(this.config, name);
    return new Session(this.config, resolved, () => this.#ready(), this.host);
  }

  /**
   * Everything on this socket, as `k ls` shows it: every session with state (live or stale),
   * joined with what tmux knows of it (pane pid, program, clients) and its last event, plus the
   * tmux sessions without ktty state (made by hand) as `unmanaged` entries. Every entry carries
   * `host`, `user` and `socket`, so listings from several machines can be merged.
   *
   * @returns one entry per session, sorted by name
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * for (const s of await new Kernel().fleet()) {
   *   if (s.state === "unmanaged") console.log(s.session, "made by hand");
   *   else console.log(s.session, s.state, s.last_event, s.cell_age_s);
   * }
   * ```
   */
  async fleet(): Promise<FleetEntry[]> {
    if (this.#remote) return await (await this.#remote()).fleet();
    await this.#ready();
    return await listFleet(this.config);
  }

  /**
   * Removes every stale session: its tmux session is gone but its state remains. `closed` is
   * appended to its event log first; a session that `k new` revives meanwhile is left alone.
   *
   * @returns the removed sessions as they were listed, each marked `pruned: true`
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const pruned = await new Kernel().prune();
   * console.log(pruned.map((s) => s.session));
   * ```
   */
  async prune(): Promise<SessionStatus[]> {
    if (this.#remote) return await (await this.#remote()).prune();
    await this.#ready();
    return await pruneStaleSessions(this.config);
  }

  /**
   * The events of several sessions, or of every session on the socket (those made later too,
   * from their first event), as one stream: each event names its session. One process, one file
   * watch, however many sessions; nothing is spawned while they are idle.
   *
   * @param options `sessions` (unset: all), `since` (a time: a seq belongs to one session),
   *   `once` (the first completion in any), `follow`, `stallAfterMs` (per session), `signal`
   * @returns the events, typed, as they come
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const kernel = new Kernel();
   * for await (const ev of kernel.events({ once: true, signal: AbortSignal.timeout(60_000) })) {
   *   console.log(ev.session, ev.status);
   * }
   * ```
   */
  async *events(options: FleetEventsOptions = {}): AsyncGenerator<
    KttyEvent | StalledEvent,
    void,
    undefined
  > {
    if (this.#remote) return yield* (await this.#remote()).fleetEvents(options);
    await this.#ready();
    yield* fleetEvents(this.config, options);
  }

  /** Checks the state directory once per kernel; a failed check is tried again next time. */
  #ready(): Promise<void> {
    this.#stateDir ??= ensureStateDir(this.config).catch((e) => {
      this.#stateDir = undefined;
      throw e;
    });
    return this.#stateDir;
  }
}

/**
 * One session: run cells in it, poll them, interrupt, kill. On a remote host (the kernel's
 * `host`) each method runs there; those that cannot throw `remote_unsupported`.
 */
export class Session {
  /** The kernel's configuration. */
  readonly config: KernelConfig;
  /** The session's name. */
  readonly name: string;
  /** The remote host the session lives on, as given; undefined for this machine. */
  readonly host: string | undefined;
  #ready: () => Promise<void>;
  #remote: (() => Promise<RemoteBackend>) | undefined;

  /**
   * Makes a handle; use {@link Kernel.session} to get one.
   *
   * @param config the kernel's configuration
   * @param name a validated session name
   * @param ready checks the state directory (the kernel's, checked once); default: every call
   * @param host the remote host the session lives on, if any
   */
  constructor(config: KernelConfig, name: string, ready?: () => Promise<void>, host?: string) {
    this.config = config;
    this.name = name;
    this.host = host;
    this.#ready = ready ?? (() => ensureStateDir(config));
    if (host !== undefined) this.#remote = () => remoteOn(config, host);
  }

  /** Throws `remote_unsupported` on a remote host: `method` reads this machine only. */
  #local(method: string, instead: string): void {
    if (this.host !== undefined) throw remoteUnsupported(method, this.host, instead);
  }

  /** Ready, and not being created: what typing into the pane waits for. */
  async #settled(): Promise<void> {
    await this.#ready();
    await awaitCreation(this.config, this.name);
  }

  /**
   * Runs code and waits for the result (default limit 30 s). A timeout ends the wait, not the
   * cell: the result is `timeout` with the output so far, and a background watcher takes the cell
   * over (the lock is kept) and records its end for {@link Session.poll} and {@link Session.events}.
   *
   * @param code the code to type
   * @param options the time limit and the output budget
   * @returns the final result, or a busy result when another cell is active (nothing typed)
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const result = await new Kernel().session("work").run("echo hi");
   * if (result.status === "done") console.log(result.output);
   * ```
   */
  async run(code: string, options: CellOptions = {}): Promise<FinalResult | BusyResult> {
    if (this.#remote) return await (await this.#remote()).run(this.name, code, options);
    await this.#settled();
    return await runCell(this.config, this.name, code, options);
  }

  /**
   * When a {@link Session.run} in this process must stop early (its process is being killed):
   * hands the cell it watches to a background watcher, which records the result as for a fired
   * cell. Nothing happens when this process watches no cell of the session.
   *
   * @returns the handed-over cell's id, if any
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const work = new Kernel().session("work");
   * Deno.addSignalListener("SIGTERM", async () => {
   *   await work.handOff();
   *   Deno.exit(143);
   * });
   * ```
   */
  async handOff(): Promise<string | undefined> {
    this.#local("handOff", "the remote k run hands its cell over itself when the connection ends");
    await this.#ready();
    return await handOffRun(this.config, this.name);
  }

  /**
   * Types code and returns at once; a background watcher records the result (default limit 300 s).
   *
   * @param code the code to type
   * @param options the time limit and the output budget
   * @returns the new cell's id, or a busy result (nothing typed)
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const fired = await new Kernel().session("work").fire("make -j2");
   * ```
   */
  async fire(code: string, options: CellOptions = {}): Promise<FiredResult | BusyResult> {
    if (this.#remote) return await (await this.#remote()).fire(this.name, code, options);
    await this.#settled();
    return await fireCell(this.config, this.name, code, options);
  }

  /**
   * The state of a cell: the given one, else the active one, else the most recent.
   *
   * @param cellId a cell id (12 hex chars), if any
   * @param options the output budget for a running cell's output so far
   * @returns running (with output so far), done, timeout or error
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const state = await new Kernel().session("work").poll();
   * ```
   */
  async poll(cellId?: string, options: PollOptions = {}): Promise<CellResult> {
    if (this.#remote) return await (await this.#remote()).poll(this.name, cellId, options);
    await this.#ready();
    return await pollCell(this.config, this.name, cellId, options);
  }

  /**
   * Types text (and Enter), or sends tmux keys, into what holds the terminal: the program the
   * active cell runs, or a program left in the foreground (a pager, a nested REPL). Refuses,
   * typing nothing, when the session's program is at its prompt with no cell active (`run`'s
   * job), and says so when the cell had ended before the text was typed.
   *
   * @param text what to type
   * @param options no Enter, or key names instead of text
   * @returns the active cell's id (null when none) and what held the terminal
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * await new Kernel().session("work").send("y");
   * ```
   */
  async send(text: string, options: SendOptions = {}): Promise<SendResult> {
    if (this.#remote) return await (await this.#remote()).send(this.name, text, options);
    await this.#settled();
    return await sendToCell(this.config, this.name, text, options);
  }

  /**
   * Sends Ctrl-C and ends the active cell as `interrupted`, releasing the lock. If the program
   * is not back at its prompt after a short grace (a pager, a program deaf to Ctrl-C), what
   * holds the terminal under it is sent SIGINT, SIGTERM, then SIGKILL, each after a short grace:
   * never the session's program itself, never a process outside its pane. The session and its
   * memory stay.
   *
   * @returns the interrupted cell (if one was active), what the signals ended, and what still
   * holds the terminal if even SIGKILL did not free it
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const { cell, ended } = await new Kernel().session("work").interrupt();
   * for (const e of ended) console.log(`${e.command} ended by ${e.signal}`);
   * if (cell) console.log("interrupted", cell.cell_id);
   * ```
   */
  async interrupt(): Promise<InterruptResult> {
    if (this.#remote) return await (await this.#remote()).interrupt(this.name);
    await this.#settled();
    return await interruptCell(this.config, this.name);
  }

  /**
   * Ends the session: watcher, tmux session, the whole process tree of its program (what
   * outlives the terminal's hangup gets SIGTERM, then SIGKILL) and state; with `keep`, all but
   * its history (metadata, event log, results), which `history`, `poll` and `events` still read
   * until `k ls --prune`, and which a new session of the same name continues.
   *
   * @param options `keep`: keep the history
   * @returns what the signals ended, and what even SIGKILL left alive
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const { survivors } = await new Kernel().session("work").kill();
   * for (const p of survivors) console.log(`${p.command} (pid ${p.pid}) still runs`);
   * ```
   */
  async kill(options: KillOptions = {}): Promise<KillResult> {
    if (this.#remote) return await (await this.#remote()).kill(this.name, options);
    await this.#ready();
    return await killSessionAndState(this.config, this.name, options);
  }

  /**
   * Liveness, cell state, pids and idle time.
   *
   * @returns the session's status
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const { state } = await new Kernel().session("work").status();
   * ```
   */
  async status(): Promise<SessionStatus> {
    if (this.#remote) return await (await this.#remote()).status(this.name);
    await this.#ready();
    return await sessionStatus(this.config, this.name);
  }

  /**
   * Appends a `notify` event to the session's event log.
   *
   * @param message the message
   * @param from who sends it
   * @returns the appended event
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * await new Kernel().session("work").notify("tests are green", "ci");
   * ```
   */
  async notify(message: string, from = "k"): Promise<KttyEvent> {
    if (this.#remote) return await (await this.#remote()).notify(this.name, message, from);
    await this.#ready();
    return await notifySession(this.config, this.name, message, from);
  }

  /**
   * The session's events as they are appended to its log: replayed from `options.from`, then
   * followed (file watch wake-up, short poll fallback). The stream ends after `closed` (which
   * this follower appends itself if the session died and nobody had), after a followed cell's
   * end (`done`, `interrupted`, `error`; a `timeout` is yielded and the stream goes on: the cell
   * still runs), after the first completion with `once`, at the end of the log with
   * `follow: false`, or when `options.signal` aborts. Text the program prints never becomes an
   * event. Iterating throws `NoSessionError` when the session has no state.
   *
   * @param options where to start, which cell, one completion only, snapshot, stall notices,
   *   cancellation
   * @returns the events, typed, oldest first
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const work = new Kernel().session("work");
   * const fired = await work.fire("make -j2");
   * if (fired.status === "fired") {
   *   for await (const event of work.events({ cellId: fired.cell_id, once: true })) {
   *     console.log(event.status); // timeout (the limit passed), then done, interrupted, error
   *     // or closed
   *   }
   * }
   * ```
   */
  async *events(options: EventStreamOptions = {}): AsyncGenerator<
    KttyEvent | StalledEvent,
    void,
    undefined
  > {
    if (this.#remote) return yield* (await this.#remote()).events(this.name, options);
    await this.#ready();
    yield* sessionEvents(this.config, this.name, options);
  }

  /**
   * The last `n` events, with each cell's first code line.
   *
   * @param n how many events
   * @returns oldest first
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const recent = await new Kernel().session("work").history(10);
   * ```
   */
  async history(n = 20): Promise<HistoryEntry[]> {
    if (this.#remote) return await (await this.#remote()).history(this.name, n);
    await this.#ready();
    return await sessionHistory(this.config, this.name, n);
  }

  /**
   * Where the session's event log starts once its front was trimmed (`K_EVENTS_MAX`): the first
   * kept event's seq, time and offset; undefined while the log is whole (it starts at seq 1).
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const start = new Kernel().session("work").logStart();
   * if (start) console.log(`events before seq ${start.seq} were trimmed`);
   * ```
   */
  logStart(): LogStart | undefined {
    this.#local("logStart", "history() shows the log's first events");
    return readLogStart(sessionPaths(this.config, this.name));
  }

  /**
   * Shows the live session in this process's terminal (stdin, stdout and stderr are handed to
   * tmux) until the person detaches with `C-b d`. It goes through a throwaway tmux session grouped
   * with this one, removed on detach, so the agent's pane is never resized. With `readOnly`
   * nothing typed reaches the session; without it this is the interactive takeover, announced
   * in the event log by a `notify` event at attach and at detach. Throws when the session is
   * not live or stdin is not a terminal.
   *
   * @param options read-only or interactive, and who attaches
   * @returns tmux's exit status: 0 after a detach
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const status = await new Kernel().session("work").attach({ readOnly: true });
   * ```
   */
  async attach(options: AttachOptions = {}): Promise<number> {
    this.#local("attach", `k --host ${this.host} attach ${this.name} in a terminal`);
    await this.#ready();
    return await attachSession(this.config, this.name, options);
  }

  /**
   * Whether the session has state on this socket (live or stale): a cheap check that creates
   * and checks nothing, for telling a session name from another kind of word.
   *
   * @returns true when its state directory exists
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * if (!(await new Kernel().session("work").hasState())) console.log("no such session");
   * ```
   */
  async hasState(): Promise<boolean> {
    this.#local("hasState", "status() throws no_session for a session without state");
    return await sessionHasState(this.config, this.name);
  }

  /**
   * What `create` made of the session: its program's command line, the program ktty recognised
   * and its frame mode. Reads one small file; creates and checks nothing. Throws
   * `NoSessionError` when the session has no state.
   *
   * @returns the session's program and mode
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const { command, mode } = await new Kernel().session("work").info();
   * console.log(command, mode);
   * ```
   */
  async info(): Promise<SessionInfo> {
    this.#local("info", "status() holds its command, program and mode");
    return sessionInfo(await readMeta(sessionPaths(this.config, this.name), this.name));
  }

  /**
   * Follows the session as a person would read it, from when iteration starts: each finished
   * line of its pane's output as clean text (escapes removed, carriage returns applied), and
   * its events, in the order they happened (the output there is, then the events that came).
   * Ends after the `closed` event (appended by this follower if the session died unnoticed)
   * or when `options.signal` aborts. Throws `NoSessionError` when the session has no state.
   *
   * @param options cancellation
   * @returns the lines and events, each tagged by `kind`
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * for await (const item of new Kernel().session("work").follow()) {
   *   if (item.kind === "line") console.log(item.line);
   *   else console.log(`[${item.event.status}]`);
   * }
   * ```
   */
  async *follow(options: FollowOptions = {}): AsyncGenerator<FollowItem, void, undefined> {
    this.#local("follow", `events(), or k --host ${this.host} watch ${this.name}`);
    await this.#ready();
    yield* followSession(this.config, this.name, options);
  }

  /**
   * What a person would see on the session's terminal now: the visible rows as text (trailing
   * blanks trimmed, empty rows at the bottom dropped, long blank runs and rows shortened with a
   * count), the cursor, whether a full-screen program holds the alternate screen, and the
   * foreground program. Takes no lock and types nothing: works on a busy session too.
   *
   * @returns the screen
   *
   * @example
   * ```ts
   * import { Kernel } from "./mod.ts";
   * const screen = await new Kernel().session("work").screen();
   * if (screen.alternate_screen) console.log(screen.foreground.command, "holds the screen");
   * console.log(screen.rows.join("\n"));
   * ```
   */
  async screen(): Promise<Screen> {
    if (this.#remote) return await (await this.#remote()).screen(this.name);
    await this.#ready();
    return await sessionScreen(this.config, this.name);
  }
}

/** What to do instead of registering a program for a remote host. */
const registerInstead = "programs are this process's registry; give the session's program " +
  "with create's program or prompt options";

/** The remote side of a kernel on `host`: loaded on first use, so a local kernel never loads it. */
async function remoteOn(config: KernelConfig, host: string): Promise<RemoteBackend> {
  type Library = typeof import("./remote/library.ts");
  const { RemoteBackend } = await loadSource<Library>("./remote/library.ts", "a remote kernel");
  return new RemoteBackend(config, host);
}

/** The error of a method that reads or acts on this machine only, called on a remote host. */
function remoteUnsupported(method: string, host: string, instead: string): KttyError {
  return new KttyError(
    "remote_unsupported",
    `${method} works on this machine only, not on ${host}: ${instead}`,
  );
}

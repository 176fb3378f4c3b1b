/**
 * The library on a remote host: what `new Kernel({ host })` and its sessions delegate to. Each
 * method runs the matching `k` verb with `-j` (or `km`, for the event streams) there, through
 * {@link callRemote} and the shared SSH connection, and reads its JSON back into the library's
 * own types: a JSON error (`{"status":"error","output":…,"error_code":…}`) becomes a thrown
 * {@link KttyError} with that code, as the local method would have thrown it.
 *
 * Options are checked here first (the local method's checks and messages, in the library's
 * terms), then given as `k`'s flags; code and text travel in the request on the channel's
 * standard input, never in a command line. Loaded by src/kernel.ts with `import()` only when a
 * kernel has a host, so a local kernel never reads this module.
 * @module
 */

import { cellLimits, checkMaxOutput, FIRE_TIMEOUT_MS, RUN_TIMEOUT_MS } from "../cell/options.ts";
import type { CellOptions, PollOptions } from "../cell/options.ts";
import type { InterruptResult } from "../cell/interrupt.ts";
import type { SendOptions, SendResult } from "../cell/send.ts";
import { isErrorCode, KttyError, NoSessionError, UsageError } from "../errors.ts";
import type { EventStreamOptions } from "../events/stream.ts";
import type { FleetEventsOptions } from "../events/fleet.ts";
import type { NewSessionOptions, NewSessionResult } from "../session/create.ts";
import type { HistoryEntry } from "../session/history.ts";
import type { KillOptions, KillResult } from "../session/remove.ts";
import type { Screen } from "../session/screen.ts";
import type { FleetEntry, SessionStatus } from "../session/status.ts";
import { assertCellId, assertSessionName, type KernelConfig, newCellId } from "../state.ts";
import {
  type BusyResult,
  type CellResult,
  decodeEvent,
  decodeMonitorEvent,
  type FinalResult,
  type FiredResult,
  isRecord,
  type KttyEvent,
  type StalledEvent,
} from "../types.ts";
import {
  callRemoteLines,
  callRemoteText,
  type RemoteCallOptions,
  type RemoteSinks,
  type RemoteText,
} from "./call.ts";
import { assertTarget } from "./ssh.ts";

/** How long a closed event stream waits for its remote km to end before it stops waiting. */
const STREAM_STOP_GRACE_MS = 5_000;

/** How one remote call is made: what `-` reads, the cell it starts, cancellation. */
interface CallOptions extends RemoteCallOptions, Pick<RemoteSinks, "cellStarted"> {
  /** What `-` reads there (code). */
  stdin?: string;
}

/** `k new`'s flag for each of {@link NewSessionOptions} (the compiler asks for every option). */
const NEW_FLAGS: {
  [K in keyof Required<NewSessionOptions>]: (value: NonNullable<NewSessionOptions[K]>) => string[];
} = {
  command: () => [], // the words after the name
  prompt: (prompt) =>
    prompt instanceof RegExp ? [`--prompt-re=${prompt.source}`] : [`--prompt=${prompt}`],
  program: (program) => [`--program=${program}`],
  cwd: (dir) => [`--cwd=${dir}`],
  env: (env) => Object.entries(env).map(([name, value]) => `--env=${name}=${value}`),
  agentDefaults: (on) => on ? [] : ["--no-agent-defaults"],
};

/** `k new`'s flags for `options`; a {@link UsageError} for an option it has no flag for. */
function newFlags(options: NewSessionOptions): string[] {
  const flags: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(NEW_FLAGS, key)) {
      throw new UsageError(`create option '${key}' has no k new flag, so no remote meaning`);
    }
    const flagsOf = NEW_FLAGS[key as keyof NewSessionOptions] as (value: unknown) => string[];
    flags.push(...flagsOf(value));
  }
  return flags;
}

/** `-t` (whole seconds, rounded up: `k`'s unit) and `-o` for the options given. */
function cellFlags(options: CellOptions): string[] {
  const flags: string[] = [];
  if (options.timeoutMs !== undefined) {
    flags.push("-t", String(Math.ceil(options.timeoutMs / 1000)));
  }
  if (options.maxOutput !== undefined) flags.push("-o", String(options.maxOutput));
  return flags;
}

/**
 * Whether `value` is what `k` prints for an error it threw (`{"status":"error","output":…}`), as
 * opposed to a result: a cell's error result names its cell, a busy one the active cell, an
 * `error` event its seq.
 */
function isThrownError(value: unknown): value is Record<string, unknown> {
  return isRecord(value) && value.status === "error" && !("cell_id" in value) &&
    !("active_cell_id" in value) && !("seq" in value);
}

/** The error a remote `k` or `km` reported, as the local method throws it. */
function errorFrom(
  target: string,
  code: unknown,
  message: string,
  session: string | undefined,
): KttyError {
  if (!isErrorCode(code)) return new KttyError("remote_failed", `${target}: ${message}`);
  if (code === "no_session" && session !== undefined) return new NoSessionError(session);
  if (code === "invalid_argument") return new UsageError(message);
  return new KttyError(code, message);
}

/**
 * The remote side of a kernel on `target`: one method per library method, each taking the
 * session's name where the library's {@link Session} holds it.
 */
export class RemoteBackend {
  readonly #config: KernelConfig;
  readonly #target: string;

  /**
   * @param config this side's configuration (its state dir holds the SSH control socket)
   * @param target the host, as `ssh` takes it
   */
  constructor(config: KernelConfig, target: string) {
    assertTarget(target);
    this.#config = config;
    this.#target = target;
  }

  /** `kernel.create`: `k new -j`. */
  async create(name: string, options: NewSessionOptions): Promise<NewSessionResult> {
    assertSessionName(name);
    const command = options.command ? [options.command] : [];
    return await this.#ask(name, ["new", "-j", ...newFlags(options)], command) as NewSessionResult;
  }

  /** `session.run`: `k run -j --id <id>`, the code on standard input. */
  async run(name: string, code: string, options: CellOptions): Promise<FinalResult | BusyResult> {
    cellLimits(code, options, RUN_TIMEOUT_MS);
    const cellId = this.#cellId(options);
    const stop = new AbortController();
    let failed: { error: unknown } | undefined;
    const flags = ["run", "-j", "--id", cellId, ...cellFlags(options)];
    const result = await this.#ask(name, flags, ["-"], {
      stdin: code,
      cellId,
      signal: stop.signal,
      cellStarted: (id) => {
        try {
          options.onStarted?.(id);
        } catch (error) {
          // As locally: the callback failed, the cell runs on; closing the channel makes the
          // remote `k run` hand it to a watcher there.
          failed = { error };
          stop.abort();
        }
      },
    }) as FinalResult | BusyResult;
    if (failed) throw failed.error;
    return result;
  }

  /** `session.fire`: `k fire --id <id>`, the code on standard input. */
  async fire(name: string, code: string, options: CellOptions): Promise<FiredResult | BusyResult> {
    cellLimits(code, options, FIRE_TIMEOUT_MS);
    const cellId = this.#cellId(options);
    const flags = ["fire", "--id", cellId, ...cellFlags(options)];
    const result = await this.#ask(name, flags, ["-"], { stdin: code, cellId }) as
      | FiredResult
      | BusyResult;
    if (result.status === "fired") options.onStarted?.(result.cell_id);
    return result;
  }

  /** `session.poll`: `k poll`. */
  async poll(name: string, cellId: string | undefined, options: PollOptions): Promise<CellResult> {
    if (cellId !== undefined) assertCellId(cellId);
    const flags = options.maxOutput === undefined
      ? []
      : ["-o", String(checkMaxOutput(options.maxOutput))];
    const cell = cellId === undefined ? [] : [cellId];
    return await this.#ask(name, ["poll", ...flags], cell) as CellResult;
  }

  /** `session.send`: `k send -j`. */
  async send(name: string, text: string, options: SendOptions): Promise<SendResult> {
    const flags = [
      ...(options.enter === false ? ["--no-enter"] : []),
      ...(options.keys ? ["--keys", options.keys.join(",")] : []),
    ];
    const words = options.keys ? [] : [text];
    return await this.#ask(name, ["send", "-j", ...flags], words) as SendResult;
  }

  /** `session.interrupt`: `k int -j`. */
  async interrupt(name: string): Promise<InterruptResult> {
    return await this.#ask(name, ["int", "-j"]) as InterruptResult;
  }

  /** `session.kill`: `k kill -j`. */
  async kill(name: string, options: KillOptions): Promise<KillResult> {
    const flags = options.keep ? ["--keep"] : [];
    const { ended, survivors } = await this.#ask(name, ["kill", "-j", ...flags]) as KillResult;
    return { ended, survivors };
  }

  /** `session.status`: `k status -j`. */
  async status(name: string): Promise<SessionStatus> {
    return await this.#ask(name, ["status", "-j"]) as SessionStatus;
  }

  /** `session.screen`: `k screen -j`. */
  async screen(name: string): Promise<Screen> {
    return await this.#ask(name, ["screen", "-j"]) as Screen;
  }

  /** `session.notify`: `k notify -j`. */
  async notify(name: string, message: string, from: string): Promise<KttyEvent> {
    const event = await this.#ask(name, ["notify", "-j", "--from", from], [message]);
    return decodeEvent(JSON.stringify(event));
  }

  /** `session.history`: `k history -j`, one event per line, each cell's code beside it. */
  async history(name: string, n: number): Promise<HistoryEntry[]> {
    if (!Number.isInteger(n) || n <= 0) throw new UsageError("n must be a positive integer");
    const printed = await this.#call(["history", "-j", "-n", String(n), "--", name], {
      session: name,
    });
    if (printed.code !== 0) this.#value(printed, "history", name); // throws what it printed
    const lines = printed.stdout.split("\n").filter((line) => line !== "");
    return lines.map((line) => {
      const { code, ...event } = decodeEvent(line) as KttyEvent & { code?: unknown };
      const decoded = event as KttyEvent;
      return typeof code === "string" ? { event: decoded, code } : { event: decoded };
    });
  }

  /** `kernel.fleet`: `k ls -j`. */
  async fleet(): Promise<FleetEntry[]> {
    return await this.#ask(undefined, ["ls", "-j"]) as FleetEntry[];
  }

  /** `kernel.prune`: `k ls -j --prune`, less the sessions it listed but did not remove. */
  async prune(): Promise<SessionStatus[]> {
    const listed = await this.#ask(undefined, ["ls", "-j", "--prune"]) as FleetEntry[];
    return listed.filter((entry): entry is SessionStatus => "pruned" in entry && !!entry.pruned);
  }

  /** `kernel.resolve`: `name`, else the only live session there (`k status -j`). */
  async resolve(name: string | undefined): Promise<string> {
    if (name !== undefined) {
      assertSessionName(name);
      return name;
    }
    return (await this.#ask(undefined, ["status", "-j"]) as SessionStatus).session;
  }

  /** `session.events`: `km <session> [cell]` with the options as km's flags. */
  events(
    name: string,
    options: EventStreamOptions,
  ): AsyncGenerator<KttyEvent | StalledEvent, void, undefined> {
    const { from, cellId, once, follow, stallAfterMs, signal } = options;
    if (cellId !== undefined) assertCellId(cellId);
    const argv = [name, ...(cellId === undefined ? [] : [cellId])];
    if (from !== undefined) {
      argv.push("--from", typeof from === "number" ? String(from) : from.toISOString());
    }
    return this.#stream([...argv, ...streamFlags({ once, follow, stallAfterMs })], signal, name);
  }

  /** `kernel.events`: `km --all` or `km -s a,b` with the options as km's flags. */
  fleetEvents(
    options: FleetEventsOptions,
  ): AsyncGenerator<KttyEvent | StalledEvent, void, undefined> {
    const { sessions, since, once, follow, stallAfterMs, signal } = options;
    sessions?.forEach(assertSessionName);
    const argv = sessions === undefined ? ["--all"] : ["-s", sessions.join(",")];
    if (since !== undefined) argv.push("--from", since.toISOString());
    return this.#stream([...argv, ...streamFlags({ once, follow, stallAfterMs })], signal);
  }

  /** The cell id a run or fire gives the remote: the caller's, else a fresh one. */
  #cellId(options: CellOptions): string {
    if (options.cellId === undefined) return newCellId();
    assertCellId(options.cellId);
    return options.cellId;
  }

  /** Runs `k argv` there, to its end. */
  async #call(argv: string[], options: CallOptions = {}): Promise<RemoteText> {
    const { stdin, ...callOptions } = options;
    const request = { command: "k" as const, argv, ...(stdin === undefined ? {} : { stdin }) };
    return await callRemoteText(this.#config, this.#target, request, callOptions);
  }

  /**
   * The one JSON value `k <flags…> -- <session> <words…>` printed there (no session: `k
   * <flags…>`); what it printed for an error is thrown.
   */
  async #ask(
    session: string | undefined,
    flags: string[],
    words: string[] = [],
    options: Omit<CallOptions, "session"> = {},
  ): Promise<unknown> {
    const argv = session === undefined ? flags : [...flags, "--", session, ...words];
    const printed = await this.#call(argv, { ...options, session });
    return this.#value(printed, flags[0] ?? "", session);
  }

  /** The JSON value in `printed`; its error thrown, and output that is not JSON as one. */
  #value(printed: RemoteText, verb: string, session: string | undefined): unknown {
    let value: unknown;
    try {
      value = JSON.parse(printed.stdout);
    } catch {
      const said = printed.stderr.filter((line) => line.trim() !== "").at(-1) ??
        printed.stdout.trim().slice(0, 200);
      throw new KttyError(
        "remote_failed",
        `${this.#target}: k ${verb} exited ${printed.code} without a JSON answer: ${said}`,
      );
    }
    if (isThrownError(value)) {
      throw errorFrom(this.#target, value.error_code, String(value.output ?? ""), session);
    }
    return value;
  }

  /** `km argv` there, its lines decoded as they come, until it ends or `signal` aborts. */
  async *#stream(
    argv: string[],
    signal: AbortSignal | undefined,
    session?: string,
  ): AsyncGenerator<KttyEvent | StalledEvent, void, undefined> {
    const stop = new AbortController();
    const closed = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    const stderr: string[] = [];
    const { lines, outcome: call } = callRemoteLines(
      this.#config,
      this.#target,
      { command: "km", argv },
      (line) => void stderr.push(line),
      { session, signal: closed },
    );
    try {
      for await (const line of lines) {
        if (line === "") continue;
        const event = decodeMonitorEvent(line);
        if (event.status === "error" && !("seq" in event)) {
          throw errorFrom(this.#target, event.error_code, event.message, session);
        }
        yield event;
      }
      const { code } = await call;
      if (code !== 0 && !signal?.aborted) {
        const said = stderr.filter((line) => line.trim() !== "").at(-1) ?? "nothing said";
        throw new KttyError("remote_failed", `${this.#target}: km exited ${code}: ${said}`);
      }
    } catch (e) {
      if (!signal?.aborted) throw e; // aborted by the caller: the stream just ends
    } finally {
      stop.abort();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        call.catch(() => undefined),
        new Promise((resolve) => timer = setTimeout(resolve, STREAM_STOP_GRACE_MS)),
      ]);
      clearTimeout(timer);
    }
  }
}

/** km's flags for a stream's common options. */
function streamFlags(
  options: Pick<EventStreamOptions, "once" | "follow" | "stallAfterMs">,
): string[] {
  const flags: string[] = [];
  if (options.once) flags.push("-1");
  if (options.follow === false) flags.push("--snapshot");
  if (options.stallAfterMs !== undefined) {
    if (!(options.stallAfterMs > 0)) {
      throw new KttyError("invalid_argument", "the stall time must be positive");
    }
    flags.push("--stall-after", `${options.stallAfterMs}ms`);
  }
  return flags;
}

/**
 * `km`: the ktty monitor. Follows a session's event log and prints one JSON event per line,
 * flushed at once, so an agent runtime can be woken when a cell finishes instead of polling.
 * A thin shell over `Session.events`: parse arguments, print events, map errors to one line.
 *
 *   km <session> [cell_id] [-1] [--from <seq|ISO time>] [--snapshot] [--stall-after <duration>]
 *      [--timeout <duration>]
 *   km --all | -s <session>[,<session>…]… [-1] [--from <ISO time>] [--snapshot] [--stall-after …]
 *
 * Exit status: 0 when the stream ended as asked (`closed`, the first completion with `-1`, the
 * end of a snapshot, SIGINT/SIGTERM); 1 after printing an `error` line; 2 when `--timeout` ran
 * out first (nothing more is printed).
 * @module
 */

import {
  encodeMonitorEvent,
  type EventStreamOptions,
  type FleetEventsOptions,
  Kernel,
  KttyError,
  type MonitorEvent,
  NoSessionError,
  ownKttyError,
  type Session,
  UsageError,
  VERSION,
} from "../mod.ts";
import { loadSource, takeHosts } from "./start.ts";

const USAGE = `km — follow a ktty session's events as JSON lines (ktty ${VERSION})

  km <session> [cell_id] [-1] [--from <seq|ISO time>] [--snapshot] [--stall-after <duration>]
     [--timeout <duration>]
  km --all | -s <session>[,<session>…]… [-1] [--from <ISO time>] [--snapshot] [--stall-after …]

  (no flags)          new events from now on, until the session closes
  cell_id             only that cell's events (from its start), until it ends (done,
                      interrupted, error; a timeout is printed and the cell goes on)
  -1                  print the first completion (done, interrupted, error; of cell_id, else of
                      the latest cell) and exit; a completion already in the log is printed at
                      once; a timeout on the way is printed and km waits on
  --from <seq|time>   replay from that seq number or ISO-8601 time, then follow
  --snapshot          print what the log holds and exit
  --stall-after <d>   while a cell runs with no output for d (90s, 8m, 1h; a bare number is
                      seconds), print a 'stalled' event (again after each further quiet d)
  --timeout <d>       stop waiting after d: exit 2, printing nothing more
  --all               every session on the socket, those made later too, as one stream (every
                      event names its session); until stopped
  -s, --session <n>   these sessions (repeat, or a comma list) as one stream, until all closed;
                      with --all or -s: -1 is the first completion in any of them (of a cell
                      running at the start, or from now on), --from takes a time only
  --host <target>     on that host over SSH (repeat for one stream from several; each event
                      gets target); default $K_HOST. A lost connection prints an error event
                      and exits 1: --from <the last event's ts> resumes

Exit 0 when done as asked (closed, -1 completion, snapshot, SIGINT/SIGTERM); 1 after an error line;
2 when --timeout ran out first.
Environment: K_HOME (state dir), K_SOCKET (tmux socket, default ktty), K_SESSION, K_HOST,
K_SSH_COMMAND.`;

/** How long a signal waits for the stream to end before km exits anyway. */
const SIGNAL_EXIT_GRACE_MS = 1000;

/** km's exit status when `--timeout` ran out before the stream ended. */
const EXIT_WAIT_TIMED_OUT = 2;

/** What the command line asks for. */
interface MonitorArgs {
  session?: string;
  options: EventStreamOptions;
  /** `--all` (an empty list) or `-s`: the sessions of a merged stream. */
  fleet?: string[];
  /** `--timeout`: how long to wait at most, in ms. */
  timeoutMs?: number;
  help: boolean;
}

function parseFrom(value: string): number | Date {
  if (/^[0-9]+$/.test(value)) return Number(value);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new UsageError("--from must be a seq number or an ISO-8601 time");
  return new Date(ms);
}

/** Units of a duration, in seconds. */
const DURATION_UNITS_S: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** A duration in seconds: `90`, `90s`, `1.5m`, `8m`, `1h`, `500ms`. */
function parseSeconds(flag: string, value: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(value);
  const seconds = match ? Number(match[1]) * (DURATION_UNITS_S[match[2] ?? "s"] ?? NaN) : NaN;
  if (!(seconds > 0)) {
    throw new UsageError(
      `${flag} must be a positive number of seconds or a duration (90s, 8m, 1h, 500ms)`,
    );
  }
  return seconds;
}

/**
 * Parses km's arguments; throws {@link UsageError} on anything it does not know. Positionals are
 * collected into `positionals` as they are met, so an error line can still name the session.
 */
function parseArgs(argv: string[], positionals: string[]): MonitorArgs {
  const options: EventStreamOptions = {};
  let timeoutMs: number | undefined;
  let help = false;
  let fleet: string[] | undefined;
  let everySession = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (
      inline !== undefined && !["--from", "--stall-after", "--timeout", "--session"].includes(name)
    ) {
      throw new UsageError(`${name} takes no value`);
    }
    switch (name) {
      case "-1":
      case "--once":
        options.once = true;
        break;
      case "--snapshot":
        options.follow = false;
        break;
      case "--from":
        options.from = parseFrom(value());
        break;
      case "--stall-after":
        options.stallAfterMs = parseSeconds(name, value()) * 1000;
        break;
      case "--timeout":
        timeoutMs = parseSeconds(name, value()) * 1000;
        break;
      case "--all":
        everySession = true;
        break;
      case "-s":
      case "--session":
        fleet = [...fleet ?? [], ...value().split(",").filter((n) => n !== "")];
        break;
      case "-h":
      case "--help":
        help = true;
        break;
      default:
        if (arg.startsWith("-")) throw new UsageError(`unknown flag '${arg}'; see km --help`);
        positionals.push(arg);
    }
  }
  if (everySession || fleet !== undefined) {
    if (everySession && fleet !== undefined) throw new UsageError("--all or -s, not both");
    if (positionals.length > 0) {
      throw new UsageError(
        `unexpected argument '${positionals[0]}': with --all or -s, name sessions with -s`,
      );
    }
    if (typeof options.from === "number") {
      throw new UsageError(
        "with --all or -s, --from takes an ISO time: a seq belongs to one session",
      );
    }
    return { options, fleet: everySession ? [] : fleet, timeoutMs, help };
  }
  if (positionals.length > 2) {
    throw new UsageError(`unexpected argument '${positionals[2]}'; see km --help`);
  }
  const [session, cellId] = positionals;
  if (cellId !== undefined) options.cellId = cellId;
  return { session, options, timeoutMs, help };
}

/** Whether the stream ends after `event`: `closed`, or a cell's end when km waits on a cell. */
function endsStream(event: MonitorEvent, options: EventStreamOptions): boolean {
  if (event.status === "closed") return true;
  if (!options.once && options.cellId === undefined) return false;
  return event.status === "done" || event.status === "interrupted" ||
    (event.status === "error" && "cell_id" in event && event.cell_id !== undefined);
}

/** Writes one line to stdout, all of it, before the next event is read. */
async function printLine(event: MonitorEvent): Promise<void> {
  const bytes = new TextEncoder().encode(encodeMonitorEvent(event) + "\n");
  let written = 0;
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
}

function errorLine(session: string, thrown: unknown): MonitorEvent {
  const e = ownKttyError(thrown); // also one from a module loaded beside the bundle
  let message: string;
  if (e instanceof NoSessionError) message = `no session '${e.session}'`;
  else if (e instanceof KttyError) message = e.message;
  else message = `internal error: ${e instanceof Error ? e.message : String(e)}`;
  const line: MonitorEvent = {
    schema_version: 1,
    ts: new Date().toISOString(),
    session,
    status: "error",
    message,
  };
  return e instanceof KttyError ? { ...line, error_code: e.code } : line;
}

/** km --all / -s: the merged stream of several sessions; returns the exit status. */
async function followFleet(kernel: Kernel, args: MonitorArgs, stop: AbortSignal): Promise<number> {
  const waited = args.timeoutMs === undefined ? undefined : AbortSignal.timeout(args.timeoutMs);
  const signal = waited ? AbortSignal.any([stop, waited]) : stop;
  const { from, once, follow, stallAfterMs } = args.options;
  const options: FleetEventsOptions = { once, follow, stallAfterMs, signal };
  if (args.fleet !== undefined && args.fleet.length > 0) options.sessions = args.fleet;
  if (from instanceof Date) options.since = from;
  let last: MonitorEvent | undefined;
  for await (const event of kernel.events(options)) {
    await printLine(event);
    last = event;
  }
  const ended = last !== undefined && args.options.once === true && endsStream(last, args.options);
  return waited?.aborted && !stop.aborted && !ended ? EXIT_WAIT_TIMED_OUT : 0;
}

/**
 * Says on stderr where the replay starts when `from` asks for events the log no longer holds
 * (its front was trimmed): stdout stays the events themselves.
 */
function noteTrimmedStart(target: Session, from: number | Date | undefined): void {
  if (from === undefined) return;
  const start = target.logStart();
  if (!start) return;
  const before = typeof from === "number"
    ? from < start.seq
    : from.getTime() < Date.parse(start.ts);
  if (!before) return;
  console.error(
    `km: the event log of '${target.name}' was trimmed (K_EVENTS_MAX): it starts at seq ` +
      `${start.seq} (${start.ts}); replaying from there`,
  );
}

function isHelp(word: string): boolean {
  return word === "--help" || word === "-h";
}

/** Runs `km` with `argv`; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => {
    stop.abort();
    // The stream ends at its next wake-up; a blocked stdout must not keep km alive.
    Deno.unrefTimer(setTimeout(() => Deno.exit(0), SIGNAL_EXIT_GRACE_MS));
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  const positionals: string[] = [];
  let session = "";
  try {
    const { hosts, rest } = takeHosts(argv);
    if (hosts.length > 0 || (Deno.env.get("K_HOST")?.trim() && !rest.some(isHelp))) {
      type Remote = typeof import("./remote/km.ts");
      const { followRemote } = await loadSource<Remote>("./remote/km.ts", "km --host");
      return await followRemote(hosts, rest, stop.signal);
    }
    const args = parseArgs(rest, positionals);
    if (args.help) {
      console.log(USAGE);
      return 0;
    }
    const kernel = new Kernel();
    if (args.fleet !== undefined) return await followFleet(kernel, args, stop.signal);
    const target = await kernel.resolve(args.session);
    session = target.name;
    noteTrimmedStart(target, args.options.from);
    const waited = args.timeoutMs === undefined ? undefined : AbortSignal.timeout(args.timeoutMs);
    const signal = waited ? AbortSignal.any([stop.signal, waited]) : stop.signal;
    let last: MonitorEvent | undefined;
    for await (const event of target.events({ ...args.options, signal })) {
      await printLine(event);
      last = event;
    }
    // The time ran out before the stream ended as asked (not merely while printing its end).
    const ended = last !== undefined && endsStream(last, args.options);
    return waited?.aborted && !stop.signal.aborted && !ended ? EXIT_WAIT_TIMED_OUT : 0;
  } catch (e) {
    if (e instanceof Deno.errors.BrokenPipe) return 0; // the reader went away: nothing to tell
    await printLine(errorLine(session || positionals[0] || "", e)).catch(() => {});
    return 1;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}

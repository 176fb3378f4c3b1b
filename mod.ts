/**
 * ktty: persistent terminal sessions for AI agents, driven in cells.
 *
 * A {@link Kernel} names a state directory and a tmux socket; {@link Kernel.create} starts a
 * program in a session; {@link Session.run} types code into it and returns the output, cleaned,
 * once the program is back at its prompt. Sessions are real tmux sessions, so a person can watch
 * or take over at any time, and they keep their memory between cells.
 *
 * @example
 * ```ts
 * import { Kernel } from "./mod.ts";
 *
 * const kernel = new Kernel({ home: "/tmp/ktty-example", socket: "example" });
 * await kernel.create("py", { command: "python3 -i" });
 * const py = kernel.session("py");
 * await py.run("x = 6 * 7");
 * const result = await py.run("print(x)");
 * if (result.status === "done") console.log(result.output); // 42
 * await py.kill();
 * ```
 *
 * @module
 */

export { Kernel, type KernelOptions } from "./src/kernel.ts";
export type { Session } from "./src/kernel.ts";
export type { CellOptions, PollOptions } from "./src/cell/options.ts";
export type { SendOptions, SendResult } from "./src/cell/send.ts";
export type { EndedProgram, EscalationSignal, InterruptResult } from "./src/cell/interrupt.ts";
export { DEFAULT_MAX_OUTPUT_CHARS } from "./src/cell/output.ts";
export { FIRE_TIMEOUT_MS, RUN_TIMEOUT_MS } from "./src/cell/options.ts";
export type { AttachOptions } from "./src/session/attach.ts";
export type { KillOptions, KillResult } from "./src/session/remove.ts";
export type { LogStart } from "./src/session/disk.ts";
export type { EndedProcess } from "./src/proc.ts";
export type {
  CellState,
  FleetEntry,
  SessionStatus,
  UnmanagedSession,
} from "./src/session/status.ts";
export type { NewSessionOptions, NewSessionResult } from "./src/session/create.ts";
export type { HistoryEntry } from "./src/session/history.ts";
export type { SessionInfo } from "./src/session/meta.ts";
export type { Foreground } from "./src/session/foreground.ts";
export type { Screen } from "./src/session/screen.ts";
export type {
  CellContext,
  ProgramDefinition,
  ProgramIntegration,
  ProgramKind,
  ScriptFiles,
} from "./src/programs/mod.ts";
export { endMarker, startMarker } from "./src/markers.ts";
export type { FrameMode } from "./src/frame/mod.ts";
export type { KernelConfig } from "./src/state.ts";
export type { EventStreamOptions } from "./src/events/stream.ts";
export type { FleetEventsOptions } from "./src/events/fleet.ts";
export type { FollowItem, FollowOptions } from "./src/session/follow.ts";
export { looksLikeCellId } from "./src/state.ts";
export { configFromEnv } from "./src/state.ts";
export type {
  BusyResult,
  CellOutput,
  CellResult,
  CellTiming,
  ClosedBody,
  DoneResult,
  ErrorResult,
  EventBody,
  EventEnvelope,
  FinalResult,
  FiredResult,
  HeldBy,
  KttyEvent,
  MonitorError,
  MonitorEvent,
  RunningResult,
  SendBody,
  StalledEvent,
  StartedBody,
  TimeoutResult,
} from "./src/types.ts";
export {
  decodeEvent,
  decodeMonitorEvent,
  encodeEvent,
  encodeMonitorEvent,
  EVENT_SCHEMA_VERSION,
} from "./src/types.ts";
export {
  InvalidCellIdError,
  InvalidNameError,
  KttyError,
  NoSessionError,
  ownKttyError,
  StateDirError,
  TmuxError,
  UsageError,
} from "./src/errors.ts";
export type { ErrorCode } from "./src/errors.ts";
export { VERSION } from "./src/version.ts";

// Transitional re-exports; removed once every importer uses the new paths.
export {
  createSession,
  INTEGRATION_COLUMNS,
  type NewSessionOptions,
  type NewSessionResult,
  PANE_ROWS,
} from "./session/create.ts";
export { type HistoryEntry, notifySession, sessionHistory } from "./session/history.ts";
export { whoAmI } from "./session/identity.ts";
export { killSessionAndState, pruneStaleSessions } from "./session/remove.ts";
export { resolveSessionName } from "./session/resolve.ts";
export {
  type CellState,
  type FleetEntry,
  listFleet,
  listSessions,
  type SessionStatus,
  sessionStatus,
  type UnmanagedSession,
} from "./session/status.ts";
export { lastEvent } from "./events/log.ts";

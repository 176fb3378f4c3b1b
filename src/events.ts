// Transitional re-exports; removed once every importer uses the new paths.
export { appendEvent, eventsBackwards, readEvents, readLastEvents } from "./events/log.ts";
export { followEvents } from "./events/follow.ts";
export { type EventStreamOptions, sessionEvents } from "./events/stream.ts";

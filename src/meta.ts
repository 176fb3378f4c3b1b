// Transitional re-exports; removed once every importer uses the new paths.
export { readMeta, readMetaIfAny, type SessionMeta, writeMeta } from "./session/meta.ts";

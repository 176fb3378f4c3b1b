/**
 * What a tool call answers: the library's result as structured content (the same fields as `k`'s
 * JSON) and the same JSON as one text block, since many clients hand only the text to the model.
 * Errors become tool errors (`isError`), in one place: never a protocol error, never a crash.
 * @module
 */

import { KttyError } from "../../mod.ts";
import type { CallToolResult } from "./sdk.ts";

/** A JSON object, as structured content must be. */
export type JsonObject = { [key: string]: unknown };

/**
 * A tool's answer: `value` as structured content and as JSON text.
 *
 * @param value the result, shaped as `k`'s JSON
 * @param isError whether it reports a failure (as `k` exiting 1 would)
 */
export function toolResult(value: JsonObject, isError = false): CallToolResult {
  const result: CallToolResult = {
    content: [{ type: "text", text: JSON.stringify(value) }],
    structuredContent: value,
  };
  if (isError) result.isError = true;
  return result;
}

/**
 * A cell's result (or any result with a `status`): a tool error exactly when `k` would exit 1,
 * that is for `status: "error"` (refused as busy, interrupted, its session gone).
 *
 * @param value the library's result
 */
export function statusResult(value: JsonObject & { status: string }): CallToolResult {
  return toolResult(value, value.status === "error");
}

/** The one line an error says: a ktty error's message, a file-system failure's, else internal. */
export function errorMessage(e: unknown): string {
  if (e instanceof KttyError) return e.message;
  const text = e instanceof Error ? e.message : String(e);
  const fsError = Object.values(Deno.errors).some((kind) => e instanceof kind);
  return fsError ? text : `internal error: ${text}`;
}

/**
 * What a tool call that threw answers: `{"status":"error","output":…}` as `k` prints it, with
 * `isError`. An error that is not ktty's is also written to stderr (the client's server log).
 *
 * @param tool the tool's name, for the log
 * @param e what was thrown
 */
export function errorResult(tool: string, e: unknown): CallToolResult {
  const output = errorMessage(e);
  if (!(e instanceof KttyError)) console.error(`ktty mcp: ${tool}: ${output}`);
  return toolResult({ status: "error", output }, true);
}

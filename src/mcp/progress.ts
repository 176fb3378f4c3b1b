/**
 * Progress notifications while a `run` or `wait` call is in flight, for a client that asked for
 * them (a `progressToken`): the seconds elapsed as `progress`, and the session's new output lines
 * as `message`, as a person watching would read them (`Session.follow`: woken by the pane log
 * growing, not by polling). A cell that ends within a second sends none; a quiet cell sends one
 * every few seconds, so a client that resets its timeout on progress keeps waiting.
 * @module
 */

import type { Session } from "../../mod.ts";
import type { ServerContext } from "./sdk.ts";

/** How long a call runs before its first progress notification, in ms. */
export const PROGRESS_DELAY_MS = 1_000;
/** The shortest gap between two notifications, in ms (lines coming meanwhile are joined). */
const PROGRESS_GAP_MS = 250;
/** How often a quiet cell is reported anyway, in ms. */
const HEARTBEAT_MS = 5_000;
/** The most of the new output one notification carries (its last characters), in characters. */
const MESSAGE_MAX_CHARS = 2_000;

/** The progress token of a call, if its client sent one. */
function progressToken(ctx: ServerContext): string | number | undefined {
  const token: unknown = ctx.mcpReq._meta?.progressToken;
  return typeof token === "string" || typeof token === "number" ? token : undefined;
}

/**
 * Reports a call's progress until the returned function is called (nothing when the client sent
 * no progress token).
 *
 * @param ctx the call's context: its token and the channel to notify on
 * @param session the session whose output is reported
 * @param firstLines the output so far, read once at the first report (may be empty)
 * @returns stops the reporting
 */
export function reportProgress(
  ctx: ServerContext,
  session: Session,
  firstLines: () => Promise<string>,
): () => void {
  const token = progressToken(ctx);
  if (token === undefined) return () => {};
  const startMs = Date.now();
  const stop = new AbortController();
  let lastProgress = 0;
  let lastSentMs = 0;
  let pending: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const send = (message: string) => {
    if (stop.signal.aborted) return;
    const elapsed = Math.round((Date.now() - startMs) / 100) / 10;
    lastProgress = Math.max(elapsed, Math.round((lastProgress + 0.1) * 10) / 10);
    lastSentMs = Date.now();
    const text = message.length > MESSAGE_MAX_CHARS
      ? `…${message.slice(-MESSAGE_MAX_CHARS)}`
      : message;
    ctx.mcpReq.notify({
      method: "notifications/progress",
      params: {
        progressToken: token,
        progress: lastProgress,
        message: `${lastProgress} s: ${text}`,
      },
    }).catch(() => {}); // the client is gone: the call ends with it
  };
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (stop.signal.aborted) return;
    const lines = pending;
    pending = [];
    send(lines.length > 0 ? lines.join("\n") : "running, no new output");
    timer = setTimeout(flush, HEARTBEAT_MS);
  };
  const onLine = (line: string) => {
    pending.push(line);
    if (pending.join("\n").length > MESSAGE_MAX_CHARS * 2) pending = pending.slice(-50);
    const dueMs = lastSentMs + PROGRESS_GAP_MS - Date.now();
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(flush, Math.max(0, dueMs));
  };
  const follow = async () => {
    for await (const item of session.follow({ signal: stop.signal })) {
      if (item.kind === "line") onLine(item.line);
    }
  };

  const start = setTimeout(async () => {
    // Following first, then the output so far: a line may come twice, but none is missed.
    follow().catch(() => {}); // a session killed meanwhile: the call says so itself
    const soFar = await firstLines().catch(() => "");
    if (stop.signal.aborted) return;
    pending = [];
    send(soFar || "running");
    timer = setTimeout(flush, HEARTBEAT_MS);
  }, PROGRESS_DELAY_MS);

  return () => {
    stop.abort();
    clearTimeout(start);
    clearTimeout(timer);
  };
}

/**
 * Step timings for performance work. With `K_TRACE=1` in the environment, {@link mark} writes one
 * line per step of a cell to stderr, `k-trace <ms> <step>`, the milliseconds counted from the
 * start of the Deno runtime (`performance.now()`); otherwise it does nothing. `deno task bench`
 * uses it to show where the time of one `k run` goes.
 * @module
 */

function traceEnabled(): boolean {
  try {
    // Asked first, so that a library user without env permission gets no prompt for this.
    const query = Deno.permissions.querySync({ name: "env", variable: "K_TRACE" });
    return query.state === "granted" && Deno.env.get("K_TRACE") === "1";
  } catch {
    return false;
  }
}

const enabled = traceEnabled();
const encoder = new TextEncoder();

/** Records that `step` is done now (when tracing is on). */
export function mark(step: string): void {
  if (!enabled) return;
  try {
    Deno.stderr.writeSync(encoder.encode(`k-trace ${performance.now().toFixed(2)} ${step}\n`));
  } catch {
    // stderr closed: tracing is best effort
  }
}

/**
 * `km --host <target> …` (repeatable, else `K_HOST`): follows sessions on remote hosts. Each
 * host runs its own `km` with the same arguments (src/artifact.ts), over the shared SSH
 * connection; their lines come back as they are printed there and are merged into one stream
 * here, each event with `target`, the host as given. Loaded only when a host is given.
 *
 * With `-1`, the first completion on any host ends the stream (the others are closed). A lost
 * connection or an ssh failure prints one `error` event naming the target (`error_code`
 * `connection_lost` or `ssh_failed`) and km exits 1: `--from` with the last event's time
 * resumes it.
 * @module
 */

import { KttyError, UsageError } from "../errors.ts";
import { configFromEnv } from "../state.ts";
import { callRemoteLines, writeStdout } from "./call.ts";
import { hostsFrom } from "./ssh.ts";

const encoder = new TextEncoder();

/** Writes one line to standard output, whole. */
async function writeLine(line: string): Promise<void> {
  await writeStdout(encoder.encode(`${line}\n`));
}

/** `line` (one JSON event) with the target added; a line that is not an object, as it is. */
function withTarget(line: string, target: string): string {
  try {
    const event = JSON.parse(line) as unknown;
    if (event && typeof event === "object" && !Array.isArray(event)) {
      return JSON.stringify({ ...event, target });
    }
  } catch {
    // not JSON: passed on as it came
  }
  return line;
}

/**
 * Follows `argv` (km's arguments less `--host`) on every target; resolves to km's exit status.
 *
 * @param given the hosts of `--host`, else those of `K_HOST` are taken
 * @param argv km's other arguments, sent to each host as they are
 * @param stop aborted by SIGINT/SIGTERM here: every remote km is told to stop
 */
export async function followRemote(
  given: readonly string[],
  argv: readonly string[],
  stop: AbortSignal,
): Promise<number> {
  const targets = hostsFrom(given);
  if (targets.length === 0) throw new UsageError("K_HOST names no host");
  const config = configFromEnv();
  const done = new AbortController();
  const signal = AbortSignal.any([stop, done.signal]);
  const once = argv.includes("-1");
  let status = 0;
  await Promise.all(targets.map(async (target) => {
    const { lines, outcome } = callRemoteLines(
      config,
      target,
      { command: "km", argv: [...argv] },
      (line) => console.error(`${target}: ${line}`),
      { signal },
    );
    try {
      for await (const line of lines) if (line) await writeLine(withTarget(line, target));
      const { code } = await outcome;
      if (code !== 0) status = Math.max(status, code);
      else if (once) done.abort(); // the first completion anywhere ends the stream
    } catch (e) {
      if (signal.aborted && !(e instanceof KttyError)) return;
      status = Math.max(status, 1);
      const error = e instanceof KttyError ? e : undefined;
      await writeLine(JSON.stringify({
        schema_version: 1,
        ts: new Date().toISOString(),
        session: "",
        status: "error",
        message: e instanceof Error ? e.message : String(e),
        target,
        error_code: error?.code,
      })).catch(() => {});
      done.abort(); // one stream broken: the merged stream ends, and says so
    } finally {
      await outcome.catch(() => {}); // what ended the lines early was said above
    }
  }));
  return status;
}

/**
 * The remote artifact: the entry `deno task build` bundles into `src/ktty.bundle.js`, one file
 * that runs without the sources beside it, which `k host setup` copies to a remote host
 * (src/remote/install.ts). Its first word chooses what it runs:
 *
 *   ktty.js k …          `k`, for a person on that host
 *   ktty.js km …         `km`
 *   ktty.js watcher      the shared background watcher (`fire` starts it from this same file)
 *   ktty.js remote <id>  what `k --host` runs over SSH: the arguments arrive on standard input
 *
 * `remote` reads one line of JSON from standard input, a {@link RemoteRequest}: the command,
 * its arguments and what `-` reads. So no code and no argument ever shows in the remote host's
 * process list. Standard input then stays open: its end means the caller is gone (the SSH
 * connection was lost), and a `k run` then hands its cell to a background watcher (as when it
 * is stopped by a signal) and `km` stops.
 *
 * The wrapper script beside the artifact (written by `k host setup`) brackets a `remote` run on
 * standard error with the protocol lines `\x1ektty-start <id>` and `\x1ektty-exit <status>`, so
 * the caller tells the remote command's exit status from ssh's own, and a connection lost
 * after the start from one never made.
 * @module
 */

import { main as k } from "./cli/main.ts";
import { setStdinText } from "./cli/args.ts";
import { main as km } from "./km.ts";
import { startWatchersFrom } from "./start.ts";
import { main as watcher } from "./watcher.ts";
import { PROTOCOL_MARK, type RemoteRequest } from "./remote/protocol.ts";

/** The longest request line read (code travels in it): 64 MiB. */
const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

/** Reads standard input up to its first newline; the rest stays unread. */
async function readRequestLine(): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const buffer = new Uint8Array(64 * 1024);
  while (size < MAX_REQUEST_BYTES) {
    const n = await Deno.stdin.read(buffer);
    if (n === null) break;
    const end = buffer.subarray(0, n).indexOf(0x0a);
    chunks.push(buffer.slice(0, end < 0 ? n : end));
    size += n;
    if (end >= 0) break;
  }
  const line = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    line.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(line.subarray(0, at));
}

function protocolError(code: string, message: string): number {
  console.error(`${PROTOCOL_MARK}error ${code} ${message}`);
  return 3;
}

function isRequest(value: unknown): value is RemoteRequest {
  const r = value as Partial<RemoteRequest> | null;
  return typeof r?.id === "string" && (r.command === "k" || r.command === "km") &&
    Array.isArray(r.argv) && r.argv.every((a) => typeof a === "string") &&
    (r.stdin === undefined || typeof r.stdin === "string");
}

/** The verbs of `k` that wait on a cell and hand it over when their caller goes away. */
const HANDS_OVER = ["run", "await"];

/** Runs what a remote request asks for; `id` is this artifact's own id (from its wrapper). */
async function remote(id: string | undefined): Promise<number> {
  let request: unknown;
  try {
    request = JSON.parse(await readRequestLine());
  } catch {
    return protocolError("invalid_argument", "no request on standard input");
  }
  if (!isRequest(request)) return protocolError("invalid_argument", "a malformed request");
  if (request.id !== id) {
    return protocolError(
      "version_mismatch",
      `the caller runs ktty ${request.id}, this host's is ${id ?? "unknown"}`,
    );
  }
  // Standard input is the channel: `-` reads what the request carries (nothing: missing code).
  setStdinText(request.stdin ?? "");
  // The end of standard input is the caller's going away. A verb waiting on a cell hands it
  // over as for a hangup; km stops as for SIGTERM; any other verb finishes what it started.
  const verb = request.argv.find((word) => !word.startsWith("-"));
  const signal: Deno.Signal | undefined = request.command === "km"
    ? "SIGTERM"
    : HANDS_OVER.includes(verb ?? "")
    ? "SIGHUP"
    : undefined;
  (async () => {
    const sink = new Uint8Array(4096);
    try {
      while (await Deno.stdin.read(sink) !== null) {
        // nothing more is sent; read on until the end
      }
    } catch {
      // a broken channel ends it too
    }
    if (signal) Deno.kill(Deno.pid, signal);
  })();
  return request.command === "k" ? await k(request.argv) : await km(request.argv);
}

if (import.meta.main) {
  startWatchersFrom(import.meta.url);
  const [word, ...rest] = Deno.args;
  let status: number;
  if (word === "k") status = await k(rest);
  else if (word === "km") status = await km(rest);
  else if (word === "watcher") status = await watcher();
  else if (word === "remote") status = await remote(rest[0]);
  else {
    console.error("usage: ktty.js k|km|watcher|remote <id> …");
    status = 2;
  }
  Deno.exit(status);
}

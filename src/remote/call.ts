/**
 * One remote run: `k` or `km` on a host over SSH, its arguments sent as the first line of the
 * channel's standard input (never in a command line), its output streamed back as it comes.
 *
 * The remote command line is fixed, made only of the artifact's id: it runs the wrapper script
 * `k host setup` put in `~/.local/share/ktty/<id>/`, whose protocol lines on standard error
 * (src/artifact.ts) tell the outcomes apart:
 *
 * - no start line: the remote command never ran. ssh's exit status 255 is ssh's own failure
 *   (unreachable, refused key, unknown host key: `ssh_failed`, with ssh's last line); the
 *   wrapper's "missing" line means this version is not installed (`remote_not_installed`).
 * - a start line and an exit line: the remote command's exit status, whatever it is (255
 *   included).
 * - a start line and no exit line: the connection was lost under a running command
 *   (`connection_lost`); what it started goes on there.
 * @module
 */

import { KttyError } from "../errors.ts";
import { freshManifest } from "../start.ts";
import type { KernelConfig } from "../state.ts";
import { VERSION } from "../version.ts";
import { PROTOCOL_MARK, type RemoteRequest } from "./protocol.ts";
import { spawnSsh } from "./ssh.ts";

/** Where `k host setup` installs an artifact on the remote, under `$HOME`. */
export const REMOTE_DIR = ".local/share/ktty";

/**
 * This side's artifact id, `<version>-<12 hex of the artifact's SHA-256>`: the name of its
 * directory on every remote host. An artifact built from other sources than these is refused.
 */
export function artifactId(): string {
  if (knownId !== undefined) return knownId;
  const manifest = freshManifest("ktty");
  if (!manifest?.sha256) {
    throw new KttyError(
      "artifact_stale",
      "src/ktty.bundle.js (what runs on a remote host) is missing or older than the sources: " +
        "run deno task build, then k host setup <host>",
    );
  }
  knownId = `${VERSION}-${manifest.sha256.slice(0, 12)}`;
  return knownId;
}

/**
 * The id once known: checking the manifest stats every source file, and a process (a library
 * caller's above all) keeps to the version it started with, which is the one installed there.
 */
let knownId: string | undefined;

/** The fixed command line that runs artifact `id` on the remote with `words` after it. */
export function remoteCommand(id: string, words: readonly string[]): string {
  if (!/^[0-9A-Za-z.+-]+$/.test(id)) throw new Error(`bad artifact id ${id}`);
  for (const word of words) {
    if (!/^[A-Za-z0-9_.,=:@+-]+$/.test(word)) throw new Error(`bad remote word ${word}`);
  }
  // sh -c: the login shell may be fish or csh; the script holds no single quote.
  const script = `d="$HOME/${REMOTE_DIR}/${id}"; ` +
    `if [ -x "$d/ktty" ]; then exec "$d/ktty" ${words.join(" ")}; fi; ` +
    `printf "${PROTOCOL_MARK.replace("\x1e", "\\036")}missing\\n" >&2; exit 127`;
  return `sh -c '${script}'`;
}

/**
 * `k`'s exit status when ssh failed or the connection was lost, as ssh's own: in text mode the
 * message on standard error tells it from a remote cell's 255.
 */
export const SSH_FAILED = 255;

/** What a remote run ended with. */
export interface RemoteOutcome {
  /** The remote command's exit status. */
  code: number;
}

/** Where a remote run's output goes, as it comes. */
export interface RemoteSinks {
  /** Standard output, chunk by chunk. */
  stdout(chunk: Uint8Array): void | Promise<void>;
  /** Standard error less the protocol lines, line by line. */
  stderr(line: string): void;
  /** Told when the remote `k run` has typed its cell (its `cell <id>` protocol line). */
  cellStarted?(cellId: string): void;
}

/** How a remote run is told apart and stopped. */
export interface RemoteCallOptions {
  /** The cell it runs, named in a `connection_lost` error… */
  cellId?: string;
  /** …with its session. */
  session?: string;
  /** Closes the channel, which the remote takes as its caller's going away. */
  signal?: AbortSignal;
}

/** Splits a stream of text into its lines (the last one may lack its newline). */
export async function* linesOf(
  text: ReadableStream<string>,
): AsyncGenerator<string, void, undefined> {
  let pending = "";
  for await (const chunk of text) {
    const lines = (pending + chunk).split("\n");
    pending = lines.pop() ?? "";
    yield* lines;
  }
  if (pending !== "") yield pending;
}

/** Why a remote run did not give an exit status of the remote command. */
function failure(
  id: string,
  target: string,
  started: boolean,
  missing: boolean,
  protocol: { code: string; message: string } | undefined,
  sshStderr: string[],
  cellId: string | undefined,
  session: string | undefined,
): KttyError {
  if (protocol) {
    const code = protocol.code === "version_mismatch" ? "version_mismatch" : "invalid_argument";
    return new KttyError(code, `${target}: ${protocol.message}; run k host setup ${target}`);
  }
  if (missing) {
    return new KttyError(
      "remote_not_installed",
      `ktty ${id} is not installed on ${target}: run k host setup ${target}`,
    );
  }
  if (started) {
    const cell = cellId
      ? `; cell ${cellId} runs on there: k --host ${target} poll ${
        session ?? "<session>"
      } ${cellId}`
      : "";
    return new KttyError("connection_lost", `the connection to ${target} was lost${cell}`, {
      fields: cellId ? { cell_id: cellId } : {},
      exitCode: SSH_FAILED,
    });
  }
  const why = sshStderr.filter((l) => l.trim()).at(-1)?.trim() ?? "ssh failed";
  return new KttyError(
    "ssh_failed",
    `ssh to ${target} failed: ${why} (check that 'ssh ${target} true' works without a prompt)`,
    { exitCode: SSH_FAILED },
  );
}

/**
 * Runs `request` on `target` and streams its output to `sinks`; resolves to the remote
 * command's exit status, or throws a {@link KttyError} when ssh failed or the connection was
 * lost (`cellId` in `session`: the cell it was running, named in the error). The channel stays open until
 * the remote command exits, or `signal` aborts (then the channel is closed, which the remote
 * takes as its caller's going away).
 */
export async function callRemote(
  config: KernelConfig,
  target: string,
  request: Omit<RemoteRequest, "id">,
  sinks: RemoteSinks,
  options: RemoteCallOptions = {},
): Promise<RemoteOutcome> {
  const id = artifactId();
  const child = await spawnSsh(config, target, remoteCommand(id, ["remote", id]));
  const writer = child.stdin.getWriter();
  const line = `${JSON.stringify({ id, ...request })}\n`;
  await writer.write(new TextEncoder().encode(line)).catch(() => {});
  const close = () => writer.close().catch(() => {});
  options.signal?.addEventListener("abort", close, { once: true });

  let started = false;
  let missing = false;
  let exit: number | undefined;
  let protocol: { code: string; message: string } | undefined;
  const sshStderr: string[] = [];
  const readStderr = (async () => {
    const take = (text: string) => {
      if (!text.startsWith(PROTOCOL_MARK)) {
        if (started) sinks.stderr(text);
        else sshStderr.push(text);
        return;
      }
      const [kind = "", ...rest] = text.slice(PROTOCOL_MARK.length).split(" ");
      if (kind === "start") started = true;
      else if (kind === "exit") exit = Number(rest[0]);
      else if (kind === "missing") missing = true;
      else if (kind === "cell" && rest[0]) sinks.cellStarted?.(rest[0]);
      else if (kind === "error") {
        protocol = { code: rest[0] ?? "", message: rest.slice(1).join(" ") };
      }
    };
    for await (const text of linesOf(child.stderr.pipeThrough(new TextDecoderStream()))) {
      take(text);
    }
  })();
  const readStdout = (async () => {
    for await (const chunk of child.stdout) await sinks.stdout(chunk);
  })();
  const [status] = await Promise.all([child.status, readStderr, readStdout]);
  options.signal?.removeEventListener("abort", close);
  await close();
  if (exit !== undefined && !protocol) return { code: exit };
  // Before the start line, what ssh said is the reason; after it, the remote's own lines went on.
  if (!started && status.code !== 255 && !missing && !protocol) {
    sshStderr.push(`exit status ${status.code}`);
  }
  throw failure(id, target, started, missing, protocol, sshStderr, options.cellId, options.session);
}

/** Writes all of `bytes` to standard output (what a remote run printed, passed on). */
export async function writeStdout(bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await Deno.stdout.write(bytes.subarray(at));
}

/** What a remote run printed, whole. */
export interface RemoteText extends RemoteOutcome {
  /** Its standard output. */
  stdout: string;
  /** Its standard error, line by line, less the protocol lines. */
  stderr: string[];
}

/** Runs `request` on `target` to its end and returns what it printed (see {@link callRemote}). */
export async function callRemoteText(
  config: KernelConfig,
  target: string,
  request: Omit<RemoteRequest, "id">,
  options: RemoteCallOptions & Pick<RemoteSinks, "cellStarted"> = {},
): Promise<RemoteText> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const decoder = new TextDecoder();
  const { cellStarted, ...callOptions } = options;
  const { code } = await callRemote(config, target, request, {
    stdout: (chunk) => void stdout.push(decoder.decode(chunk, { stream: true })),
    stderr: (line) => void stderr.push(line),
    ...(cellStarted ? { cellStarted } : {}),
  }, callOptions);
  return { code, stdout: stdout.join("") + decoder.decode(), stderr };
}

/** A remote run whose standard output is read line by line (see {@link callRemoteLines}). */
export interface RemoteLines {
  /** Its lines as they come (the last may lack its newline); they end with the run. */
  lines: AsyncGenerator<string, void, undefined>;
  /** How it ended; rejects as {@link callRemote} does, and then `lines` throws the same. */
  outcome: Promise<RemoteOutcome>;
}

/**
 * Runs `request` on `target` with its standard output read as lines, at the reader's pace (the
 * remote waits while they are not read; once the reader has gone, what comes is dropped).
 */
export function callRemoteLines(
  config: KernelConfig,
  target: string,
  request: Omit<RemoteRequest, "id">,
  stderr: (line: string) => void,
  options: RemoteCallOptions = {},
): RemoteLines {
  const pipe = new TransformStream<Uint8Array, Uint8Array>();
  const writer = pipe.writable.getWriter();
  const outcome = callRemote(config, target, request, {
    stdout: (chunk) => writer.write(chunk).catch(() => {}),
    stderr,
  }, options).then(
    (outcome) => {
      writer.close().catch(() => {});
      return outcome;
    },
    (error: unknown) => {
      writer.abort(error).catch(() => {});
      throw error;
    },
  );
  return { lines: linesOf(pipe.readable.pipeThrough(new TextDecoderStream())), outcome };
}

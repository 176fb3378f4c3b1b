/**
 * What passes between `k --host` and the artifact on the remote host (src/artifact.ts,
 * src/remote/call.ts): the request line on standard input and the protocol lines on standard
 * error.
 * @module
 */

/** What `k --host` sends as the first line of a remote run's standard input. */
export interface RemoteRequest {
  /** The artifact id the caller expects (its version and hash): the two sides never mix. */
  id: string;
  /** The command to run. */
  command: "k" | "km";
  /** Its arguments. */
  argv: string[];
  /** What `-` (code from standard input) reads, if anything. */
  stdin?: string;
}

/**
 * The mark that begins a protocol line on a remote run's standard error: `start <id>`,
 * `exit <status>`, `missing` (this version is not installed), `error <code> <message>`.
 */
export const PROTOCOL_MARK = "\x1ektty-";

/**
 * Typed errors. Every error the kernel raises is a {@link KttyError} with a stable `code` and the
 * exit status the CLI should use; the CLI maps them to output in one place.
 * @module
 */

/** Stable error codes, one per kind of failure. */
export type ErrorCode =
  | "invalid_name"
  | "invalid_cell_id"
  | "invalid_argument"
  | "no_session"
  | "no_cell"
  | "no_active_cell"
  | "send_late"
  | "state_dir_unsafe"
  | "state_corrupt"
  | "tmux_missing"
  | "tmux_failed"
  | "hook_invalid"
  | "not_ready"
  | "foreign_session"
  | "pipe_died"
  | "io"
  | "result_not_stored"
  | "ssh_failed"
  | "connection_lost"
  | "remote_not_installed"
  | "remote_missing_tools"
  | "version_mismatch"
  | "artifact_stale"
  | "remote_unsupported"
  | "remote_failed";

/** Every {@link ErrorCode} (the compiler checks the list is whole): what a remote error may carry. */
const ERROR_CODES: Readonly<Record<ErrorCode, true>> = {
  invalid_name: true,
  invalid_cell_id: true,
  invalid_argument: true,
  no_session: true,
  no_cell: true,
  no_active_cell: true,
  send_late: true,
  state_dir_unsafe: true,
  state_corrupt: true,
  tmux_missing: true,
  tmux_failed: true,
  hook_invalid: true,
  not_ready: true,
  foreign_session: true,
  pipe_died: true,
  io: true,
  result_not_stored: true,
  ssh_failed: true,
  connection_lost: true,
  remote_not_installed: true,
  remote_missing_tools: true,
  version_mismatch: true,
  artifact_stale: true,
  remote_unsupported: true,
  remote_failed: true,
};

/** Whether `code` is one of ktty's stable error codes (one read from another process's JSON). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(ERROR_CODES, code);
}

/**
 * `e` as an error of this copy of this module. A module loaded from the sources beside a
 * start-up bundle (start.ts's `loadSource`) has its own copy of {@link KttyError}, whose errors
 * `instanceof` does not recognise here: one with a known code becomes this copy's, the same. `k`
 * and `km` apply it where an error becomes output.
 */
export function ownKttyError(e: unknown): unknown {
  if (e instanceof KttyError || !(e instanceof Error)) return e;
  const { code, exitCode, fields } = e as Partial<KttyError>;
  if (!isErrorCode(code)) return e;
  return new KttyError(code, e.message, { cause: e, exitCode, fields: { ...fields } });
}

/** Base class of every error ktty raises on purpose. */
export class KttyError extends Error {
  /** A stable, machine-readable code for this kind of error. */
  readonly code: ErrorCode;
  /** The exit status the `k` command uses for this error. */
  readonly exitCode: number;
  /** Fields a JSON error carries beside its message and code (a `cell_id` it concerns). */
  readonly fields: Readonly<Record<string, unknown>>;

  /**
   * Creates the error.
   * @param code the stable error code
   * @param message one clear line for a person
   * @param options the underlying cause, if any
   */
  constructor(
    code: ErrorCode,
    message: string,
    options?: ErrorOptions & { fields?: Record<string, unknown>; exitCode?: number },
  ) {
    super(message, options);
    this.name = "KttyError";
    this.code = code;
    this.exitCode = options?.exitCode ?? 1;
    this.fields = options?.fields ?? {};
  }
}

/** A session or cell name that does not follow the naming rules. */
export class InvalidNameError extends KttyError {
  /**
   * Creates the error.
   * @param name the rejected name
   */
  constructor(name: string) {
    super("invalid_name", `invalid session name: '${printable(name)}'`);
    this.name = "InvalidNameError";
  }
}

/** A cell id that is not 12 lowercase hex characters. */
export class InvalidCellIdError extends KttyError {
  /**
   * Creates the error.
   * @param id the rejected id
   */
  constructor(id: string) {
    super("invalid_cell_id", `invalid cell id: '${printable(id)}' (want 12 lowercase hex chars)`);
    this.name = "InvalidCellIdError";
  }
}

/** A verb's arguments are wrong: missing code, bad `-t`, unknown flag. */
export class UsageError extends KttyError {
  /**
   * Creates the error.
   * @param message what is wrong, in one line
   */
  constructor(message: string) {
    super("invalid_argument", message);
    this.name = "UsageError";
  }
}

/** The named session does not exist (no state, or its tmux session is gone). */
export class NoSessionError extends KttyError {
  /** The session that was asked for. */
  readonly session: string;
  /**
   * Creates the error.
   * @param session the missing session's name
   */
  constructor(session: string) {
    super("no_session", `no session '${session}'; use k new ${session} bash`);
    this.name = "NoSessionError";
    this.session = session;
  }
}

/** The state directory is a symlink, foreign-owned, or otherwise unsafe. */
export class StateDirError extends KttyError {
  /**
   * Creates the error.
   * @param message why the directory was refused
   */
  constructor(message: string) {
    super("state_dir_unsafe", message);
    this.name = "StateDirError";
  }
}

/** tmux is missing, too old, or a tmux command failed unexpectedly. */
export class TmuxError extends KttyError {
  /**
   * Creates the error.
   * @param code `tmux_missing` or `tmux_failed`
   * @param message what tmux said, in one line
   */
  constructor(code: "tmux_missing" | "tmux_failed", message: string) {
    super(code, message);
    this.name = "TmuxError";
  }
}

/**
 * A cell ended, and its session is free, but its result could not be stored (a full disk): the
 * event log says so in an `error` event, which `poll` reports.
 */
export class ResultNotStoredError extends KttyError {
  /** The cell whose result is lost. */
  readonly cellId: string;
  /** How the cell ended, in words (`done (exit 0)`, `interrupted`, an error's message). */
  readonly end: string;
  /** Why the result could not be stored (`cannot write '…': No space left on device`). */
  readonly reason: string;
  /**
   * Creates the error.
   * @param cellId the cell
   * @param end how it ended, in words
   * @param reason why its result could not be stored, naming the path
   * @param options the underlying cause
   */
  constructor(cellId: string, end: string, reason: string, options?: ErrorOptions) {
    super(
      "result_not_stored",
      `cell ${cellId} ${end}; its lock is released, but its result could not be stored: ${reason}`,
      options,
    );
    this.name = "ResultNotStoredError";
    this.cellId = cellId;
    this.end = end;
    this.reason = reason;
  }
}

/** Makes a rejected value safe to show on one line: control characters are escaped. */
export function printable(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return shown.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

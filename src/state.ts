/**
 * The state directory: safe names, the paths built from them, private files, atomic writes and
 * exclusive creation. Nothing here touches tmux.
 * @module
 */

import { InvalidCellIdError, InvalidNameError, KttyError, StateDirError } from "./errors.ts";

// SPEC section 2's charset, plus ':' (issue 6: `a:1` is a session of its own). tmux rewrites '.'
// and ':' in session names, so src/tmux.ts escapes them.
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/;
const CELL_ID_RE = /^[0-9a-f]{12}$/;
const PRIVATE_FILE_MODE = 0o600;
const PRIVATE_DIR_MODE = 0o700;

/** Throws {@link InvalidNameError} unless `name` is a valid session name (SPEC section 2). */
export function assertSessionName(name: string): void {
  if (!NAME_RE.test(name) || name === "." || name === "..") throw new InvalidNameError(name);
}

/** Throws {@link InvalidCellIdError} unless `id` is 12 lowercase hex characters. */
export function assertCellId(id: string): void {
  if (!CELL_ID_RE.test(id)) throw new InvalidCellIdError(id);
}

/** True when `value` has the shape of a cell id. */
export function looksLikeCellId(value: string): boolean {
  return CELL_ID_RE.test(value);
}

/** `bytes` random bytes as lowercase hex (twice as many characters). */
export function randomHex(bytes: number): string {
  const values = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(values, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A fresh random cell id: 12 lowercase hex characters. */
export function newCellId(): string {
  return randomHex(6);
}

/** Where the kernel keeps its state and which tmux socket it drives. */
export interface KernelConfig {
  /** The state directory (`K_HOME`). */
  home: string;
  /** The tmux socket name (`K_SOCKET`), passed as `tmux -L`. */
  socket: string;
}

/** A state dir that outlives logins: `$XDG_STATE_HOME/ktty`, else `~/.local/state/ktty`. */
function durableHome(): string | undefined {
  const state = Deno.env.get("XDG_STATE_HOME");
  if (state?.startsWith("/")) return `${state}/ktty`;
  const home = Deno.env.get("HOME");
  return home?.startsWith("/") ? `${home}/.local/state/ktty` : undefined;
}

/**
 * Reads `K_HOME` and `K_SOCKET` (with their defaults) from the environment. The default state
 * dir is `$XDG_RUNTIME_DIR/ktty` (private, in memory), `/tmp/ktty-<uid>` without one, and over
 * SSH the durable {@link durableHome}.
 */
export function configFromEnv(): KernelConfig {
  const socket = Deno.env.get("K_SOCKET") || "ktty";
  assertSessionName(socket);
  const explicit = Deno.env.get("K_HOME");
  if (explicit) return { home: explicit, socket };
  const runtime = Deno.env.get("XDG_RUNTIME_DIR");
  if (runtime && Deno.env.get("SSH_CONNECTION")) {
    // Over SSH (`k --host`, or a person logged in remotely), XDG_RUNTIME_DIR is the login's
    // /run/user/<uid>, which systemd-logind removes when the user's last login ends: for
    // `k --host`, when the shared connection closes, under sessions that keep running.
    const durable = durableHome();
    if (durable) return { home: durable, socket };
  }
  const home = runtime ? `${runtime}/ktty` : `/tmp/ktty-${Deno.uid() ?? "user"}`;
  return { home, socket };
}

/** Every path of one session's state. Built only from a validated name. */
export interface SessionPaths {
  /** The session's directory. */
  dir: string;
  /** Session metadata (program, mode, pane pid). */
  meta: string;
  /** The pane's raw output, appended by tmux `pipe-pane`. */
  log: string;
  /** The active cell's lock, created with O_EXCL. */
  lock: string;
  /** The append-only event log. */
  events: string;
  /** The id of the most recent cell. */
  last: string;
  /** Directory of cell results. */
  cells: string;
  /** The session's own command history (its shell's or REPL's): never the user's own file. */
  history: string;
  /** Present while the directory holds only the history `k kill --keep` kept. */
  kept: string;
  /** What a shell's integration leaves when the shell exits: its status and pid. */
  exitStatus: string;
}

/** The directory holding the sessions of one socket. */
export function socketDir(config: KernelConfig): string {
  return `${config.home}/${config.socket}`;
}

/** Paths of a session's state; validates the name first. */
export function sessionPaths(config: KernelConfig, name: string): SessionPaths {
  assertSessionName(name);
  return pathsIn(`${socketDir(config)}/${name}`);
}

/** Paths of the session state in directory `dir` (a session's, or one moved aside). */
export function pathsIn(dir: string): SessionPaths {
  return {
    dir,
    meta: `${dir}/meta.json`,
    log: `${dir}/pane.log`,
    lock: `${dir}/lock`,
    events: `${dir}/events.jsonl`,
    last: `${dir}/last`,
    cells: `${dir}/cells`,
    history: `${dir}/history`,
    kept: `${dir}/kept`,
    exitStatus: `${dir}/exit-status`,
  };
}

/** Path of one cell's result file; validates the id first. */
export function resultPath(paths: SessionPaths, cellId: string): string {
  assertCellId(cellId);
  return `${paths.cells}/${cellId}.json`;
}

/**
 * Creates the state directory (0700) if needed and checks that it is safe: a real directory, not
 * a symlink, owned by this user. A group/world-accessible one we own is repaired to 0700.
 */
export function ensureStateDir(config: KernelConfig): Promise<void> {
  return now(() => {
    ensurePrivateDir(config.home);
    ensurePrivateDir(socketDir(config));
  });
}

function ensurePrivateDir(path: string): void {
  try {
    Deno.mkdirSync(path, { mode: PRIVATE_DIR_MODE, recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) {
      throw new StateDirError(`cannot create state dir '${path}': ${message(e)}`);
    }
  }
  const info = Deno.lstatSync(path);
  if (info.isSymlink) {
    throw new StateDirError(`state dir '${path}' is a symlink; refusing to use it`);
  }
  if (!info.isDirectory) throw new StateDirError(`state dir '${path}' is not a directory`);
  const uid = Deno.uid();
  if (uid !== null && info.uid !== uid) {
    throw new StateDirError(`state dir '${path}' is owned by uid ${info.uid}, not ${uid}`);
  }
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    Deno.chmodSync(path, PRIVATE_DIR_MODE);
  }
}

/** Creates a private (0700) directory; an existing one is fine. */
export async function makePrivateDir(path: string): Promise<void> {
  await Deno.mkdir(path, { mode: PRIVATE_DIR_MODE, recursive: true });
}

// The state files are a few hundred bytes each, touched a dozen times per cell. Synchronous calls
// cost a fraction of asynchronous ones (which each take a trip through a thread pool: ~0.2 ms in
// a fresh process), and `k` pays them on every call; the functions keep promise signatures.

/** Runs `f` now; its result or error as a promise. */
function now<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * Writes a file atomically: temp file in the same directory, fsync, rename. A reader sees the old
 * content or the new, never half. `durable: false` skips the fsync, for files that only matter
 * while the machine is up (a crash loses the tmux server they describe anyway).
 */
export function writeFileAtomic(
  path: string,
  data: string,
  options: { durable?: boolean } = {},
): Promise<void> {
  return now(() => {
    const tmp = `${path}.${Deno.pid}.${newCellId()}.tmp`;
    try {
      const file = Deno.openSync(tmp, { write: true, createNew: true, mode: PRIVATE_FILE_MODE });
      try {
        writeAllSync(file, new TextEncoder().encode(data));
        if (options.durable !== false) file.syncSync();
      } finally {
        file.close();
      }
      Deno.renameSync(tmp, path);
    } catch (e) {
      try {
        Deno.removeSync(tmp);
      } catch {
        // never made, or already renamed
      }
      throw ioError("write", path, e);
    }
  });
}

/**
 * Creates `path` with `data` only if it does not exist yet. Returns false when it already exists;
 * nothing is written then. The content is written to a private temp file first and hard-linked
 * into place (link, like O_EXCL, fails if the name exists), so a reader never sees the file
 * empty or half-written.
 */
export function createExclusive(path: string, data: string): Promise<boolean> {
  return now(() => {
    const tmp = `${path}.${Deno.pid}.${newCellId()}.tmp`;
    try {
      // No fsync: a lock matters only while the machine (and its tmux server) is up.
      Deno.writeTextFileSync(tmp, data, { createNew: true, mode: PRIVATE_FILE_MODE });
      try {
        Deno.linkSync(tmp, path);
      } catch (e) {
        if (e instanceof Deno.errors.AlreadyExists) return false;
        throw e;
      }
      return true;
    } catch (e) {
      throw ioError("write", path, e);
    } finally {
      try {
        Deno.removeSync(tmp);
      } catch {
        // never made
      }
    }
  });
}

/** A file-system failure as a one-line {@link KttyError} naming the path. */
export function ioError(verb: string, path: string, e: unknown): KttyError {
  if (e instanceof KttyError) return e;
  const reason = e instanceof Error ? e.message.replace(/ \(os error \d+\).*$/, "") : String(e);
  return new KttyError("io", `cannot ${verb} '${path}': ${reason}`, { cause: e });
}

/** Writes every byte of `data` to `file`. */
export async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await file.write(data.subarray(written));
}

/** Bytes `from` up to `to` of an open file, read synchronously (fewer at its end). */
export function readRangeSync(file: Deno.FsFile, from: number, to: number): Uint8Array {
  file.seekSync(from, Deno.SeekMode.Start);
  const buf = new Uint8Array(Math.max(0, to - from));
  let got = 0;
  while (got < buf.length) {
    const n = file.readSync(buf.subarray(got));
    if (n === null || n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * The last `maxBytes` of an open file, read synchronously, and the offset they start at (0 means
 * the whole file).
 */
export function readTailSync(
  file: Deno.FsFile,
  maxBytes: number,
): { start: number; bytes: Uint8Array } {
  const size = file.statSync().size;
  const start = Math.max(0, size - maxBytes);
  return { start, bytes: readRangeSync(file, start, size) };
}

/** Writes every byte of `data` to `file`, synchronously. */
export function writeAllSync(file: Deno.FsFile, data: Uint8Array): void {
  let written = 0;
  while (written < data.length) written += file.writeSync(data.subarray(written));
}

/** Reads a JSON file; undefined when it does not exist; {@link KttyError} when it is corrupt. */
export function readJsonFile(path: string): Promise<unknown> {
  return now(() => {
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw ioError("read", path, e);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new KttyError("state_corrupt", `corrupt state file '${path}'`);
    }
  });
}

/**
 * Whether something is at `path` (a file, a directory; a symlink is not followed), in one
 * synchronous `lstat`: cheaper than an asynchronous call in a fresh process.
 */
export function pathExists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Removes a file; a missing one is fine. */
export function removeIfExists(path: string): Promise<void> {
  return now(() => {
    try {
      Deno.removeSync(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  });
}

/** Size of a file in bytes, 0 when it does not exist. */
export function fileSize(path: string): Promise<number> {
  return now(() => {
    try {
      return Deno.statSync(path).size;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return 0;
      throw e;
    }
  });
}

/** The message of an unknown thrown value. */
export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Hook mode: a user's program decides. It gets each clean output line (echo removed) on stdin;
 * when it exits, the frame has ended. The unfinished last line is written once the log has been
 * quiet for a moment, since a prompt never ends with a newline.
 * @module
 */

import { KttyError } from "../errors.ts";
import { descendants } from "../proc.ts";
import { type FrameDetector, stripTrailingPrompt } from "./detector.ts";

const PARTIAL_QUIET_MS = 50;
const CLOSE_GRACE_MS = 300;

function signal(pid: number, name: Deno.Signal): void {
  try {
    Deno.kill(pid, name);
  } catch {
    // already gone
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    Deno.unrefTimer(timer);
  });
}

/** Checks that `path` is an executable file; returns its absolute path. */
export async function resolveHook(path: string, cwd: string): Promise<string> {
  const absolute = path.startsWith("/") ? path : `${cwd}/${path}`;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(absolute);
  } catch {
    throw new KttyError("hook_invalid", `hook '${path}' does not exist`);
  }
  if (!info.isFile) throw new KttyError("hook_invalid", `hook '${path}' is not a file`);
  if (info.mode !== null && (info.mode & 0o111) === 0) {
    throw new KttyError("hook_invalid", `hook '${path}' is not executable`);
  }
  return absolute;
}

/** Hook-mode detector: owns the hook process for one cell. */
export class HookDetector implements FrameDetector {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #exited = false;
  #sentPartial = "";
  #encoder = new TextEncoder();
  #pending: Promise<void> = Promise.resolve();

  /** @param hook absolute path of the hook program */
  constructor(hook: string) {
    // In the watcher's process group: whoever kills that group kills the hook too.
    this.#child = new Deno.Command(hook, { stdin: "piped", stdout: "null", stderr: "null" })
      .spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#child.status.then(() => this.#exited = true);
  }

  /** Resolves when the hook exits. */
  get ended(): Promise<Deno.CommandStatus> {
    return this.#child.status;
  }

  #send(text: string): void {
    if (this.#exited) return;
    const bytes = this.#encoder.encode(text + "\n");
    // Writes are chained so lines reach the hook in order; a hook that stopped reading is fine.
    this.#pending = this.#pending.then(() => this.#writer.write(bytes)).catch(() => {});
  }

  onLine(line: string, echo: boolean): void {
    if (echo) return;
    if (this.#sentPartial !== "" && line === this.#sentPartial) {
      this.#sentPartial = "";
      return; // already sent while it was the unfinished line
    }
    this.#sentPartial = "";
    this.#send(line);
  }

  onQuiet(partial: string): void {
    if (partial.trim() === "" || partial === this.#sentPartial) return;
    this.#sentPartial = partial;
    this.#send(partial);
  }

  isDone(_partial: string, _quietMs: number): boolean {
    return this.#exited;
  }

  finish(lines: string[], partial: string): string[] {
    return stripTrailingPrompt(lines, partial);
  }

  /**
   * Ends the hook and everything it started: SIGTERM, a short grace, then SIGKILL. Bounded.
   * Its descendants are listed first: once the hook is gone they would be re-parented and lost.
   */
  async close(): Promise<void> {
    await Promise.race([this.#writer.close().catch(() => {}), delay(CLOSE_GRACE_MS)]);
    const pid = this.#child.pid;
    const children = await descendants(pid);
    if (!this.#exited) {
      signal(pid, "SIGTERM");
      await Promise.race([this.#child.status, delay(CLOSE_GRACE_MS)]);
    }
    if (!this.#exited) signal(pid, "SIGKILL");
    for (const child of children) signal(child, "SIGKILL");
    await this.#child.status;
  }
}

/** How long the log must be quiet before the hook is shown the unfinished last line. */
export const HOOK_PARTIAL_QUIET_MS = PARTIAL_QUIET_MS;

/**
 * One file watch per process for every directory it follows (session directories, the socket's
 * directory for `km --all`): a single `Deno.FsWatcher` — one inotify instance, of the 128 a user
 * gets by default — rebuilt over the whole set when a directory is added. A follower sleeps on it
 * and wakes only when a file it cares about changes. When watching fails (the user's inotify
 * instances or watches are used up) the process says so once, on stderr and in a note `k status`
 * reads, and its followers fall back to polling.
 * @module
 */

/** How often a follower looks again when file watching failed. */
export const WATCH_FALLBACK_POLL_MS = 250;

/** The note a process leaves in the socket's directory when it cannot watch files. */
export const WATCH_FAILED_NOTE = "watch-failed";

/** A follower's interest in one directory: which of its files changed, and a way to wait. */
export class DirSubscription {
  readonly dir: string;
  #hub: WatchHub;
  #changed = new Set<string>();
  #wake: (() => void) | undefined;
  #onChange: (() => void) | undefined;

  constructor(hub: WatchHub, dir: string, onChange?: () => void) {
    this.#hub = hub;
    this.dir = dir;
    this.#onChange = onChange;
  }

  /** Records a change of `name` (a file in the directory; "" for the directory itself). */
  notify(name: string): void {
    this.#changed.add(name);
    this.#wake?.();
    this.#onChange?.();
  }

  /** The names changed since the last call, and forgets them. */
  takeChanged(): Set<string> {
    const changed = this.#changed;
    this.#changed = new Set();
    return changed;
  }

  /** Whether watching works: false when the process fell back to polling. */
  get watching(): boolean {
    return this.#hub.failure === undefined;
  }

  /**
   * Waits until something in the directory changes, `ms` pass, or `signal` aborts. Never longer
   * than {@link WATCH_FALLBACK_POLL_MS} when watching failed.
   */
  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#changed.size > 0 || signal?.aborted) return;
    const bound = this.watching ? ms : Math.min(ms, WATCH_FALLBACK_POLL_MS);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort = () => {};
    try {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        onAbort = () => resolve();
        signal?.addEventListener("abort", onAbort, { once: true });
        timer = setTimeout(resolve, Math.max(0, bound));
      });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      this.#wake = undefined;
    }
  }

  /** Stops following; the last one out closes the process's watch. */
  close(): Promise<void> {
    return this.#hub.unsubscribe(this);
  }
}

/** The process's one watch over the directories its followers registered. */
class WatchHub {
  #subs = new Map<string, Set<DirSubscription>>();
  #watched = new Set<string>();
  #watcher: Deno.FsWatcher | undefined;
  #pumping: Promise<void> = Promise.resolve();
  /** Why watching failed, once it did: the process polls from then on. */
  failure: string | undefined;

  subscribe(dir: string, onChange?: () => void): DirSubscription {
    const sub = new DirSubscription(this, dir, onChange);
    let set = this.#subs.get(dir);
    if (!set) this.#subs.set(dir, set = new Set());
    set.add(sub);
    if (!this.#watched.has(dir)) this.#rebuild();
    return sub;
  }

  async unsubscribe(sub: DirSubscription): Promise<void> {
    const set = this.#subs.get(sub.dir);
    set?.delete(sub);
    if (set?.size === 0) this.#subs.delete(sub.dir);
    if (this.#subs.size > 0) return; // a watch on a directory no one follows costs nothing
    this.#close();
    await this.#pumping;
  }

  #close(): void {
    try {
      this.#watcher?.close();
    } catch {
      // already closed
    }
    this.#watcher = undefined;
    this.#watched.clear();
  }

  /**
   * Watches every registered directory that still exists, and its parent, in one watcher; the old
   * one is closed. Every follower is woken after, so nothing that changed in between is missed.
   * The parent is watched because a watched directory's own removal can go unreported (inotify
   * drops the watch, and the events queued with it, when the directory goes); its parent tells.
   */
  #rebuild(): void {
    if (this.failure !== undefined) return;
    this.#close();
    const wanted = new Set<string>();
    for (const dir of this.#subs.keys()) wanted.add(dir).add(parentOf(dir));
    const dirs = [...wanted].filter(isDirectory);
    if (dirs.length > 0) {
      let watcher: Deno.FsWatcher;
      try {
        watcher = Deno.watchFs(dirs, { recursive: false });
      } catch (e) {
        this.#fail(dirs[0] as string, e);
        return;
      }
      this.#watcher = watcher;
      for (const dir of dirs) this.#watched.add(dir);
      const previous = this.#pumping;
      this.#pumping = previous.then(() => this.#pump(watcher));
    }
    for (const set of this.#subs.values()) for (const sub of set) sub.notify("");
  }

  async #pump(watcher: Deno.FsWatcher): Promise<void> {
    try {
      for await (const event of watcher) {
        for (const path of event.paths) this.#dispatch(path);
      }
    } catch {
      // closed
    }
  }

  #dispatch(path: string): void {
    // A change of a directory's child, or of a watched directory itself (removed, renamed).
    const direct = this.#subs.get(path);
    if (direct) {
      for (const sub of direct) sub.notify("");
      if (!isDirectory(path)) this.#watched.delete(path);
    }
    const slash = path.lastIndexOf("/");
    const parent = this.#subs.get(path.slice(0, slash));
    if (parent) { for (const sub of parent) sub.notify(path.slice(slash + 1)); }
  }

  /** Says once, on stderr and in a note beside the sessions, that this process polls instead. */
  #fail(dir: string, e: unknown): void {
    const reason = e instanceof Error ? e.message : String(e);
    this.failure =
      `pid ${Deno.pid} cannot watch files (${reason}): it polls every ${WATCH_FALLBACK_POLL_MS} ms instead; raise the limits (sysctl fs.inotify.max_user_instances, fs.inotify.max_user_watches) or run fewer followers (one km --all follows every session)`;
    console.error(`ktty: ${this.failure}`);
    const note = `${parentOf(dir)}/${WATCH_FAILED_NOTE}`;
    try {
      Deno.writeTextFileSync(
        note,
        JSON.stringify({
          pid: Deno.pid,
          start: startTicks(Deno.pid),
          at: new Date().toISOString(),
          message: this.failure,
        }) + "\n",
        { mode: 0o600 },
      );
    } catch {
      // said on stderr; the note is a courtesy
    }
    for (const set of this.#subs.values()) for (const sub of set) sub.notify("");
  }
}

/**
 * When process `pid` started (clock ticks since boot, `/proc/<pid>/stat`): with the pid, it names
 * one process even after the pid is reused. Undefined when it is gone.
 *
 * @param pid the process
 * @returns its start, or undefined
 */
export function startTicks(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i > 0 ? path.slice(0, i) : "/";
}

let hub: WatchHub | undefined;

/**
 * Follows changes in `dir` through the process's one file watch (made at first use). Close the
 * subscription when done: the last one closes the watch, so the process can exit at once.
 *
 * @param dir an existing directory (a session's, or the socket's)
 * @param onChange called at each change too (for a caller that waits on several things)
 * @returns the subscription: changed names, a wait, close
 */
export function watchDir(dir: string, onChange?: () => void): DirSubscription {
  if (Deno.env.get("K_WATCH") === "poll") {
    hub ??= Object.assign(new WatchHub(), {
      failure: `K_WATCH=poll: polling every ${WATCH_FALLBACK_POLL_MS} ms`,
    });
  }
  hub ??= new WatchHub();
  return hub.subscribe(dir, onChange);
}

/**
 * Why this process cannot watch files, if it failed to (said once on stderr already).
 *
 * @returns the message, or undefined while watching works
 */
export function watchFailure(): string | undefined {
  return hub?.failure;
}

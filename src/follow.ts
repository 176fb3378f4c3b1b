/**
 * Follows a growing file (a pane log, an event log): reads what is new, and waits for more with a
 * file watch as the wake-up and a short poll as the fallback (`Deno.watchFs` can drop events).
 * @module
 */

const READ_CHUNK_BYTES = 256 * 1024;

/** Runs `f` now; its result or error as a promise. */
function settled<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Reads a file from an offset onwards and waits for it to grow. */
export class FileFollower {
  #file: Deno.FsFile;
  #watcher: Deno.FsWatcher | undefined;
  #pumping: Promise<void> = Promise.resolve();
  #woken = false;
  #writerClosed = false;
  #wake: (() => void) | undefined;
  #buf = new Uint8Array(READ_CHUNK_BYTES);
  #offset: number;

  private constructor(file: Deno.FsFile, offset: number, watcher: Deno.FsWatcher | undefined) {
    this.#file = file;
    this.#offset = offset;
    this.#watcher = watcher;
    if (watcher) this.#pumping = this.#pump(watcher);
  }

  /**
   * Opens `path` at byte `offset`; `watch` false skips the file watch (one-shot reads). File calls
   * are synchronous: a log read is short, and an async call costs ~0.2 ms in a fresh process.
   */
  static open(path: string, offset: number, watch = true): Promise<FileFollower> {
    return settled(() => FileFollower.#openNow(path, offset, watch));
  }

  static #openNow(path: string, offset: number, watch: boolean): FileFollower {
    const file = Deno.openSync(path, { read: true });
    try {
      file.seekSync(offset, Deno.SeekMode.Start);
      let watcher: Deno.FsWatcher | undefined;
      if (watch) {
        try {
          watcher = Deno.watchFs(path, { recursive: false });
        } catch {
          watcher = undefined; // no inotify: the poll fallback does the work
        }
      }
      return new FileFollower(file, offset, watcher);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** The byte offset up to which the file has been read. */
  get offset(): number {
    return this.#offset;
  }

  async #pump(watcher: Deno.FsWatcher): Promise<void> {
    try {
      for await (const event of watcher) {
        // inotify's close-write: a process that had the file open for writing let go of it.
        if (event.kind === "access") this.#writerClosed = true;
        this.#notify();
      }
    } catch {
      // closed
    }
  }

  #notify(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /**
   * Whether a process that wrote the file closed it since the last call (always false without a
   * file watch). For a pane log: its pipe's writer ended, or its sign's doorbell rang.
   */
  takeWriterClosed(): boolean {
    const closed = this.#writerClosed;
    this.#writerClosed = false;
    return closed;
  }

  /** Reads one chunk if one is available, handing it to `sink`; returns the bytes read (0: none). */
  readAvailableOnce(sink: (bytes: Uint8Array) => void): Promise<number> {
    return settled(() => this.#readChunk(sink));
  }

  /** Reads everything available now, handing each chunk to `sink`; returns the bytes read. */
  readAvailable(sink: (bytes: Uint8Array) => void): Promise<number> {
    return settled(() => {
      let total = 0;
      for (let n = this.#readChunk(sink); n > 0; n = this.#readChunk(sink)) total += n;
      return total;
    });
  }

  #readChunk(sink: (bytes: Uint8Array) => void): number {
    const n = this.#file.readSync(this.#buf);
    if (n === null || n === 0) return 0;
    sink(this.#buf.subarray(0, n));
    this.#offset += n;
    return n;
  }

  /**
   * Waits until the file changes, `ms` pass, or `also` settles, whichever is first. Never waits
   * past `ms`: callers loop with their own deadline.
   */
  async wait(ms: number, also?: Promise<unknown>): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      timer = setTimeout(resolve, Math.max(0, ms));
      also?.then(() => resolve(), () => resolve());
    });
    clearTimeout(timer);
    this.#wake = undefined;
    this.#woken = false;
  }

  /**
   * Stops watching and closes the file. Awaits the watch's pending read: left pending, it holds
   * the inotify descriptor open and delays the process's exit by ~10 ms.
   */
  async close(): Promise<void> {
    try {
      this.#watcher?.close();
    } catch {
      // already closed
    }
    try {
      this.#file.close();
    } catch {
      // already closed
    }
    await this.#pumping;
  }
}

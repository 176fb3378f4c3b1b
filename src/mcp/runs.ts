/**
 * The cells this server runs in process. A `run` tool call watches its cell with
 * `Session.run`, as `k run` does, but returns by the call's bound: past it, the call answers
 * `running` and this process goes on watching (the cell's result is recorded when it ends; its
 * own time limit hands it to a background watcher, as in `k`). When the client goes away or the
 * server is stopped, every cell still watched here is handed to a background watcher
 * (`Session.handOff`, what `k run` does when signalled), so `k poll` and `wait` still see its end.
 * @module
 */

import type { BusyResult, CellOptions, FinalResult, Session } from "../../mod.ts";

/** How a bounded run came back: the cell's result, or still running past the bound. */
export type RunOutcome =
  | { kind: "ended"; result: FinalResult | BusyResult }
  | { kind: "running"; cellId: string };

/** A run watched in this process. */
interface Watched {
  session: Session;
  /** Settles once the code is typed (or the run settled without typing). */
  typed: Promise<void>;
}

/** How long a shutdown waits for code being typed before it hands the cells over, in ms. */
const TYPING_GRACE_MS = 15_000;

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
function bound(ms: number, signal: AbortSignal): { passed: Promise<void>; clear: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const passed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    onAbort = () => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return {
    passed,
    clear: () => {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener("abort", onAbort);
    },
  };
}

/** The runs this server watches, for their hand-off when it stops. */
export class Runs {
  #watched = new Set<Watched>();

  /**
   * Runs `code` in `session` and waits for its result at most `waitMs` (or until `signal`
   * aborts: the client cancelled the call). Past that, the cell goes on, watched here.
   *
   * @param session where to run
   * @param code the code
   * @param options the cell's own time limit and output budget
   * @param waitMs the longest this call waits
   * @param signal the call's cancellation
   * @returns the result, or the running cell's id
   */
  async run(
    session: Session,
    code: string,
    options: Pick<CellOptions, "timeoutMs" | "maxOutput">,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<RunOutcome> {
    let cellId: string | undefined;
    let markTyped = () => {};
    const typed = new Promise<void>((resolve) => markTyped = resolve);
    const running = session.run(code, {
      ...options,
      onStarted: (id) => {
        cellId = id;
        markTyped();
      },
    });
    const watched: Watched = { session, typed };
    this.#watched.add(watched);
    const settled = running.finally(() => {
      markTyped();
      this.#watched.delete(watched);
    });
    settled.catch(() => {}); // the caller gets the error from `running`
    const wait = bound(waitMs, signal);
    try {
      const first = await Promise.race([running, wait.passed]);
      if (first !== undefined) return { kind: "ended", result: first };
    } finally {
      wait.clear();
    }
    // The bound passed: the code may still be being typed (the library bounds that wait).
    await typed;
    if (cellId === undefined) return { kind: "ended", result: await running };
    return { kind: "running", cellId };
  }

  /**
   * Hands every cell still watched here to a background watcher (after waiting, bounded, for
   * code being typed), as `k run` does when it is stopped.
   *
   * @returns the ids of the cells handed over
   */
  async handOffAll(): Promise<string[]> {
    const watched = [...this.#watched];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, TYPING_GRACE_MS));
    try {
      await Promise.race([Promise.all(watched.map((w) => w.typed)), grace]);
    } finally {
      clearTimeout(timer);
    }
    const ids = await Promise.all(watched.map((w) => w.session.handOff().catch(() => undefined)));
    return ids.filter((id): id is string => id !== undefined);
  }
}

/**
 * Sessions and cells as MCP resources, and the push for their ends. `ktty://session/<name>` reads
 * as `k status -j`, `ktty://session/<name>/cell/<id>` as `k poll`. A client that subscribes to
 * one is sent `notifications/resources/updated` when it changes: for a cell, at its timeout and
 * at its end; for a session, at each event of its log (a cell fired or ended, a note, its death).
 * Each subscription follows the session's event log (`Session.events`: a file watch, no polling)
 * only while someone is subscribed.
 *
 * Both protocol eras subscribe: the 2025 era with `resources/subscribe`, the 2026-07-28 era with a
 * `subscriptions/listen` filter, which the SDK's stdio entry serves itself; {@link ListenPeek}
 * reads those requests on their way in, so this server knows which URIs to follow.
 * @module
 */

import {
  InvalidCellIdError,
  type Kernel,
  type KttyEvent,
  looksLikeCellId,
  NoSessionError,
  type Session,
  type StalledEvent,
} from "../../mod.ts";
import type { JSONRPCMessage, Transport } from "./sdk.ts";

/** The scheme and the start of every session's URI. */
const SESSION_PREFIX = "ktty://session/";

/** What a resource URI names. */
export type ResourceRef =
  | { kind: "session"; session: string }
  | { kind: "cell"; session: string; cellId: string };

/** The URI of session `name`. */
export function sessionUri(name: string): string {
  return `${SESSION_PREFIX}${encodeURIComponent(name)}`;
}

/** The URI of cell `cellId` of session `name`. */
export function cellUri(name: string, cellId: string): string {
  return `${sessionUri(name)}/cell/${cellId}`;
}

/**
 * What `uri` names, or undefined when it is none of ktty's URIs. The names are not checked here:
 * {@link resolveRef} does that with the library's own rules.
 */
export function parseUri(uri: string): ResourceRef | undefined {
  if (!uri.startsWith(SESSION_PREFIX)) return undefined;
  const parts = uri.slice(SESSION_PREFIX.length).split("/");
  let session: string;
  try {
    session = decodeURIComponent(parts[0] ?? "");
  } catch {
    return undefined;
  }
  if (parts.length === 1) return { kind: "session", session };
  if (parts.length === 3 && parts[1] === "cell") {
    return { kind: "cell", session, cellId: parts[2] ?? "" };
  }
  return undefined;
}

/** The session a URI names, checked (a bad name, a bad cell id, no such session: thrown). */
export async function resolveRef(
  kernel: Kernel,
  ref: ResourceRef,
): Promise<{ session: Session; cellId?: string }> {
  const session = kernel.session(ref.session); // InvalidNameError
  if (ref.kind === "cell" && !looksLikeCellId(ref.cellId)) {
    throw new InvalidCellIdError(ref.cellId);
  }
  if (!(await session.hasState())) throw new NoSessionError(ref.session);
  return ref.kind === "cell" ? { session, cellId: ref.cellId } : { session };
}

/** What a resource holds now: the session's status, or the cell's state. */
export async function readRef(kernel: Kernel, ref: ResourceRef): Promise<unknown> {
  const { session, cellId } = await resolveRef(kernel, ref);
  return cellId === undefined ? await session.status() : await session.poll(cellId);
}

/** The events after which a subscribed cell's resource has changed. */
const CELL_CHANGES = new Set(["timeout", "done", "interrupted", "error", "closed"]);

/** One followed URI: how many subscribe to it, and how to stop following. */
interface Followed {
  count: number;
  stop: AbortController;
}

/**
 * The URIs clients are subscribed to, each followed while subscribed. `notify` sends
 * `notifications/resources/updated`.
 */
export class Subscriptions {
  #kernel: Kernel;
  #notify: (uri: string) => Promise<void>;
  #followed = new Map<string, Followed>();

  /**
   * @param kernel the kernel whose sessions are followed
   * @param notify sends the update notification for a URI
   */
  constructor(kernel: Kernel, notify: (uri: string) => Promise<void>) {
    this.#kernel = kernel;
    this.#notify = notify;
  }

  /**
   * Subscribes to `uri`: checks it names a session (or a cell of one) and follows it. A cell that
   * has ended already is notified at once (no wake-up lost between `fire` and the subscription).
   * Throws a `KttyError` for a URI that names nothing.
   */
  async add(uri: string): Promise<void> {
    const ref = parseUri(uri);
    if (!ref) throw new NoSuchResourceError(uri);
    const { session, cellId } = await resolveRef(this.#kernel, ref);
    const followed = this.#followed.get(uri);
    if (followed) {
      followed.count++;
      return;
    }
    const entry: Followed = { count: 1, stop: new AbortController() };
    this.#followed.set(uri, entry);
    const signal = entry.stop.signal;
    let events: AsyncGenerator<KttyEvent | StalledEvent, void, undefined>;
    let first: IteratorResult<KttyEvent | StalledEvent, void> | undefined;
    try {
      if (cellId === undefined) {
        // From the event after the last one now: nothing between this answer and the follow.
        const [last] = await session.history(1);
        events = session.events({ from: (last?.event.seq ?? 0) + 1, signal });
      } else {
        events = session.events({ cellId, signal });
        first = await events.next(); // its `fired` event: proves the cell exists
      }
    } catch (e) {
      if (this.#followed.get(uri) === entry) this.#followed.delete(uri);
      throw e;
    }
    this.#follow(uri, entry, events, first).catch((e) => {
      console.error(`ktty mcp: following ${uri}: ${e instanceof Error ? e.message : e}`);
    });
  }

  /** Unsubscribes from `uri` (once per {@link add}); the last one stops its following. */
  remove(uri: string): void {
    const followed = this.#followed.get(uri);
    if (!followed || --followed.count > 0) return;
    followed.stop.abort();
    this.#followed.delete(uri);
  }

  /** Stops following everything. */
  closeAll(): void {
    for (const followed of this.#followed.values()) followed.stop.abort();
    this.#followed.clear();
  }

  async #follow(
    uri: string,
    entry: Followed,
    events: AsyncGenerator<KttyEvent | StalledEvent, void, undefined>,
    first: IteratorResult<KttyEvent | StalledEvent, void> | undefined,
  ): Promise<void> {
    const isCell = first !== undefined;
    try {
      let next = first ?? await events.next();
      while (!next.done) {
        const { status } = next.value;
        if (!isCell || CELL_CHANGES.has(status)) await this.#notify(uri).catch(() => {});
        next = await events.next();
      }
    } finally {
      // The stream ended (the cell ended, the session closed): nothing more will change.
      if (this.#followed.get(uri) === entry) this.#followed.delete(uri);
      await events.return();
    }
  }
}

/** A URI that is not one of ktty's. */
export class NoSuchResourceError extends Error {
  /**
   * @param uri the URI asked for
   */
  constructor(uri: string) {
    super(
      `no such resource '${uri}'; ktty's are ktty://session/<name> and ktty://session/<name>/cell/<cell_id>`,
    );
    this.name = "NoSuchResourceError";
  }
}

/** The parameters of a JSON-RPC message, when it has an object of them. */
function paramsOf(message: JSONRPCMessage): Record<string, unknown> | undefined {
  const params = "params" in message ? message.params : undefined;
  return typeof params === "object" && params !== null
    ? params as Record<string, unknown>
    : undefined;
}

/**
 * The stdio transport, read on the way in: a 2026-07-28 client subscribes with a
 * `subscriptions/listen` request (and ends it with `notifications/cancelled`), which the SDK's
 * entry answers without telling the server instance; this transport tells {@link Subscriptions}.
 * Everything passes through unchanged.
 */
export class ListenPeek implements Transport {
  #inner: Transport;
  #subscriptions: Subscriptions;
  #listens = new Map<string | number, string[]>();
  /** Set by the SDK's entry. */
  onclose?: () => void;
  /** Set by the SDK's entry. */
  onerror?: (error: Error) => void;
  /** Set by the SDK's entry. */
  onmessage?: Transport["onmessage"];

  /**
   * @param inner the real transport
   * @param subscriptions where listened URIs are followed
   * @param onclosed called after the transport closed (the client went away)
   */
  constructor(inner: Transport, subscriptions: Subscriptions, onclosed: () => void) {
    this.#inner = inner;
    this.#subscriptions = subscriptions;
    inner.onmessage = (message, extra) => {
      this.#peek(message);
      this.onmessage?.(message, extra);
    };
    inner.onerror = (error) => this.onerror?.(error);
    inner.onclose = () => {
      this.onclose?.();
      onclosed();
    };
  }

  /** Starts the real transport. */
  start(): Promise<void> {
    return this.#inner.start();
  }

  /** Sends through the real transport. */
  send(...args: Parameters<Transport["send"]>): Promise<void> {
    return this.#inner.send(...args);
  }

  /** Closes the real transport. */
  close(): Promise<void> {
    return this.#inner.close();
  }

  #peek(message: JSONRPCMessage): void {
    if (!("method" in message)) return;
    const params = paramsOf(message);
    if (message.method === "subscriptions/listen" && "id" in message) {
      const filter = params?.notifications as { resourceSubscriptions?: unknown } | undefined;
      const uris = Array.isArray(filter?.resourceSubscriptions)
        ? filter.resourceSubscriptions.filter((u): u is string => typeof u === "string")
        : [];
      if (uris.length === 0) return;
      const added: string[] = [];
      this.#listens.set(message.id, added);
      for (const uri of uris) {
        this.#subscriptions.add(uri).then(() => added.push(uri)).catch((e) => {
          console.error(`ktty mcp: cannot follow ${uri}: ${e instanceof Error ? e.message : e}`);
        });
      }
    } else if (message.method === "notifications/cancelled") {
      const id = params?.requestId;
      if (typeof id !== "string" && typeof id !== "number") return;
      for (const uri of this.#listens.get(id) ?? []) this.#subscriptions.remove(uri);
      this.#listens.delete(id);
    }
  }
}

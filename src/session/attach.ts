/**
 * `k peek` and `k attach`: a person's own terminal on a live session. Both go through a
 * throwaway *view*: a tmux session grouped with the agent's, sharing its window but not its
 * session, attached from the person's terminal and removed when that client leaves. The agent's
 * window is `window-size manual`, so no client resizes it; `peek` attaches read-only, so tmux
 * drops every key but the detach key. `attach` is the one way a person types into a session.
 * @module
 */

import { KttyError, NoSessionError, UsageError } from "../errors.ts";
import { appendEvent } from "../events/log.ts";
import { whoAmI } from "./identity.ts";
import { readMetaIfAny } from "./meta.ts";
import { type KernelConfig, sessionPaths } from "../state.ts";
import { attachView, hasSession, killView, viewSessionName } from "../tmux.ts";

const HANGUP_SIGNALS: Deno.Signal[] = ["SIGHUP", "SIGTERM"];

/** How {@link attachSession} shows the session. */
export interface AttachOptions {
  /** Watch only: keys typed in the person's terminal never reach the session (default false). */
  readOnly?: boolean;
  /**
   * Who is attaching, for the `notify` events an interactive attach appends (default:
   * `user@host` of this process).
   */
  who?: string;
}

/**
 * Hands this process's terminal to tmux, showing session `name` until the person detaches
 * (`C-b d`) or the session ends; returns tmux's exit status (0 on a detach). Refuses, before
 * creating anything, when the session is not live or stdin is not a terminal. An interactive
 * attach appends a `notify` event when it starts and when it ends, so an agent following the
 * event log knows a person may have typed.
 */
export async function attachSession(
  config: KernelConfig,
  name: string,
  options: AttachOptions = {},
): Promise<number> {
  const paths = sessionPaths(config, name);
  const readOnly = options.readOnly ?? false;
  const meta = await readMetaIfAny(paths).catch(() => undefined);
  if (!(await hasSession(config, name))) {
    if (!meta) throw new NoSessionError(name);
    throw new KttyError(
      "no_session",
      `session '${name}' is stale (its tmux session is gone); k new ${name} ${meta.command} restarts it, k ls --prune removes it`,
    );
  }
  const verb = readOnly ? "k peek" : "k attach";
  if (!Deno.stdin.isTerminal()) {
    throw new UsageError(
      `${verb} needs a terminal (stdin is not a TTY); from a script use k watch ${name} or km ${name}`,
    );
  }
  const view = viewSessionName(name, readOnly ? "peek" : "attach");
  const label = readOnly
    ? `[peek ${name}: read-only, C-b d leaves] `
    : `[attach ${name}: you type into it, C-b d leaves] `;
  const me = await whoAmI();
  const who = options.who ?? `${me.user}@${me.host}`;
  const announce = async (what: string) => {
    if (readOnly || !meta) return;
    await appendEvent(paths.events, name, { status: "notify", from: "k attach", message: what })
      .catch(() => undefined);
  };
  // A closing terminal sends its hangup (and tmux its SIGTERM) more than once, also after tmux's
  // client has exited: this process stays until the view is gone and the detach is announced.
  const stay = () => {};
  for (const signal of HANGUP_SIGNALS) Deno.addSignalListener(signal, stay);
  try {
    await announce(`${who} attached; keys typed there reach the session`);
    try {
      return await attachView(config, name, { view, readOnly, label });
    } finally {
      // Normally tmux already removed it (destroy-unattached); this covers a failed attach.
      await killView(config, view).catch(() => false);
      await announce(`${who} detached`);
    }
  } finally {
    for (const signal of HANGUP_SIGNALS) Deno.removeSignalListener(signal, stay);
  }
}

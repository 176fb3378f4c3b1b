/**
 * The registry: every `k` verb, in the order `k help` lists them (the README's command table
 * follows it). Adding a verb is adding its file and one line here.
 *
 * The registry holds cheap objects: each verb file imports only the library. A verb whose code
 * is heavy keeps its definition in its file and loads the rest inside `run` with a literal
 * `await import("./heavy.ts")`. Verified (Deno 2.9, with a scratch verb whose imported module
 * printed a line at its top level): `src/build.ts` still builds the bundle (`deno bundle`, one
 * file, no code splitting); the module is inside it, wrapped in a lazy initialiser (`__esm`)
 * that runs on the first `import()`, so `k --version` and `k run` from the bundle never ran its
 * top level; `deno info` lists the module, so the bundle's manifest covers it and an edit to it
 * makes the bundle stale. From the sources (`K_BUNDLE=0`, a stale bundle) Deno reads the module
 * at start-up with the rest of the graph (strace shows it opened; a syntax error in it does not
 * stop start-up) and evaluates it only on the `import()`. `import.meta.url` differs between
 * `src/cli/` and the bundle in `src/`.
 *
 * Not so for code with third-party packages: `mcp` loads `mcp.ts` (the MCP SDK from npm) through
 * a computed URL, never bundled and never read at start-up. A literal `import()` of it put the
 * SDK and zod into the bundle (1.8 MB instead of 0.2 MB, parsed at every `k` start) and the npm
 * packages into the graph every start from the sources resolves.
 * @module
 */

import { attach } from "./attach.ts";
import { fire } from "./fire.ts";
import { help } from "./help.ts";
import { history } from "./history.ts";
import { host } from "./host.ts";
import { int } from "./int.ts";
import { kill } from "./kill.ts";
import { ls } from "./ls.ts";
import { mcp } from "./mcp.ts";
import { newVerb } from "./new.ts";
import { notify } from "./notify.ts";
import { peek } from "./peek.ts";
import { poll } from "./poll.ts";
import { run } from "./run.ts";
import { screen } from "./screen.ts";
import { send } from "./send.ts";
import { status } from "./status.ts";
import type { Verb } from "./verb.ts";
import { version } from "./version.ts";
import { watch } from "./watch.ts";

/** Every verb, in `k help` order. */
export const VERBS: readonly Verb[] = [
  newVerb,
  run,
  fire,
  poll,
  send,
  screen,
  int,
  kill,
  notify,
  ls,
  status,
  watch,
  peek,
  attach,
  history,
  host,
  mcp,
  version,
  help,
];

/**
 * `k`: the ktty command. Its code is `src/k.ts`; this entry runs it from the start-up bundle
 * when that is fresh (see `src/start.ts`), else from the sources.
 *
 *   deno run -A cli.ts <verb> …      (k --help lists the verbs)
 * @module
 */

import { start } from "./src/start.ts";

if (import.meta.main) {
  Deno.exit(await start("k", Deno.args));
}

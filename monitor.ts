/**
 * `km`: the ktty monitor. Its code is `src/km.ts`; this entry runs it from the start-up bundle
 * when that is fresh (see `src/start.ts`), else from the sources.
 *
 *   deno run -A monitor.ts <session> [cell_id] [-1] [--from <seq|ISO time>] [--snapshot]
 *                          [--stall-after <seconds>]
 * @module
 */

import { start } from "./src/start.ts";

if (import.meta.main) {
  Deno.exit(await start("km", Deno.args));
}

/**
 * The version, read from deno.json so there is one source of truth.
 * @module
 */

import config from "../deno.json" with { type: "json" };

/** ktty's version. */
export const VERSION: string = config.version;

/**
 * `k version` (also `k --version`, `k -V`): print the version.
 * @module
 */

import { VERSION } from "../../mod.ts";
import { EXIT_OK } from "./output.ts";
import type { Verb } from "./verb.ts";

/** `k version | --version | -V` */
export const version: Verb = {
  name: "version",
  aliases: ["--version", "-V"],
  usage: "k version | --version | -V",
  summary: "print the version",
  examples: ["k --version"],
  flags: [],
  args: "raw",
  json: "never",
  run() {
    // tests/start_test.ts finds this line in the bundle to mark it: keep it as written.
    console.log(`ktty ${VERSION}`);
    return Promise.resolve(EXIT_OK);
  },
};

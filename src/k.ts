/**
 * `k`: the ktty command. The entry the start-up bundle is built from (`src/build.ts`); the
 * command itself is `src/cli/`: one file per verb, registered in `src/cli/verbs.ts`, run by
 * `src/cli/main.ts`.
 * @module
 */

export { main } from "./cli/main.ts";

/**
 * `k attach`: take over the live terminal, the only verb through which a person types into a
 * session (`-r`: read-only, as `k peek`). Exits with tmux's status.
 * @module
 */

import { UsageError } from "../../mod.ts";
import type { Verb } from "./verb.ts";

/** `k attach [--read-only] [session]` */
export const attach: Verb = {
  name: "attach",
  usage: "k attach [--read-only] [session]",
  summary: "take over the live terminal: you type into it",
  details: [
    "The only verb through which a person types into a session: keys go to its program",
    "as if the agent typed them, and a notify event in its log marks when you attach and",
    "detach. -r, --read-only: watch only (k peek). Goes through a throwaway tmux session",
    "grouped with the agent's, removed when you detach (C-b d); the agent's pane keeps its",
    "size (10000x50: you see the part around the cursor). Needs a terminal.",
  ],
  examples: ["k attach work", "k attach -r work"],
  flags: [{
    name: "read-only",
    short: "r",
    type: "boolean",
    description: "watch only: nothing typed reaches the session (k peek)",
  }],
  args: "flags",
  json: "never",
  async run({ kernel, verb, flags, positionals }) {
    if (positionals.length > 1) throw new UsageError(`usage: ${verb.usage}`);
    const target = await kernel.resolve(positionals[0]);
    return await target.attach({ readOnly: flags.has("read-only") });
  },
};

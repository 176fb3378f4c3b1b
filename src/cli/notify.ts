/**
 * `k notify`: append a `notify` event to a session's event log, for whoever follows it (`km`,
 * `k watch`).
 * @module
 */

import { sessionAndText } from "./args.ts";
import { EXIT_OK, printJson, printText } from "./output.ts";
import type { Verb } from "./verb.ts";

/** `k notify [-j] [session] <message> [--from NAME]` */
export const notify: Verb = {
  name: "notify",
  usage: "k notify [-j] [session] <message> [--from NAME]",
  summary: "append a notify event to the event log",
  examples: ["k notify work 'tests are green' --from ci"],
  flags: [
    { name: "json", short: "j", type: "boolean", description: "print the appended event" },
    { name: "from", type: "string", description: "who sends it (default $USER)" },
  ],
  args: "flags",
  json: "flag",
  async run({ kernel, flags, positionals }) {
    const { session, text } = sessionAndText(positionals, "message");
    const target = await kernel.resolve(session);
    const event = await target.notify(text, flags.string("from") ?? Deno.env.get("USER") ?? "k");
    if (flags.has("json")) printJson(event);
    else printText(`OK ${target.name} (event ${event.seq})`);
    return EXIT_OK;
  },
};

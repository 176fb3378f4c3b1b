/**
 * `k kill`: end a session's watcher, its tmux session (and any `peek`/`attach` views of it), its
 * program's whole process tree and its state; say what needed a signal and what survived.
 * @module
 */

import { UsageError } from "../../mod.ts";
import { EXIT_FAILURE, EXIT_OK, printError, printJson, printText } from "./output.ts";
import type { Verb } from "./verb.ts";

/** `k kill [-j] [--keep] <session>` */
export const kill: Verb = {
  name: "kill",
  usage: "k kill [-j] [--keep] <session>",
  summary: "end the session, its process tree, views and state",
  details: [
    "What outlives the terminal's hangup gets SIGTERM, then SIGKILL, and is named;",
    "what even SIGKILL leaves alive is named on stderr (exit 1). -j: the JSON result.",
    "--keep keeps its event log and results (k history, k poll, km --from answer) until",
    "k ls --prune; a new session of the same name continues its log.",
  ],
  examples: ["k kill work", "k kill --keep work"],
  flags: [
    { name: "json", short: "j", type: "boolean", description: "print the JSON result" },
    { name: "keep", type: "boolean", description: "keep the event log and results" },
  ],
  args: "flags",
  json: "flag",
  async run({ kernel, flags, positionals }) {
    if (positionals.length !== 1) throw new UsageError("k kill [-j] [--keep] <session>");
    const target = kernel.session(positionals[0] as string);
    const { ended, survivors } = await target.kill({ keep: flags.has("keep") });
    const status = survivors.length === 0 ? EXIT_OK : EXIT_FAILURE;
    if (flags.has("json")) {
      printJson({ session: target.name, status: "killed", ended, survivors });
      return status;
    }
    const did = ["killed", ...ended.map((p) => `${p.command} (pid ${p.pid}) ended by ${p.signal}`)];
    printText(`OK ${target.name} (${did.join("; ")})`);
    if (survivors.length > 0) {
      const named = survivors.map((p) => `${p.command} (pid ${p.pid})`).join(", ");
      const pids = survivors.map((p) => p.pid).join(",");
      printError(
        `still running after SIGKILL: ${named} (an uninterruptible wait?); ps -o pid,stat,wchan:32,args -p ${pids} shows what it waits for`,
        false,
      );
    }
    return status;
  },
};

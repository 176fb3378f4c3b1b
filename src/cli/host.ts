/**
 * `k host setup <target>`: make a remote host ready for `k --host` (src/remote/install.ts).
 * @module
 */

import { configFromEnv, UsageError } from "../../mod.ts";
import { EXIT_OK, printJson, printText } from "./output.ts";
import type { Verb } from "./verb.ts";
import { loadSource } from "../start.ts";

/** `k host setup [-j] <target>` */
export const host: Verb = {
  name: "host",
  usage: "k host setup [-j] <target>",
  summary: "install this ktty on a host for k --host (checks Deno, tmux)",
  details: [
    "target is what ssh takes: an alias from your SSH config, user@host, ssh://user@host:port.",
    "Checks the host for Deno and tmux >= 3.0 and says what is missing and how to install it;",
    "copies the self-contained artifact (src/ktty.bundle.js, from deno task build) with its",
    "wrapper into ~/.local/share/ktty/<version>-<hash>/ there, once; then runs it. Each side",
    "runs exactly the other's version: after an update, run it again. A new install removes",
    "older artifacts there but the two most recently installed.",
    "ssh runs as configured, with BatchMode (no prompts) and a shared connection;",
    "K_SSH_COMMAND names another ssh command (e.g. 'ssh -F ~/.ssh/agents').",
  ],
  examples: ["k host setup gpu-box", "k host setup -j ssh://me@10.0.0.5:2222"],
  flags: [{ name: "json", short: "j", type: "boolean", description: "print the JSON result" }],
  args: "flags",
  json: "flag",
  async run({ verb, flags, positionals }) {
    const [action, target, ...extra] = positionals;
    if (action !== "setup" || target === undefined || extra.length > 0) {
      throw new UsageError(`usage: ${verb.usage}`);
    }
    type Install = typeof import("../remote/install.ts");
    const { setUpHost } = await loadSource<Install>("./remote/install.ts", "k host setup");
    const result = await setUpHost(configFromEnv(), target);
    if (flags.has("json")) {
      printJson(result);
      return EXIT_OK;
    }
    const what = result.installed === "copied" ? "installed" : "already installed";
    printText(`${target}: ktty ${result.id} ${what} in ${result.path}`);
    printText(
      `  ${result.user}@${result.host}: ${result.deno_version} (${result.deno}), ${result.tmux}`,
    );
    if (result.removed.length > 0) printText(`  removed older: ${result.removed.join(", ")}`);
    printText(`  next: k --host ${target} new work bash`);
    return EXIT_OK;
  },
};

/**
 * `k host setup <target>`: checks what a remote host has (Deno, tmux ≥ 3.0), says what is
 * missing and how to install it, and puts this side's artifact (src/artifact.ts, built into
 * `src/ktty.bundle.js`) in `~/.local/share/ktty/<id>/` there with the wrapper script that runs
 * it. `<id>` is the version and the artifact's hash, so two versions never mix: each side runs
 * exactly the artifact named by the other. Installing again is a no-op. A new install removes
 * the older artifacts there but the {@link KEPT_OTHERS} most recently installed (~380 KB each;
 * every build of a checkout has its own id), so a few other checkouts or versions that use the
 * same host keep working, and the directory stays bounded.
 * @module
 */

import { KttyError } from "../errors.ts";
import { bundlePaths } from "../start.ts";
import type { KernelConfig } from "../state.ts";
import { PROTOCOL_MARK } from "./protocol.ts";
import { artifactId, callRemoteText, REMOTE_DIR } from "./call.ts";
import { assertTarget, spawnSsh } from "./ssh.ts";
import { VERSION } from "../version.ts";

/** What `k host setup` found and did. */
export interface HostSetupResult {
  /** The target as given. */
  target: string;
  /** The artifact id installed (`<version>-<hash>`). */
  id: string;
  /** Where it is on the remote. */
  path: string;
  /** `copied` now, or already `present`. */
  installed: "copied" | "present";
  /** The remote's Deno (its path) and version. */
  deno: string;
  /** `deno --version`'s first line there. */
  deno_version: string;
  /** `tmux -V` there. */
  tmux: string;
  /** The remote's host name and user. */
  host: string;
  /** The remote user. */
  user: string;
  /** The ids of older artifacts this install removed there (see {@link KEPT_OTHERS}). */
  removed: string[];
}

/** How many other artifacts a new install leaves in place: the most recently installed. */
export const KEPT_OTHERS = 2;

/** What an artifact's directory is named: `<version>-<12 hex>` (see {@link artifactId}). */
const ARTIFACT_DIR = "[0-9A-Za-z.+]*-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]" +
  "[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]";

/**
 * Removes the artifacts in the remote directory but `$1` (the one just installed) and the
 * {@link KEPT_OTHERS} newest others, and prints each id it removed. Only directories named as
 * artifacts are touched; anything else there is left alone.
 */
const PRUNE = [
  `cd "$HOME/${REMOTE_DIR}" 2>/dev/null || exit 0`,
  `ls -1t | while IFS= read -r d; do`,
  `  case $d in ${ARTIFACT_DIR}) ;; *) continue;; esac`,
  `  [ "$d" = "$1" ] && continue`,
  `  [ -d "$d" ] || continue`,
  `  n=$((\${n:-0} + 1))`,
  `  [ "$n" -le ${KEPT_OTHERS} ] && continue`,
  `  rm -rf -- "./$d" && echo "$d"`,
  `done`,
].join("\n");

/** What the probe script prints: one `key value` per line. */
const PROBE = [
  'echo "home $HOME"',
  'echo "user $(id -un)"',
  'echo "host $(uname -n)"',
  'd=$(command -v deno 2>/dev/null) || d=""',
  'if [ -z "$d" ]; then for c in "$HOME/.deno/bin/deno" /usr/local/bin/deno /usr/bin/deno; do ' +
  'if [ -x "$c" ]; then d=$c; break; fi; done; fi',
  'echo "deno $d"',
  'if [ -n "$d" ]; then echo "deno_version $("$d" --version 2>/dev/null | head -n 1)"; fi',
  'if command -v tmux >/dev/null 2>&1; then echo "tmux $(tmux -V 2>/dev/null)"; fi',
  'if [ -x "$HOME/' + REMOTE_DIR + '/$1/ktty" ]; then echo "installed yes"; fi',
].join("\n");

/** A path the wrapper can hold in single quotes: absolute, plain characters only. */
const PLAIN_PATH = /^\/[A-Za-z0-9._/+-]+$/;

/** The wrapper script beside the artifact (see src/artifact.ts for its protocol lines). */
export function wrapperScript(id: string, deno: string): string {
  if (!PLAIN_PATH.test(deno)) throw new Error(`unexpected Deno path ${deno}`);
  const mark = PROTOCOL_MARK.replace("\x1e", "\\036");
  return [
    "#!/bin/sh",
    `# ktty ${id}, put here by k host setup: runs ktty.js (beside this file) with this Deno.`,
    `deno='${deno}'`,
    'if [ "${1-}" = remote ]; then',
    `  printf '${mark}start %s\\n' '${id}' >&2`,
    // Its own id, not the caller's: the artifact refuses a request for another version.
    `  "$deno" run -A --no-lock --no-config "\${0%/*}/ktty.js" remote '${id}'`,
    "  status=$?",
    `  printf '${mark}exit %s\\n' "$status" >&2`,
    '  exit "$status"',
    "fi",
    'exec "$deno" run -A --no-lock --no-config "${0%/*}/ktty.js" "$@"',
    "",
  ].join("\n");
}

/** Runs the fixed shell `command` on `target` with `stdin`; ssh's failure is an error. */
async function sshRun(
  config: KernelConfig,
  target: string,
  command: string,
  stdin: Uint8Array,
): Promise<string> {
  const child = await spawnSsh(config, target, command);
  const writer = child.stdin.getWriter();
  await writer.write(stdin).catch(() => {});
  await writer.close().catch(() => {});
  const out = await child.output();
  const decoder = new TextDecoder();
  if (!out.success) {
    const why = decoder.decode(out.stderr).trim().split("\n").at(-1) ?? `exit ${out.code}`;
    const code = out.code === 255 ? "ssh_failed" : "io";
    throw new KttyError(code, `ssh to ${target} failed: ${why || `exit ${out.code}`}`);
  }
  return decoder.decode(out.stdout);
}

/** The fixed command that writes standard input to `name` in the artifact's directory. */
function writeCommand(id: string, name: string, mode: string): string {
  return `sh -c 'umask 077; d="$HOME/${REMOTE_DIR}/${id}"; mkdir -p "$d" && ` +
    `cat > "$d/${name}.part" && chmod ${mode} "$d/${name}.part" && ` +
    `mv -f "$d/${name}.part" "$d/${name}"'`;
}

/** Whether `tmux -V`'s answer is 3.0 or later. */
function tmuxRecent(version: string): boolean {
  const major = Number(/tmux (?:next-)?(\d+)/.exec(version)?.[1]);
  return major >= 3;
}

/** Installs this side's artifact on `target` (see the module's comment). */
export async function setUpHost(config: KernelConfig, target: string): Promise<HostSetupResult> {
  assertTarget(target);
  const id = artifactId();
  const probe = new Map<string, string>();
  const probeCommand = `sh -s ${id}`;
  const answer = await sshRun(config, target, probeCommand, new TextEncoder().encode(PROBE));
  for (const line of answer.split("\n")) {
    const space = line.indexOf(" ");
    if (space > 0) probe.set(line.slice(0, space), line.slice(space + 1).trim());
  }
  const deno = probe.get("deno") ?? "";
  const tmux = probe.get("tmux") ?? "";
  const missing: string[] = [];
  if (!deno) {
    missing.push(
      "deno (install it there: npm install -g deno, or curl -fsSL https://deno.land/install.sh | sh)",
    );
  }
  if (!tmuxRecent(tmux)) {
    const found = tmux ? ` (it has ${tmux})` : "";
    missing.push(`tmux >= 3.0${found} (install it there: sudo apt-get install tmux)`);
  }
  if (missing.length > 0) {
    throw new KttyError("remote_missing_tools", `${target} lacks ${missing.join(" and ")}`);
  }
  if (!PLAIN_PATH.test(deno)) {
    throw new KttyError(
      "remote_missing_tools",
      `${target}: Deno is at '${deno}', a path with characters ktty will not put in a script; ` +
        "link it from a plain path (e.g. /usr/local/bin/deno)",
    );
  }
  const present = probe.get("installed") === "yes";
  let removed: string[] = [];
  if (!present) {
    const artifact = await Deno.readFile(bundlePaths("ktty").bundle);
    await sshRun(config, target, writeCommand(id, "ktty.js", "600"), artifact);
    const wrapper = new TextEncoder().encode(wrapperScript(id, deno));
    await sshRun(config, target, writeCommand(id, "ktty", "700"), wrapper);
    const pruned = await sshRun(config, target, probeCommand, new TextEncoder().encode(PRUNE));
    removed = pruned.split("\n").filter((line) => line !== "");
  }
  // The installed artifact answers, and with this side's id.
  const version = await callRemoteText(config, target, { command: "k", argv: ["version"] });
  if (version.code !== 0 || version.stdout.trim() !== `ktty ${VERSION}`) {
    throw new KttyError(
      "io",
      `ktty ${id} on ${target} does not answer (k version said: ${
        version.stdout.trim() || "nothing"
      })`,
    );
  }
  return {
    target,
    id,
    path: `~/${REMOTE_DIR}/${id}`,
    installed: present ? "present" : "copied",
    deno,
    deno_version: probe.get("deno_version") ?? "",
    tmux,
    host: probe.get("host") ?? "",
    user: probe.get("user") ?? "",
    removed,
  };
}

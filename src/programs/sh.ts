/**
 * sh/dash: the end marker with `$?` lives in `PS1`; each cell is typed as
 * `__k_c; { … }; __k_r $?`, which prints the start marker and re-asserts `PS1` while keeping the
 * exit status.
 * @module
 */

import { continuationMarker, endMarker, printfFormat, startPayload } from "../markers.ts";
import { shellQuote } from "../tmux.ts";
import { CLEAR_LINE, codeLines, shellExitTrap } from "./profile.ts";
import type { ProgramProfile, ScriptFiles } from "./profile.ts";

function script(nonce: string, files: ScriptFiles): string {
  const [before = "", after = ""] = endMarker("$?", nonce).split("$?");
  return `# ktty shell integration for sh/dash (session nonce inside; do not share)
__k_d="$(printf '${printfFormat(before)}')"'$?'"$(printf '${printfFormat(after)}')"
__k_c() { printf '\\033]${startPayload(nonce)}\\007'; }
# The continuation prompt carries a marker: a cell whose code is incomplete is cancelled at once.
__k_p2="$(printf '${printfFormat(continuationMarker(nonce))}')"
__k_r() {
  case "$PS1" in *"${nonce}"*) ;; *) PS1="$__k_d$PS1" ;; esac
  case "$PS2" in *"${nonce}"*) ;; *) PS2="$__k_p2$PS2" ;; esac
  return "$1"
}
PS1="$__k_d\${PS1-\\$ }"
PS2="$__k_p2\${PS2-> }"
${shellExitTrap(files)}`;
}

/** sh, dash, ash. */
export const sh: ProgramProfile = {
  kind: "sh",
  names: /^(sh|dash|ash)$/,
  jobControl: true,
  bracketedPaste: false,
  quotedInsert: true,
  // dash has no line editor: it reads in the terminal's cooked mode, where Ctrl-U (VKILL) makes
  // the terminal itself erase the pending line, echoing its erasure (no text). The space keeps
  // readline quiet where `sh` is bash, and is erased with the rest.
  drain: CLEAR_LINE,
  integration: {
    file: "integration.sh",
    script,
    installLine: (path) => ` . ${shellQuote(path)}`,
    typeCell: (code) => ({ lines: ["__k_c; {", ...codeLines(code), "}; __k_r $?"] }),
  },
};

/**
 * zsh: `precmd`/`preexec` hooks print the end marker (with `$?`, first in `precmd_functions`) and
 * the start marker. zle turns bracketed paste on; a cell is typed as for bash.
 * @module
 */

import { continuationMarker, endMarker, printfFormat, startPayload } from "../markers.ts";
import { shellQuote } from "../tmux.ts";
import { typeShellCell } from "./bash.ts";
import { type ProgramProfile, type ScriptFiles, shellExitTrap } from "./profile.ts";

function script(nonce: string, files: ScriptFiles): string {
  return `# ktty shell integration for zsh (session nonce inside; do not share)
# Agent code is a script: no history expansion, and the session's own history file.
setopt NO_BANG_HIST INC_APPEND_HISTORY
fc -p ${shellQuote(files.history)} 10000 10000
typeset -g __k_nonce='${nonce}'
# The continuation prompt carries a marker: a cell whose code is incomplete is cancelled at once.
typeset -g __k_p2="$(printf '${printfFormat(continuationMarker(nonce))}')"
__k_precmd() {
  local __k_ec=$?
  printf '${printfFormat(endMarker("%s", "%s"))}' "$__k_ec" "$__k_nonce"
  [[ $PS2 == *"$__k_p2"* ]] || PS2="%{$__k_p2%}$PS2"
  # zsh's PROMPT_SP, but after the end marker: it pads before precmd, into the cell's output. A
  # row of blanks and a carriage return put the prompt on a line of its own after partial output.
  [[ -o prompt_cr ]] && printf '%*s\r\r' "$COLUMNS" ''
  return 0
}
__k_preexec() { printf '\\e]${startPayload("%s")}\\a' "$__k_nonce"; }
typeset -ga precmd_functions preexec_functions
precmd_functions=(__k_precmd \${precmd_functions:#__k_precmd})
preexec_functions=(\${preexec_functions:#__k_preexec} __k_preexec)
PROMPT_EOL_MARK=''
setopt NO_PROMPT_SP
${shellExitTrap(files)}`;
}

/** zsh. */
export const zsh: ProgramProfile = {
  kind: "zsh",
  names: /^zsh$/,
  jobControl: true,
  bracketedPaste: true,
  quotedInsert: true,
  // zle's Ctrl-U kills the whole line wherever the cursor is (vi insert mode: back to where
  // insert began), and rings no bell on an empty line.
  drain: { keys: ["C-u"] },
  integration: {
    file: "integration.zsh",
    script,
    installLine: (path) => ` . ${shellQuote(path)}`,
    typeCell: (code, cell) => typeShellCell(code, cell.bracketedPaste),
  },
};

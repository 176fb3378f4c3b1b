/**
 * bash: `PROMPT_COMMAND[77]` prints the end marker with `$?`, `PS0` the start marker (re-asserted
 * at every prompt, so a user's `PS0`/`PS1`/`PROMPT_COMMAND` change keeps them). Readline turns
 * bracketed paste on, so a multi-line cell is one paste: one input, one prompt.
 * @module
 */

import { continuationMarker, endMarker, printfFormat, startPayload } from "../markers.ts";
import { shellQuote } from "../tmux.ts";
import {
  type CellTyping,
  CLEAR_LINE,
  codeLines,
  type ProgramProfile,
  type ScriptFiles,
  shellExitTrap,
} from "./profile.ts";

function script(nonce: string, files: ScriptFiles): string {
  return `# ktty shell integration for bash (session nonce inside; do not share)
# Agent code is a script: no history expansion ('!' is a character), and the session's own
# history file (the user's ~/.bash_history is never read into it nor written).
set +H
HISTFILE=${shellQuote(files.history)}
history -c
history -r
__k_nonce='${nonce}'
__k_c=$'\\e]${startPayload(nonce)}\\a'
# The continuation prompt carries a marker: a cell whose code is incomplete is cancelled at once.
__k_p2="$(printf '${printfFormat(continuationMarker(nonce))}')"
__k_precmd() {
  local __k_ec=$?
  history -a 2>/dev/null
  printf '${printfFormat(endMarker("%s", "%s"))}' "$__k_ec" "$__k_nonce"
  case "\${PS0-}" in *"$__k_c"*) ;; *) PS0="\${PS0-}$__k_c" ;; esac
  case "\${PS2-}" in *"$__k_p2"*) ;; *) PS2="\\[$__k_p2\\]\${PS2-}" ;; esac
  return 0
}
# bash >= 5.1 runs every element of PROMPT_COMMAND, each seeing the command's $?; a high index
# survives 'PROMPT_COMMAND=...', which only replaces element 0.
if (( BASH_VERSINFO[0] > 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] >= 1) )); then
  PROMPT_COMMAND[77]=__k_precmd
else
  PROMPT_COMMAND="__k_precmd\${PROMPT_COMMAND:+; $PROMPT_COMMAND}"
fi
PS0="\${PS0-}$__k_c"
${shellExitTrap(files)}`;
}

/**
 * How a shell with a line editor takes a cell: one line as is; several lines (or a tab) as one
 * bracketed paste, where the editor has it (one input, `$?` of the last command, a tab is text,
 * never completion); else inside `{ … }`, still one input.
 */
export function typeShellCell(code: string, bracketedPaste: boolean): CellTyping {
  const lines = codeLines(code);
  if (bracketedPaste && (lines.length > 1 || code.includes("\t"))) {
    return { lines, bracketed: true };
  }
  return { lines: lines.length === 1 ? lines : ["{", ...lines, "}"] };
}

/** bash. */
export const bash: ProgramProfile = {
  kind: "bash",
  names: /^bash$/,
  jobControl: true,
  bracketedPaste: true,
  quotedInsert: true,
  // readline: a terminal's reply lands in the line it reads at the prompt (`printf '\e[6n'`
  // runs in cooked mode, the reply waits in the terminal's input until readline reads again).
  drain: CLEAR_LINE,
  integration: {
    file: "integration.bash",
    script,
    installLine: (path) => ` . ${shellQuote(path)}`,
    typeCell: (code, cell) => typeShellCell(code, cell.bracketedPaste),
  },
};

/**
 * The shell-integration scripts the kernel installs at `new`, one per program family. Each makes
 * the program print invisible OSC 133-style markers carrying the session's nonce:
 * `ESC ] 133;C;k=<nonce> BEL` where a cell's output starts, and
 * `ESC ] 133;D;<status>;k=<nonce>[;err=<type>] BEL` where it ends, before the prompt.
 * Shells mark the end from their prompt hook (so a person's Ctrl-C ends a cell too) and
 * re-assert their hook so that a user's `PS1`/`PROMPT_COMMAND` change does not remove it.
 * @module
 */

import type { ProgramKind } from "../code.ts";
import { randomHex } from "../state.ts";
import { shellQuote } from "../tmux.ts";

/** Program families with shell integration. */
export type IntegratedKind = "bash" | "zsh" | "sh" | "python" | "node";

/** The integrated family of `kind`, or undefined when it has none. */
export function integratedKind(kind: ProgramKind): IntegratedKind | undefined {
  return kind === "bash" || kind === "zsh" || kind === "sh" || kind === "python" || kind === "node"
    ? kind
    : undefined;
}

/** A fresh per-session nonce: 16 hex characters. */
export function newNonce(): string {
  return randomHex(8);
}

/** What installing integration needs: a script file and the one line that loads it. */
export interface IntegrationInstall {
  /** The script file's name inside the session directory. */
  file: string;
  /** The script. */
  content: string;
  /** The line to type to load it (given the script's absolute path). */
  installLine(path: string): string;
}

/** The integration for `kind` with `nonce`; cell code files live in `cellsDir`. */
export function integrationScript(
  kind: IntegratedKind,
  nonce: string,
  cellsDir: string,
): IntegrationInstall {
  switch (kind) {
    case "bash":
      return {
        file: "integration.bash",
        content: bash(nonce),
        installLine: (p) => ` . ${shellQuote(p)}`,
      };
    case "zsh":
      return {
        file: "integration.zsh",
        content: zsh(nonce),
        installLine: (p) => ` . ${shellQuote(p)}`,
      };
    case "sh":
      return {
        file: "integration.sh",
        content: posix(nonce),
        installLine: (p) => ` . ${shellQuote(p)}`,
      };
    case "python":
      return {
        file: "integration.py",
        content: python(nonce, cellsDir),
        installLine: (p) => `exec(open(${JSON.stringify(p)}, encoding="utf-8").read())`,
      };
    case "node":
      return {
        file: "integration.cjs",
        content: node(nonce),
        installLine: (p) => `require(${JSON.stringify(p)})`,
      };
  }
}

function bash(nonce: string): string {
  return `# ktty shell integration for bash (session nonce inside; do not share)
__k_nonce='${nonce}'
__k_c=$'\\e]133;C;k=${nonce}\\a'
__k_precmd() {
  local __k_ec=$?
  printf '\\e]133;D;%s;k=%s\\a' "$__k_ec" "$__k_nonce"
  case "\${PS0-}" in *"$__k_c"*) ;; *) PS0="\${PS0-}$__k_c" ;; esac
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
`;
}

function zsh(nonce: string): string {
  return `# ktty shell integration for zsh (session nonce inside; do not share)
typeset -g __k_nonce='${nonce}'
__k_precmd() {
  local __k_ec=$?
  printf '\\e]133;D;%s;k=%s\\a' "$__k_ec" "$__k_nonce"
  return 0
}
__k_preexec() { printf '\\e]133;C;k=%s\\a' "$__k_nonce"; }
typeset -ga precmd_functions preexec_functions
precmd_functions=(__k_precmd \${precmd_functions:#__k_precmd})
preexec_functions=(\${preexec_functions:#__k_preexec} __k_preexec)
PROMPT_EOL_MARK=''
`;
}

function posix(nonce: string): string {
  return `# ktty shell integration for sh/dash (session nonce inside; do not share)
__k_d="$(printf '\\033]133;D;')"'$?'"$(printf ';k=${nonce}\\007')"
__k_c() { printf '\\033]133;C;k=${nonce}\\007'; }
__k_r() {
  case "$PS1" in *"k=${nonce}"*) ;; *) PS1="$__k_d$PS1" ;; esac
  return "$1"
}
PS1="$__k_d\${PS1-\\$ }"
`;
}

function python(nonce: string, cellsDir: string): string {
  return `# ktty integration for the Python REPL (session nonce inside; do not share)
def __k_install(nonce, cells):
    import ast, linecache, os, sys, traceback, __main__
    class State:
        ec = 0
        err = ""
    state = State()
    class Prompt:
        def __init__(self, inner):
            self.inner = inner
        def __str__(self):
            err = ";err=" + state.err if state.err else ""
            mark = "\\x1b]133;D;%d;k=%s%s\\x07" % (state.ec, nonce, err)
            return "\\x01" + mark + "\\x02" + str(self.inner)
    def ensure_prompt():
        if not isinstance(getattr(sys, "ps1", None), Prompt):
            sys.ps1 = Prompt(getattr(sys, "ps1", ">>> "))
    def run(cell_id):
        path = os.path.join(cells, cell_id + ".py")
        with open(path, encoding="utf-8") as f:
            src = f.read()
        try:
            os.unlink(path)
        except OSError:
            pass
        state.ec, state.err = 0, ""
        lines = src.splitlines()
        for i, line in enumerate(lines[:200]):
            sys.stdout.write(("... " if i and line[:1] in " \\t)]}" else ">>> ") + line + "\\n")
        if len(lines) > 200:
            sys.stdout.write("... (%d more lines)\\n" % (len(lines) - 200))
        sys.stdout.write("\\x1b]133;C;k=" + nonce + "\\x07")
        sys.stdout.flush()
        name = "<cell " + cell_id + ">"
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)
        try:
            tree = compile(src, name, "exec", ast.PyCF_ONLY_AST)
            for node in tree.body:
                code = compile(ast.Interactive(body=[node]), name, "single")
                exec(code, __main__.__dict__)
        except SystemExit:
            raise
        except BaseException as e:
            state.ec, state.err = 1, type(e).__name__
            sys.last_type, sys.last_value, sys.last_traceback = type(e), e, e.__traceback__
            tb = e.__traceback__
            while tb is not None and tb.tb_frame.f_code is run.__code__:
                tb = tb.tb_next
            traceback.print_exception(type(e), e, tb)
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                ensure_prompt()
    ensure_prompt()
    return run
__k = __k_install(${JSON.stringify(nonce)}, ${JSON.stringify(cellsDir)})
del __k_install
`;
}

function node(nonce: string): string {
  return `// ktty integration for the Node.js REPL (session nonce inside; do not share)
// Cells arrive through the REPL's .editor mode, so the REPL itself evaluates them (top-level
// await, declarations that persist, value display); its eval is wrapped to mark the start, and
// the prompt carries the end marker with the status.
"use strict";
const server = require("node:repl").repl;
if (server && !server.__kttyInstalled) {
  server.__kttyInstalled = true;
  const nonce = ${JSON.stringify(nonce)};
  const basePrompt = server.getPrompt();
  let status = 0;
  let error = "";
  const setPrompt = () => {
    const err = error ? ";err=" + String(error).replace(/[^A-Za-z0-9_.]/g, "_") : "";
    server.setPrompt("\\x1b]133;D;" + status + ";k=" + nonce + err + "\\x07" + basePrompt);
  };
  const fail = (e) => {
    status = 1;
    error = (e && e.name) || "Error";
    setPrompt();
  };
  const evaluate = server.eval;
  server.eval = function (code, context, file, cb) {
    process.stdout.write("\\x1b]133;C;k=" + nonce + "\\x07");
    status = 0;
    error = "";
    setPrompt();
    return evaluate.call(this, code, context, file, (err, value) => {
      if (err) fail(err);
      cb(err, value);
    });
  };
  if (server._domain) server._domain.prependListener("error", fail);
  server.ignoreUndefined = true;
  setPrompt();
}
`;
}

/** A parsed marker. */
export type Marker =
  | { kind: "start" }
  | { kind: "end"; exitCode: number; error?: string };

/** Parses an OSC payload; undefined unless it is a marker carrying `nonce`. */
export function parseMarker(payload: string, nonce: string): Marker | undefined {
  if (!payload.startsWith("133;")) return undefined;
  const parts = payload.split(";");
  if (!parts.includes(`k=${nonce}`)) return undefined;
  if (parts[1] === "C") return { kind: "start" };
  if (parts[1] === "D") {
    const exitCode = Number(parts[2]);
    if (!Number.isInteger(exitCode)) return undefined;
    const err = parts.find((p) => p.startsWith("err="))?.slice(4);
    return err ? { kind: "end", exitCode, error: err } : { kind: "end", exitCode };
  }
  return undefined;
}

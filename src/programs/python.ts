/**
 * python3's REPL: `sys.ps1` becomes an object whose `str()` carries the end marker; a cell is one
 * typed line, `__k('<cell id>')`, which runs the code from a private file statement by statement
 * in `'single'` mode, as the REPL would (values echo, state persists in `__main__`), stops at the
 * first exception and reports its type. In modes without markers the code is reshaped for the
 * REPL's block rules.
 * @module
 */

import { endMarker, startMarker } from "../markers.ts";
import {
  CLEAR_LINE,
  codeLines,
  type ProgramProfile,
  pythonTakeCell,
  type ScriptFiles,
} from "./profile.ts";
import {
  debuggerScript,
  execScriptLine,
  heldPath,
  typePythonFamilyCell,
} from "./python_debugger.ts";

function script(nonce: string, files: ScriptFiles): string {
  return `# ktty integration for the Python REPL (session nonce inside; do not share)
${debuggerScript(nonce)}
def __k_install(nonce, cells, history, held):
    import ast, linecache, os, sys, traceback, __main__
    try:
        # The session's own history: the REPL read ~/.python_history at start and writes it at
        # exit (site's hook calls readline.write_history_file): both go to the session's file.
        import readline
        readline.clear_history()
        try:
            readline.read_history_file(history)
        except OSError:
            pass
        write_history = readline.write_history_file
        readline.write_history_file = lambda *args: write_history(history)
    except ImportError:
        readline = None
    def remember(lines):
        # Up-arrow (k attach) shows the cell's code, not the runner's call that typed it.
        if readline is None:
            return
        n = readline.get_current_history_length()
        if n and (readline.get_history_item(n) or "").startswith("__k("):
            readline.remove_history_item(n - 1)
        for line in lines:
            if line.strip():
                readline.add_history(line)
    class State:
        ec = 0
        err = ""
    state = State()
    def end_mark():
        if state.err:
            return ${JSON.stringify(endMarker("%d", "%s", "%s"))} % (state.ec, nonce, state.err)
        return ${JSON.stringify(endMarker("%d", "%s"))} % (state.ec, nonce)
    # Python 3.13's REPL (pyrepl, unless PYTHON_BASIC_REPL) moves up a line and prints a newline
    # before its prompt: the cell's output would end with a blank line its prompt drew. The
    # runner prints the end marker itself, before that (the prompt's marker comes after it).
    pyrepl = sys.version_info >= (3, 13) and not os.environ.get("PYTHON_BASIC_REPL") and \\
        getattr(sys.modules.get("_pyrepl.main"), "CAN_USE_PYREPL", False)
    class Prompt:
        def __init__(self, inner):
            self.inner = inner
        def __str__(self):
            return "\\x01" + end_mark() + "\\x02" + str(self.inner)
    class PromptText(str):
        """pyrepl's prompt: it takes ps1 as a str (used as is without colour, NO_COLOR): a
        fresh one after each cell, carrying that cell's status."""
    def ensure_prompt():
        ps1 = getattr(sys, "ps1", ">>> ")
        if pyrepl:
            inner = ps1.inner if isinstance(ps1, (Prompt, PromptText)) else ps1
            sys.ps1 = PromptText("\\x01" + end_mark() + "\\x02" + str(inner))
            sys.ps1.inner = inner
        elif not isinstance(ps1, Prompt):
            sys.ps1 = Prompt(ps1)
    def run(cell_id):
${pythonTakeCell("py")}
        state.ec, state.err = 0, ""
        lines = src.splitlines()
        remember(lines)
        for i, line in enumerate(lines[:200]):
            sys.stdout.write(("... " if i and line[:1] in " \\t)]}" else ">>> ") + line + "\\n")
        if len(lines) > 200:
            sys.stdout.write("... (%d more lines)\\n" % (len(lines) - 200))
        sys.stdout.write(${JSON.stringify(startMarker(nonce))})
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
                os.unlink(held)  # a debugger a breakpoint() reached is gone with the call
            except OSError:
                pass
            try:
                sys.stdout.flush()
                sys.stderr.flush()
                if pyrepl:
                    sys.stdout.write(end_mark())
                    sys.stdout.flush()
            finally:
                ensure_prompt()
    ensure_prompt()
    return run
__k_debugger_install(${JSON.stringify(nonce)}, ${heldPath(files)})
__k = __k_install(${JSON.stringify(nonce)}, ${JSON.stringify(files.cells)}, ${
    JSON.stringify(files.history)
  }, ${heldPath(files)})
del __k_install, __k_debugger_install
`;
}

const PY_CONTINUES_BLOCK = /^(else|elif|except|finally)\b|^[)\]}]/;

/**
 * The lines to type for `code` in the plain REPL: blank lines outside strings are dropped, a
 * blank line is typed where an indented block returns to column 0 (unless the next line continues
 * it: `else`, `except`, a closing bracket) and after a final block. Limitation: a line that opens
 * or closes a triple-quoted string is tracked by counting quotes.
 */
export function shapePythonCode(code: string): string[] {
  const out: string[] = [];
  let inString = false;
  let prevIndented = false;
  for (const line of codeLines(code)) {
    const quotes = (line.match(/"""|'''/g) ?? []).length;
    if (inString) {
      out.push(line);
      if (quotes % 2 === 1) inString = false;
      continue;
    }
    if (line.trim() === "") continue;
    const indented = /^\s/.test(line);
    if (!indented && prevIndented && !PY_CONTINUES_BLOCK.test(line)) out.push("");
    out.push(line);
    prevIndented = indented;
    if (quotes % 2 === 1) inString = true;
  }
  if (prevIndented && !inString) out.push("");
  return out;
}

/**
 * Whether python, given `args`, reads at its prompt: `-i`, or neither a script nor `-c`.
 * (`-m NAME` is read by the registry: a module's own profile, or none.)
 */
export function pythonInteractive(args: readonly string[]): boolean {
  let inspect = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "-" || !arg.startsWith("-")) return inspect; // a script (or stdin's)
    if (arg === "-X" || arg === "-W") i++;
    else if (arg === "-c") return inspect;
    else if (/^-[a-zA-Z]*i/.test(arg) && !/^-[XWc]/.test(arg)) inspect = true;
  }
  return true;
}

/** python, python3, python3.11. */
export const python: ProgramProfile = {
  kind: "python",
  names: /^python[0-9.]*$/,
  interactive: pythonInteractive,
  bracketedPaste: false,
  quotedInsert: true,
  shapeCode: shapePythonCode,
  // Python 3.13 reads and writes its history file (PYTHON_HISTORY) before and after the
  // integration can say; 3.11 ignores the variable (the integration moves its history).
  environment: (files) => ({ PYTHON_HISTORY: files.history }),
  // readline (cooked mode if python has none: Ctrl-U is the terminal's VKILL there).
  drain: CLEAR_LINE,
  integration: {
    file: "integration.py",
    script,
    installLine: execScriptLine,
    typeCell: typePythonFamilyCell,
  },
};

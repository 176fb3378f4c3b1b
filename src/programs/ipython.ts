/**
 * IPython: its `pre_run_cell`/`post_run_cell` events print the start and end markers (the latter
 * knows whether the cell raised: status 1 and the exception's type). A cell is one typed line,
 * `__k('<cell id>')`, which an input transformer replaces with the code from a private file, so
 * IPython runs the code as if typed (magics, `!cmd`, values shown without the `Out[n]:` label).
 * Its history goes to the session's directory (`IPYTHONDIR`), never `~/.ipython`.
 * @module
 */

import { endMarker, startMarker } from "../markers.ts";
import { onlyOptions } from "./command_line.ts";
import { CLEAR_LINE, type ProgramProfile, type ScriptFiles } from "./profile.ts";
import {
  debuggerScript,
  execScriptLine,
  heldPath,
  typePythonFamilyCell,
} from "./python_debugger.ts";

function script(nonce: string, files: ScriptFiles): string {
  const j = JSON.stringify;
  return `# ktty integration for IPython (session nonce inside; do not share)
${debuggerScript(nonce)}
def __k_install(nonce, cells, held):
    import os, re, sys
    ip = get_ipython()
    start = ${j(startMarker(nonce))}
    end = ${j(endMarker("%d", nonce))}
    end_error = ${j(endMarker("%d", nonce, "%s"))}
    cell = re.compile(r"^__k\\('([A-Za-z0-9_-]+)'\\)\\s*$")
    def take_cell(lines):
        # The typed line becomes the cell's code; IPython transforms and runs it as typed.
        found = cell.match(lines[0]) if len(lines) == 1 else None
        if not found:
            return lines
        path = os.path.join(cells, found.group(1) + ".py")
        try:
            with open(path, encoding="utf-8") as f:
                src = f.read()
            os.unlink(path)
        except OSError:
            return lines
        code = src.splitlines(True) or ["\\n"]
        for line in code[:200]:
            sys.stdout.write("   ...: " + line.rstrip("\\n") + "\\n")
        if len(code) > 200:
            sys.stdout.write("   ...: (%d more lines)\\n" % (len(code) - 200))
        if not code[-1].endswith("\\n"):
            code[-1] += "\\n"
        return code
    take_cell.has_side_effects = True  # not run when IPython asks whether input is complete
    ip.input_transformers_cleanup.insert(0, take_cell)
    def pre(info=None):
        sys.stdout.write(start)
        sys.stdout.flush()
    def post(result):
        try:
            os.unlink(held)  # a debugger a breakpoint() reached is gone with the call
        except OSError:
            pass
        sys.stdout.flush()
        sys.stderr.flush()
        error = result.error_before_exec or result.error_in_exec
        if error is None:
            sys.stdout.write(end % 0)
        else:
            sys.stdout.write(end_error % (1, type(error).__name__))
        sys.stdout.flush()
    ip.events.register("pre_run_cell", pre)
    ip.events.register("post_run_cell", post)
    # A value is shown as the plain REPL shows it (\`42\`), without IPython's \`Out[n]: \` label.
    ip.prompts.out_prompt_tokens = lambda *args, **kwargs: []
    ip.separate_out = ""
__k_debugger_install(${j(nonce)}, ${heldPath(files)})
__k_install(${j(nonce)}, ${j(files.cells)}, ${heldPath(files)})
del __k_install, __k_debugger_install
`;
}

/** Whether ipython, given `args`, reads at its prompt: `-i`, or no script. */
function ipythonInteractive(args: readonly string[]): boolean {
  return args.includes("-i") || onlyOptions(args);
}

/** ipython, ipython3, `python3 -m IPython`. */
export const ipython: ProgramProfile = {
  kind: "ipython",
  names: /^ipython[0-9.]*$/,
  modules: /^IPython$/,
  interactive: ipythonInteractive,
  // prompt_toolkit turns bracketed paste on; cells are one typed line, so it is not waited for.
  bracketedPaste: false,
  quotedInsert: false,
  // Its config and history database live in the session's directory (IPYTHONDIR), read from
  // start: never ~/.ipython's history (nor its profile's startup files: a session starts clean).
  environment: (files) => ({ IPYTHONDIR: `${files.dir}/ipython` }),
  // prompt_toolkit's emacs mode: Ctrl-U deletes to the start of the line.
  drain: CLEAR_LINE,
  integration: {
    file: "integration_ipython.py",
    script,
    installLine: execScriptLine,
    typeCell: typePythonFamilyCell,
  },
};

/**
 * gdb: integration through its Python. A `before_prompt` handler prints the end marker with the
 * last cell's status; a cell is one typed line, `python __k('<cell id>')`, which prints the start
 * marker and runs the code from a private file through `gdb.execute` (all of it: a `define` or
 * `commands` block too), stopping at the first error, whose message it prints as gdb would and
 * whose type it reports. An empty Enter repeats gdb's last command: none is ever typed. Pagination
 * and confirmation queries are off (a cell would wait on them); history goes to the session's
 * file. A gdb without Python falls back to repeat mode (or use `--prompt="(gdb)"`).
 * @module
 */

import { endMarker, startMarker } from "../markers.ts";
import { CLEAR_LINE, type ProgramProfile, pythonTakeCell, type ScriptFiles } from "./profile.ts";

function script(nonce: string, files: ScriptFiles): string {
  return `# ktty integration for gdb (session nonce inside; do not share)
set pagination off
set height 0
set confirm off
set history filename ${files.history}
python
def __k_install(nonce, cells):
    import os, sys, gdb
    state = {"ec": 0, "err": ""}
    def prompt_hook():
        if state["err"]:
            mark = ${
    JSON.stringify(endMarker("%d", "%s", "%s"))
  } % (state["ec"], nonce, state["err"])
        else:
            mark = ${JSON.stringify(endMarker("%d", "%s"))} % (state["ec"], nonce)
        sys.stdout.write(mark)
        sys.stdout.flush()
    def run(cell_id):
${pythonTakeCell("gdb")}
        state["ec"], state["err"] = 0, ""
        sys.stdout.write(${JSON.stringify(startMarker(nonce))})
        sys.stdout.flush()
        try:
            gdb.execute(src.rstrip("\\n"), from_tty=True)
        except Exception as e:
            kind = type(e)
            state["ec"], state["err"] = 1, kind.__module__ + "." + kind.__name__
            gdb.flush()
            sys.stderr.write(str(e) + "\\n")
            sys.stderr.flush()
    gdb.events.before_prompt.connect(prompt_hook)
    return run
__k = __k_install(${JSON.stringify(nonce)}, ${JSON.stringify(files.cells)})
del __k_install
end
`;
}

/** gdb. */
export const gdb: ProgramProfile = {
  kind: "gdb",
  names: /^gdb$/,
  interactiveWithArguments: true,
  noEmptyEnters: true,
  bracketedPaste: false,
  quotedInsert: true,
  // readline; but a cell may be typed to the program being debugged, which may be full-screen.
  drain: { ...CLEAR_LINE, unlessAlternateScreen: true },
  integration: {
    file: "integration.gdb",
    script,
    installLine: (path) => `source ${path}`,
    typeCell: (code, cell) => ({
      lines: [`python __k('${cell.cellId}')`],
      codeFile: { path: `${cell.cellsDir}/${cell.cellId}.gdb`, content: code },
    }),
  },
};

/**
 * pdb run as a program (`python3 -m pdb prog.py`): the install line, typed as pdb's first
 * command, turns the running debugger into ktty's marked one (see `python_debugger.ts`): its
 * prompt carries the end marker and each command prints the start marker. A cell is one line of
 * commands; no empty Enter is ever typed (pdb would repeat the last command).
 * @module
 */

import { CLEAR_LINE, type ProgramProfile, type ScriptFiles } from "./profile.ts";
import { debuggerScript, heldPath, pdbLine } from "./python_debugger.ts";

function script(nonce: string, files: ScriptFiles): string {
  return `# ktty integration for pdb (session nonce inside; do not share)
${debuggerScript(nonce)}
def __k_install(marked):
    import pdb, sys
    frame = sys._getframe()
    plain = marked.__bases__[0]  # pdb's own Pdb (pdb.Pdb names ktty's nested one now)
    while frame is not None and not isinstance(frame.f_locals.get("self"), plain):
        frame = frame.f_back
    if frame is not None:
        debugger = frame.f_locals["self"]
        debugger.__class__ = marked  # pdb.main's one instance, restarts included
        debugger._k_mark()
__k_install(__k_debugger_install(${JSON.stringify(nonce)}, ${heldPath(files)}))
del __k_install, __k_debugger_install
`;
}

/** `python3 -m pdb prog.py` (and a `pdb`/`pdb3` launcher). */
export const pdb: ProgramProfile = {
  kind: "pdb",
  names: /^pdb3?$/,
  modules: /^pdb$/,
  noEmptyEnters: true, // pdb repeats its last command on an empty Enter
  interactive: () => true,
  bracketedPaste: false,
  quotedInsert: true,
  drain: CLEAR_LINE,
  environment: (files) => ({ PYTHON_HISTORY: files.history }),
  integration: {
    file: "integration_pdb.py",
    script,
    // `!` runs the line as python in the current frame; `del` leaves its names out of it.
    installLine: (path) => `!exec(open(${JSON.stringify(path)}, encoding="utf-8").read())`,
    typeCell: (code) => ({ lines: pdbLine(code) }),
  },
};

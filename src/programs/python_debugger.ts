/**
 * pdb with ktty's markers, shared by the python family: its prompt carries the end marker (with
 * `in=pdb` when a cell's `breakpoint()` reached it), each command prints the start marker, and a
 * command pdb reports as failed (`*** NameError: …`) ends with status 1. While a debugger reached
 * from a cell (`breakpoint()`, `pdb.set_trace()`, `pdb.pm()`) reads its commands, the file
 * {@link nestedFile} names it: cells are typed to it.
 * @module
 */

import { endMarker, startMarker } from "../markers.ts";
import { pathExists } from "../state.ts";
import { type CellContext, type CellTyping, codeLines, type ScriptFiles } from "./profile.ts";

/** The nested program's name in end markers, results and `k status`. */
export const PDB = "pdb";

/** The file that names the debugger holding a session while one does (its directory's). */
export function nestedFile(sessionDir: string): string {
  return `${sessionDir}/nested`;
}

/** Whether a debugger reached from a cell holds the session whose cells live in `cellsDir`. */
export function debuggerHolds(cellsDir: string): boolean {
  return pathExists(nestedFile(cellsDir.slice(0, cellsDir.lastIndexOf("/"))));
}

/**
 * The line typed to pdb for a cell: pdb reads one command a line and repeats the last command on
 * an empty one (never typed); a cell's lines become one line of commands joined by `;;`, which
 * pdb runs in turn. Limitation: a `;;` inside a cell's string splits it there too (as in pdb).
 */
export function pdbLine(code: string): string[] {
  return [codeLines(code).filter((l) => l.trim() !== "").join(" ;; ")];
}

/** The line that loads a python-family integration script (python3's and ipython's). */
export function execScriptLine(path: string): string {
  return `exec(open(${JSON.stringify(path)}, encoding="utf-8").read())`;
}

/**
 * How a python-family REPL (python3, ipython) takes a cell: to a debugger a `breakpoint()`
 * reached, the pdb line; else the one-line runner call, which reads the code from its file.
 */
export function typePythonFamilyCell(code: string, cell: CellContext): CellTyping {
  if (debuggerHolds(cell.cellsDir)) return { lines: pdbLine(code) };
  return {
    lines: [`__k('${cell.cellId}')`],
    codeFile: { path: `${cell.cellsDir}/${cell.cellId}.py`, content: code },
  };
}

/**
 * Python that defines `__k_debugger_install(nonce, held)`, which returns the marked pdb class:
 * `nested=True` instances (a `breakpoint()` in a cell) name themselves in `held` and in their end
 * marker. The scripts call it, then delete it.
 */
export function debuggerScript(nonce: string): string {
  const j = JSON.stringify;
  return `def __k_debugger_install(nonce, held):
    import os, pdb, sys
    start = ${j(startMarker(nonce))}
    marks = {
        (False, False): ${j(endMarker("%d", nonce))},
        (False, True): ${j(endMarker("%d", nonce, "%s"))},
        (True, False): ${j(endMarker("%d", nonce, undefined, PDB))},
        (True, True): ${j(endMarker("%d", nonce, "%s", PDB))},
    }
    class KPdb(pdb.Pdb):
        _k_nested = False
        _k_ec = 0
        _k_err = ""
        _k_depth = [0]  # nested debuggers reading now (pdb's \`debug\` starts one inside another)
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if self._k_nested:
                # Ctrl-C (k int) in code a \`c\` let run raises KeyboardInterrupt, as outside a
                # debugger: pdb's own handler would stay installed after it and break into pdb
                # again at the next Ctrl-C, even at python's prompt.
                self.nosigint = True
        def cmdloop(self, *args, **kwargs):
            if self._k_nested:
                self._k_depth[0] += 1
            try:
                return super().cmdloop(*args, **kwargs)
            finally:
                # Named only while one reads commands: whatever ends the last loop (c, an error).
                if self._k_nested:
                    self._k_depth[0] -= 1
                    if self._k_depth[0] == 0:
                        try:
                            os.unlink(held)
                        except OSError:
                            pass
        def _k_mark(self):
            base = self.__dict__.setdefault("_k_base", self.prompt)
            mark = marks[(self._k_nested, bool(self._k_err))]
            args = (self._k_ec, self._k_err) if self._k_err else self._k_ec
            self.prompt = "\\x01" + mark % args + "\\x02" + base
        def preloop(self):
            if self._k_nested:
                with open(held, "w", encoding="utf-8") as f:
                    f.write(${j(PDB)})
            self._k_mark()
            super().preloop()
        def precmd(self, line):
            self._k_ec, self._k_err = 0, ""
            sys.stdout.write(start)
            sys.stdout.flush()
            return super().precmd(line)
        def postcmd(self, stop, line):
            stop = super().postcmd(stop, line)
            self._k_mark()
            return stop
        def error(self, msg):
            head = str(msg).split(":", 1)[0].strip()
            self._k_ec, self._k_err = 1, head if head.isidentifier() else "PdbError"
            super().error(msg)
    class NestedPdb(KPdb):
        _k_nested = True
    def hook(*args, **kwargs):
        NestedPdb().set_trace(sys._getframe().f_back)
    # PYTHONBREAKPOINT set (0, or another debugger): the user's choice stands.
    if not os.environ.get("PYTHONBREAKPOINT"):
        sys.breakpointhook = hook
    # pdb.set_trace(), pdb.pm(), pdb.post_mortem() (and tools that take pdb.Pdb) make theirs
    # from the module's name: the cells go to them as to a breakpoint()'s.
    pdb.Pdb = NestedPdb
    return KPdb
`;
}

/** The python expression of the held file's path, for `files`. */
export function heldPath(files: ScriptFiles): string {
  return JSON.stringify(nestedFile(files.dir));
}

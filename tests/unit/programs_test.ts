// The program registry: which profile a command line gets, read as the shell reads it, and the
// profiles an embedder adds.
import { deepEqual as equal, throws } from "node:assert/strict";
import { programKind, registerProgram } from "../../src/programs/mod.ts";
import { programWords, shellWords } from "../../src/programs/command_line.ts";
import { UsageError } from "../../src/errors.ts";

Deno.test("programs: shell words honour quotes, escapes, operators and redirections", () => {
  equal(shellWords(`env PS1='K> ' bash --norc`), ["env", "PS1=K> ", "bash", "--norc"]);
  equal(shellWords(`a "b \\"c\\" d" e\\ f`), ["a", 'b "c" d', "e f"]);
  equal(shellWords(`python3 2>/dev/null -q; echo hi`), ["python3", "-q"]);
  equal(shellWords(`psql < in.sql | cat`), ["psql"]);
  equal(shellWords(`echo 'unclosed`), undefined);
  equal(shellWords(`ipython # a comment`), ["ipython"]);
});

Deno.test("programs: the program is found behind assignments and launchers", () => {
  equal(programWords(`env PS1='K> ' bash --norc`), { name: "bash", args: ["--norc"] });
  equal(programWords("X=1 Y=2 /usr/bin/python3 -q"), { name: "python3", args: ["-q"] });
  equal(programWords("env -u HOME X=1 R --vanilla"), { name: "R", args: ["--vanilla"] });
  equal(programWords("uv run --with rich ipython"), { name: "ipython", args: [] });
  equal(programWords("exec nice -n 5 sqlite3 db"), { name: "sqlite3", args: ["db"] });
  equal(programWords("docker exec -it -u app db psql -U x"), { name: "psql", args: ["-U", "x"] });
  equal(programWords("kubectl exec -it pod -- psql"), { name: "psql", args: [] });
  equal(programWords("env"), undefined);
});

Deno.test("programs: real command lines get their profile", () => {
  const cases: [string, string][] = [
    ["bash", "bash"],
    [`env PS1='K> ' bash --norc`, "bash"],
    ["bash script.sh", "other"],
    ["/bin/sh -i", "sh"],
    ["zsh -f", "zsh"],
    ["python3 -i", "python"],
    ["python3 -q -X dev", "python"],
    ["python3 app.py", "other"],
    ["python3 -i app.py", "python"],
    ["python3 -c 'print(1)'", "other"],
    ["env PYTHON_BASIC_REPL=1 python3.13 -i", "python"],
    ["ipython", "ipython"],
    ["ipython3 --simple-prompt", "ipython"],
    ["uv run ipython", "ipython"],
    ["poetry run ipython3", "ipython"],
    ["python3 -m IPython", "ipython"],
    ["ipython script.py", "other"],
    ["python3 -m pdb prog.py", "pdb"],
    ["python3 -mpdb prog.py", "pdb"],
    ["env X=1 python3 -m pdb -c continue prog.py", "pdb"],
    ["python3 -m http.server", "other"],
    ["node", "node"],
    ["gdb -q ./a.out", "gdb"],
    ["'python3'", "python"],
    ["vim 'a file'", "other"],
    ["", "other"],
  ];
  for (const [command, kind] of cases) equal(programKind(command), kind, command);
});

Deno.test("programs: an embedder's profile is recognised, and checked", () => {
  equal(programKind("calc9 --digits 3"), "other");
  registerProgram({ kind: "calc9", names: /^calc9$/, prompt: "calc>" });
  equal(programKind("env A=1 calc9 --digits"), "calc9");
  throws(() => registerProgram({ kind: "bash", names: /^x$/ }), UsageError);
  throws(() => registerProgram({ kind: "Bad Kind", names: /^x$/ }), /not valid/);
});

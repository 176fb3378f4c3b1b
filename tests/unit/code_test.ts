// src/programs/: which profile a command line gets; src/cell/typing.ts: the shape code is typed in.
import { deepEqual as assertEquals } from "node:assert/strict";
import { shapeCode } from "../../src/cell/typing.ts";
import { programKind, programProfile } from "../../src/programs/mod.ts";

Deno.test("code: program kinds", () => {
  assertEquals(programKind("bash"), "bash");
  assertEquals(programKind("bash --norc"), "bash");
  assertEquals(programKind("bash script.sh"), "other");
  assertEquals(programKind("/bin/sh -i"), "sh");
  assertEquals(programKind("dash"), "sh");
  assertEquals(programKind("zsh -f"), "zsh");
  assertEquals(programKind("python3 -i"), "python");
  assertEquals(programKind("env PYTHON_BASIC_REPL=1 python3.13 -i"), "python");
  assertEquals(programKind("gdb -q ./a.out"), "gdb");
  assertEquals(programKind("node"), "node");
  assertEquals(programKind("node server.js"), "other");
  assertEquals(programKind("python3 app.py"), "other");
  assertEquals(programKind("cat"), "other");
});

Deno.test("code: python blocks get their closing blank line, inner blanks dropped", () => {
  assertEquals(
    shapeCode(programProfile("python"), "def f():\n    a = 1\n\n    return a\nprint(f())\n"),
    ["def f():", "    a = 1", "    return a", "", "print(f())"],
  );
  assertEquals(
    shapeCode(programProfile("python"), "if x:\n    y()\nelse:\n    z()"),
    ["if x:", "    y()", "else:", "    z()", ""],
  );
  assertEquals(shapeCode(programProfile("python"), 's = """a\n\nb"""\nprint(s)'), [
    's = """a',
    "",
    'b"""',
    "print(s)",
  ]);
  assertEquals(shapeCode(programProfile("bash"), "a\n\nb\n"), ["a", "", "b"]);
});

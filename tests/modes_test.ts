// Frame modes other than repeat: exact (gdb) and hook, against real programs.
import { deepEqual as assertEquals, equal, match, ok } from "node:assert/strict";
import type { FinalResult } from "../mod.ts";
import { worldTest } from "./harness.ts";

worldTest("gdb in exact mode: break main, run, next, print, continue", async (w) => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/t.c`,
    '#include <stdio.h>\nint main(void) {\n  int x = 42;\n  printf("x=%d\\n", x);\n  return 0;\n}\n',
  );
  const cc = await new Deno.Command("cc", { args: ["-g", "-O0", "-o", `${dir}/t`, `${dir}/t.c`] })
    .output();
  equal(cc.code, 0, new TextDecoder().decode(cc.stderr));
  const created = await w.k(["new", "g", "gdb", "-q", "-nx", `${dir}/t`, "--prompt=(gdb)"]);
  assertEquals([created.code, created.stdout.trim()], [0, "OK g (exact mode)"]);
  const run = async (code: string) => {
    const r = await w.kJson(["run", "-j", "g", code]);
    equal(r.status, "done", `${code}: ${JSON.stringify(r)}`);
    return String(r.output);
  };
  match(await run("break main"), /^Breakpoint 1 at 0x[0-9a-f]+: file .*t\.c, line 3\.$/);
  const started = await run("run");
  match(started, /Breakpoint 1, main \(\) at .*t\.c:3/);
  ok(!started.includes("(gdb)"), started);
  const stepped = await run("next\nnext\nprint x");
  match(stepped, /x=42/);
  match(stepped, /\$1 = 42$/);
  match(await run("continue"), /exited normally/);
  const status = await w.kJson(["status", "-j", "g"]);
  assertEquals([status.mode, status.pane_command], ["exact", "gdb"]);
  await Deno.remove(dir, { recursive: true });
});

worldTest("hook mode: the hook sees clean output lines, never the echo, and decides", async (w) => {
  const dir = await Deno.makeTempDir();
  const seen = `${dir}/seen`;
  await Deno.writeTextFile(
    `${dir}/detect`,
    `#!/bin/sh\nwhile IFS= read -r line; do\n  printf '%s\\n' "$line" >> '${seen}'\n  [ "$line" = "READY" ] && exit 0\ndone\n`,
  );
  await Deno.chmod(`${dir}/detect`, 0o755);
  await w.kernel.create("h", { prompt: `${dir}/detect` });
  await Deno.remove(seen).catch(() => {});
  // The echo of the code contains READY too; only the printed line may end the frame.
  const r = await w.kernel.session("h").run("echo one; sleep 0.3; echo READY", {
    timeoutMs: 10_000,
  }) as FinalResult;
  assertEquals([r.status, r.output], ["done", "one\nREADY"]);
  const lines = (await Deno.readTextFile(seen)).trim().split("\n");
  assertEquals(lines, ["one", "READY"]);
  await Deno.remove(dir, { recursive: true });
});

worldTest("hook mode: a hook that never exits ends in a timeout, not a hang", async (w) => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/never`, "#!/bin/sh\nexec cat > /dev/null\n");
  await Deno.chmod(`${dir}/never`, 0o755);
  await w.kernel.create("h", { prompt: `${dir}/never` });
  const r = await w.kJson(["run", "-j", "-t", "1", "h", "echo hi"]);
  assertEquals([r.code, r.status], [0, "timeout"]);
  // Output so far includes the unfinished last line: on a timeout it may be a question.
  match(String(r.output), /^hi\n/);
  equal((await w.k(["int", "h"])).code, 0);
  await Deno.remove(dir, { recursive: true });
});

worldTest("exact mode: a prompt that never comes is a clear error at new", async (w) => {
  const r = await w.k(["new", "x", "python3", "-i", "--prompt=NEVER>"]);
  equal(r.code, 1);
  match(r.stderr, /^k: program 'python3 -i' did not show the prompt 'NEVER>' within 10 s\n$/);
  equal((await w.tmux(["has-session", "-t", "=x"])).code, 1);
}, { timeoutMs: 30_000 });

// A session's environment from its sources, the file the launcher sources (checked by a real
// /bin/sh), and `k new`'s arguments: flags before the name, the command line after it. No tmux.

import { deepEqual, equal, throws } from "node:assert/strict";
import {
  AGENT_DEFAULTS,
  environmentFile,
  parseAssignments,
  passwdShell,
  sessionEnvironment,
} from "../../src/session/environment.ts";
import { parseNewArguments } from "../../src/cli/new.ts";
import { UsageError } from "../../src/errors.ts";
import { dirTest, runCommand } from "../harness.ts";

Deno.test("environment: caller, less its terminal; defaults where unset; own and explicit win", () => {
  const env = sessionEnvironment({
    caller: {
      SHELL: "/bin/zsh",
      PATH: "/p",
      TERM: "xterm",
      TMUX: "/t,1,0",
      COLUMNS: "9",
      PAGER: "less",
      "a-b": "x",
    },
    agentDefaults: true,
    own: { K_SESSION: "s" },
    explicit: { GIT_PAGER: "more", K_SESSION: "t" },
  });
  deepEqual(env, {
    ...AGENT_DEFAULTS,
    LANG: "C.UTF-8",
    SHELL: "/bin/zsh",
    PATH: "/p",
    PAGER: "less",
    GIT_PAGER: "more",
    K_SESSION: "t",
  });
  const bare = sessionEnvironment({
    caller: { A: "1", SHELL: "/bin/bash" },
    agentDefaults: false,
    own: {},
    explicit: {},
  });
  deepEqual(bare, { A: "1", SHELL: "/bin/bash" });
  throws(
    () =>
      sessionEnvironment({ caller: {}, agentDefaults: false, own: {}, explicit: { TERM: "x" } }),
    UsageError,
  );
});

Deno.test("environment: a UTF-8 locale where the caller chose none, an agent default", () => {
  const lang = (caller: Record<string, string>, agentDefaults = true) =>
    sessionEnvironment({ caller, agentDefaults, own: {}, explicit: {} }).LANG;
  equal(lang({}), "C.UTF-8");
  equal(lang({ LANG: "" }), "C.UTF-8");
  equal(lang({ LANG: "de_DE.UTF-8" }), "de_DE.UTF-8");
  equal(lang({ LC_ALL: "C" }), undefined);
  equal(lang({ LC_CTYPE: "en_US.UTF-8" }), undefined);
  equal(lang({}, false), undefined);
});

Deno.test("environment: a caller without an absolute SHELL gets the login shell from passwd", () => {
  const passwd = "root:x:0:0:root:/root:/bin/bash\nu:x:1000:1000::/home/u:/usr/bin/zsh\n" +
    "v:x:1001:1001::/home/v:nologin\n";
  equal(passwdShell(passwd, 1000), "/usr/bin/zsh");
  equal(passwdShell(passwd, 0), "/bin/bash");
  equal(passwdShell(passwd, 1001), undefined);
  equal(passwdShell(passwd, 7), undefined);
  const uid = Deno.uid() ?? 0;
  const own = passwdShell(Deno.readTextFileSync("/etc/passwd"), uid);
  const callers: Record<string, string>[] = [{}, { SHELL: "" }, { SHELL: "bash" }];
  for (const caller of callers) {
    const env = sessionEnvironment({ caller, agentDefaults: false, own: {}, explicit: {} });
    equal(env.SHELL, own);
  }
});

dirTest("environment: the file gives /bin/sh every value exactly", async (dir) => {
  const values: Record<string, string> = {
    QUOTES: `it's "x" \\ $HOME \`id\``,
    LINES_OF: "a\nb\n",
    EMPTY: "",
    UNICODE: "ü ☃ 日本",
    EQ: "a=b=c",
  };
  await Deno.writeTextFile(`${dir}/env`, environmentFile(values));
  const names = Object.keys(values);
  const script = `. "$1"; for n in ${names.join(" ")}; do eval "printf '%s\\0' \\"\\$$n\\""; done`;
  const out = await runCommand("/bin/sh", ["-c", script, "sh", `${dir}/env`]);
  equal(out.code, 0, out.stderr);
  deepEqual(out.stdout.split("\0").slice(0, -1), Object.values(values));
});

Deno.test("environment: --env takes NAME=value", () => {
  deepEqual(parseAssignments(["A=1", "B=x=y", "A=2", "C="]), { A: "2", B: "x=y", C: "" });
  for (const bad of ["A", "=1", "1A=2", "A-B=1"]) throws(() => parseAssignments([bad]), UsageError);
});

Deno.test("new: k's flags before the name, the program's command line after it", () => {
  deepEqual(
    parseNewArguments(["--env", "A=1", "--env=B=2", "--no-agent-defaults", "s", "python3", "-q"]),
    {
      name: "s",
      command: ["python3", "-q"],
      env: ["A=1", "B=2"],
      agentDefaults: false,
      json: false,
    },
  );
  // After the name every word is the program's, `--env` included; `--prompt=` may stand anywhere.
  deepEqual(parseNewArguments(["s", "env", "--env", "X", "--prompt=(gdb)"]), {
    name: "s",
    command: ["env", "--env", "X"],
    prompt: "(gdb)",
    env: [],
    agentDefaults: true,
    json: false,
  });
  deepEqual(parseNewArguments(["--prompt", "repeat", "--", "s"]).prompt, "repeat");
  throws(() => parseNewArguments(["--nope", "s"]), /unknown flag '--nope'/);
  throws(() => parseNewArguments(["--env"]), /--env needs a value/);
  throws(() => parseNewArguments([]), /missing session name/);
});

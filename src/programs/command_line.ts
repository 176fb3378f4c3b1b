/**
 * Reading a session's command line as the shell will: its words (quotes and escapes honoured),
 * then the program it runs behind the launchers in front of it (`env X=1`, `uv run`, `exec`,
 * `docker exec -it db`, …). The registry (`mod.ts`) matches profiles against what this finds.
 * @module
 */

/**
 * The words of `command` as a POSIX shell splits them, up to the first operator that ends a
 * simple command (`;`, `&`, `|`, a newline); redirections (`2>/dev/null`, `< in`) are left out.
 * Undefined when the line cannot be read (an unclosed quote): the caller knows no program then.
 *
 * @param command a command line
 * @returns its words, unquoted
 */
export function shellWords(command: string): string[] | undefined {
  const words: string[] = [];
  let word: string | undefined;
  let redirect = false;
  const end = () => {
    if (word !== undefined && !redirect) words.push(word);
    else if (word !== undefined) redirect = false;
    word = undefined;
  };
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string;
    if (c === " " || c === "\t") {
      end();
      continue;
    }
    if (c === ";" || c === "&" || c === "|" || c === "\n" || c === "(" || c === ")") {
      end();
      return words;
    }
    if (c === "<" || c === ">") {
      // `2>` and `>`: the digits before it were no word; the next word is the redirection's.
      if (word !== undefined && /^[0-9]+$/.test(word)) word = undefined;
      end();
      while (command[i + 1] === ">" || command[i + 1] === "&" || command[i + 1] === "|") i++;
      redirect = true;
      continue;
    }
    if (c === "'") {
      const close = command.indexOf("'", i + 1);
      if (close < 0) return undefined;
      word = (word ?? "") + command.slice(i + 1, close);
      i = close;
      continue;
    }
    if (c === '"') {
      let text = "";
      let j = i + 1;
      for (; j < command.length && command[j] !== '"'; j++) {
        if (command[j] === "\\" && '"\\$`\n'.includes(command[j + 1] ?? "x")) j++;
        text += command[j];
      }
      if (j >= command.length) return undefined;
      word = (word ?? "") + text;
      i = j;
      continue;
    }
    if (c === "\\") {
      if (i + 1 >= command.length) return undefined;
      i++;
      if (command[i] !== "\n") word = (word ?? "") + command[i];
      continue;
    }
    if (c === "#" && word === undefined) return words; // a comment
    word = (word ?? "") + c;
  }
  end();
  return words;
}

/** How one launcher runs the command after it. */
interface Launcher {
  /** The words that must follow its name (`uv run`: ["run"]). */
  readonly sub?: readonly string[];
  /** Its options that take a value as the next word. */
  readonly valueFlags?: readonly string[];
  /** Plain words before the command (`docker exec … CONTAINER`). */
  readonly operands?: number;
  /** The command follows a `--` (`kubectl exec pod -- psql`). */
  readonly afterDashDash?: boolean;
  /** `NAME=value` words may follow the options (`env`). */
  readonly assignments?: boolean;
}

const DOCKER_EXEC: Launcher = {
  sub: ["exec"],
  valueFlags: ["-e", "--env", "--env-file", "-u", "--user", "-w", "--workdir", "--detach-keys"],
  operands: 1,
};

/** The programs that run the command after them; matched by file name. */
const LAUNCHERS: Readonly<Record<string, Launcher>> = {
  env: { valueFlags: ["-u", "--unset", "-C", "--chdir"], assignments: true },
  exec: { valueFlags: ["-a"] },
  command: {},
  builtin: {},
  nohup: {},
  time: {},
  nice: { valueFlags: ["-n", "--adjustment"] },
  ionice: { valueFlags: ["-c", "-n", "-p"] },
  stdbuf: { valueFlags: ["-i", "-o", "-e"] },
  sudo: { valueFlags: ["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-R"] },
  doas: { valueFlags: ["-u", "-C"] },
  rlwrap: { valueFlags: ["-f", "-H", "-l", "-p", "-P", "-s", "-S", "-w"] },
  uv: {
    sub: ["run"],
    valueFlags: [
      "--with",
      "--with-editable",
      "--with-requirements",
      "--python",
      "-p",
      "--project",
      "--directory",
      "--package",
      "--extra",
      "--group",
      "--env-file",
      "--index",
      "--index-url",
    ],
  },
  uvx: { valueFlags: ["--with", "--python", "-p", "--from"] },
  poetry: { sub: ["run"] },
  pipenv: { sub: ["run"] },
  pdm: { sub: ["run"] },
  hatch: { sub: ["run"] },
  rye: { sub: ["run"] },
  pixi: { sub: ["run"], valueFlags: ["-e", "--environment"] },
  conda: { sub: ["run"], valueFlags: ["-n", "--name", "-p", "--prefix"] },
  mamba: { sub: ["run"], valueFlags: ["-n", "--name", "-p", "--prefix"] },
  micromamba: { sub: ["run"], valueFlags: ["-n", "--name", "-p", "--prefix"] },
  docker: DOCKER_EXEC,
  podman: DOCKER_EXEC,
  kubectl: { sub: ["exec"], afterDashDash: true },
  oc: { sub: ["exec"], afterDashDash: true },
};

/** A command line's program: its file name and the words after it. */
export interface ProgramWords {
  /** The program's file name, without its directory (`python3`). */
  readonly name: string;
  /** The words after it. */
  readonly args: readonly string[];
}

/**
 * The program a command line runs, past the assignments and launchers in front of it:
 * `env PS1='K> ' bash --norc` → bash with `--norc`; `uv run ipython` → ipython;
 * `docker exec -it db psql -U app` → psql with `-U app`. Undefined when there is none (an empty
 * line, an unclosed quote, a launcher with nothing after it).
 *
 * @param command a command line
 * @returns the program and its arguments
 */
export function programWords(command: string): ProgramWords | undefined {
  const words = shellWords(command);
  if (!words) return undefined;
  let i = 0;
  const assignment = (w: string) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(w);
  while (i < words.length) {
    while (i < words.length && assignment(words[i] as string)) i++;
    const name = basename(words[i] ?? "");
    const launcher = Object.hasOwn(LAUNCHERS, name) ? LAUNCHERS[name] : undefined;
    if (!launcher) break;
    i++;
    for (const sub of launcher.sub ?? []) {
      if (words[i] !== sub) return name ? { name, args: words.slice(i) } : undefined;
      i++;
    }
    if (launcher.afterDashDash) {
      const dashes = words.indexOf("--", i);
      if (dashes < 0) return undefined;
      i = dashes + 1;
      continue;
    }
    while (i < words.length && (words[i] as string).startsWith("-") && words[i] !== "-") {
      const flag = words[i] as string;
      i++;
      if (flag === "--") break;
      if (launcher.valueFlags?.includes(flag)) i++;
    }
    if (launcher.assignments) { while (i < words.length && assignment(words[i] as string)) i++; }
    i += launcher.operands ?? 0;
  }
  const program = words[i];
  if (program === undefined || program === "") return undefined;
  return { name: basename(program), args: words.slice(i + 1) };
}

/**
 * Whether a program given `args` stays at its prompt: no argument but options (an argument is a
 * script to run). The rule for a program whose profile says nothing else.
 *
 * @param args the words after the program's name
 * @returns true when none is a plain word
 */
export function onlyOptions(args: readonly string[]): boolean {
  return args.every((a) => a === "" || a.startsWith("-"));
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

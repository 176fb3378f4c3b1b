/**
 * A real OpenSSH server for the remote-session tests (issue 18), no mocks: `/usr/sbin/sshd -D -e`
 * on 127.0.0.1 at free high ports, with a throwaway ed25519 host key and user key made by
 * `ssh-keygen` in its own dir, and a client config (`ssh -F`) naming these targets:
 *
 * - `kt-a`, `kt-b`: this machine as the current user, each with its own remote state dir and tmux
 *   socket (given by `SetEnv K_HOME=… K_SOCKET=…`, which the server accepts), so that two targets
 *   reaching one machine stay apart; `127.0.0.1` (the `ssh://user@127.0.0.1:PORT` form) reaches
 *   kt-a's;
 * - `kt-unknown`: the same server with a known_hosts file that lacks its key: refused, never a prompt;
 * - `kt-asks`: kt-unknown without `BatchMode` and with `StrictHostKeyChecking ask`: where a
 *   terminal is at hand, plain ssh would ask yes/no on it;
 * - `kt-refused`: the same server with a key it does not authorise;
 * - `kt-down`: a port nothing listens on;
 * - `kt-notmux`: kt-a's login on a second port whose commands run with a PATH that holds everything
 *   in /usr/bin but tmux (after {@link Sshd.hideTmux});
 * - `kt-fresh`: kt-a's login on a third port whose commands run with HOME an empty dir of the
 *   fixture's ({@link Sshd.freshHome}): a host where nothing is installed, and where installing
 *   leaves the real home alone.
 *
 * Every other target has `BatchMode yes`: nothing waits for a password or a yes/no.
 * @module
 */

import { userInfo } from "node:os";
import { type Cleanup, runCommand, World } from "./harness.ts";

/** Where Debian's openssh-server puts the daemon (it must be started by an absolute path). */
export const SSHD_PATH = "/usr/sbin/sshd";
/** The privilege separation dir sshd insists on when it starts as root. */
const PRIVSEP_DIR = "/run/sshd";
/** How long sshd may take to say it listens. */
const LISTEN_TIMEOUT_MS = 10_000;
/** How much of sshd's log is kept for error messages. */
const LOG_KEEP_CHARS = 20_000;

/**
 * Why sshd cannot run here (a reason for worldTest's `skip`), or false when it can.
 *
 * @returns the reason, or false
 */
export function sshdMissing(): string | false {
  try {
    Deno.statSync(SSHD_PATH);
  } catch {
    return `${SSHD_PATH} not installed (apt-get install openssh-server; setup.sh does)`;
  }
  return false;
}

/** One remote state: the K_HOME and K_SOCKET a target's login gets. */
export interface RemoteState {
  /** K_HOME on the remote side. */
  home: string;
  /** K_SOCKET on the remote side. */
  socket: string;
}

/** A test's SSH side: its sshd, the remote states of kt-a and kt-b, and the client config. */
export interface SshSide {
  /** The running sshd. */
  sshd: Sshd;
  /** kt-a's remote state (and ssh://user@127.0.0.1:PORT's), a world of its own. */
  a: World;
  /** kt-b's remote state. */
  b: World;
  /** The client config's path (`ssh -F` it). */
  config: string;
}

/**
 * Starts an sshd in test world `w`'s dir, makes kt-a's and kt-b's remote states and writes the
 * client config; `cleanup` stops the server and disposes of the states.
 *
 * @param w the test's world (its dir holds the fixture's files)
 * @param cleanup the test's cleanup steps
 * @returns the server, the remote states and the config's path
 */
export async function startSshSide(w: World, cleanup: Cleanup): Promise<SshSide> {
  const [a, b] = [await World.create(), await World.create()];
  cleanup.add(() => b.dispose());
  cleanup.add(() => a.dispose());
  const sshd = await Sshd.start(`${w.base}/sshd`);
  cleanup.add(() => sshd.stop());
  const config = await sshd.writeClientConfig(`${w.base}/ssh_config`, a, b);
  return { sshd, a, b, config };
}

/** The two ports sshd listens on: the plain one, and the one whose PATH lacks tmux. */
interface Ports {
  plain: number;
  noTmux: number;
  fresh: number;
}

/** A running sshd and what a client needs to reach it. */
export class Sshd {
  /** The fixture's own dir (keys, configs, known_hosts). */
  readonly dir: string;
  /** The port of every target but kt-notmux and kt-fresh (127.0.0.1). */
  readonly port: number;
  /** kt-notmux's port. */
  readonly noTmuxPort: number;
  /** kt-fresh's port. */
  readonly freshPort: number;
  /** The user every target logs in as (the current one). */
  readonly user: string;
  readonly #child: Deno.ChildProcess;
  readonly #log: { text: string };
  readonly #drained: Promise<void>;

  private constructor(dir: string, ports: Ports, started: Listening) {
    this.dir = dir;
    this.port = ports.plain;
    this.noTmuxPort = ports.noTmux;
    this.freshPort = ports.fresh;
    this.user = userInfo().username;
    this.#child = started.child;
    this.#log = started.log;
    this.#drained = started.drained;
  }

  /** The listener's pid. */
  get pid(): number {
    return this.#child.pid;
  }

  /** kt-fresh's HOME: an empty dir when sshd starts. */
  get freshHome(): string {
    return freshHome(this.dir);
  }

  /** What sshd has logged so far (its last {@link LOG_KEEP_CHARS} characters). */
  get log(): string {
    return this.#log.text;
  }

  /**
   * Makes keys in `dir` (created if missing) and starts sshd; resolves once it says it listens.
   * A port taken between choosing and binding is retried with others.
   *
   * @param dir a private dir for the fixture's files
   * @returns the running server
   */
  static async start(dir: string): Promise<Sshd> {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await Deno.mkdir(PRIVSEP_DIR, { recursive: true, mode: 0o755 });
    await keygen(`${dir}/host_ed25519`, "kt-host");
    await keygen(`${dir}/id_ed25519`, "kt-user");
    await keygen(`${dir}/stranger_ed25519`, "kt-stranger");
    await Deno.copyFile(`${dir}/id_ed25519.pub`, `${dir}/authorized_keys`);
    await Deno.mkdir(freshHome(dir), { mode: 0o700 });
    let lastError = "";
    for (let attempt = 0; attempt < 3; attempt++) {
      const ports = { plain: freePort(), noTmux: freePort(), fresh: freePort() };
      await Deno.writeTextFile(`${dir}/sshd_config`, serverConfig(dir, ports));
      const started = await launch(dir, ports);
      if (started.kind === "listening") {
        const sshd = new Sshd(dir, ports, started);
        await sshd.#writeKnownHosts();
        return sshd;
      }
      lastError = started.log.text;
      if (!/Address already in use|Bind to port/.test(lastError)) break;
    }
    throw new Error(`sshd did not start: ${lastError}`);
  }

  /**
   * Writes a client config with the targets kt-a, kt-b (this machine, with `a`'s and `b`'s
   * remote state), kt-unknown, kt-asks, kt-refused, kt-down, kt-notmux and kt-fresh (`a`'s state), and
   * `127.0.0.1` for the `ssh://` form (`a`'s state).
   *
   * @param path where to write it
   * @param a the remote state of kt-a (and of ssh://user@127.0.0.1:PORT)
   * @param b the remote state of kt-b
   * @returns `path`
   */
  async writeClientConfig(path: string, a: RemoteState, b: RemoteState): Promise<string> {
    const known = `${this.dir}/known_hosts`;
    const common = (knownHosts: string, key: string, asks = false) => [
      `  User ${this.user}`,
      `  IdentityFile ${this.dir}/${key}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${knownHosts}`,
      "  GlobalKnownHostsFile /dev/null",
      `  StrictHostKeyChecking ${asks ? "ask" : "yes"}`,
      `  BatchMode ${asks ? "no" : "yes"}`,
      "  ConnectTimeout 5",
      "  LogLevel ERROR",
    ];
    const host = (
      name: string,
      state: RemoteState,
      options: { port?: number; knownHosts?: string; key?: string; asks?: boolean } = {},
    ) => [
      `Host ${name}`,
      "  HostName 127.0.0.1",
      `  Port ${options.port ?? this.port}`,
      ...common(options.knownHosts ?? known, options.key ?? "id_ed25519", options.asks),
      `  SetEnv K_HOME=${state.home} K_SOCKET=${state.socket}`,
      "",
    ];
    const lines = [
      ...host("kt-a", a),
      ...host("kt-b", b),
      ...host("kt-unknown", a, { knownHosts: `${this.dir}/known_hosts_empty` }),
      ...host("kt-asks", a, { knownHosts: `${this.dir}/known_hosts_empty`, asks: true }),
      ...host("kt-refused", a, { key: "stranger_ed25519" }),
      ...host("kt-down", a, { port: freePort() }),
      ...host("kt-notmux", a, { port: this.noTmuxPort }),
      ...host("kt-fresh", a, { port: this.freshPort }),
      // The ssh://user@127.0.0.1:PORT form: ssh is given the address and the port itself.
      "Host 127.0.0.1",
      ...common(known, "id_ed25519"),
      `  SetEnv K_HOME=${a.home} K_SOCKET=${a.socket}`,
      "",
    ];
    await Deno.writeTextFile(path, lines.join("\n"));
    return path;
  }

  /**
   * Fills kt-notmux's PATH dir: links to everything in /usr/bin but tmux (until then its
   * commands find nothing there). Apart from the config, as it costs a thousand links.
   */
  async hideTmux(): Promise<void> {
    const bin = noTmuxBin(this.dir);
    await Deno.mkdir(bin, { recursive: true });
    for await (const entry of Deno.readDir("/usr/bin")) {
      if (entry.name === "tmux") continue;
      await Deno.symlink(`/usr/bin/${entry.name}`, `${bin}/${entry.name}`).catch((e) => {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      });
    }
  }

  /**
   * The pids of the processes serving connections: the listener's descendants that are sshd
   * itself (not the commands they run).
   *
   * @returns their pids, parents first
   */
  async connectionPids(): Promise<number[]> {
    const out: number[] = [];
    for (const pid of await descendants(this.pid)) {
      const comm = await Deno.readTextFile(`/proc/${pid}/comm`).catch(() => "");
      if (comm.trim() === "sshd") out.push(pid);
    }
    return out;
  }

  /**
   * Cuts every connection as a network fault would: kills (SIGKILL) the sshd processes serving
   * them, leaving the commands they ran and the listener (which goes on accepting).
   *
   * @returns how many processes were killed
   */
  async dropConnections(): Promise<number> {
    const pids = await this.connectionPids();
    for (const pid of pids) signal(pid, "SIGKILL");
    return pids.length;
  }

  /** Stops the listener and everything it started (connections and their commands); reaps it. */
  async stop(): Promise<void> {
    const started = await descendants(this.pid);
    signal(this.pid, "SIGTERM");
    for (const pid of started) signal(pid, "SIGKILL");
    await this.#child.status;
    await this.#drained;
  }

  /** known_hosts with the host key under the names ssh looks it up by (`[127.0.0.1]:PORT`). */
  async #writeKnownHosts(): Promise<void> {
    const [type, blob] = (await Deno.readTextFile(`${this.dir}/host_ed25519.pub`)).split(" ");
    const ports = [this.port, this.noTmuxPort, this.freshPort];
    const lines = ports.map((p) => `[127.0.0.1]:${p} ${type} ${blob}\n`);
    await Deno.writeTextFile(`${this.dir}/known_hosts`, lines.join(""));
    await Deno.writeTextFile(`${this.dir}/known_hosts_empty`, "");
  }
}

function noTmuxBin(dir: string): string {
  return `${dir}/bin-without-tmux`;
}

function freshHome(dir: string): string {
  return `${dir}/fresh-home`;
}

/**
 * sshd's config: this dir's keys only, key login only, the two ktty variables accepted; on the
 * second port, commands run with a PATH without tmux, on the third with the fresh HOME (both set
 * after the login shell's rc files).
 */
function serverConfig(dir: string, ports: Ports): string {
  return [
    `Port ${ports.plain}`,
    `Port ${ports.noTmux}`,
    `Port ${ports.fresh}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${dir}/host_ed25519`,
    `AuthorizedKeysFile ${dir}/authorized_keys`,
    "PidFile none",
    "StrictModes no",
    "UsePAM no",
    "PermitRootLogin prohibit-password",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "AcceptEnv K_HOME K_SOCKET",
    "PrintMotd no",
    "LogLevel INFO",
    `Match LocalPort ${ports.noTmux}`,
    `  ForceCommand PATH=${noTmuxBin(dir)}:/usr/local/sbin:/usr/sbin; export PATH; ` +
    'eval "$SSH_ORIGINAL_COMMAND"',
    `Match LocalPort ${ports.fresh}`,
    `  ForceCommand HOME=${freshHome(dir)}; export HOME; eval "$SSH_ORIGINAL_COMMAND"`,
    "",
  ].join("\n");
}

interface Listening {
  kind: "listening";
  child: Deno.ChildProcess;
  log: { text: string };
  drained: Promise<void>;
}

type Launch = Listening | { kind: "failed"; log: { text: string } };

/** Starts sshd and reads its stderr until it listens on both ports or exits (then it is reaped). */
async function launch(dir: string, ports: Ports): Promise<Launch> {
  const child = new Deno.Command(SSHD_PATH, {
    args: ["-D", "-e", "-f", `${dir}/sshd_config`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = { text: "" };
  let heard: () => void = () => {};
  const listening = new Promise<void>((resolve) => heard = resolve);
  const wanted = Object.values(ports).map((p) => `Server listening on 127.0.0.1 port ${p}.`);
  // sshd logs every connection on stderr (-e): it is read to the end, or sshd would block on it.
  const drained = (async () => {
    let seen = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      log.text = (log.text + chunk).slice(-LOG_KEEP_CHARS);
      if (seen.length < LOG_KEEP_CHARS) seen += chunk;
      if (wanted.every((line) => seen.includes(line))) heard();
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    listening.then(() => "listening" as const),
    child.status.then(() => "exited" as const),
    new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), LISTEN_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (outcome === "listening") return { kind: "listening", child, log, drained };
  signal(child.pid, "SIGKILL");
  await child.status;
  await drained;
  if (outcome === "timeout") log.text += `\n(not listening within ${LISTEN_TIMEOUT_MS} ms)`;
  return { kind: "failed", log };
}

/** A fresh passphrase-less ed25519 key pair at `path` and `path`.pub. */
async function keygen(path: string, comment: string): Promise<void> {
  const args = ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path];
  const out = await runCommand("ssh-keygen", args);
  if (out.code !== 0) throw new Error(`ssh-keygen failed: ${out.stderr}`);
}

/**
 * A TCP port on 127.0.0.1 that nothing listened on a moment ago.
 *
 * @returns the port
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Every descendant of `root` (parents before children), from /proc. */
async function descendants(root: number): Promise<number[]> {
  const parentOf = new Map<number, number>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      parentOf.set(Number(entry.name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const queue = [root];
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for (const [pid, ppid] of parentOf) {
      if (ppid === parent) {
        out.push(pid);
        queue.push(pid);
      }
    }
  }
  return out;
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // gone
  }
}

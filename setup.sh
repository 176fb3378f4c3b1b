#!/usr/bin/env bash
# Installs what ktty needs on a Debian machine with Node's npm, then runs a demo cell.
#   Deno from the npm registry; tmux (and python3, gdb, a C compiler, zsh, less, vi, and the REPLs
#   with integration profiles: psql with a PostgreSQL server, sqlite3, lua, R, irb, pry, ipython, and
#   OpenSSH's server, for the tests) from apt.
set -euo pipefail
cd "$(dirname "$0")"

sudo=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi

missing=()
for tool in tmux python3 gdb zsh less; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
command -v vi >/dev/null 2>&1 || missing+=(vim-tiny)
command -v cc >/dev/null 2>&1 || missing+=(gcc)
# The REPLs of tests/repls_test.ts (a test whose program is missing is skipped, and says so).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
command -v lua5.4 >/dev/null 2>&1 || missing+=(lua5.4)
command -v R >/dev/null 2>&1 || missing+=(r-base-core)
command -v irb >/dev/null 2>&1 || missing+=(ruby)
command -v pry >/dev/null 2>&1 || missing+=(pry)
command -v ipython3 >/dev/null 2>&1 || missing+=(ipython3)
# OpenSSH's server for tests/remote_test.ts (tests/sshd.ts starts its own on 127.0.0.1, a high port).
{ command -v sshd || test -x /usr/sbin/sshd; } >/dev/null 2>&1 || missing+=(openssh-server)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]} from apt"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  # Where systemd runs, Debian's package starts the system's sshd on port 22 and enables it: the
  # tests need only the binary, so what this script installed is not left listening.
  if [[ " ${missing[*]} " == *" openssh-server "* ]] && command -v systemctl >/dev/null 2>&1 &&
    systemctl is-enabled ssh >/dev/null 2>&1; then
    $sudo systemctl disable --now ssh >/dev/null 2>&1 || true
  fi
fi
if ! command -v deno >/dev/null 2>&1; then
  echo "setup: installing deno from the npm registry"
  $sudo npm install -g deno >/dev/null
fi
echo "setup: $(deno --version | head -n 1), $(tmux -V)"

# The start-up bundles of k and km (src/start.ts): without them k runs from the sources, slower.
deno task --quiet build

# A demo cell on a private socket and state dir, cleaned up afterwards.
demo_home=$(mktemp -d)
demo_socket="${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/ktty-demo-$$"
trap 'K_HOME="$demo_home" K_SOCKET=ktty-demo-$$ deno run -A cli.ts kill demo >/dev/null 2>&1; rm -rf "$demo_home" "$demo_socket"' EXIT
export K_HOME="$demo_home" K_SOCKET="ktty-demo-$$"
deno run -A cli.ts new demo bash
deno run -A cli.ts run -j demo 'echo "hello from $(basename "$SHELL") in a persistent session"'

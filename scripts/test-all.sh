#!/usr/bin/env bash
# Every test of the project: the Rust crates, then the real npm clients against the Rust servers.
# Works on a fresh Debian machine with Rust, Node and Python 3: it installs chromium,
# redis-server, nginx, postgresql, the npm packages and a virtualenv with python-socketio 4.x itself.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser test drives Debian's chromium and the cluster tests start their own redis-server;
# a fresh machine gets what it lacks from apt.
missing=()
[ -n "${CHROMIUM:-}" ] || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
# The sharded adapter's tests make a Redis 7 Cluster with redis-cli (Debian's redis-tools).
command -v redis-cli >/dev/null || missing+=(redis-tools)
# The load-balancer test runs the chat behind Debian's nginx.
[ -n "${NGINX:-}" ] || [ -x /usr/sbin/nginx ] || missing+=(nginx)
# The Postgres adapter's tests start their own PostgreSQL from Debian's package (any version
# under /usr/lib/postgresql; the package's own cluster is not used).
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
# The python-socketio test's virtualenv needs venv and ensurepip (Debian's python3-venv).
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${missing[@]}"
fi

# The e2e suite drives these binaries, so they are built first.
cargo build --workspace --bins
cargo test --workspace

# A short run of every fuzz target (fuzz/README.md), over its seeds and then 15 s each.
./scripts/fuzz.sh

# python-socketio 4.x, an engine.io v3 client, for e2e-js/test/eio3-python.test.mjs: in a
# virtualenv of its own, made once, from PyPI.
if [ ! -x target/py-eio3/bin/python ]; then
  python3 -m venv target/py-eio3
  target/py-eio3/bin/pip install --quiet --disable-pip-version-check \
    "python-socketio[client]==4.6.1" "python-engineio==3.14.2" "requests==2.34.2" "websocket-client==1.9.2"
fi

cd e2e-js
npm ci --no-audit --no-fund
# The binaries were built above: a missing one is a failure here, never a skip.
SIO_REQUIRE_BINARIES=1 npm test

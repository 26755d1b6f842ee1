#!/usr/bin/env bash
# Every test of the project: the Rust crates, then the real npm clients against the Rust servers.
# Works on a fresh Debian machine with Rust and Node: it installs chromium, redis-server and the
# npm packages itself.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser test drives Debian's chromium and the cluster tests start their own redis-server;
# a fresh machine gets what it lacks from apt.
missing=()
[ -n "${CHROMIUM:-}" ] || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
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

cd e2e-js
npm ci --no-audit --no-fund
# The binaries were built above: a missing one is a failure here, never a skip.
SIO_REQUIRE_BINARIES=1 npm test

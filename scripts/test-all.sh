#!/usr/bin/env bash
# Every test of the project: the Rust crates, then the real npm clients against the Rust servers.
# Works on a fresh Debian machine with Rust and Node: it installs chromium and the npm packages
# itself.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser test drives Debian's chromium; a fresh machine gets it from apt.
if [ -z "${CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y chromium
fi

# The e2e suite drives these binaries, so they are built first.
cargo build --workspace --bins
cargo test --workspace

cd e2e-js
npm ci --no-audit --no-fund
# The binaries were built above: a missing one is a failure here, never a skip.
SIO_REQUIRE_BINARIES=1 npm test

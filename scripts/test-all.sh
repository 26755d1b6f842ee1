#!/usr/bin/env bash
# Every test of the project: the Rust crates, then the real npm clients against the Rust servers.
# Works on a fresh machine with Rust and Node: it installs the npm packages itself.
set -euo pipefail
cd "$(dirname "$0")/.."

# The e2e suite drives these binaries, so they are built first.
cargo build --workspace --bins
cargo test --workspace

cd e2e-js
npm ci --no-audit --no-fund
# The binaries were built above: a missing one is a failure here, never a skip.
SIO_REQUIRE_BINARIES=1 npm test

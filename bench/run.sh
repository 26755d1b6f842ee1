#!/usr/bin/env bash
# The benchmarks, in one run: this project's bench-server, Node's socket.io 4.8 (with bufferutil)
# and socketioxide, each through every scenario on the same load. The server runs on core 0 and
# the load generator on core 1 (taskset), a fresh server process per scenario. Prints the table
# the README carries, and keeps the raw figures in bench/results/.
#
#   bench/run.sh                    # everything (about 5 minutes)
#   BENCH_SECONDS=5 bench/run.sh    # shorter measuring windows
#   BENCH_SERVERS="socketio-rs node" bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

measure=${BENCH_SECONDS:-10}
servers=${BENCH_SERVERS:-"socketio-rs node socketioxide"}
# Each side of the idle scenario holds 10,000 sockets.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt 10100 ]; then
  echo "the idle scenario needs 10,100 open files; the limit here is $(ulimit -n)" >&2
  exit 1
fi

if [ "$(nproc)" -ge 2 ]; then
  on_server=(taskset -c 0)
  on_loadgen=(taskset -c 1)
else
  echo "warning: one core only; server and load generator share it" >&2
  on_server=()
  on_loadgen=()
fi

cargo build --release -p bench-server -p loadgen
for server in $servers; do
  case $server in
    node) (cd bench/peers/node && npm ci --no-audit --no-fund --loglevel=error) ;;
    socketioxide) cargo build --release --manifest-path bench/peers/socketioxide/Cargo.toml ;;
  esac
done

command_of() {
  case $1 in
    socketio-rs) echo "target/release/bench-server" ;;
    node) echo "node bench/peers/node/server.mjs" ;;
    socketioxide) echo "bench/peers/socketioxide/target/release/socketioxide-bench" ;;
    *) echo "unknown server $1" >&2; return 1 ;;
  esac
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

results="bench/results/$(date -u +%Y-%m-%dT%H%M).jsonl"
log=$(mktemp)
trap 'rm -f "$log"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true' EXIT

run() { # server, then the scenario and its flags
  local server=$1
  shift
  local port
  port=$(free_port)
  # shellcheck disable=SC2046 # the command is words on purpose
  PORT=$port "${on_server[@]}" $(command_of "$server") >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    grep -q '"listening"' "$log" && break
    sleep 0.1
  done
  grep -q '"listening"' "$log" || { echo "$server did not start:" >&2; cat "$log" >&2; exit 1; }
  "${on_loadgen[@]}" target/release/loadgen "$@" --addr "127.0.0.1:$port" --server-pid "$pid" \
    --label "$server" --seconds "$measure" | tee -a "$results"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
}

for server in $servers; do
  run "$server" echo
  run "$server" fanout --in-flight 1
  run "$server" fanout --in-flight 4
  run "$server" idle
  run "$server" polling
done


echo
echo "$(date -u +%F), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; server on one core:"
echo
target/release/loadgen report "$results"

#!/usr/bin/env bash
# Instructions per acked echo and per fanout delivery, counted by valgrind (callgrind) for our
# bench-server and socketioxide: figures that do not move from run to run, unlike time. Node is
# left out (its JIT under valgrind measures valgrind). Appends one JSON line per server and
# scenario to the results file given, for `loadgen report`; bench/run.sh calls it.
#
#   bench/instructions.sh results.jsonl [servers]    # servers: "socketio-rs socketioxide"
#   VALGRIND_SECONDS=20 bench/instructions.sh ...     # longer windows (10 by default)
#
# Each scenario runs twice under valgrind, for S and for 2S seconds: the difference in
# instructions over the difference in acks (or deliveries) is the cost of one, without what
# the server spent starting up, accepting the connections and warming up.
set -euo pipefail
cd "$(dirname "$0")/.."
results=$1
servers=${2:-"socketio-rs socketioxide"}
seconds=${VALGRIND_SECONDS:-10}
run=${BENCH_RUN:-1}

if ! command -v valgrind >/dev/null; then
  echo "no valgrind here (apt-get install -y valgrind): the instruction counts are skipped" >&2
  exit 0
fi

binary_of() {
  case $1 in
    socketio-rs) echo "target/release/bench-server" ;;
    socketioxide) echo "bench/peers/socketioxide/target/release/socketioxide-bench" ;;
    *) echo "no instruction counts for $1" >&2; return 1 ;;
  esac
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs `server` under callgrind with the load generator's `scenario` for `secs` seconds;
# prints "<instructions> <operations>", the operations being the acks or the deliveries in
# the measured window.
measure() {
  local server=$1 secs=$2 key=$3 port vpid
  shift 3
  port=$(free_port)
  PORT=$port valgrind --tool=callgrind --callgrind-out-file="$work/out" "$(binary_of "$server")" \
    >"$work/server.log" 2>&1 &
  vpid=$!
  for _ in $(seq 300); do
    grep -q '"listening"' "$work/server.log" && break
    sleep 0.1
  done
  target/release/loadgen "$@" --addr "127.0.0.1:$port" --seconds "$secs" >"$work/line.json"
  kill -INT "$vpid"
  wait "$vpid" || true
  local instructions operations
  instructions=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/server.log")
  operations=$(python3 -c "import json,sys; l=json.load(open(sys.argv[1])); print(l[sys.argv[2]] * $secs)" \
    "$work/line.json" "$key")
  echo "$instructions $operations"
}

for server in $servers; do
  for scenario in "echo --connections 20" "fanout --connections 200 --in-flight 4"; do
    name=${scenario%% *}
    key=acks_per_s
    [ "$name" = fanout ] && key=deliveries_per_s
    # shellcheck disable=SC2086 # the scenario's flags are words
    read -r i1 o1 < <(measure "$server" "$seconds" "$key" $scenario)
    # shellcheck disable=SC2086
    read -r i2 o2 < <(measure "$server" $((2 * seconds)) "$key" $scenario)
    python3 - "$server" "$name" "$i1" "$o1" "$i2" "$o2" "$run" >>"$results" <<'PY'
import json, sys
server, name, i1, o1, i2, o2, run = sys.argv[1:]
per = (int(i2) - int(i1)) / (float(o2) - float(o1))
key = "instructions_per_ack" if name == "echo" else "instructions_per_delivery"
print(json.dumps({"scenario": name, "label": server, "variant": "instructions", key: round(per),
                  "run": int(run)}))
PY
    tail -1 "$results"
  done
done

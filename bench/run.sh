#!/usr/bin/env bash
# The benchmarks, in one run: this project's bench-server, Node's socket.io 4.8 (with bufferutil)
# and socketioxide, each through every scenario on the same load. The server runs on core 0 and
# the load generator on core 1 (taskset), a fresh server process per scenario. Prints the table
# the README carries, and keeps the raw figures in bench/results/.
#
#   bench/run.sh                    # everything, three times, 5 s windows (25 minutes, builds aside)
#   BENCH_RUNS=1 bench/run.sh       # once
#   QUICK=1 bench/run.sh            # once, 2 s windows after 1 s of warm-up, no valgrind
#                                   # (under 4 minutes, builds aside)
#   BENCH_SECONDS=10 bench/run.sh   # longer measuring windows
#   BENCH_SERVERS="socketio-rs node" bench/run.sh
#   BENCH_ONLY=wire bench/run.sh    # only the wire options (4 KB JSON, msgpack, deflate)
#   BENCH_ONLY=observed bench/run.sh  # only ours, plain and with metrics and the admin UI
#   BENCH_ONLY=cluster bench/run.sh   # only the fanouts across two servers, on every engine
#   BENCH_CLUSTER_ENGINES=sharded bench/run.sh  # those fanouts on these engines only, of: redis
#                                     # (pub/sub), streams, postgres, sharded (a Redis 7 Cluster)
#   BENCH_ONLY=instructions bench/run.sh  # only the valgrind counts (bench/instructions.sh)
#   BENCH_ONLY=paced bench/run.sh     # only the latencies at equal load
#   BENCH_ONLY=scale bench/run.sh     # only the scale steps (1,000 to 19,000 idle, broadcasts to all)
#   BENCH_SCALE_MAX=30000 bench/run.sh  # the largest scale step where the open-file limit allows more
set -euo pipefail
cd "$(dirname "$0")/.."

# QUICK=1: one run with 2-second windows after 1 s of warm-up, to see that all of it works.
if [ "${QUICK:-0}" = 1 ]; then
  : "${BENCH_SECONDS:=2}" "${BENCH_RUNS:=1}" "${BENCH_WARMUP:=1}"
fi
# Five seconds is a million acked echoes, and 5,000 paced calls past their p99.9; three runs
# of every scenario fit in under half an hour. What moves a figure from run to run is the
# machine, not the window: with 10 s windows the figures moved by up to 20% from run to run.
measure=${BENCH_SECONDS:-5}
# Seconds of load before each window opens (2; 1 with QUICK=1).
warmup=${BENCH_WARMUP:-2}
servers=${BENCH_SERVERS:-"socketio-rs node socketioxide"}
only=${BENCH_ONLY:-all}
runs=${BENCH_RUNS:-3}
# The engines of the fanouts across two servers (run_cluster), all by default.
cluster_engines=${BENCH_CLUSTER_ENGINES:-"redis streams postgres sharded"}
# Each side of the idle scenario holds 10,000 sockets.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt 10100 ]; then
  echo "the idle scenario needs 10,100 open files; the limit here is $(ulimit -n)" >&2
  exit 1
fi
# The scale steps: 1,000, 5,000 and 15,000 idle connections, then as many as the open-file
# limit lets one server process hold (a thousand files spare), up to BENCH_SCALE_MAX (50,000).
scale_sizes=1000,5000
scale_most=$(( $(ulimit -n) - 1000 ))
scale_most=$(( scale_most / 1000 * 1000 ))
[ "$scale_most" -gt "${BENCH_SCALE_MAX:-50000}" ] && scale_most=${BENCH_SCALE_MAX:-50000}
if [ "$scale_most" -ge 15000 ]; then scale_sizes=$scale_sizes,15000; fi
if [ "$scale_most" -gt 15000 ]; then scale_sizes=$scale_sizes,$scale_most; fi
if [ "$scale_most" -lt 15000 ]; then
  echo "warning: $(ulimit -n) open files here: the scale steps stop at $scale_most" >&2
  scale_sizes=$scale_sizes,$scale_most
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
logs=$(mktemp -d)
pids=()
pg_dirs=()
trap 'kill "${pids[@]}" 2>/dev/null || true; sleep 0.5; rm -rf "$logs" "${pg_dirs[@]}"' EXIT

# Waits up to 10 s for the command (its words) to succeed; fails when it never does.
wait_until() {
  for _ in $(seq 100); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

# Waits up to 10 s for `pattern` in the log file `log`; fails when it never comes.
wait_for() {
  wait_until grep -q "$2" "$1"
}

# Starts a server (name, port, then VAR=value pairs for its environment) on the server core;
# sets $started to its pid once it prints its listening line.
start() {
  local server=$1 port=$2
  shift 2
  local log="$logs/$server-$port.log"
  # shellcheck disable=SC2046 # the command is words on purpose
  env PORT="$port" "$@" "${on_server[@]}" $(command_of "$server") >"$log" 2>&1 &
  started=$!
  pids+=("$started")
  wait_for "$log" '"listening"' && return
  echo "$server did not start:" >&2
  cat "$log" >&2
  exit 1
}

stop_all() {
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
}

run() { # server, then the scenario and its flags
  local server=$1 port
  shift
  port=$(free_port)
  start "$server" "$port"
  "${on_loadgen[@]}" target/release/loadgen "$@" --addr "127.0.0.1:$port" --server-pid "$started" --run "$run" \
    --label "$server" --seconds "$measure" --warmup "$warmup" | tee -a "$results"
  stop_all
}

# As run, for a variant of the usual setup: server, the variant's name, its server environment
# (VAR=value pairs separated by spaces, or - for none), then the scenario and its flags.
run_variant() {
  local server=$1 variant=$2 setting=$3 port
  shift 3
  port=$(free_port)
  # shellcheck disable=SC2086 # the pairs are words on purpose
  if [ "$setting" = - ]; then start "$server" "$port"; else start "$server" "$port" $setting; fi
  "${on_loadgen[@]}" target/release/loadgen "$@" --addr "127.0.0.1:$port" --server-pid "$started" --run "$run" \
    --label "$server" --variant "$variant" --seconds "$measure" --warmup "$warmup" | tee -a "$results"
  stop_all
}

run_observed() { # as run, the server with its metrics and the admin UI (production) on
  local server=$1
  shift
  run_variant "$server" observed "METRICS=1 ADMIN_UI=production" "$@"
}

run_recovery() { # as run, the server with connection state recovery on
  local server=$1
  shift
  run_variant "$server" recovery RECOVERY=1 "$@"
}

# A throwaway PostgreSQL on a free port and the load generator's core (as the postgres user
# when run as root: initdb and postgres refuse root); sets $pg_url. Debian's package.
start_postgres() {
  local bin port dir as=()
  bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1)
  if [ -z "$bin" ]; then
    echo "no PostgreSQL here (apt-get install -y postgresql): the Postgres cluster is skipped" >&2
    return 1
  fi
  port=$(free_port)
  dir=$(mktemp -d)
  pg_dirs+=("$dir")
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$dir"
    as=(setpriv --reuid postgres --regid postgres --init-groups)
  fi
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1
  "${on_loadgen[@]}" "${as[@]}" "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" \
    -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off >"$dir/server.log" 2>&1 &
  pids+=("$!")
  wait_for "$dir/server.log" "ready to accept connections" || true
  pg_url="postgres://postgres@127.0.0.1:$port/postgres"
}

# A throwaway redis-server on a free port and the load generator's core, with no persistence,
# its log and files in a directory of its own under $logs; then the extra flags. Sets
# $redis_port.
start_redis() {
  local dir
  redis_port=$(free_port)
  dir=$(mktemp -d "$logs/redis-$redis_port.XXXX")
  "${on_loadgen[@]}" redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir" --save "" \
    --appendonly no "$@" >"$dir/server.log" 2>&1 &
  pids+=("$!")
  wait_for "$dir/server.log" "Ready to accept" || true
}

# A throwaway Redis 7 Cluster of three masters, no replicas, each from start_redis; sets
# $cluster_urls to their comma-separated redis:// URLs, as REDIS_CLUSTER_URLS wants them.
start_redis_cluster() {
  local ports=() urls=() port bus
  if ! redis-server --version | grep -Eq 'v=([7-9]|[1-9][0-9])\.'; then
    echo "sharded pub/sub needs Redis 7 ($(redis-server --version)): the sharded cluster is skipped" >&2
    return 1
  fi
  for _ in 1 2 3; do
    # The cluster bus would be the port + 10000, past 65535 for most free ports: a free one.
    bus=$(free_port)
    start_redis --cluster-enabled yes --cluster-config-file nodes.conf --cluster-port "$bus"
    ports+=("$redis_port")
    urls+=("redis://127.0.0.1:$redis_port")
  done
  redis-cli --cluster create "${urls[@]#redis://}" --cluster-replicas 0 --cluster-yes \
    >"$logs/redis-cluster-create.log" 2>&1
  # The slots are assigned at once, but each node says ok only once the others' gossip agrees.
  for port in "${ports[@]}"; do
    if ! wait_until sh -c "redis-cli -p $port cluster info | grep -q cluster_state:ok"; then
      echo "the Redis Cluster on ${ports[*]} did not come up:" >&2
      cat "$logs/redis-cluster-create.log" >&2
      exit 1
    fi
  done
  cluster_urls=$(IFS=,; echo "${urls[*]}")
}

# Two servers of one cluster: the sender on one, the 1000 receivers on the other, so that every
# delivery crossed the engine: redis (pub/sub), streams (Redis Streams), postgres, or sharded
# (sharded pub/sub on a three-master Redis 7 Cluster). The engine shares the load generator's
# core.
run_cluster() {
  local server=$1 engine=$2 url variant a b
  case $engine in
    postgres)
      start_postgres || return 0
      url="POSTGRES_URL=$pg_url"
      ;;
    sharded)
      start_redis_cluster || return 0
      url="REDIS_CLUSTER_URLS=$cluster_urls"
      ;;
    redis)
      start_redis
      url="REDIS_URL=redis://127.0.0.1:$redis_port/"
      ;;
    streams)
      start_redis
      url="REDIS_STREAMS_URL=redis://127.0.0.1:$redis_port/"
      ;;
    *) echo "unknown cluster engine $engine" >&2; exit 1 ;;
  esac
  # The pub/sub adapter's rows keep their name of before the other engines came.
  variant=()
  [ "$engine" = redis ] || variant=(--variant "$engine")
  a=$(free_port)
  start "$server" "$a" "$url"
  b=$(free_port)
  start "$server" "$b" "$url"
  "${on_loadgen[@]}" target/release/loadgen cluster-fanout --in-flight 4 --run "$run" --addr "127.0.0.1:$a" \
    --receivers-addr "127.0.0.1:$b" --server-pid "$started" --label "$server" "${variant[@]}" \
    --seconds "$measure" --warmup "$warmup" | tee -a "$results"
  stop_all
}

# The scale steps on one server: at each step 5 single broadcasts timed, then 3 s of them in
# flight, after 2 s of settling before the memory is read (3, 1 and 1 with QUICK=1).
run_scale() {
  local server=$1
  if [ "${QUICK:-0}" = 1 ]; then
    run "$server" scale --sizes "$scale_sizes" --probes 3 --seconds 1 --warmup 1
  else
    run "$server" scale --sizes "$scale_sizes" --seconds 3 --warmup 2
  fi
}

run_wire_options() { # the wire options (issue 15) on a 4 KB JSON payload
  local server=$1
  run_variant "$server" 4kb - echo --payload-bytes 4096
  run_variant "$server" msgpack-4kb PARSER=msgpack echo --payload-bytes 4096 --parser msgpack
  # The clients compress what they send, as browsers do.
  run_variant "$server" deflate-4kb PER_MESSAGE_DEFLATE=1 echo --payload-bytes 4096 --deflate
}

# The whole set BENCH_RUNS times in a row (3 by default): the report gives each figure's
# median and its spread, so that one lucky or unlucky run does not decide a comparison.
for run in $(seq "$runs"); do
  for server in $servers; do
    if [ "$only" = wire ]; then
      case $server in socketio-rs | node) run_wire_options "$server" ;; esac
      continue
    fi
    if [ "$only" = cluster ]; then
      case $server in
        socketio-rs | node) for engine in $cluster_engines; do run_cluster "$server" "$engine"; done ;;
      esac
      continue
    fi
    [ "$only" = instructions ] && continue
    if [ "$only" = scale ]; then
      run_scale "$server"
      continue
    fi
    if [ "$only" = paced ]; then
      run_variant "$server" paced - echo --rate 20000
      run_variant "$server" paced - fanout --rate 50
      continue
    fi
    if [ "$only" = observed ]; then
      if [ "$server" = socketio-rs ]; then
        for scenario in "echo" "fanout --in-flight 4"; do
          # shellcheck disable=SC2086 # the scenario's flags are words
          run "$server" $scenario
          # shellcheck disable=SC2086
          run_observed "$server" $scenario
        done
      fi
      continue
    fi
    run "$server" echo
    run "$server" fanout --in-flight 1
    run "$server" fanout --in-flight 4
    run "$server" idle
    run_scale "$server"
    run "$server" polling
    # Latency at equal load: every server offered the same work, below Node's ceiling.
    run_variant "$server" paced - echo --rate 20000
    run_variant "$server" paced - fanout --rate 50
    # socketioxide's Redis adapter does not speak Node's format, and it has no recovery.
    case $server in
      socketio-rs | node)
        for engine in $cluster_engines; do run_cluster "$server" "$engine"; done
        run_recovery "$server" echo
        run_recovery "$server" fanout --in-flight 4
        run_recovery "$server" retained
        run_wire_options "$server"
        ;;
    esac
    # What watching costs (issue 17): the metrics and the admin UI in production mode, on
    # the plain echo and fanout above; ours only, as Node has no metrics of its own.
    if [ "$server" = socketio-rs ]; then
      run_observed "$server" echo
      run_observed "$server" fanout --in-flight 4
    fi
  done
done

# Instructions per ack and per delivery under valgrind, for ours and socketioxide (Node's JIT
# under valgrind would measure valgrind): not in QUICK mode, and once (INSTRUCTION_RUNS=1)
# rather than once per run: they take three minutes, and move little from run to run.
if [ "${QUICK:-0}" != 1 ] && { [ "$only" = all ] || [ "$only" = instructions ]; }; then
  counted=""
  for server in $servers; do
    case $server in socketio-rs | socketioxide) counted="$counted $server" ;; esac
  done
  if [ -n "$counted" ]; then
    for run in $(seq "${INSTRUCTION_RUNS:-1}"); do
      BENCH_RUN=$run bench/instructions.sh "$results" "$counted"
    done
  fi
fi

echo
echo "$(date -u +%F), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; server on one core:"
echo
target/release/loadgen report "$results"
# The scale curves as a chart beside the results (bench/results/<run>-scale.png).
if grep -q '"scenario":"scale"' "$results"; then
  target/release/loadgen chart "$results" "${results%.jsonl}-scale.png"
  echo "chart: ${results%.jsonl}-scale.png"
fi

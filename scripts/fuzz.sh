#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer's coverage instrumentation and runs each one over its
# seeds and then for FUZZ_SECONDS (default 15) of fuzzing, FUZZ_JOBS (default 2) targets at a
# time. Any crash, panic or failed check fails the run and leaves the input and the log under
# fuzz/artifacts/.
#
#   scripts/fuzz.sh                          # the CI smoke run, about a minute after the build
#   FUZZ_SECONDS=3600 scripts/fuzz.sh        # a long run; new inputs are kept in fuzz/corpus/
#   scripts/fuzz.sh eio_ws sio_decoder       # only these targets
#
# Plain cargo with the flags cargo-fuzz passes (without a sanitizer: the code under test is safe
# Rust, and its few `unsafe` UTF-8 promises are checked by debug assertions, which are on), so
# that CI needs nothing beyond the toolchain. RUSTC_BOOTSTRAP lets the stable compiler take the
# instrumentation flags.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${FUZZ_SECONDS:-15}"
jobs="${FUZZ_JOBS:-2}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^socketio-fuzz$'))
fi

RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cllvm-args=-sanitizer-coverage-stack-depth \
--cfg fuzzing -Cdebug-assertions" \
  cargo build --release --locked --target "$triple" --bins

mkdir -p artifacts corpus
run() {
  local target="$1"
  mkdir -p "corpus/$target"
  # One log per run, so that a smoke run beside a long one does not write over its log.
  local log="artifacts/$target.$$.log"
  if "target/$triple/release/$target" -max_total_time="$seconds" -max_len=8192 \
      -artifact_prefix="artifacts/$target-" -print_final_stats=1 \
      "corpus/$target" "seeds/$target" >"$log" 2>&1; then
    echo "fuzz $target: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log"), no crash"
  else
    echo "fuzz $target FAILED; the end of $log:"
    tail -n 40 "$log"
    return 1
  fi
}

failed=0
pids=()
for target in "${targets[@]}"; do
  run "$target" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
exit "$failed"

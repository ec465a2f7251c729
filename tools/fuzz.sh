#!/usr/bin/env bash
# fuzz.sh: build the libFuzzer targets of tests/fuzz/ (clang, with ASan and
# UBSan) into build-fuzz/ and run each for SECONDS; exits non-zero if any input
# crashes a target. Prints libFuzzer's final stats (executions, coverage) per target.
#   tools/fuzz.sh                  # every target, 20 s each (CI)
#   tools/fuzz.sh 300 npy ini      # five minutes each for fuzz_npy and fuzz_ini
#   tools/fuzz.sh --build          # build only
#   tools/fuzz.sh --replay         # run the seed and regression inputs once, no fuzzing
# Seeds: tests/fuzz/corpus/<target>/ (read only); inputs found while fuzzing go
# to build-fuzz/corpus/<target>/, crashes to build-fuzz/crashes/<target>/.
# A crash found is minimized (see docs/HARDENING.md) and kept in
# tests/fuzz/regressions/<target>/, which tests/test_crash.c replays under ctest.
# Environment: ARITHLAB_FUZZ_BUILD (default build-fuzz), JOBS (default nproc), CC (default clang).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${ARITHLAB_FUZZ_BUILD:-build-fuzz}
JOBS=${JOBS:-$(nproc)}
CC=${CC:-clang}
ALL_TARGETS=(safetensors npy ini problem)

mode=fuzz
seconds=20
targets=()
for a in "$@"; do
  case "$a" in
    --build) mode=build ;;
    --replay) mode=replay ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    [0-9]*) seconds=$a ;;
    *) targets+=("${a#fuzz_}") ;;
  esac
done
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")

# ---------------------------------------------------------------- build
# clang and its libFuzzer runtime, installed as tools/setup.sh installs the rest (only what is missing)
if ! command -v "$CC" >/dev/null || ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
     "$CC" -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null; then
  [[ $CC == clang ]] || { echo "fuzz: $CC cannot build libFuzzer targets (-fsanitize=fuzzer)"; exit 1; }
  echo "fuzz: installing clang libclang-rt-14-dev"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# the library gets coverage instrumentation (fuzzer-no-link); each target links libFuzzer's main
cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DARITHLAB_NATIVE=OFF \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link $SAN" >/dev/null
if ! cmake --build "$BUILD" --target arithlab_core -j"$JOBS" >"$BUILD/build.log" 2>&1; then
  grep -E "error" "$BUILD/build.log" || tail -40 "$BUILD/build.log"
  echo "fuzz: building arithlab_core failed (log: $BUILD/build.log)"
  exit 1
fi
cache() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt"; }
BLIS_INC=$(cache BLIS_INCLUDE_DIR)
BLIS_LIB=$(cache BLIS_STATIC_LIBRARY)
for t in "${targets[@]}"; do
  src=tests/fuzz/fuzz_$t.c
  [[ -f $src ]] || { echo "fuzz: no target $src (targets: ${ALL_TARGETS[*]})"; exit 2; }
  extra=()
  out=$BUILD/fuzz_$t
  if [[ ! -x $out || -n $(find "$src" tests/fuzz/fuzz_common.h "${extra[@]}" "$BUILD/libarithlab_core.a" -newer "$out" 2>/dev/null) ]]; then
    $CC -O1 -g -fsanitize=fuzzer $SAN -I. -isystem "$BLIS_INC" $(pkg-config --cflags libcjson inih cairo pangocairo fontconfig) \
      "$src" "${extra[@]}" "$BUILD/libarithlab_core.a" "$BLIS_LIB" -fopenmp -lpthread \
      $(pkg-config --libs libcjson inih cairo pangocairo fontconfig) -lm -o "$out"
  fi
done
[[ $mode == build ]] && { echo "fuzz: built ${targets[*]/#/$BUILD/fuzz_}"; exit 0; }

# ---------------------------------------------------------------- run
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:report_error_type=1"
export OMP_NUM_THREADS=1 BLIS_NUM_THREADS=1 GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}
failed=()
for t in "${targets[@]}"; do
  seeds=tests/fuzz/corpus/$t
  regs=tests/fuzz/regressions/$t
  work=$BUILD/corpus/$t
  crashes=$BUILD/crashes/$t
  mkdir -p "$work" "$crashes" "$regs"
  dict=()
  [[ -f tests/fuzz/$t.dict ]] && dict=(-dict="tests/fuzz/$t.dict")
  log=$BUILD/fuzz_$t.log
  if [[ $mode == replay ]]; then
    # every seed and regression input once: a quick check that none crashes
    args=(-runs=0 -artifact_prefix="$crashes/" "$seeds" "$regs")
  else
    args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
          -artifact_prefix="$crashes/" "${dict[@]}" "$work" "$seeds" "$regs")
  fi
  if [[ $mode == replay ]]; then echo "== fuzz_$t: seeds and regressions, once"; else echo "== fuzz_$t: ${seconds}s"; fi
  rc=0
  # in the foreground (Ctrl-C reaches it), its pid noted: clang's OpenMP runtime
  # leaves /dev/shm/__KMP_REGISTERED_LIB_<pid>_* behind when a target aborts
  (echo "$BASHPID" >"$BUILD/fuzz_$t.pid"; exec "$BUILD/fuzz_$t" "${args[@]}" >"$log" 2>&1) || rc=$?
  rm -f "/dev/shm/__KMP_REGISTERED_LIB_$(cat "$BUILD/fuzz_$t.pid")_"* "$BUILD/fuzz_$t.pid"
  # the last status line (#executions, cov: edges, ft: features, corpus) and the final stats
  grep -aE "^#[0-9]+[[:space:]].*cov: " "$log" | tail -1 || true
  grep -aE "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)" "$log" || true
  if ((rc != 0)); then
    failed+=("fuzz_$t")
    # the finding, the first frames of its stack, and where libFuzzer saved the input
    grep -a -m1 -A8 -E "runtime error|ERROR: (AddressSanitizer|LeakSanitizer)|check failed|ERROR: libFuzzer: (timeout|out-of-memory)" "$log" || true
    grep -aE "^SUMMARY|Test unit written" "$log" || true
    echo "fuzz_$t: FAILED (exit $rc; full log $log; crashing input in $crashes/)"
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: crashes in ${failed[*]}"
  exit 1
fi
echo "fuzz: no crashes in ${targets[*]/#/fuzz_}"

#!/usr/bin/env bash
# sanitize.sh: build everything with AddressSanitizer + UndefinedBehaviorSanitizer
# into build-asan/ and run the whole CTest suite there; any finding (memory
# error, leak, undefined behaviour) aborts the process and fails its test.
#   tools/sanitize.sh                 # configure, build, run every test
#   tools/sanitize.sh -R checkpoint   # extra arguments go to ctest
# Environment: ARITHLAB_ASAN_BUILD (build dir, default build-asan), JOBS (default nproc),
# CC (default cc). Suppressions for the OpenMP runtime: tools/sanitize.supp (see there).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${ARITHLAB_ASAN_BUILD:-build-asan}
JOBS=${JOBS:-$(nproc)}

# float-cast-overflow: GCC leaves it out of -fsanitize=undefined (clang has it in),
# and a double too large for an int or long is exactly what a config file can hold
SAN="-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer"
t0=$(date +%s)
# -O1 -g: fast enough for the training tests, exact enough for the reports;
# no -DNDEBUG, so assert() stays on. ARITHLAB_NATIVE=OFF: the build matches any CI runner.
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DARITHLAB_NATIVE=OFF \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCMAKE_C_FLAGS="$SAN" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined,float-cast-overflow" >/dev/null
if ! cmake --build "$BUILD" -j"$JOBS" >"$BUILD/build.log" 2>&1; then
  grep -E "error|warning:" "$BUILD/build.log" || tail -40 "$BUILD/build.log"
  echo "sanitize: build failed (log: $BUILD/build.log)"
  exit 1
fi
grep -E "warning:" "$BUILD/build.log" || true
t1=$(date +%s)

# abort_on_error: a finding kills the process with SIGABRT, which Criterion and
# the tests that run the CLI both report as a failure (an exit code could be
# mistaken for the CLI's own). detect_leaks: leaks count as findings too.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:print_summary=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:report_error_type=1"
export LSAN_OPTIONS="suppressions=$ROOT/tools/sanitize.supp:print_suppressions=0"
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}

cd "$BUILD"
status=0
ctest --output-on-failure --timeout 1200 "$@" || status=$?
t2=$(date +%s)
echo "sanitize: build $((t1 - t0))s, tests $((t2 - t1))s; $([[ $status -eq 0 ]] && echo 'no findings' || echo FAILED)"
exit $status

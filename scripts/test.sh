#!/usr/bin/env bash
# Installs, builds and runs the whole test suite: unit tests (ctest), integration tests
# (node:test driving real bursar processes), the same unit tests under ASan+UBSan, and short
# libFuzzer runs. Prints one closing line "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
./scripts/setup.sh || exit 2

passed=0; failed=0
count_ctest() {  # $1 = log
  local p f
  p=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* +Passed' "$1" || true)
  f=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* +(\*\*\*Failed|Failed|\*\*\*Exception|\*\*\*Timeout|Not Run)' "$1" || true)
  passed=$((passed + p)); failed=$((failed + f))
}

source scripts/services.sh
trap services_stop EXIT
services_start || { echo "test: could not start services" >&2; exit 2; }

echo "== build (release, -Werror)"
./scripts/build.sh release || { echo "tests: 0 passed, 1 failed"; exit 1; }

echo "== unit tests"
(cd build && ctest --output-on-failure -j2 --timeout 300) 2>&1 | tee build/ctest.log
count_ctest build/ctest.log

if [ -d test ] && ls test/*.test.mjs >/dev/null 2>&1; then
  echo "== integration tests"
  BURSAR_BIN="$ROOT/build/bursar" node --test --test-concurrency=1 test/*.test.mjs 2>&1 | tee build/node-test.log
  p=$(grep -E '^# pass ' build/node-test.log | awk '{print $3}'); f=$(grep -E '^# fail ' build/node-test.log | awk '{print $3}')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
fi

if [ "${BURSAR_SKIP_ASAN:-0}" != 1 ]; then
  echo "== build (ASan+UBSan) and unit tests under sanitizers"
  if ./scripts/build.sh asan; then
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --output-on-failure -j2 --timeout 600) 2>&1 | tee build-asan/ctest.log
    count_ctest build-asan/ctest.log
  else
    failed=$((failed + 1))
  fi
fi

if [ "${BURSAR_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz (short runs)"
  if ./scripts/build.sh fuzz; then
    for bin in build-fuzz/src/*/*_fuzz; do
      [ -x "$bin" ] || continue
      name=$(basename "$bin")
      corpus="fuzz/corpus/$name"; work="build-fuzz/corpus-$name"
      mkdir -p "$work"
      if "$bin" -max_total_time="${BURSAR_FUZZ_SECONDS:-20}" -max_len=65536 -timeout=10 \
          -print_final_stats=0 "$work" ${corpus:+$( [ -d "$corpus" ] && echo "$corpus")} \
          > "build-fuzz/$name.log" 2>&1; then
        # libFuzzer's closing line; its "#N" progress lines are not the last "#" in the log when it
        # prints a recommended dictionary.
        echo "fuzz $name: ok ($(grep -Eo 'Done [0-9]+ runs' "build-fuzz/$name.log" | tail -1 |
          grep -Eo '[0-9]+') runs)"
        passed=$((passed + 1))
      else
        echo "fuzz $name: FAILED"; tail -n 40 "build-fuzz/$name.log"
        failed=$((failed + 1))
      fi
    done
  else
    failed=$((failed + 1))
  fi
fi

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

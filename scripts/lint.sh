#!/usr/bin/env bash
# scripts/lint.sh: the code checks that are not tests. clang-format: every tracked C++ file must be
# formatted as .clang-format says. clang-tidy: .clang-tidy's checks (warnings are errors) over every
# source file of the release build's compile_commands.json (src/ and bench/), on all cores (about
# 15 s of CPU per file). Exits non-zero, with the findings, if either finds anything.
# Usage: scripts/lint.sh [FILE-REGEX]   (clang-tidy only on the files matching FILE-REGEX)
# Needs scripts/setup.sh's packages and a release build (scripts/build.sh), which it runs if absent.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f build/compile_commands.json ] || ./scripts/build.sh

status=0
echo "== clang-format"
if git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror; then
  echo "clang-format: clean"
else
  status=1
fi

echo "== clang-tidy"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if run-clang-tidy -quiet -j "$(nproc)" -p build "${1:-$PWD/(src|bench)/}" >"$log" 2>&1; then
  echo "clang-tidy: clean ($(grep -c '^clang-tidy' "$log" || true) files)"
else
  grep -E 'warning:|error:' "$log" | sort -u
  echo "clang-tidy: findings above"
  status=1
fi
exit "$status"

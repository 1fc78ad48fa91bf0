#!/usr/bin/env bash
# Configures and builds bursar. Usage: scripts/build.sh [release|asan|fuzz]  (default release)
#   release -> build/       RelWithDebInfo, warnings are errors
#   asan    -> build-asan/  ASan + UBSan, warnings are errors
#   fuzz    -> build-fuzz/  clang-14 libFuzzer targets (*_fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
case "$kind" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DBURSAR_WERROR=ON) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DBURSAR_WERROR=ON -DBURSAR_SANITIZE=ON) ;;
  fuzz) dir=build-fuzz; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DBURSAR_FUZZ=ON -DBURSAR_TESTS=OFF
          -DCMAKE_CXX_COMPILER=clang++-14) ;;
  *) echo "usage: $0 [release|asan|fuzz]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
ninja -C "$dir" ${BURSAR_BUILD_TARGETS:-}

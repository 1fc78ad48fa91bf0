#!/usr/bin/env bash
# Installs every package bursar needs on a fresh Debian 12 machine. Idempotent; runs as root
# (or through sudo) with no prompt. Also installs the npm packages the tests and benches use.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libboost-dev libboost-system-dev libsimdjson-dev libgit2-dev libyaml-cpp-dev
  nlohmann-json3-dev libsqlite3-dev sqlite3 libpq-dev postgresql redis-server libhiredis-dev
  libspdlog-dev libfmt-dev libcli11-dev libssl-dev zlib1g-dev libisal-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev clang-14 libclang-rt-14-dev
  clang-format clang-tidy prometheus wrk nginx nodejs python3
  valgrind  # bench/gateway_instructions.sh (callgrind instruction counts)
  tzdata  # config/: Budget.timeZone is checked against /usr/share/zoneinfo
  libjemalloc-dev  # the bursar binary's allocator (fewer CPU cycles per request than glibc's)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The Debian packages start nginx and redis as system services; bursar's tests start their own.
for svc in nginx redis-server; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done

# npm packages for integration tests (official openai SDK) and benches.
if [ -f test/package.json ] && [ ! -d test/node_modules/openai ]; then
  (cd test && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "setup: ok"

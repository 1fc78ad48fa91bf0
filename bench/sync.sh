#!/usr/bin/env bash
# bench/sync.sh: commit-to-serving latency of the GitOps loop through the webhook and through
# polling (see bench/sync.mjs). Last line:
#   sync: webhook_p50_ms=A webhook_p99_ms=B poll_p50_ms=C poll_p99_ms=D poll_interval_ms=E
# Usage: bench/sync.sh   (env: BURSAR_BIN, COMMITS=50, POLL_MS=1000, WORKERS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
export BURSAR_BIN=${BURSAR_BIN:-$(pwd)/build/bursar}
[ -x "$BURSAR_BIN" ] || { echo "bench: build bursar first (scripts/build.sh) or set BURSAR_BIN" >&2; exit 2; }
exec node bench/sync.mjs

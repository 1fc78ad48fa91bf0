#!/usr/bin/env bash
# bench/gateway.sh: throughput and latency of one chat completion through
#   direct   - the upstream itself (nginx returning a fixed chat completion with usage)
#   nginx    - nginx as a plain reverse proxy (keep-alive to the upstream)
#   bursar   - bursar serve (auth, parse, estimate, budgets, metering, ledger record per request)
#   portkey  - the Portkey AI gateway 1.15.2 (node)
# with wrk at the same payload. Prints a table (throughput, latency, and each target's CPU time per
# request, read from /proc: less sensitive to other load on the machine), the ratios, and last:
#   gateway: bursar/nginx_rps=R bursar/portkey_rps=R added_p50_us=N
# Usage: bench/gateway.sh   (env: BURSAR_BIN, DURATION=10s, CONNS=64, MODERATE_CONNS=4, WORKERS)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BURSAR_BIN=${BURSAR_BIN:-$ROOT/build/bursar}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
MODERATE_CONNS=${MODERATE_CONNS:-4}
WORKERS=${WORKERS:-$(nproc)}
[ -x "$BURSAR_BIN" ] || { echo "bench: build bursar first (scripts/build.sh) or set BURSAR_BIN" >&2; exit 2; }
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "bench: needs wrk and nginx (scripts/setup.sh)" >&2; exit 2; }
if [ ! -d bench/gateway/node_modules/@portkey-ai/gateway ]; then
  (cd bench/gateway && npm install --no-audit --no-fund --loglevel=error)
fi

source bench/gateway_common.sh
bench_scratch bursar-bench-gw

UP=$(free_port); PROXY=$(free_port); BURSAR=$(free_port); PORTKEY=$(free_port)

# --- the upstream and the plain reverse proxy: two nginx instances (separate processes, as
# bursar and Portkey are separate from the upstream) ---
nginx_conf upstream "$(upstream_server "$UP")"
nginx_conf proxy "$(proxy_server "$PROXY" "$UP")"

# --- bursar on a one-model configuration (a Git repository) ---
KEY=$BENCH_KEY
mkdir -p "$WORK/data"
bench_repo "$WORK/repo" "$UP"
"$BURSAR_BIN" serve --repo "$WORK/repo" --listen 127.0.0.1:$BURSAR --data "$WORK/data" \
  --workers "$WORKERS" > "$WORK/bursar.log" 2>&1 &
PIDS+=($!)

# --- Portkey ---
node bench/gateway/node_modules/@portkey-ai/gateway/build/start-server.js --port=$PORTKEY --headless \
  > "$WORK/portkey.log" 2>&1 &
PIDS+=($!)

for p in $UP $PROXY $BURSAR $PORTKEY; do wait_port "$p"; done

BODY=$BENCH_BODY
cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.headers["x-portkey-provider"] = "openai"
wrk.headers["x-portkey-custom-host"] = "http://127.0.0.1:$UP/v1"
LUA

# Sanity: every target answers the payload with 200.
for t in "direct $UP" "nginx $PROXY" "bursar $BURSAR" "portkey $PORTKEY"; do
  set -- $t
  code=$(curl -s -o "$WORK/check-$1.json" -w '%{http_code}' -X POST "http://127.0.0.1:$2/v1/chat/completions" \
    -H 'Content-Type: application/json' -H "Authorization: Bearer $KEY" \
    -H 'x-portkey-provider: openai' -H "x-portkey-custom-host: http://127.0.0.1:$UP/v1" -d "$BODY")
  [ "$code" = 200 ] || { echo "bench: $1 answered HTTP $code: $(head -c 300 "$WORK/check-$1.json")" >&2; exit 1; }
done

# CPU time (clock ticks, user + system) of a process and its children: the target's whole cost.
cpu_ticks() {
  local t=0 p
  for p in "$1" $(pgrep -P "$1"); do
    [ -r /proc/$p/stat ] && t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat)))
  done
  echo $t
}
declare -A TARGET_PID
TARGET_PID=([direct]=${PIDS[0]} [nginx]=${PIDS[1]} [bursar]=${PIDS[2]} [portkey]=${PIDS[3]})

# run NAME PORT CONNS -> prints "rps p50_us p99_us cpu_us_per_request"
run() {
  local out c0 c1
  c0=$(cpu_ticks "${TARGET_PID[$1]}")
  out=$(wrk -t1 -c"$3" -d"$DURATION" --latency -s "$WORK/post.lua" "http://127.0.0.1:$2/v1/chat/completions")
  c1=$(cpu_ticks "${TARGET_PID[$1]}")
  echo "$out" > "$WORK/wrk-$1-$3.txt"
  python3 - "$WORK/wrk-$1-$3.txt" "$((c1 - c0))" "$(getconf CLK_TCK)" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
ticks, hz = int(sys.argv[2]), int(sys.argv[3])
def us(v):
    m = re.match(r'([\d.]+)(us|ms|s)', v)
    n, u = float(m.group(1)), m.group(2)
    return n * {'us': 1, 'ms': 1e3, 's': 1e6}[u]
rps = float(re.search(r'Requests/sec:\s+([\d.]+)', text).group(1))
p50 = us(re.search(r'^\s+50%\s+(\S+)', text, re.M).group(1))
p99 = us(re.search(r'^\s+99%\s+(\S+)', text, re.M).group(1))
errors = re.search(r'Non-2xx or 3xx responses: (\d+)', text)
if errors: print(f"bench: {errors.group(1)} non-2xx answers in {sys.argv[1]}", file=sys.stderr)
requests = int(re.search(r'(\d+) requests in', text).group(1))
print(f"{rps:.0f} {p50:.0f} {p99:.0f} {ticks / hz * 1e6 / max(requests, 1):.1f}")
PY
}

# Warm up each target, then measure throughput (CONNS) and latency at moderate load.
for t in "direct $UP" "nginx $PROXY" "bursar $BURSAR" "portkey $PORTKEY"; do
  set -- $t
  wrk -t1 -c8 -d2s -s "$WORK/post.lua" "http://127.0.0.1:$2/v1/chat/completions" > /dev/null
done
declare -A RPS P50 P99 MP50 MP99 CPU
for t in "direct $UP" "nginx $PROXY" "bursar $BURSAR" "portkey $PORTKEY"; do
  set -- $t
  read -r RPS[$1] P50[$1] P99[$1] CPU[$1] < <(run "$1" "$2" "$CONNS")
  read -r _ MP50[$1] MP99[$1] _ < <(run "$1" "$2" "$MODERATE_CONNS")
done

printf '\n%-8s %12s %10s %10s %14s %14s %16s\n' target "rps(c=$CONNS)" p50_us p99_us "p50_us(c=$MODERATE_CONNS)" "p99_us(c=$MODERATE_CONNS)" "cpu_us/req(c=$CONNS)"
for n in direct nginx bursar portkey; do
  printf '%-8s %12s %10s %10s %14s %14s %16s\n' "$n" "${RPS[$n]}" "${P50[$n]}" "${P99[$n]}" "${MP50[$n]}" "${MP99[$n]}" "${CPU[$n]}"
done
records=$(sqlite3 "$WORK/data/ledger.db" 'select count(*) from spend' 2>/dev/null || echo "?")
echo "bursar spend records written during the run: $records (plus any still in the log)"
echo "CPU per request at c=$CONNS (the target's processes, user + system): bursar ${CPU[bursar]} us, nginx proxy ${CPU[nginx]} us, upstream ${CPU[direct]} us, Portkey ${CPU[portkey]} us"
python3 - "${RPS[bursar]}" "${RPS[nginx]}" "${RPS[portkey]}" "${MP50[bursar]}" "${MP50[direct]}" "${MP50[nginx]}" <<'PY'
import sys
b, n, p, bp50, dp50, np50 = map(float, sys.argv[1:])
print(f"ratios: bursar/nginx rps {b/n:.2f}, bursar/portkey rps {b/p:.1f}, "
      f"added p50 at moderate load: bursar {bp50-dp50:.0f} us, nginx {np50-dp50:.0f} us")
print(f"gateway: bursar/nginx_rps={b/n:.2f} bursar/portkey_rps={b/p:.1f} added_p50_us={bp50-dp50:.0f}")
PY

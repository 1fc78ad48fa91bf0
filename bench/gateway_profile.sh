#!/usr/bin/env bash
# bench/gateway_profile.sh: where a proxied request's CPU goes on the whole machine, bursar
# against nginx as a plain reverse proxy, both in front of the same upstream (bench/gateway.sh's
# nginx returning a fixed chat completion) and driven by the same wrk load. For each target, in
# alternated rounds, it prints per request: the CPU time of the target, of the upstream nginx and
# of wrk, the machine's idle time, the target's and the upstream's context switches (voluntary /
# involuntary) and the TCP segments sent. With PERF=1 it also records bursar with DWARF call
# graphs during its last round and prints bursar's CPU per request by part of the request path
# (bench/gateway_profile.py).
# Usage: bench/gateway_profile.sh   (env: BURSAR_BIN, ROUNDS=2, DURATION=10, CONNS=64, PERF,
#                                    WORKERS)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BURSAR_BIN=${BURSAR_BIN:-$ROOT/build/bursar}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
WORKERS=${WORKERS:-$(nproc)}
[ -x "$BURSAR_BIN" ] || { echo "bench: build bursar first (scripts/build.sh) or set BURSAR_BIN" >&2; exit 2; }
for tool in wrk nginx python3; do
  command -v "$tool" >/dev/null || { echo "bench: needs $tool (scripts/setup.sh)" >&2; exit 2; }
done
if [ -n "${PERF:-}" ] && ! command -v perf >/dev/null; then echo "bench: PERF=1 needs perf (Debian package linux-perf)" >&2; exit 2; fi

source bench/gateway_common.sh
bench_scratch bursar-bench-profile

UP=$(free_port); PROXY=$(free_port); BURSAR=$(free_port)
nginx_conf upstream "$(upstream_server "$UP")"
nginx_conf proxy "$(proxy_server "$PROXY" "$UP")"
mkdir -p "$WORK/data"
bench_repo "$WORK/repo" "$UP"
"$BURSAR_BIN" serve --repo "$WORK/repo" --listen 127.0.0.1:$BURSAR --data "$WORK/data" \
  --workers "$WORKERS" > "$WORK/bursar.log" 2>&1 &
PIDS+=($!)
for p in $UP $PROXY $BURSAR; do wait_port "$p"; done
bench_post_lua "$WORK/post.lua"

ticks() { local t=0 p; for p in "$@"; do [ -r /proc/$p/stat ] && t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat))); done; echo $t; }
switches() {  # PIDS... -> "voluntary involuntary" over all their threads
  local v=0 n=0 p q
  for p in "$@"; do
    for q in /proc/$p/task/*; do
      v=$((v + $(awk '/^voluntary_ctxt/{print $2}' $q/status)))
      n=$((n + $(awk '/^nonvoluntary_ctxt/{print $2}' $q/status)))
    done
  done
  echo $v $n
}
idle() { awk '/^cpu /{print $5 + $6}' /proc/stat; }
segments() { awk '/^Tcp: [0-9]/{print $12}' /proc/net/snmp; }  # OutSegs
with_children() { echo $1 $(pgrep -P $1); }
UPSTREAM=$(with_children ${PIDS[0]})
declare -A TARGET=([nginx]="$(with_children ${PIDS[1]})" [bursar]="${PIDS[2]}")
declare -A PORT=([nginx]=$PROXY [bursar]=$BURSAR)

printf '%-7s %9s %9s %9s %9s %9s %13s %13s %9s\n' target rps "target" upstream wrk idle \
  "switches" "up_switches" segments
printf '%-7s %9s %9s %9s %9s %9s %13s %13s %9s\n' "" "" "us/req" "us/req" "us/req" "us/req" \
  "vol/invol" "vol/invol" "per req"
for round in $(seq "$ROUNDS"); do
  for name in nginx bursar; do
    url="http://127.0.0.1:${PORT[$name]}/v1/chat/completions"
    wrk -t1 -c8 -d1s -s "$WORK/post.lua" "$url" > /dev/null
    if [ -n "${PERF:-}" ] && [ "$name" = bursar ] && [ "$round" = "$ROUNDS" ]; then
      perf record -F 1500 --call-graph dwarf,16384 -p ${TARGET[bursar]} -o "$WORK/perf.data" \
        -- sleep $((DURATION > 6 ? 6 : DURATION)) > /dev/null 2>&1 &
      PERF_PID=$!
    fi
    u0=$(ticks $UPSTREAM); t0=$(ticks ${TARGET[$name]}); i0=$(idle); s0=$(segments)
    read -r tv0 tn0 < <(switches ${TARGET[$name]}); read -r uv0 un0 < <(switches $UPSTREAM)
    /usr/bin/time -f "%U %S" -o "$WORK/wrk-time" \
      wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$WORK/post.lua" "$url" > "$WORK/wrk.out"
    u1=$(ticks $UPSTREAM); t1=$(ticks ${TARGET[$name]}); i1=$(idle); s1=$(segments)
    read -r tv1 tn1 < <(switches ${TARGET[$name]}); read -r uv1 un1 < <(switches $UPSTREAM)
    python3 - "$name" "$WORK/wrk.out" "$WORK/wrk-time" "$(getconf CLK_TCK)" \
      $((t1 - t0)) $((u1 - u0)) $((i1 - i0)) $((s1 - s0)) \
      $((tv1 - tv0)) $((tn1 - tn0)) $((uv1 - uv0)) $((un1 - un0)) <<'PY'
import re, sys
name, out, wtime, hz = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t, u, i, seg, tv, tn, uv, un = map(int, sys.argv[5:])
text = open(out).read()
n = int(re.search(r'(\d+) requests in', text).group(1))
rps = float(re.search(r'Requests/sec:\s+([\d.]+)', text).group(1))
w = sum(map(float, open(wtime).read().split()))
us = lambda ticks: ticks / hz * 1e6 / n
print('%-7s %9.0f %9.1f %9.1f %9.1f %9.1f %6.2f/%-6.2f %6.2f/%-6.2f %9.2f' % (
    name, rps, us(t), us(u), w * 1e6 / n, us(i), tv / n, tn / n, uv / n, un / n, seg / n))
open(out + '.' + name + '.us', 'w').write('%.2f' % us(t))
PY
  done
done
if [ -n "${PERF:-}" ]; then
  wait "$PERF_PID" || true
  echo
  echo "bursar's CPU by part of the request path (perf, DWARF call graphs, last round):"
  perf script -i "$WORK/perf.data" -F tid,ip,sym,dso 2>/dev/null |
    python3 bench/gateway_profile.py "$(cat "$WORK/wrk.out.bursar.us")"
fi

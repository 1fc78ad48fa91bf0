#!/usr/bin/env bash
# bench/gateway_ab.sh: two bursar builds (or one build run two ways) side by side, for measuring a
# change meant to make the request path cheaper. Both serve bench/gateway.sh's one-model
# configuration in front of the same upstream (nginx returning a fixed chat completion); wrk
# drives them in turn, A then B in each of ROUNDS rounds, so that a drift of the shared machine
# moves both. Per run it prints the throughput and the CPU time per request read from /proc per
# thread: all of bursar, its workers (user / system) and its ledger writer (user / system). CPU
# per request is the figure to compare by: throughput moves with everything else on 2 cores.
# Last line: gateway_ab: a_cpu_us=N b_cpu_us=N b/a=R   (medians over the rounds)
# Usage: A_BIN=old/bursar B_BIN=build/bursar bench/gateway_ab.sh
#   env: ROUNDS=4, DURATION=5s, CONNS=64, WORKERS (both; default nproc), A_WORKERS, B_WORKERS,
#        B_ENV (e.g. MALLOC_CONF=...; environment for B only)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
A_BIN=${A_BIN:-$ROOT/build/bursar}
B_BIN=${B_BIN:-$ROOT/build/bursar}
ROUNDS=${ROUNDS:-4}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-64}
WORKERS=${WORKERS:-$(nproc)}
for b in "$A_BIN" "$B_BIN"; do
  [ -x "$b" ] || { echo "bench: $b is not an executable (set A_BIN and B_BIN)" >&2; exit 2; }
done
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "bench: needs wrk and nginx (scripts/setup.sh)" >&2; exit 2; }

source bench/gateway_common.sh
bench_scratch bursar-bench-ab

UP=$(free_port); A_PORT=$(free_port); B_PORT=$(free_port)
nginx_conf upstream "$(upstream_server "$UP")"
bench_repo "$WORK/repo" "$UP"
mkdir -p "$WORK/data-a" "$WORK/data-b"
"$A_BIN" serve --repo "$WORK/repo" --listen 127.0.0.1:$A_PORT --data "$WORK/data-a" \
  --workers "${A_WORKERS:-$WORKERS}" > "$WORK/a.log" 2>&1 &
A_PID=$!
PIDS+=($A_PID)
env ${B_ENV:-} "$B_BIN" serve --repo "$WORK/repo" --listen 127.0.0.1:$B_PORT --data "$WORK/data-b" \
  --workers "${B_WORKERS:-$WORKERS}" > "$WORK/b.log" 2>&1 &
B_PID=$!
PIDS+=($B_PID)
for p in $UP $A_PORT $B_PORT; do wait_port "$p"; done
bench_post_lua "$WORK/post.lua"

# "thread-name utime stime" (clock ticks) for each thread of a process.
threads() {
  local t
  for t in /proc/$1/task/*; do echo "$(cat "$t/comm") $(awk '{print $14, $15}' "$t/stat")"; done
}
for round in $(seq "$ROUNDS"); do
  for side in a b; do
    if [ $side = a ]; then pid=$A_PID port=$A_PORT; else pid=$B_PID port=$B_PORT; fi
    url="http://127.0.0.1:$port/v1/chat/completions"
    wrk -t1 -c8 -d1s -s "$WORK/post.lua" "$url" > /dev/null
    threads "$pid" > "$WORK/before"
    wrk -t1 -c"$CONNS" -d"$DURATION" -s "$WORK/post.lua" "$url" > "$WORK/wrk.out"
    threads "$pid" > "$WORK/after"
    python3 - "$side" "$round" "$WORK/before" "$WORK/after" "$WORK/wrk.out" "$(getconf CLK_TCK)" \
      >> "$WORK/runs.txt" <<'PY'
import re, sys
side, rnd, before, after, out, hz = sys.argv[1:7]
text = open(out).read()
n = int(re.search(r'(\d+) requests in', text).group(1))
rps = float(re.search(r'Requests/sec:\s+([\d.]+)', text).group(1))
if re.search(r'Non-2xx or 3xx responses', text):
    sys.exit('bench: non-2xx answers from ' + side)
parts = {'workers': [0, 0], 'writer': [0, 0], 'other': [0, 0]}
for b, a in zip(open(before), open(after)):
    name, u0, s0 = b.split()
    _, u1, s1 = a.split()
    part = ('workers' if name.startswith('bursar-gw') else
            'writer' if name == 'bursar-ledger' else 'other')
    parts[part][0] += int(u1) - int(u0)
    parts[part][1] += int(s1) - int(s0)
us = lambda ticks: ticks * 1e6 / int(hz) / n
total = us(sum(u + s for u, s in parts.values()))
w, l = parts['workers'], parts['writer']
print(side, rnd, f'{rps:.0f}', f'{total:.2f}', f'{us(w[0]):.2f}', f'{us(w[1]):.2f}',
      f'{us(l[0]):.2f}', f'{us(l[1]):.2f}')
PY
    tail -1 "$WORK/runs.txt" | awk '{printf "round %s %s: %7d req/s  cpu %5.2f us/req  workers %5.2f user %5.2f sys  writer %4.2f user %4.2f sys\n", $2, toupper($1), $3, $4, $5, $6, $7, $8}'
  done
done
python3 - "$WORK/runs.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
cpu = {s: [float(r[3]) for r in rows if r[0] == s] for s in 'ab'}
rps = {s: [float(r[2]) for r in rows if r[0] == s] for s in 'ab'}
a, b = statistics.median(cpu['a']), statistics.median(cpu['b'])
print(f"medians: A {statistics.median(rps['a']):.0f} req/s, {a:.2f} us/req; "
      f"B {statistics.median(rps['b']):.0f} req/s, {b:.2f} us/req "
      f"(A's runs {min(cpu['a']):.2f}-{max(cpu['a']):.2f}, B's {min(cpu['b']):.2f}-{max(cpu['b']):.2f})")
print(f"gateway_ab: a_cpu_us={a:.2f} b_cpu_us={b:.2f} b/a={b / a:.3f}")
PY

#!/usr/bin/env bash
# bench/gateway.sh: throughput and latency of one chat completion through
#   direct   - the upstream itself (nginx returning a fixed chat completion with usage)
#   nginx    - nginx as a plain reverse proxy (keep-alive to the upstream)
#   bursar   - bursar serve (auth, parse, estimate, budgets, metering, ledger record per request)
#   portkey  - the Portkey AI gateway 1.15.2 (node)
# with wrk at the same payload. Prints a table (throughput, latency, and each target's CPU time per
# request, read from /proc: less sensitive to other load on the machine), the ratios, and last:
#   gateway: bursar/nginx_rps=R bursar/portkey_rps=R added_p50_us=N
# Every target is measured in each of ROUNDS rounds (in turn, so that each round sees the machine
# in about the same state); the table holds each figure's median over the rounds, and each ratio
# is the median of the rounds' ratios: a drift of the shared machine between two runs moves one
# round, not the result.
# Latency is measured at MODERATE_CONNS (the summary's added_p50_us) and, for context, at
# LIGHT_CONNS=1: one request at a time, the path's own latency without queueing. On a 2-core
# machine that also runs wrk and the upstream, 4 closed-loop connections already keep both cores
# busy, so on a slow machine the moderate figure is mostly time spent waiting for a core.
# Usage: bench/gateway.sh   (env: BURSAR_BIN, ROUNDS=3, DURATION=5s, CONNS=64, MODERATE_CONNS=4,
#                            LIGHT_CONNS=1, WORKERS)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BURSAR_BIN=${BURSAR_BIN:-$ROOT/build/bursar}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-64}
MODERATE_CONNS=${MODERATE_CONNS:-4}
LIGHT_CONNS=${LIGHT_CONNS:-1}
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
bench_post_lua "$WORK/post.lua" 'wrk.headers["x-portkey-provider"] = "openai"' \
  "wrk.headers[\"x-portkey-custom-host\"] = \"http://127.0.0.1:$UP/v1\""

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

# Warm up each target, then in each round measure throughput (CONNS) and latency at moderate load.
for t in "direct $UP" "nginx $PROXY" "bursar $BURSAR" "portkey $PORTKEY"; do
  set -- $t
  wrk -t1 -c8 -d2s -s "$WORK/post.lua" "http://127.0.0.1:$2/v1/chat/completions" > /dev/null
done
for round in $(seq "$ROUNDS"); do
  for t in "direct $UP" "nginx $PROXY" "bursar $BURSAR" "portkey $PORTKEY"; do
    set -- $t
    read -r rps p50 p99 cpu < <(run "$1" "$2" "$CONNS")
    read -r _ mp50 mp99 _ < <(run "$1" "$2" "$MODERATE_CONNS")
    read -r _ lp50 _ _ < <(run "$1" "$2" "$LIGHT_CONNS")
    echo "$round $1 $rps $p50 $p99 $mp50 $mp99 $cpu $lp50" >> "$WORK/rounds.txt"
  done
done

records=$(sqlite3 "$WORK/data/ledger.db" 'select count(*) from spend' 2>/dev/null || echo "?")
python3 - "$WORK/rounds.txt" "$CONNS" "$MODERATE_CONNS" "$records" "$LIGHT_CONNS" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
conns, moderate, records, light = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
by = {}  # target -> round -> figures
for r, name, *v in rows:
    by.setdefault(name, {})[int(r)] = [float(x) for x in v]
med = lambda xs: statistics.median(xs)
fig = lambda name, i: med([v[i] for v in by[name].values()])
rounds = sorted(by['bursar'])
print(f"\n{len(rounds)} rounds; each figure is the median over the rounds")
print('%-8s %12s %10s %10s %14s %14s %16s %14s' % ('target', f'rps(c={conns})', 'p50_us', 'p99_us',
      f'p50_us(c={moderate})', f'p99_us(c={moderate})', f'cpu_us/req(c={conns})', f'p50_us(c={light})'))
for n in ('direct', 'nginx', 'bursar', 'portkey'):
    print('%-8s %12.0f %10.0f %10.0f %14.0f %14.0f %16.1f %14.0f' % ((n,) + tuple(fig(n, i) for i in range(7))))
per_round = lambda f: [f(r) for r in rounds]
bn = per_round(lambda r: by['bursar'][r][0] / by['nginx'][r][0])
bp = per_round(lambda r: by['bursar'][r][0] / by['portkey'][r][0])
ba = per_round(lambda r: by['bursar'][r][3] - by['direct'][r][3])
na = per_round(lambda r: by['nginx'][r][3] - by['direct'][r][3])
bl = per_round(lambda r: by['bursar'][r][6] - by['direct'][r][6])
nl = per_round(lambda r: by['nginx'][r][6] - by['direct'][r][6])
print(f"bursar spend records written during the run: {records} (plus any still in the log)")
print(f"CPU per request at c={conns} (the target's processes, user + system): bursar {fig('bursar', 5):.1f} us, "
      f"nginx proxy {fig('nginx', 5):.1f} us, upstream {fig('direct', 5):.1f} us, Portkey {fig('portkey', 5):.1f} us")
print("per round: bursar/nginx rps " + " ".join(f"{x:.2f}" for x in bn) +
      "; added p50 us " + " ".join(f"{x:.0f}" for x in ba))
print(f"ratios: bursar/nginx rps {med(bn):.2f}, bursar/portkey rps {med(bp):.1f}, "
      f"added p50 at moderate load: bursar {med(ba):.0f} us, nginx {med(na):.0f} us")
print(f"added p50 at light load (c={light}, context): bursar {med(bl):.0f} us, nginx {med(nl):.0f} us")
print(f"gateway: bursar/nginx_rps={med(bn):.2f} bursar/portkey_rps={med(bp):.1f} added_p50_us={med(ba):.0f}")
PY

#!/usr/bin/env bash
# bench/gateway_instructions.sh: user-space instructions per request of `bursar serve`, counted
# by valgrind's callgrind (deterministic, unlike CPU time on a shared 2-core machine: two builds
# compare to within about 1 %). The same one-model configuration and 205-byte chat request as
# bench/gateway.sh, against nginx returning a fixed chat completion; 4 keep-alive clients send
# N requests (default 2,000) after 400 of warm-up, with the counters zeroed in between.
# Prints instructions per request for the worker threads and for the ledger writer thread (the
# writer's figure depends on its batch sizes, which are small at callgrind's speed), and as its
# last line:  gateway_instructions: worker=N writer=N
# Usage: bench/gateway_instructions.sh [N]   (env: BURSAR_BIN; needs valgrind, nginx, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BURSAR_BIN=${BURSAR_BIN:-$ROOT/build/bursar}
N=${1:-2000}
[ -x "$BURSAR_BIN" ] || { echo "bench: build bursar first (scripts/build.sh) or set BURSAR_BIN" >&2; exit 2; }
for tool in valgrind callgrind_control nginx python3; do
  command -v "$tool" >/dev/null || { echo "bench: needs $tool (scripts/setup.sh)" >&2; exit 2; }
done

source bench/gateway_common.sh
bench_scratch bursar-bench-ir

UP=$(free_port); BURSAR=$(free_port)
NGINX_WORKERS=1 nginx_conf up "$(upstream_server "$UP")"  # one worker: the upstream is not measured

mkdir -p "$WORK/data"
bench_repo "$WORK/repo" "$UP"

valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$WORK/cg.%p" \
  "$BURSAR_BIN" serve --repo "$WORK/repo" --listen 127.0.0.1:$BURSAR --data "$WORK/data" \
  --workers 2 > "$WORK/bursar.log" 2>&1 &
VPID=$!
PIDS+=($VPID)
wait_port "$UP"
wait_port "$BURSAR" 600  # valgrind starts slowly

drive() {  # N requests over 4 keep-alive connections; every answer must be 200
  python3 - "$BURSAR" "$1" "$BENCH_KEY" "$BENCH_BODY" <<'PY'
import http.client, sys, threading
port, n, key, body = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
def run(k):
    c = http.client.HTTPConnection('127.0.0.1', port)
    for _ in range(k):
        c.request('POST', '/v1/chat/completions', body,
                  {'Content-Type': 'application/json', 'Authorization': 'Bearer ' + key})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            sys.exit('bench: status %d' % r.status)
ts = [threading.Thread(target=run, args=(n // 4,)) for _ in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
PY
}
drive 400
sleep 0.5
callgrind_control -z "$VPID" > /dev/null
drive "$N"
sleep 0.5  # the ledger writer's linger: its batch is stored before the dump
callgrind_control -d "$VPID" > /dev/null
sleep 0.5
python3 - "$WORK" "$N" <<'PY'
import glob, re, sys
work, n = sys.argv[1], int(sys.argv[2])
by = {}
for f in glob.glob(work + '/cg.*'):
    text = open(f, errors='replace').read()
    if not re.search(r'^part: *1', text, re.M):
        continue  # the start-up part (before the zeroing)
    m = re.search(r'^summary: *(\d+)', text, re.M)
    if not m:
        continue
    kind = ('writer' if 'LedgerWriter::Run' in text else
            'worker' if 'io_context::run' in text else 'other')
    by[kind] = by.get(kind, 0) + int(m.group(1))
for kind in sorted(by):
    print('%-7s %8.0f instructions per request' % (kind, by[kind] / n))
print('gateway_instructions: worker=%.0f writer=%.0f' % (by.get('worker', 0) / n,
                                                         by.get('writer', 0) / n))
PY

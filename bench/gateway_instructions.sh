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

WORK=$(mktemp -d /tmp/bursar-bench-ir.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 600); do (echo > /dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "bench: port $1 never opened" >&2; exit 1
}

UP=$(free_port); BURSAR=$(free_port)
ANSWER='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-upstream","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":9,"total_tokens":28}}'
mkdir -p "$WORK/up"
cat > "$WORK/up/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/up/nginx.pid;
error_log $WORK/up/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/up/body;
  proxy_temp_path $WORK/up/proxy;
  fastcgi_temp_path $WORK/up/fastcgi;
  uwsgi_temp_path $WORK/up/uwsgi;
  scgi_temp_path $WORK/up/scgi;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$UP; location / { default_type application/json; return 200 '$ANSWER'; } }
}
NGINX
nginx -c "$WORK/up/nginx.conf" -p "$WORK/up" &
PIDS+=($!)

KEY=sk-bench-0001
HASH=$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)
mkdir -p "$WORK/repo" "$WORK/data"
cat > "$WORK/repo/gateway.yaml" <<YAML
apiVersion: bursar.dev/v1
kind: Model
metadata:
  name: bench-model
spec:
  baseUrl: http://127.0.0.1:$UP/v1
  upstreamModel: bench-upstream
  timeout: 10s
  modalities: [text]
  pricing:
    input_cost_per_token: 1.5e-07
    output_cost_per_token: 6e-07
---
apiVersion: bursar.dev/v1
kind: Route
metadata:
  name: chat
spec:
  targets:
    - model: bench-model
---
apiVersion: bursar.dev/v1
kind: ApiKey
metadata:
  name: bench
spec:
  keyHash: sha256:$HASH
  tags:
    team: bench
---
apiVersion: bursar.dev/v1
kind: Budget
metadata:
  name: bench-monthly
spec:
  scope:
    tags:
      team: bench
  period: month
  timeZone: UTC
  limit: "1000000.00"
  thresholds:
    - at: 80
      action: alert
YAML
git -C "$WORK/repo" init -q -b main
git -C "$WORK/repo" add .
git -C "$WORK/repo" -c user.name=bench -c user.email=bench@example.com commit -q -m bench

valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$WORK/cg.%p" \
  "$BURSAR_BIN" serve --repo "$WORK/repo" --listen 127.0.0.1:$BURSAR --data "$WORK/data" \
  --workers 2 > "$WORK/bursar.log" 2>&1 &
VPID=$!
PIDS+=($VPID)
wait_port "$UP"
wait_port "$BURSAR"

drive() {  # N requests over 4 keep-alive connections; every answer must be 200
  python3 - "$BURSAR" "$1" "$KEY" <<'PY'
import http.client, sys, threading
port, n, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
body = ('{"model":"chat","messages":[{"role":"system","content":"You are a helpful assistant."},'
        '{"role":"user","content":"Hello there, how are you today?"}],"max_tokens":64}')
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

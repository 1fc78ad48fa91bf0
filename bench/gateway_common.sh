# Shared by bench/gateway.sh and bench/gateway_instructions.sh (sourced): the fixed upstream
# answer, the chat request, the API key, and the one-model bursar configuration repository.
# bench_scratch PREFIX sets WORK (a scratch folder) and PIDS (processes to stop), removed and
# stopped on exit.

BENCH_ANSWER='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-upstream","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":9,"total_tokens":28}}'
BENCH_BODY='{"model":"chat","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello there, how are you today?"}],"max_tokens":64}'
BENCH_KEY=sk-bench-0001

bench_scratch() {
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
}
bench_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}

# nginx_conf NAME SERVER-BLOCKS: starts an nginx (WORKERS or NGINX_WORKERS worker processes)
# with its files under $WORK/NAME; added to PIDS.
nginx_conf() {
  mkdir -p "$WORK/$1"
  cat > "$WORK/$1/nginx.conf" <<NGINX
worker_processes ${NGINX_WORKERS:-$WORKERS};
pid $WORK/$1/nginx.pid;
error_log $WORK/$1/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/$1/body;
  proxy_temp_path $WORK/$1/proxy;
  fastcgi_temp_path $WORK/$1/fastcgi;
  uwsgi_temp_path $WORK/$1/uwsgi;
  scgi_temp_path $WORK/$1/scgi;
  keepalive_requests 1000000;
  $2
}
NGINX
  nginx -c "$WORK/$1/nginx.conf" -p "$WORK/$1" &
  PIDS+=($!)
}
# The server blocks: the upstream (a fixed chat completion) on PORT, and a plain reverse proxy on
# PORT to the upstream on UP_PORT (keep-alive pool).
upstream_server() {  # PORT
  echo "server { listen 127.0.0.1:$1 reuseport; location / { default_type application/json; return 200 '$BENCH_ANSWER'; } }"
}
proxy_server() {  # PORT UP_PORT
  echo "upstream model { server 127.0.0.1:$2; keepalive 256; }
  server { listen 127.0.0.1:$1 reuseport; location / { proxy_pass http://model; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
}

# bench_post_lua FILE [LINE...]: wrk's script for the bench's chat request with the bench key
# (POST, JSON), plus any further Lua lines (more headers).
bench_post_lua() {
  local file=$1 line
  shift
  {
    echo 'wrk.method = "POST"'
    echo "wrk.body = '$BENCH_BODY'"
    echo 'wrk.headers["Content-Type"] = "application/json"'
    echo "wrk.headers[\"Authorization\"] = \"Bearer $BENCH_KEY\""
    for line in "$@"; do echo "$line"; done
  } > "$file"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # PORT [TRIES of 0.1 s]
  for _ in $(seq "${2:-100}"); do (echo > /dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "bench: port $1 never opened" >&2
  exit 1
}

# bench_repo DIR UPSTREAM_PORT: a Git repository with one Model (the upstream), one Route
# ("chat"), the bench key (tag team=bench) and a monthly Budget on that tag with an alert.
bench_repo() {
  local dir=$1 up=$2 hash
  hash=$(printf %s "$BENCH_KEY" | sha256sum | cut -d' ' -f1)
  mkdir -p "$dir"
  cat > "$dir/gateway.yaml" <<YAML
apiVersion: bursar.dev/v1
kind: Model
metadata:
  name: bench-model
spec:
  baseUrl: http://127.0.0.1:$up/v1
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
  keyHash: sha256:$hash
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
  git -C "$dir" init -q -b main
  git -C "$dir" add .
  git -C "$dir" -c user.name=bench -c user.email=bench@example.com commit -q -m bench
}

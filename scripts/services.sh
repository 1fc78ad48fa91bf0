# Sourced by scripts/test.sh: starts and stops the servers the tests need on free loopback
# ports, in a temporary folder, and exports where they are:
#   BURSAR_TEST_PG_URL     postgresql://...  (PostgreSQL 15, private cluster)
#   BURSAR_TEST_REDIS_URL  redis://127.0.0.1:PORT
SERVICES_DIR=""

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# PostgreSQL 15: a private cluster in $SERVICES_DIR/pg, trust auth on 127.0.0.1 only, socket in
# $SERVICES_DIR/pg-sock. initdb refuses root, so as root the server runs as the postgres user.
PG_BIN=/usr/lib/postgresql/15/bin
pg_as() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_start() {
  [ -x "$PG_BIN/initdb" ] || { echo "services: PostgreSQL 15 not installed" >&2; return 1; }
  local dir="$SERVICES_DIR/pg" sock="$SERVICES_DIR/pg-sock" port
  port=$(free_port)
  mkdir -p "$dir" "$sock"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir" "$sock"
  pg_as "$PG_BIN/initdb" -D "$dir" -U bursar --auth=trust -E UTF8 --locale=C.UTF-8 >"$SERVICES_DIR/pg-initdb.log" 2>&1 ||
    { cat "$SERVICES_DIR/pg-initdb.log" >&2; return 1; }
  pg_as "$PG_BIN/pg_ctl" -D "$dir" -l "$sock/pg.log" -w -t 60 start \
    -o "-p $port -k $sock -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200" >/dev/null ||
    { cat "$sock/pg.log" >&2; return 1; }
  pg_as "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U bursar bursar_test || return 1
  export BURSAR_TEST_PG_URL="postgresql://bursar@127.0.0.1:$port/bursar_test"
  echo "services: PostgreSQL at $BURSAR_TEST_PG_URL"
}
pg_stop() {
  [ -n "$SERVICES_DIR" ] && [ -f "$SERVICES_DIR/pg/postmaster.pid" ] || return 0
  pg_as "$PG_BIN/pg_ctl" -D "$SERVICES_DIR/pg" -m immediate -w stop >/dev/null 2>&1 || true
}

services_start() {
  SERVICES_DIR=$(mktemp -d /tmp/bursar-services.XXXXXX)
  chmod 755 "$SERVICES_DIR"
  pg_start || return 1
  return 0
}

services_stop() {
  [ -n "$SERVICES_DIR" ] || return 0
  pg_stop
  rm -rf "$SERVICES_DIR"
}

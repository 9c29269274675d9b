# PostgreSQL from Debian, as a private cluster on a loopback port of its own, so the database
# tests run against a real server without touching any system-wide cluster.
POSTGRES_PORT=${POSTGRES_PORT:-15432}
# The server refuses to run as root and cannot read under /root, so as root it lives in /var/lib.
if [ "$(id -u)" -eq 0 ]; then POSTGRES_DIR=${POSTGRES_DIR:-/var/lib/invoker/postgres}; else POSTGRES_DIR=${POSTGRES_DIR:-$INVOKER_RUN/postgres}; fi
POSTGRES_URL="postgres://invoker:invoker@127.0.0.1:$POSTGRES_PORT/invoker"

postgres_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

postgres_install() { [ -n "$(postgres_bindir)" ] && [ -x "$(postgres_bindir)/initdb" ] || apt_install postgresql; }

# pg_as CMD...: runs a server binary as the owner of the cluster.
pg_as() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_ready() { pg_as "$(postgres_bindir)/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT"; }

postgres_status() {
  local state
  if [ -f "$POSTGRES_DIR/data/postmaster.pid" ]; then
    if kill -0 "$(head -n1 "$POSTGRES_DIR/data/postmaster.pid")" 2>/dev/null; then state=running; else state=crashed; fi
  else state=stopped; fi
  if [ "$state" = running ] && ! postgres_ready; then state="running, not answering"; fi
  echo "postgres: $state (127.0.0.1:$POSTGRES_PORT)"
  [ "$state" = running ]
}

postgres_init() {
  [ -f "$POSTGRES_DIR/data/PG_VERSION" ] && return 0
  log "creating a PostgreSQL cluster in $POSTGRES_DIR"
  mkdir -p "$POSTGRES_DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$POSTGRES_DIR"
  pg_as "$(postgres_bindir)/initdb" -D "$POSTGRES_DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null \
    || die "initdb failed"
}

postgres_create_role() {
  local psql=("$(postgres_bindir)/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -qtA)
  pg_as "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname='invoker'" | grep -q 1 \
    || pg_as "${psql[@]}" -c "CREATE ROLE invoker LOGIN CREATEDB PASSWORD 'invoker'" >/dev/null
  pg_as "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname='invoker'" | grep -q 1 \
    || pg_as "${psql[@]}" -c "CREATE DATABASE invoker OWNER invoker" >/dev/null
}

postgres_start() {
  postgres_install
  postgres_init
  if postgres_status >/dev/null; then postgres_create_role; return 0; fi
  if [ -f "$POSTGRES_DIR/data/postmaster.pid" ]; then
    warn "postgres had crashed (stale postmaster.pid); starting it again"; rm -f "$POSTGRES_DIR/data/postmaster.pid"
  fi
  port_open 127.0.0.1 "$POSTGRES_PORT" && die "port $POSTGRES_PORT is taken by another process; set POSTGRES_PORT"
  log "starting postgres on 127.0.0.1:$POSTGRES_PORT"
  pg_as "$(postgres_bindir)/pg_ctl" -D "$POSTGRES_DIR/data" -l "$POSTGRES_DIR/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $POSTGRES_PORT -k $POSTGRES_DIR -c fsync=off -c full_page_writes=off" \
    start >/dev/null || die "postgres failed to start; see $POSTGRES_DIR/postgres.log"
  wait_until 30 "postgres to accept connections" postgres_ready || die "postgres did not come up"
  postgres_create_role
}

postgres_stop() {
  [ -f "$POSTGRES_DIR/data/postmaster.pid" ] || return 0
  log "stopping postgres"
  pg_as "$(postgres_bindir)/pg_ctl" -D "$POSTGRES_DIR/data" -m fast -w stop >/dev/null || warn "pg_ctl stop failed"
}

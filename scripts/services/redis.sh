# redis-server from Debian, on a loopback port of its own, without persistence (state that must
# survive lives in Kafka or PostgreSQL; Redis is a broker, a channel layer and a state cache).
REDIS_PORT=${REDIS_PORT:-16379}
REDIS_DIR="$INVOKER_RUN/redis"

redis_install() { command -v redis-server >/dev/null || apt_install redis-server; }

redis_ping() { redis-cli -h 127.0.0.1 -p "${1:-$REDIS_PORT}" ping 2>/dev/null | grep -q PONG; }

redis_status() {
  local state; state=$(pid_state "$REDIS_DIR/redis.pid")
  if [ "$state" = running ] && ! redis_ping; then state="running, not answering"; fi
  echo "redis: $state (127.0.0.1:$REDIS_PORT)"
  [ "$state" = running ]
}

redis_start() {
  redis_install
  mkdir -p "$REDIS_DIR"
  case "$(pid_state "$REDIS_DIR/redis.pid")" in
    running) redis_ping && return 0; stop_pidfile "$REDIS_DIR/redis.pid" redis ;;
    crashed) warn "redis had crashed (stale pid file); starting it again"; rm -f "$REDIS_DIR/redis.pid" ;;
  esac
  port_open 127.0.0.1 "$REDIS_PORT" && die "port $REDIS_PORT is taken by another process; set REDIS_PORT"
  log "starting redis on 127.0.0.1:$REDIS_PORT"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --daemonize yes \
    --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
    || die "redis-server failed to start; see $REDIS_DIR/redis.log"
  wait_until 20 "redis to answer PING" redis_ping || die "redis did not come up; see $REDIS_DIR/redis.log"
}

redis_stop() { stop_pidfile "$REDIS_DIR/redis.pid" redis; }

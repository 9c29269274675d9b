# redis-server from Debian, on loopback ports of their own, without persistence (state that must
# survive lives in Kafka or PostgreSQL). Two instances:
#   redis        the control plane's: Celery broker and results, Channels layer, cache
#   state_redis  the executors' state store, a cache of each entity's changelog topic in Kafka
#                (a state Redis that restarts empty is refilled from Kafka; see docs/executor.md)
REDIS_PORT=${REDIS_PORT:-16379}
REDIS_DIR="$INVOKER_RUN/redis"
STATE_REDIS_PORT=${STATE_REDIS_PORT:-16381}
STATE_REDIS_DIR="$INVOKER_RUN/state-redis"

redis_install() { command -v redis-server >/dev/null || apt_install redis-server; }

redis_ping() { redis-cli -h 127.0.0.1 -p "${1:-$REDIS_PORT}" ping 2>/dev/null | grep -q PONG; }

# _redis_status NAME PORT DIR: prints the state; zero only when running and answering.
_redis_status() {
  local name=$1 port=$2 dir=$3 state
  state=$(pid_state "$dir/redis.pid")
  if [ "$state" = running ] && ! redis_ping "$port"; then state="running, not answering"; fi
  echo "$name: $state (127.0.0.1:$port)"
  [ "$state" = running ]
}

# _redis_start NAME PORT DIR PORT_VARIABLE: starts one instance idempotently.
_redis_start() {
  local name=$1 port=$2 dir=$3 variable=$4
  redis_install
  mkdir -p "$dir"
  case "$(pid_state "$dir/redis.pid")" in
    running) redis_ping "$port" && return 0; stop_pidfile "$dir/redis.pid" "$name" ;;
    crashed) warn "$name had crashed (stale pid file); starting it again"; rm -f "$dir/redis.pid" ;;
  esac
  port_open 127.0.0.1 "$port" && die "port $port is taken by another process; set $variable"
  log "starting $name on 127.0.0.1:$port"
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    || die "redis-server ($name) failed to start; see $dir/redis.log"
  wait_until 20 "$name to answer PING" redis_ping "$port" || die "$name did not come up; see $dir/redis.log"
}

redis_status() { _redis_status redis "$REDIS_PORT" "$REDIS_DIR"; }
redis_start() { _redis_start redis "$REDIS_PORT" "$REDIS_DIR" REDIS_PORT; }
redis_stop() { stop_pidfile "$REDIS_DIR/redis.pid" redis; }

state_redis_install() { redis_install; }
state_redis_status() { _redis_status state_redis "$STATE_REDIS_PORT" "$STATE_REDIS_DIR"; }
state_redis_start() { _redis_start state_redis "$STATE_REDIS_PORT" "$STATE_REDIS_DIR" STATE_REDIS_PORT; }
state_redis_stop() { stop_pidfile "$STATE_REDIS_DIR/redis.pid" state_redis; }

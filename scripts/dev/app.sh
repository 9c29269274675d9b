# The dashboard's own processes for `up`: the ASGI server, a Celery worker and Celery beat.
APP_DIR="$INVOKER_RUN/app"
APP_PROCESSES=(web worker beat)

# app_env: the settings every process of the project gets, pointing at the services ./dev runs.
app_env() {
  export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}
  export KAFKA_BOOTSTRAP_SERVERS=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:${KAFKA_PORT:-9092}}
  export INVOKER_BACKEND=${INVOKER_BACKEND:-local}
  export PATH="$VENV/bin:$PATH"
}

app_command() {
  case "$1" in
    web) echo "$VENV/bin/uvicorn invoker_web.asgi:application --host 127.0.0.1 --port ${INVOKER_PORT:-8000} --no-access-log" ;;
    worker) echo "$VENV/bin/celery -A invoker_web worker --loglevel INFO --concurrency 2 --hostname worker@%h" ;;
    beat) echo "$VENV/bin/celery -A invoker_web beat --loglevel INFO --schedule $APP_DIR/celerybeat-schedule" ;;
  esac
}

app_start_one() {
  local name=$1 pidfile="$APP_DIR/$1.pid"
  [ "$(pid_state "$pidfile")" = running ] && return 0
  [ "$(pid_state "$pidfile")" = crashed ] && warn "$name had crashed; starting it again"
  log "starting $name (log: $APP_DIR/$name.log)"
  # setsid: the process outlives this shell and can be stopped as a group.
  (cd "$INVOKER_ROOT" && setsid nohup $(app_command "$name") >>"$APP_DIR/$name.log" 2>&1 & echo $! >"$pidfile")
}

app_web_ready() { curl -fsS "http://127.0.0.1:${INVOKER_PORT:-8000}/healthz" >/dev/null; }

app_start() {
  mkdir -p "$APP_DIR"
  for name in "${APP_PROCESSES[@]}"; do app_start_one "$name"; done
  wait_until 60 "the dashboard to answer /healthz" app_web_ready || die "the dashboard did not start; see $APP_DIR/web.log"
}

app_stop() {
  for name in "${APP_PROCESSES[@]}"; do stop_pidfile "$APP_DIR/$name.pid" "$name"; done
}

app_status() {
  local rc=0 state
  for name in "${APP_PROCESSES[@]}"; do
    state=$(pid_state "$APP_DIR/$name.pid"); echo "app $name: $state"
    [ "$state" = running ] || [ "$state" = stopped ] || rc=1
  done
  return $rc
}

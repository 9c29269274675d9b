# The processes of `up`: the local pod runtime, the ASGI server, a Celery worker (the default
# queue: metrics collection, resync), a Celery worker for reconciles alone (so a click's pass never
# waits behind other work), Celery beat, and the sample's feeder (lines into the word-count topic).
APP_DIR="$INVOKER_RUN/app"
APP_PROCESSES=(runtime web worker reconciler beat feeder)
SAMPLE="$INVOKER_ROOT/examples/word-count.yaml"
SAMPLE_NAME=word-count-demo

# app_env: the settings every process of the project gets, pointing at the services ./dev runs.
app_env() {
  export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}
  # The executors' state store is a Redis of its own (scripts/services/redis.sh: state_redis).
  export INVOKER_STATE_REDIS_URL=${INVOKER_STATE_REDIS_URL:-redis://127.0.0.1:$STATE_REDIS_PORT/0}
  export KAFKA_BOOTSTRAP_SERVERS=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:${KAFKA_PORT:-9092}}
  export INVOKER_BACKEND=${INVOKER_BACKEND:-local}
  export INVOKER_LOCAL_STATE_DIR=${INVOKER_LOCAL_STATE_DIR:-$INVOKER_ROOT/data/local-runtime}
  export PATH="$VENV/bin:$PATH"
  # Development only (the server listens on the loopback): DEBUG and a key that exists nowhere else.
  export DEBUG=${DEBUG:-1}
  export SECRET_KEY=${SECRET_KEY:-django-insecure-local-development-only}
}

# The sample's feeder rate, lines per second: one default for the command and its check.
sample_rate() { echo "${INVOKER_SAMPLE_LINES_PER_SECOND:-20}"; }

app_command() {
  case "$1" in
    runtime) echo "$VENV/bin/python -m orchestrator.local.runtime --state-dir $INVOKER_LOCAL_STATE_DIR" ;;
    # 20 lines/s (about 150 words/s) keeps every chart moving; measured on 2 cores, the sample's
    # pods and broker took 85% of a core at 20 lines/s against 137% at 200, which a test suite
    # run beside `./dev up` feels (the cost is per transaction more than per record: issue 17);
    # 59-65% since small batches linger (docs/executor.md, "A trickle lingers").
    feeder) echo "$VENV/bin/python examples/feed_lines.py --bootstrap $KAFKA_BOOTSTRAP_SERVERS --topic lines --rate $(sample_rate)" ;;
    web) echo "$VENV/bin/uvicorn invoker_web.asgi:application --host 127.0.0.1 --port ${INVOKER_PORT:-8000} --no-access-log --timeout-graceful-shutdown 20 --ws invoker_web.websocket_protocol:WebSocketProtocol" ;;
    worker) echo "$VENV/bin/celery -A invoker_web worker --loglevel INFO --queues celery --concurrency 2 --hostname worker@%h" ;;
    reconciler) echo "$VENV/bin/celery -A invoker_web worker --loglevel INFO --queues reconcile --concurrency 1 --hostname reconciler@%h" ;;
    beat) echo "$VENV/bin/celery -A invoker_web beat --loglevel INFO --schedule $APP_DIR/celerybeat-schedule" ;;
  esac
}

app_start_one() {
  local name=$1 pidfile="$APP_DIR/$1.pid"
  [ "$(pid_state "$pidfile")" = running ] && return 0
  [ "$(pid_state "$pidfile")" = crashed ] && warn "$name had crashed; starting it again"
  log "starting $name (log: $APP_DIR/$name.log)"
  # setsid: the process outlives this shell and can be stopped as a group.
  # The `&` must apply to the command alone (not to a `cd && ...` list), or a shell stays behind
  # holding this terminal's output open.
  (
    cd "$INVOKER_ROOT" || exit 1
    # shellcheck disable=SC2046 # the command line is split into words on purpose
    setsid nohup $(app_command "$name") >>"$APP_DIR/$name.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
  )
}

app_web_ready() { curl -fsS "http://127.0.0.1:${INVOKER_PORT:-8000}/healthz" >/dev/null; }

app_start() {
  local rate; rate=$(sample_rate)
  [[ $rate =~ ^[0-9]+([.][0-9]+)?$ && ! $rate =~ ^0+([.]0+)?$ ]] \
    || die "INVOKER_SAMPLE_LINES_PER_SECOND must be a positive number of lines per second, not '$rate'"
  mkdir -p "$APP_DIR"
  for name in "${APP_PROCESSES[@]}"; do app_start_one "$name"; done
  wait_until 60 "the dashboard to answer /healthz" app_web_ready || die "the dashboard did not start; see $APP_DIR/web.log"
}

# app_sample: the word-count sample, imported (or updated) and given its topics; the import
# queues the reconcile that makes the local runtime start its pods.
app_sample() {
  manage import_topology "$SAMPLE"
  manage ensure_topics "$SAMPLE_NAME"
}

app_sample_ready() {
  manage shell -c "from topology_editor.models import Deployment as D; import sys; \
sys.exit(D.objects.get(name='$SAMPLE_NAME').state != 'Ready')" 2>/dev/null
}

app_wait_sample() {
  if wait_until 120 "the word-count sample's pods to run" app_sample_ready; then
    log "the word-count sample is running: all its pods are Ready"
  else
    warn "the sample is not Ready yet; see $APP_DIR/reconciler.log and $INVOKER_LOCAL_STATE_DIR/runtime/logs"
  fi
}

# app_claim: one clone's app at a time. The processes share this machine's run directory, port
# and topics, but each clone keeps its own database and pod state, so a second clone's `up`
# would wait on pods the first clone's runtime never starts. Say so instead, and change nothing.
app_claim() {
  local owner name
  owner=$(cat "$APP_DIR/root" 2>/dev/null || true)
  if [ -n "$owner" ] && [ "$owner" != "$INVOKER_ROOT" ]; then
    for name in "${APP_PROCESSES[@]}"; do
      [ "$(pid_state "$APP_DIR/$name.pid")" = running ] &&
        die "Invoker is already up from another clone ($owner); run ./dev down there first"
    done
  fi
  mkdir -p "$APP_DIR"
  echo "$INVOKER_ROOT" >"$APP_DIR/root"
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

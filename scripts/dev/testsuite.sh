# The whole test suite, as `./dev test` and CI run it. Every step runs, so one run shows every
# failure; the suite fails if any step fails (pytest's "no tests collected" included).
#
# A `./dev up` may be running in this clone (or another) while the suite runs: the suite never
# uses its environment (app_env). It gets state of its own (suite_env), and a guard records the
# live instance before the suite and fails the suite, naming what changed, if it is not the same
# afterwards (scripts/dev/live_guard.py).
run_step() {
  local name=$1; shift
  log "── $name"
  if (cd "$INVOKER_ROOT" && "$@"); then return 0; fi
  warn "FAILED: $name"; FAILED_STEPS+=("$name")
}

# suite_env DIR [DB]: the settings of a test or benchmark run alone, with nothing a live
# instance uses: its own data and local-runtime state under DIR, Redis database DB (15 for the
# tests, 14 for benchmarks; the live one is 0) in both Redis servers, no inherited database URL
# (the PostgreSQL step names its own) and a dashboard port nobody listens on.
# pytest makes a fresh state directory per run on top of this (tests/isolation.py).
suite_env() {
  local dir=$1 db=${2:-15}
  unset DATABASE_URL CELERY_BROKER_URL CELERY_RESULT_BACKEND CHANNELS_REDIS_URL INVOKER_STATE_REDIS_URL
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/$db"
  export INVOKER_STATE_REDIS_URL="redis://127.0.0.1:$STATE_REDIS_PORT/$db"
  export KAFKA_BOOTSTRAP_SERVERS=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:${KAFKA_PORT:-9092}}
  export INVOKER_BACKEND=local
  export INVOKER_DATA_DIR="$dir/data"
  export INVOKER_LOCAL_STATE_DIR="$dir/local-runtime"
  INVOKER_PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export INVOKER_PORT
  # Development settings of the tests' own (pytest sets the same through pytest-env).
  export DEBUG=1 SECRET_KEY=django-insecure-tests-only
  export PATH="$VENV/bin:$PATH"
}

# flush_run_databases DB: empties database DB of both Redis servers (a run's own, never the live 0).
flush_run_databases() {
  redis-cli -p "$REDIS_PORT" -n "$1" flushdb >/dev/null || warn "could not empty Redis database $1"
  redis-cli -p "$STATE_REDIS_PORT" -n "$1" flushdb >/dev/null || warn "could not empty the state Redis' database $1"
}

live_guard() { "$VENV/bin/python" "$INVOKER_ROOT/scripts/dev/live_guard.py" "$@" --root "$INVOKER_ROOT" --run "$INVOKER_RUN"; }

# The Redis databases of the runs beside the SQLite step (see run_test_suite): Celery queues,
# channel groups and state keys must not cross between runs that share the two Redis servers.
POSTGRES_STEP_DB=12
CLUSTER_SHARD_DB=11

# side_step_start KEY DB NAME CMD...: a pytest run beside the foreground one, in the background,
# in settings of its own (suite_env): the directory $SUITE_DIR/KEY and Redis database DB, its
# output kept in $SUITE_DIR/KEY.log and shown whole by side_step_finish.
declare -A SIDE_PIDS=() SIDE_DBS=() SIDE_NAMES=()
side_step_start() {
  local key=$1 db=$2 name=$3; shift 3
  mkdir -p "$SUITE_DIR/$key"
  flush_run_databases "$db"
  (
    suite_env "$SUITE_DIR/$key" "$db"
    cd "$INVOKER_ROOT" && exec "$@"
  ) >"$SUITE_DIR/$key.log" 2>&1 &
  SIDE_PIDS[$key]=$! SIDE_DBS[$key]=$db SIDE_NAMES[$key]=$name
}

# side_step_finish KEY: waits for the run, shows its output whole, and counts its failure.
side_step_finish() {
  local key=$1 status=0
  wait "${SIDE_PIDS[$key]}" || status=$?
  unset "SIDE_PIDS[$key]"
  log "── ${SIDE_NAMES[$key]}, run beside the SQLite step"
  cat "$SUITE_DIR/$key.log"
  flush_run_databases "${SIDE_DBS[$key]}"
  [ $status -eq 0 ] && return 0
  warn "FAILED: ${SIDE_NAMES[$key]}"; FAILED_STEPS+=("${SIDE_NAMES[$key]}")
}

# sqlite_step PYTEST-ARGS...: the suite on SQLite (the few database tests marked postgresql_only
# are worth running once, on the chart's database: the PostgreSQL step). The whole suite (no
# arguments, as CI runs it) runs as two shards side by side (tests/shards.py): the files that use
# the test cluster, and the rest. A serial run leaves a core idle while its tests wait on pods,
# brokers and pages (measured: README, "The test suite"). Tests picked by arguments run in one run.
# --durations: each run names its slowest tests, which is where the suite's budget goes.
sqlite_step() {
  local pytest=("$VENV/bin/pytest" -m "not postgresql_only" --durations=25)
  if [ $# -gt 0 ]; then
    run_step "pytest (SQLite)" "${pytest[@]}" "$@"
    return
  fi
  side_step_start cluster "$CLUSTER_SHARD_DB" "pytest (SQLite), shard cluster" "${pytest[@]}" --shard cluster
  run_step "pytest (SQLite), shard rest" "${pytest[@]}" --shard rest
  side_step_finish cluster
}

run_test_suite() {
  FAILED_STEPS=()
  SUITE_DIR=$(mktemp -d /tmp/inv-test.XXXXXX)
  # An interrupted suite takes the runs beside it with it. Single quotes: expanded on exit.
  # shellcheck disable=SC2016
  trap 'kill "${SIDE_PIDS[@]}" 2>/dev/null || true; rm -rf "$SUITE_DIR"' EXIT
  log "── live guard: recording the live instance"
  live_guard snapshot >"$SUITE_DIR/live-before.json" || FAILED_STEPS+=("live guard snapshot")
  suite_env "$SUITE_DIR"
  # Emptied first too: a run that was interrupted leaves its queued test tasks behind.
  flush_run_databases 15
  local started=$SECONDS
  # The database tests again on PostgreSQL, beside everything else.
  side_step_start postgres "$POSTGRES_STEP_DB" "pytest -m db (PostgreSQL)" \
    env DATABASE_URL="$POSTGRES_URL" "$VENV/bin/pytest" -m db --durations=10 "$@"
  run_step "ruff check" "$VENV/bin/ruff" check .
  run_step "ruff format --check" "$VENV/bin/ruff" format --check .
  run_step "import contracts" "$VENV/bin/lint-imports"
  run_step "eslint" js_lint
  run_step "node --test (the editor's pure modules)" js_test
  run_step "migrations are committed" "$VENV/bin/python" manage.py makemigrations --check --dry-run
  sqlite_step "$@"
  side_step_finish postgres
  [ -s "$SUITE_DIR/live-before.json" ] && run_step "live instance unchanged" live_guard check "$SUITE_DIR/live-before.json"
  log "test suite took $((SECONDS - started))s"
  # The run's own state goes with it: its directory and what it left in its Redis database.
  flush_run_databases 15
  rm -rf "$SUITE_DIR"
  if [ ${#FAILED_STEPS[@]} -gt 0 ]; then
    warn "failed steps: ${FAILED_STEPS[*]}"; return 1
  fi
  log "all steps passed"
}

# run_benchmarks [PATTERN]: every benchmark (or those whose file name contains PATTERN), each in
# the isolated settings the tests use (Redis database 14, its own state directory), under the
# same live guard: a benchmark must not disturb a running `./dev up`, which may be the sample a
# user is watching.
run_benchmarks() {
  local pattern=${1:-} ran=0 failed=0 bench dir
  dir=$(mktemp -d /tmp/inv-bench.XXXXXX)
  # shellcheck disable=SC2064 # the directory is known now
  trap "rm -rf '$dir'" EXIT
  live_guard snapshot >"$dir/live-before.json" || die "live guard snapshot failed"
  suite_env "$dir" 14
  flush_run_databases 14
  for bench in "$INVOKER_ROOT"/benchmarks/*.py; do
    [[ -n "$pattern" && "$(basename "$bench")" != *"$pattern"* ]] && continue
    log "benchmark: $(basename "$bench")"
    (cd "$INVOKER_ROOT" && "$VENV/bin/python" "$bench") || { warn "FAILED: $(basename "$bench")"; failed=1; }
    ran=1
  done
  flush_run_databases 14
  [ $ran -eq 1 ] || die "no benchmark matches '${pattern}'"
  live_guard check "$dir/live-before.json" || failed=1
  return $failed
}

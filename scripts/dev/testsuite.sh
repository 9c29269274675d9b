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

# The PostgreSQL step's own Redis databases: it runs beside the SQLite step (see run_test_suite),
# and Celery queues, channel groups and state keys must not cross between the two runs.
POSTGRES_STEP_DB=12

# postgres_step_start DIR [PYTEST-ARGS...]: the PostgreSQL step (the database tests again, on the
# chart's database) in the background, in settings of its own: its own directory and Redis
# database $POSTGRES_STEP_DB, its output kept in DIR/postgres.log. Where the SQLite step leaves a
# core idle (it waits on pods, brokers and the browser) this takes the step's minutes off the wall
# time; on a saturated 2-core machine it gained nothing measurable (measured, issue 10's note).
postgres_step_start() {
  local dir=$1
  mkdir -p "$dir/postgres"
  flush_run_databases "$POSTGRES_STEP_DB"
  (
    suite_env "$dir/postgres" "$POSTGRES_STEP_DB"
    cd "$INVOKER_ROOT" && DATABASE_URL="$POSTGRES_URL" exec "$VENV/bin/pytest" -m db --durations=10 "${@:2}"
  ) >"$dir/postgres.log" 2>&1 &
  POSTGRES_STEP_PID=$!
}

# postgres_step_finish DIR: waits for the step, shows its output whole, and counts its failure.
postgres_step_finish() {
  local dir=$1 status=0
  wait "$POSTGRES_STEP_PID" || status=$?
  log "── pytest -m db (PostgreSQL), run beside the SQLite step"
  cat "$dir/postgres.log"
  flush_run_databases "$POSTGRES_STEP_DB"
  [ $status -eq 0 ] && return 0
  warn "FAILED: pytest -m db (PostgreSQL)"; FAILED_STEPS+=("pytest -m db (PostgreSQL)")
}

run_test_suite() {
  FAILED_STEPS=()
  local dir; dir=$(mktemp -d /tmp/inv-test.XXXXXX)
  # shellcheck disable=SC2064 # the directory is known now
  trap "rm -rf '$dir'" EXIT
  log "── live guard: recording the live instance"
  live_guard snapshot >"$dir/live-before.json" || FAILED_STEPS+=("live guard snapshot")
  suite_env "$dir"
  # Emptied first too: a run that was interrupted leaves its queued test tasks behind.
  flush_run_databases 15
  local started=$SECONDS
  postgres_step_start "$dir" "$@"
  # An interrupted suite takes its PostgreSQL step with it.
  # shellcheck disable=SC2064 # the pid and directory are known now
  trap "kill '$POSTGRES_STEP_PID' 2>/dev/null || true; rm -rf '$dir'" EXIT
  run_step "ruff check" "$VENV/bin/ruff" check .
  run_step "ruff format --check" "$VENV/bin/ruff" format --check .
  run_step "import contracts" "$VENV/bin/lint-imports"
  run_step "eslint" js_lint
  run_step "node --test (the editor's pure modules)" js_test
  run_step "migrations are committed" "$VENV/bin/python" manage.py makemigrations --check --dry-run
  # --durations: each run names its slowest tests, which is where the suite's budget goes.
  # The few database tests marked postgresql_only are worth running once, on the chart's database
  # (the PostgreSQL step, running meanwhile).
  run_step "pytest (SQLite)" "$VENV/bin/pytest" -m "not postgresql_only" --durations=25 "$@"
  postgres_step_finish "$dir"
  [ -s "$dir/live-before.json" ] && run_step "live instance unchanged" live_guard check "$dir/live-before.json"
  log "test suite took $((SECONDS - started))s"
  # The run's own state goes with it: its directory and what it left in its Redis database.
  flush_run_databases 15
  rm -rf "$dir"
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

# The whole test suite, as `./dev test` and CI run it. Every step runs, so one run shows every
# failure; the suite fails if any step fails (pytest's "no tests collected" included).
run_step() {
  local name=$1; shift
  log "── $name"
  if (cd "$INVOKER_ROOT" && "$@"); then return 0; fi
  warn "FAILED: $name"; FAILED_STEPS+=("$name")
}

run_test_suite() {
  FAILED_STEPS=()
  # The tests get a Redis database of their own, emptied first, so queued test tasks never
  # reach the worker of a running `./dev up` and never pile up across runs.
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/15"
  redis-cli -p "$REDIS_PORT" -n 15 flushdb >/dev/null
  app_env
  local started=$SECONDS
  run_step "ruff check" "$VENV/bin/ruff" check .
  run_step "ruff format --check" "$VENV/bin/ruff" format --check .
  run_step "import contracts" "$VENV/bin/lint-imports"
  run_step "migrations are committed" "$VENV/bin/python" manage.py makemigrations --check --dry-run
  run_step "pytest (SQLite)" "$VENV/bin/pytest" "$@"
  run_step "pytest -m db (PostgreSQL)" env DATABASE_URL="$POSTGRES_URL" "$VENV/bin/pytest" -m db "$@"
  log "test suite took $((SECONDS - started))s"
  if [ ${#FAILED_STEPS[@]} -gt 0 ]; then
    warn "failed steps: ${FAILED_STEPS[*]}"; return 1
  fi
  log "all steps passed"
}

# The Python environment: one virtualenv in the cache, rebuilt only when the pinned requirements
# change, so a second run installs (and downloads) nothing.
VENV="$INVOKER_CACHE/venv"

find_python() {
  local candidate
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      echo "$candidate"; return 0
    fi
  done
  die "Python 3.11 or newer is required"
}

ensure_venv() {
  local stamp; stamp=$(file_hash "$INVOKER_ROOT/requirements.txt" "$INVOKER_ROOT/requirements-test.txt")
  [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.requirements-stamp" 2>/dev/null)" = "$stamp" ] && return 0
  local python; python=$(find_python)
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating the virtualenv in $VENV"
    "$python" -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; rm -rf "$VENV"; "$python" -m venv "$VENV"; }
  fi
  log "installing the pinned Python requirements"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$INVOKER_ROOT/requirements-test.txt" \
    || die "pip install failed"
  echo "$stamp" > "$VENV/.requirements-stamp"
}

manage() { (cd "$INVOKER_ROOT" && "$VENV/bin/python" manage.py "$@"); }

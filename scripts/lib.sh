# Shared helpers for ./dev and the service scripts. Sourced, never run.
# Why a library: every service script needs the same notion of "cache" (kept across clones
# and runs, so a second run downloads nothing) and "run" (pids, logs, data of live servers).

INVOKER_ROOT=${INVOKER_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
INVOKER_CACHE=${INVOKER_CACHE:-$HOME/.cache/invoker}
INVOKER_RUN=${INVOKER_RUN:-$INVOKER_CACHE/run}
export INVOKER_ROOT INVOKER_CACHE INVOKER_RUN
mkdir -p "$INVOKER_CACHE" "$INVOKER_RUN"

log() { printf '\033[1;34m[invoker]\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33m[invoker]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[invoker] error:\033[0m %s\n' "$*" >&2; exit 1; }

# apt_install PKG...: installs the Debian packages that are missing; runs `apt-get update` once.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing Debian packages: ${missing[*]}"
  if [ ! -f "$INVOKER_CACHE/.apt-updated" ] || [ -n "$(find "$INVOKER_CACHE/.apt-updated" -mmin +1440 2>/dev/null)" ]; then
    $sudo apt-get update -qq >/dev/null && touch "$INVOKER_CACHE/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_until SECONDS DESCRIPTION CMD...: polls CMD every 0.2 s until it succeeds or time runs out.
wait_until() {
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && { warn "timed out after ${seconds}s waiting for $what"; return 1; }
    sleep 0.2
  done
}

# pid_state PIDFILE: prints running | crashed | stopped. "crashed" = a pid file whose process is gone.
pid_state() {
  local pidfile=$1
  [ -f "$pidfile" ] || { echo stopped; return; }
  if kill -0 "$(cat "$pidfile")" 2>/dev/null; then echo running; else echo crashed; fi
}

# stop_pidfile PIDFILE NAME [SECONDS]: SIGTERM, wait, then SIGKILL; removes the pid file.
stop_pidfile() {
  local pidfile=$1 name=$2 seconds=${3:-30} pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null
    local deadline=$((SECONDS + seconds))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { warn "$name did not stop in ${seconds}s; killing"; kill -9 "$pid" 2>/dev/null; }
  fi
  rm -f "$pidfile"
}

# kafka_ready HOST PORT LOG: true once the broker at HOST:PORT answers a real metadata request
# (an open port is not enough: KRaft opens it before the broker has registered with the
# controller). Without the virtualenv yet (a fresh machine), the line the broker writes to its
# server.log LOG once the controller has accepted it; the caller rotates LOG at start, so the
# line is from the current JVM.
kafka_ready() {
  port_open "$1" "$2" || return 1
  local py="$INVOKER_CACHE/venv/bin/python"
  if [ -x "$py" ] && "$py" -c 'import kafka' 2>/dev/null; then
    "$py" - "$1:$2" <<'EOF' >/dev/null 2>&1
import sys
from kafka import KafkaAdminClient
a = KafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=3000, bootstrap_timeout_ms=3000)
try:
    sys.exit(0 if a.describe_cluster().get("brokers") else 1)
finally:
    a.close()
EOF
  else
    grep -q "Kafka Server started" "$3" 2>/dev/null
  fi
}

# spawn_detached RUNDIR NAME CMD...: starts CMD detached from our session (Ctrl-C in ./dev must
# not take it down), its output in RUNDIR/NAME.log (the previous one kept as NAME.log.prev for
# post-mortems) and its pid in RUNDIR/NAME.pid. The inner shell records its own pid then execs,
# so the pid file holds the server's pid whether or not setsid had to fork. The server must not
# inherit the kube lock (it would hold it for its whole life).
spawn_detached() {
  local dir=$1 name=$2; shift 2
  local pidfile=$dir/$name.pid log=$dir/$name.log
  [ -f "$log" ] && mv -f "$log" "$log.prev"
  rm -f "$pidfile"
  (
    [ -z "${KUBE_LOCK_FD:-}" ] || exec {KUBE_LOCK_FD}>&-
    # shellcheck disable=SC2016  # $$ and $@ belong to the inner shell
    exec setsid sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@"
  ) </dev/null >>"$log" 2>&1 &
  wait_until 5 "$name pid file" test -s "$pidfile"
}

# file_hash FILE...: a short content hash, used to key caches.
file_hash() { cat "$@" | sha256sum | cut -c1-16; }

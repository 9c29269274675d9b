# shellcheck shell=bash
# A real Kubernetes control plane for integration tests: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and KWOK (fake nodes whose pods go Running without a
# kubelet), plus one real node (a kubelet with containerd and runc: scripts/services/node.sh).
# Sourced by ./dev after scripts/lib.sh, never run.
#
# Why built from source: no Docker, no GitHub downloads here; the Go module proxy is the only
# source of Kubernetes. scripts/kube/ is a wrapper module around k8s.io/kubernetes (its own
# go.mod replaces the staging modules with ./staging paths, so `go install` cannot work) and
# scripts/kube/etcd/ one around go.etcd.io/etcd/server/v3. Binaries are cached under
# $INVOKER_CACHE/kube/<k8s-version>/bin, so only the first run on a machine compiles (12-17 min
# on 2 cores, measured; ~1 GB in GOMODCACHE, ~4 GB in GOCACHE); later starts take seconds.
#
# Interface: kube_install, kube_start, kube_stop, kube_status, kube_kubeconfig, kube_kubectl,
#            kube_apiserver_stop, kube_apiserver_start, kube_reset.
# Environment: INVOKER_KUBE_{ETCD,ETCD_PEER,APISERVER,KCM,SCHEDULER,KWOK}_PORT, INVOKER_KUBE_NODES
# (fake nodes, default 1), INVOKER_KUBE_LOG_LEVEL (klog -v, default 0), INVOKER_KUBE_REAL_NODE
# (1; 0 starts the control plane without the real node).

KUBE_SRC=$INVOKER_ROOT/scripts/kube
KUBE_RUN=$INVOKER_RUN/kube
KUBE_KWOK_VERSION=v0.7.0

# Loopback-only ports, away from the defaults (2379, 6443, 10257, 10259, 10247) so a real
# cluster or another project on the machine does not collide with ours.
KUBE_ETCD_PORT=${INVOKER_KUBE_ETCD_PORT:-12379}
KUBE_ETCD_PEER_PORT=${INVOKER_KUBE_ETCD_PEER_PORT:-12380}
KUBE_APISERVER_PORT=${INVOKER_KUBE_APISERVER_PORT:-16443}
KUBE_KCM_PORT=${INVOKER_KUBE_KCM_PORT:-16257}
KUBE_SCHEDULER_PORT=${INVOKER_KUBE_SCHEDULER_PORT:-16259}
KUBE_KWOK_PORT=${INVOKER_KUBE_KWOK_PORT:-16247}
KUBE_NODES=${INVOKER_KUBE_NODES:-1}
KUBE_LOG_LEVEL=${INVOKER_KUBE_LOG_LEVEL:-0}  # klog -v of apiserver, controller-manager, scheduler
KUBE_SERVICE_CIDR=10.96.0.0/16

# Start order. The last three are the apiserver's in-cluster clients (see _kube_ensure_apiserver).
KUBE_COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
KUBE_API_CLIENTS=(kube-controller-manager kube-scheduler kwok)

# _kube_mod_version GOMOD MODULE: the required version of MODULE (single-line or block form).
_kube_mod_version() {
  awk -v m="$2" '$1 == "require" && $2 == m { print $3; exit } $1 == m && $2 ~ /^v/ { print $2; exit }' "$1"
}

KUBE_VERSION=$(_kube_mod_version "$KUBE_SRC/go.mod" k8s.io/kubernetes)
KUBE_ETCD_VERSION=$(_kube_mod_version "$KUBE_SRC/etcd/go.mod" go.etcd.io/etcd/server/v3)
KUBE_BIN=$INVOKER_CACHE/kube/$KUBE_VERSION/bin
KUBE_KUBECONFIG=$KUBE_RUN/kubeconfig
export KUBE_VERSION KUBE_BIN KUBE_KUBECONFIG

kube_kubeconfig() { echo "$KUBE_KUBECONFIG"; }

# ---------------------------------------------------------------------------------------------
# Build

_kube_go() {
  local go; go=$(command -v go || echo /usr/local/go/bin/go)
  [ -x "$go" ] || die "Go is required to build Kubernetes (looked in PATH and /usr/local/go/bin)"
  # -trimpath keeps cache paths out of the binaries; -buildvcs=false because the wrapper module
  # lives in this git checkout and its state must not change (or break) the build.
  GOFLAGS="-trimpath -buildvcs=false" "$go" "$@"
}

# -X flags for both places Kubernetes reads its version from; without them the server reports
# v0.0.0-master and version-aware clients (Helm, kwokctl) misbehave.
_kube_version_ldflags() {
  local minor=${KUBE_VERSION#v1.} date
  minor=${minor%%.*}
  date=$(cd "$KUBE_SRC" && _kube_go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)
  [ -n "$date" ] || return 1
  local pkg flags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  echo "$flags"
}

# _kube_stale STAMP-CONTENT NAME BINARY...: true when NAME must be (re)built: a binary is
# missing, or the stamp written after its last successful build records other inputs.
_kube_stale() {
  local want=$1 name=$2 bin; shift 2
  for bin in "$@"; do [ -x "$KUBE_BIN/$bin" ] || return 0; done
  [ "$(cat "$KUBE_BIN/.$name.stamp" 2>/dev/null)" != "$want" ]
}

# _kube_build NAME DIR PKG...: builds PKGs inside module DIR into a staging dir, then moves the
# binaries into $KUBE_BIN, so an interrupted build never leaves a half-written binary behind.
# Errors are chained explicitly: callers test our status, and bash ignores `set -e` then.
_kube_build() (
  name=$1 dir=$2; shift 2
  stage=$(mktemp -d "$KUBE_BIN/.stage.XXXXXX") || exit 1
  trap 'rm -rf "$stage"' EXIT
  ldflags="-s -w"  # no symbol tables: smaller binaries, noticeably faster links
  if [ "$name" = kubernetes ]; then ldflags=$(_kube_version_ldflags) || exit 1; fi
  cd "$dir" && _kube_go build -ldflags "$ldflags" -o "$stage/" "$@" && mv "$stage"/* "$KUBE_BIN/"
)

_kube_build_kwok() (
  stage=$(mktemp -d "$KUBE_BIN/.stage.XXXXXX") || exit 1
  trap 'rm -rf "$stage"' EXIT
  # KWOK's go.mod has no replace directives, so a plain `go install pkg@version` works.
  GOBIN=$stage _kube_go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KUBE_KWOK_VERSION" \
    && mv "$stage/kwok" "$KUBE_BIN/kwok"
)

# What every binary built from the wrapper module is built from: its stamps record this.
_kube_source_hash() { file_hash "$KUBE_SRC/go.mod" "$KUBE_SRC/go.sum" "$KUBE_SRC/tools.go"; }

_kube_install() {
  [ -n "$KUBE_VERSION" ] || die "cannot read the k8s.io/kubernetes version from $KUBE_SRC/go.mod"
  apt_install openssl curl
  mkdir -p "$KUBE_BIN"
  local k8s etcd
  k8s=$(_kube_source_hash)
  etcd=$(file_hash "$KUBE_SRC/etcd/go.mod" "$KUBE_SRC/etcd/go.sum" "$KUBE_SRC/etcd/main.go")
  # kubectl is not among them: nothing here needs it, and its own packages (kustomize, the CLI's
  # commands) would lengthen every cold build; `./dev kubectl` builds it on first use.
  if _kube_stale "$k8s" kubernetes kube-apiserver kube-controller-manager kube-scheduler; then
    log "building Kubernetes $KUBE_VERSION (first time on this machine: 10-20 min on 2 cores)"
    _kube_build kubernetes "$KUBE_SRC" k8s.io/kubernetes/cmd/kube-apiserver \
      k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler \
      || die "building Kubernetes $KUBE_VERSION failed"
    echo "$k8s" >"$KUBE_BIN/.kubernetes.stamp"
  fi
  # The real node's kubelet: same module, same version flags; most of its packages are the
  # control plane's, so after that build it compiles only its own (measured: docs/kubernetes-node.md).
  if _node_enabled && _kube_stale "$k8s" kubelet kubelet; then
    log "building the kubelet $KUBE_VERSION"
    _kube_build kubernetes "$KUBE_SRC" k8s.io/kubernetes/cmd/kubelet || die "building the kubelet $KUBE_VERSION failed"
    echo "$k8s" >"$KUBE_BIN/.kubelet.stamp"
  fi
  if _kube_stale "$etcd" etcd etcd; then
    log "building etcd $KUBE_ETCD_VERSION"
    # The wrapper's import path ends in /etcd, so the binary is named etcd.
    _kube_build etcd "$KUBE_SRC/etcd" . || die "building etcd $KUBE_ETCD_VERSION failed"
    echo "$etcd" >"$KUBE_BIN/.etcd.stamp"
  fi
  if _kube_stale "$KUBE_KWOK_VERSION" kwok kwok; then
    log "building kwok $KUBE_KWOK_VERSION"
    _kube_build_kwok || die "building kwok $KUBE_KWOK_VERSION failed"
    echo "$KUBE_KWOK_VERSION" >"$KUBE_BIN/.kwok.stamp"
  fi
}

# kube_kubectl ARGS...: kubectl against the test cluster, for people debugging it; built on first
# use (a few minutes, on top of the control plane's build) with the control plane's flags.
kube_kubectl() {
  local k8s; k8s=$(_kube_source_hash)
  mkdir -p "$KUBE_BIN"
  if _kube_stale "$k8s" kubectl kubectl; then
    log "building kubectl $KUBE_VERSION (first use on this machine)"
    _kube_build kubernetes "$KUBE_SRC" k8s.io/kubernetes/cmd/kubectl || die "building kubectl $KUBE_VERSION failed"
    echo "$k8s" >"$KUBE_BIN/.kubectl.stamp"
  fi
  KUBECONFIG=$KUBE_KUBECONFIG exec "$KUBE_BIN/kubectl" "$@"
}

# ---------------------------------------------------------------------------------------------
# Credentials: generated once per $INVOKER_RUN, reused by every later start.

# _kube_token USER: the static bearer token of USER.
_kube_token() { awk -F, -v u="$1" '$2 == u { print $1 }' "$KUBE_RUN/pki/tokens.csv"; }

KUBE_PKI_FILES=(ca.crt apiserver.crt front-proxy-client.crt sa.pub tokens.csv)

_kube_pki_complete() {
  local f
  for f in "${KUBE_PKI_FILES[@]}"; do [ -s "$KUBE_RUN/pki/$f" ] || return 1; done
}

# _kube_pki_generate: CA, apiserver serving cert, front-proxy client cert (without it the
# controller-manager and scheduler log requestheader-CA errors in a loop), service-account key
# pair and static tokens. Chained with && because callers test our status, so `set -e` is off.
_kube_pki_generate() (
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  # The serving cert names every way a client may dial the apiserver, so clients can verify it.
  san=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default
  san+=,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
  sign=(x509 -req -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650)
  rm -rf "$KUBE_RUN/pki" && mkdir -p "$KUBE_RUN/pki" && chmod 700 "$KUBE_RUN/pki" \
    && cd "$KUBE_RUN/pki" \
    && openssl req -x509 "${ec[@]}" -days 3650 -subj /CN=invoker-kube-ca -keyout ca.key -out ca.crt \
    && openssl req "${ec[@]}" -subj /CN=kube-apiserver -keyout apiserver.key -out apiserver.csr \
    && echo "subjectAltName=$san" >san.ext \
    && openssl "${sign[@]}" -in apiserver.csr -extfile san.ext -out apiserver.crt \
    && openssl req "${ec[@]}" -subj /CN=front-proxy-client -keyout front-proxy-client.key \
         -out front-proxy-client.csr \
    && openssl "${sign[@]}" -in front-proxy-client.csr -out front-proxy-client.crt \
    && openssl genrsa -out sa.key 2048 && openssl rsa -in sa.key -pubout -out sa.pub \
    && _kube_tokens >tokens.csv.tmp && mv tokens.csv.tmp tokens.csv
)

# _kube_pki_node_additions: what the real node needs beside the control plane's credentials,
# added to an existing pki (so upgrading keeps every other token and the CA): the apiserver's
# client certificate for kubelets (group system:masters, as kubeadm's apiserver-kubelet-client)
# and the node's static token (user system:node:NAME in group system:nodes, which the Node
# authorizer and NodeRestriction confine to its own node and pods). A changed token file
# changes the apiserver's config hash, so _kube_ensure restarts it to load the token.
_kube_pki_node_additions() (
  cd "$KUBE_RUN/pki" || exit 1
  if [ ! -s kubelet-client.crt ]; then
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" -keyout kubelet-client.key \
      -out kubelet-client.csr \
      && openssl x509 -req -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -in kubelet-client.csr \
           -out kubelet-client.crt.tmp && mv kubelet-client.crt.tmp kubelet-client.crt || exit 1
  fi
  user=system:node:$NODE_NAME
  if [ -z "$(_kube_token "$user")" ]; then
    token=$(openssl rand -hex 24) || exit 1
    { cat tokens.csv && echo "$token,$user,uid-$NODE_NAME,\"system:nodes\""; } >tokens.csv.tmp \
      && mv tokens.csv.tmp tokens.csv
  fi
)

# Static tokens (token,user,uid,"groups"). The admin is system:masters; the controller-manager
# and scheduler use the identities the bootstrap RBAC policy already grants (as kubeadm does);
# kwok writes node and pod status of any object, so it is a master too.
_kube_tokens() {
  local t1 t2 t3 t4
  t1=$(openssl rand -hex 24) && t2=$(openssl rand -hex 24) && t3=$(openssl rand -hex 24) \
    && t4=$(openssl rand -hex 24) || return 1
  printf '%s\n' "$t1,admin,uid-admin,\"system:masters\"" "$t2,system:kube-controller-manager,uid-kcm" \
    "$t3,system:kube-scheduler,uid-scheduler" "$t4,kwok,uid-kwok,\"system:masters\""
}

# _kube_write_kubeconfig FILE USER: a kubeconfig with a bearer token that verifies the apiserver
# against our CA (works for client-go and the Python `kubernetes` client).
_kube_write_kubeconfig() {
  local file=$1 user=$2 ca
  ca=$(base64 -w0 <"$KUBE_RUN/pki/ca.crt")
  cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: invoker
  cluster:
    server: https://127.0.0.1:$KUBE_APISERVER_PORT
    certificate-authority-data: $ca
users:
- name: $user
  user:
    token: $(_kube_token "$user")
contexts:
- name: invoker
  context: {cluster: invoker, user: $user, namespace: default}
current-context: invoker
EOF
  chmod 600 "$file.tmp" && mv "$file.tmp" "$file"
}

_kube_kubeconfigs() {
  _kube_write_kubeconfig "$KUBE_KUBECONFIG" admin
  _kube_write_kubeconfig "$KUBE_RUN/kube-controller-manager.kubeconfig" system:kube-controller-manager
  _kube_write_kubeconfig "$KUBE_RUN/kube-scheduler.kubeconfig" system:kube-scheduler
  _kube_write_kubeconfig "$KUBE_RUN/kwok.kubeconfig" kwok
}

# ---------------------------------------------------------------------------------------------
# Processes

# _kube_cmd NAME: prints the command line of component NAME, one word per line.
_kube_cmd() {
  local pki=$KUBE_RUN/pki
  case $1 in
    etcd)
      # --unsafe-no-fsync: the data is disposable test state; fsync on every write makes the
      # apiserver several times slower on CI disks.
      printf '%s\n' "$KUBE_BIN/etcd" --name=invoker --data-dir="$KUBE_RUN/etcd-data" \
        --listen-client-urls="http://127.0.0.1:$KUBE_ETCD_PORT" \
        --advertise-client-urls="http://127.0.0.1:$KUBE_ETCD_PORT" \
        --listen-peer-urls="http://127.0.0.1:$KUBE_ETCD_PEER_PORT" \
        --initial-advertise-peer-urls="http://127.0.0.1:$KUBE_ETCD_PEER_PORT" \
        --initial-cluster="invoker=http://127.0.0.1:$KUBE_ETCD_PEER_PORT" \
        --unsafe-no-fsync --log-level=warn ;;
    kube-apiserver)
      # --endpoint-reconciler-type=none: there is no reachable kube-apiserver Service endpoint
      # to advertise (no kube-proxy; the real node DNATs the Service address itself).
      # Node,RBAC + NodeRestriction: the real node's kubelet gets what a kubelet needs and no
      # more; the apiserver reaches kubelets on their InternalIP (the node name does not
      # resolve) with its kubelet client certificate. PodNodeSelector and PodTolerationRestriction
      # do nothing unless a namespace's annotations ask: the end-to-end tests' namespace sends
      # every pod the orchestrator creates to the real node that way (docs/kubernetes-node.md).
      # --shutdown-send-retry-after: on SIGTERM, drain plain requests then close open watches
      # after 2 s; by default it waits up to 60 s for the watches of the controllers, which
      # makes kube_apiserver_stop hang.
      printf '%s\n' "$KUBE_BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$KUBE_ETCD_PORT" \
        --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$KUBE_APISERVER_PORT" \
        --cert-dir="$pki" --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
        --client-ca-file="$pki/ca.crt" --token-auth-file="$pki/tokens.csv" \
        --requestheader-client-ca-file="$pki/ca.crt" --requestheader-allowed-names=front-proxy-client \
        --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
        --requestheader-extra-headers-prefix=X-Remote-Extra- \
        --proxy-client-cert-file="$pki/front-proxy-client.crt" \
        --proxy-client-key-file="$pki/front-proxy-client.key" \
        --authorization-mode=Node,RBAC \
        --enable-admission-plugins=NodeRestriction,PodNodeSelector,PodTolerationRestriction \
        --allow-privileged=true \
        --kubelet-client-certificate="$pki/kubelet-client.crt" --kubelet-client-key="$pki/kubelet-client.key" \
        --kubelet-certificate-authority="$pki/ca.crt" --kubelet-preferred-address-types=InternalIP \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
        --service-cluster-ip-range="$KUBE_SERVICE_CIDR" --endpoint-reconciler-type=none \
        --shutdown-send-retry-after=true --profiling=false --v="$KUBE_LOG_LEVEL" ;;
    kube-controller-manager|kube-scheduler)
      local kc=$KUBE_RUN/$1.kubeconfig port=$KUBE_KCM_PORT
      [ "$1" = kube-scheduler ] && port=$KUBE_SCHEDULER_PORT
      # --leader-elect=false: one instance; skips waiting for a lease after a restart.
      printf '%s\n' "$KUBE_BIN/$1" --kubeconfig="$kc" --authentication-kubeconfig="$kc" \
        --authorization-kubeconfig="$kc" --bind-address=127.0.0.1 --secure-port="$port" \
        --cert-dir="$KUBE_RUN/$1-certs" --leader-elect=false --profiling=false --v="$KUBE_LOG_LEVEL"
      [ "$1" = kube-controller-manager ] && printf '%s\n' --use-service-account-credentials=true \
        --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
        --service-cluster-ip-range="$KUBE_SERVICE_CIDR"
      ;;
    kwok)
      # Manages only nodes annotated kwok.x-k8s.io/node=fake (and only their pods), so the real
      # node's kubelet (node.sh) runs its own. --config points at our (empty) file so a stray
      # ~/.kwok/kwok.yaml cannot change behaviour. --node-ip on loopback: the apiserver dials a
      # node's InternalIP for logs and exec, and a fake node's must not lead off this machine.
      printf '%s\n' "$KUBE_BIN/kwok" --kubeconfig="$KUBE_RUN/kwok.kubeconfig" \
        --config="$KUBE_RUN/kwok.yaml" --manage-all-nodes=false \
        --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
        --server-address="127.0.0.1:$KUBE_KWOK_PORT" --node-lease-duration-seconds=40 \
        --cidr=10.244.0.1/16 --node-ip=127.0.0.1 ;;
    *) die "unknown kube component: $1" ;;
  esac
}

# _kube_healthy NAME: the component answers its health endpoint.
_kube_healthy() {
  local auth
  auth="Authorization: Bearer $(_kube_token admin)"
  case $1 in
    etcd) curl -fsS -m 2 "http://127.0.0.1:$KUBE_ETCD_PORT/health" | grep -q '"health":"true"' ;;
    kube-apiserver) curl -fsS -m 2 --cacert "$KUBE_RUN/pki/ca.crt" -H "$auth" \
      "https://127.0.0.1:$KUBE_APISERVER_PORT/readyz" >/dev/null ;;
    kube-controller-manager) curl -fsSk -m 2 "https://127.0.0.1:$KUBE_KCM_PORT/healthz" >/dev/null ;;
    kube-scheduler) curl -fsSk -m 2 "https://127.0.0.1:$KUBE_SCHEDULER_PORT/healthz" >/dev/null ;;
    kwok) curl -fsS -m 2 "http://127.0.0.1:$KUBE_KWOK_PORT/healthz" >/dev/null ;;
  esac
}

# _kube_state NAME: running | crashed | stopped. A live pid that is not our binary (pid reuse
# after a reboot, with a restored cache) counts as crashed, not running.
_kube_state() {
  local pidfile=$KUBE_RUN/$1.pid state
  state=$(pid_state "$pidfile")
  if [ "$state" = running ] && ! tr '\0' ' ' <"/proc/$(cat "$pidfile")/cmdline" 2>/dev/null \
      | grep -q "^$KUBE_BIN/$1 "; then
    state=crashed
  fi
  echo "$state"
}

# _kube_config_hash NAME: what NAME runs with (its command line; the apiserver also reads the
# token file once at start). Recorded at spawn; a running component whose hash differs (flags
# or tokens changed since) is restarted by the next start.
_kube_config_hash() {
  { _kube_cmd "$1"; [ "$1" != kube-apiserver ] || cat "$KUBE_RUN/pki/tokens.csv"; } | sha256sum | cut -c1-16
}

_kube_outdated() {
  [ "$(_kube_state "$1")" = running ] \
    && [ "$(cat "$KUBE_RUN/$1.config" 2>/dev/null)" != "$(_kube_config_hash "$1")" ]
}

# _kube_spawn NAME: starts the component detached from our session (lib.sh spawn_detached), so
# Ctrl-C in ./dev does not take the cluster down.
_kube_spawn() {
  local cmd
  mapfile -t cmd < <(_kube_cmd "$1")
  _kube_config_hash "$1" >"$KUBE_RUN/$1.config"
  spawn_detached "$KUBE_RUN" "$1" "${cmd[@]}"
}

# _kube_port_free NAME: dies if NAME's port is taken. The usual culprit is a copy of NAME whose
# pid file was lost; starting another one would only crash-loop on "address already in use".
_kube_port_free() {
  local port
  case $1 in
    etcd) port=$KUBE_ETCD_PORT ;;
    kube-apiserver) port=$KUBE_APISERVER_PORT ;;
    kube-controller-manager) port=$KUBE_KCM_PORT ;;
    kube-scheduler) port=$KUBE_SCHEDULER_PORT ;;
    kwok) port=$KUBE_KWOK_PORT ;;
  esac
  port_open 127.0.0.1 "$port" || return 0
  die "cannot start $1: 127.0.0.1:$port is taken by a process kube.sh does not track:
$(ss -ltnpH "sport = :$port" 2>/dev/null)
stop it (kill PID) or move $1 to another port (INVOKER_KUBE_*_PORT), then retry"
}

# _kube_ensure NAME [TIMEOUT]: makes NAME running and healthy; restarts it if it crashed.
_kube_ensure() {
  local name=$1 timeout=${2:-60} state
  if _kube_outdated "$name"; then
    log "restarting $name: its flags or credentials changed"
    _kube_stop_one "$name"
  fi
  state=$(_kube_state "$name")
  if [ "$state" = running ] && _kube_healthy "$name"; then return 0; fi
  case $state in
    # Never signal a crashed component's pid: it may belong to an unrelated process by now.
    crashed) warn "$name had crashed; restarting it (its log is kept as $KUBE_RUN/$name.log.prev)"
             rm -f "$KUBE_RUN/$name.pid" ;;
    stopped) log "starting $name" ;;
  esac
  if [ "$state" != running ]; then
    _kube_port_free "$name"
    [ "$name" = kwok ] && _kube_release_node_leases
    _kube_spawn "$name"
  fi
  if ! wait_until "$timeout" "$name to become healthy" _kube_healthy "$name"; then
    tail -n 30 "$KUBE_RUN/$name.log" >&2
    die "$name did not become healthy; log: $KUBE_RUN/$name.log"
  fi
}

# ---------------------------------------------------------------------------------------------
# Cluster objects

# _kube_api METHOD PATH [JSON]: an admin request; prints the body, fails on HTTP errors.
_kube_api() {
  curl -fsS -m 10 --cacert "$KUBE_RUN/pki/ca.crt" -H "Authorization: Bearer $(_kube_token admin)" \
    -H 'Content-Type: application/json' -X "$1" "https://127.0.0.1:$KUBE_APISERVER_PORT$2" \
    ${3:+--data "$3"}
}

# _kube_node_json NAME: a fake node KWOK adopts (annotation) and keeps Ready. Generous capacity
# so tests never hit scheduling limits; no taint, so ordinary workloads land on it.
_kube_node_json() {
  cat <<EOF
{"apiVersion": "v1", "kind": "Node",
 "metadata": {"name": "$1",
   "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
   "labels": {"kubernetes.io/hostname": "$1", "kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64", "type": "kwok"}},
 "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "500"},
            "capacity": {"cpu": "64", "memory": "256Gi", "pods": "500"}}}
EOF
}

# _kube_release_node_leases: a new kwok process has a new random identity and would leave pods
# alone until the previous process's node leases expire (40 s); no kwok runs now, so drop them.
_kube_release_node_leases() {
  local i
  for ((i = 0; i < KUBE_NODES; i++)); do
    _kube_api DELETE "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/kwok-node-$i" \
      >/dev/null 2>&1 || true  # absent on a fresh cluster
  done
}

_kube_node_ready() {
  _kube_api GET "/api/v1/nodes/$1" | tr -d ' \n' | grep -q '"type":"Ready","status":"True"'
}

_kube_bootstrap() {
  local i name
  for ((i = 0; i < KUBE_NODES; i++)); do
    name=kwok-node-$i
    _kube_api GET "/api/v1/nodes/$name" >/dev/null 2>&1 \
      || _kube_api POST /api/v1/nodes "$(_kube_node_json "$name")" >/dev/null \
      || die "could not create fake node $name"
    wait_until 60 "node $name Ready" _kube_node_ready "$name" || die "node $name never went Ready"
  done
  # Pods are rejected by the ServiceAccount admission plugin until the controller-manager has
  # created the namespace's default service account.
  wait_until 60 "the default service account" \
    _kube_api GET /api/v1/namespaces/default/serviceaccounts/default \
    || die "the controller-manager did not create the default service account"
}

# ---------------------------------------------------------------------------------------------
# Lifecycle (the public wrappers at the end add the lock)

_kube_start() {
  _kube_install
  mkdir -p "$KUBE_RUN" && chmod 700 "$KUBE_RUN"
  if ! _kube_pki_complete; then
    _kube_stop  # processes still running would hold credentials we are about to replace
    log "generating control-plane certificates and tokens in $KUBE_RUN/pki"
    _kube_pki_generate 2>"$KUBE_RUN/pki.log" \
      || die "could not generate certificates in $KUBE_RUN/pki (see $KUBE_RUN/pki.log)"
  fi
  _kube_pki_node_additions 2>"$KUBE_RUN/pki-node.log" \
    || die "could not add the node's credentials to $KUBE_RUN/pki (see $KUBE_RUN/pki-node.log)"
  _kube_kubeconfigs
  [ -f "$KUBE_RUN/kwok.yaml" ] || : >"$KUBE_RUN/kwok.yaml"
  _kube_ensure etcd
  _kube_ensure_apiserver
  _kube_bootstrap
  log "Kubernetes $KUBE_VERSION ready at https://127.0.0.1:$KUBE_APISERVER_PORT (KUBECONFIG=$KUBE_KUBECONFIG)"
  if _node_enabled; then _node_start; fi
}

# _kube_stop_one NAME: stops NAME; only signals a pid that still runs our binary.
_kube_stop_one() {
  if [ "$(_kube_state "$1")" = running ]; then
    stop_pidfile "$KUBE_RUN/$1.pid" "$1"
  else
    rm -f "$KUBE_RUN/$1.pid"
  fi
}

# _kube_stop_clients: stops the in-cluster clients together (each takes ~2 s to shut down).
_kube_stop_clients() {
  local name pids=()
  for name in "${KUBE_API_CLIENTS[@]}"; do _kube_stop_one "$name" & pids+=($!); done
  wait "${pids[@]}"
}

# _kube_ensure_apiserver: makes the apiserver and its in-cluster clients run. When the apiserver
# had to be (re)started, running clients are restarted too: client-go's watch backoff grows
# during the outage and a fresh apiserver answers their resumed watches with 410 Gone, so they
# would sit idle before creating or scheduling anything again (measured: pods of a new
# Deployment ran 12 s after a 3 s outage, 85 s after a 20 s one; 0.3 s with the restart).
_kube_ensure_apiserver() {
  local before name
  if _kube_outdated kube-apiserver; then
    log "restarting kube-apiserver: its flags or credentials changed"
    _kube_stop_one kube-apiserver
  fi
  before=$(_kube_state kube-apiserver)
  _kube_ensure kube-apiserver
  [ "$before" = running ] || _kube_stop_clients
  for name in "${KUBE_API_CLIENTS[@]}"; do _kube_ensure "$name"; done
}

# The real node first (its pods are torn down while the API still answers), then the clients,
# then the apiserver, then etcd, so nothing writes to a store going away.
_kube_stop() {
  _node_stop
  _kube_stop_clients
  _kube_stop_one kube-apiserver
  _kube_stop_one etcd
}

kube_status() {
  local name state ok=0
  for name in "${KUBE_COMPONENTS[@]}"; do
    state=$(_kube_state "$name")
    printf '%-24s %s\n' "$name" "$state"
    [ "$state" = running ] || ok=1
  done
  if _kube_pki_complete && _kube_healthy kube-apiserver 2>/dev/null; then
    printf '%-24s %s\n' readyz ok
  else
    printf '%-24s %s\n' readyz failing; ok=1
  fi
  if _node_enabled; then _node_status || ok=1; fi
  return $ok
}

# For tests that take the API away mid-reconcile (graceful SIGTERM: the port closes at once,
# open watches are cut within ~2 s). Everything else keeps running.
_kube_apiserver_stop() { _kube_stop_one kube-apiserver; }

# Brings the apiserver back (readyz), then restarts the controller-manager, scheduler and kwok
# so they reconnect at once (see _kube_ensure_apiserver); the caller's own clients are untouched.
_kube_apiserver_start() {
  _kube_pki_complete || die "kube was never started; run kube_start first"
  _kube_pki_node_additions 2>"$KUBE_RUN/pki-node.log" \
    || die "could not add the node's credentials to $KUBE_RUN/pki (see $KUBE_RUN/pki-node.log)"
  _kube_ensure etcd
  _kube_ensure_apiserver
}

# kube_reset: stops everything and wipes the cluster state (etcd data, logs); the cached
# binaries and the certificates/tokens (hence the kubeconfig) are kept.
_kube_reset() {
  _kube_stop
  rm -rf "$KUBE_RUN/etcd-data" "$KUBE_RUN"/*.log "$KUBE_RUN"/*.log.prev
}

# ---------------------------------------------------------------------------------------------
# Public interface: every function that starts, stops or builds runs under one lock, so two
# ./dev processes at once (parallel test sessions, `./dev up` twice) cannot race each other.

# _kube_locked CMD...: runs CMD holding $KUBE_RUN/lock (re-entrant within one shell).
_kube_locked() {
  if [ -n "${KUBE_LOCK_FD:-}" ]; then "$@"; return; fi
  mkdir -p "$KUBE_RUN"
  exec {KUBE_LOCK_FD}>>"$KUBE_RUN/lock"
  # A cold build holds the lock for its whole duration, hence the generous wait.
  flock -w 3600 "$KUBE_LOCK_FD" || die "timed out waiting for $KUBE_RUN/lock"
  local rc=0
  "$@" || rc=$?
  exec {KUBE_LOCK_FD}>&-
  unset KUBE_LOCK_FD
  return "$rc"
}

kube_install() { _kube_locked _kube_install; }
kube_start() { _kube_locked _kube_start; }
kube_stop() { _kube_locked _kube_stop; }
kube_apiserver_stop() { _kube_locked _kube_apiserver_stop; }
kube_apiserver_start() { _kube_locked _kube_apiserver_start; }
kube_reset() { _kube_locked _kube_reset; }

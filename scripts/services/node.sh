# shellcheck shell=bash
# The test cluster's real node: a kubelet (built beside the control plane, see kube.sh) with
# Debian's containerd and runc, a CNI bridge of our own, and the Kafka broker and Redis the
# node's pods use. Sourced by ./dev after scripts/lib.sh and kube.sh; kube_start/kube_stop/
# kube_status call the _node_* functions under kube.sh's lock, so `./dev start kube` brings the
# node up and `./dev stop kube` takes it down. docs/kubernetes-node.md explains the choices.
#
# Everything is ours and nothing else's: containerd has its own socket, root and state under
# $INVOKER_RUN/node (never /run/containerd or /var/lib/containerd), runc its own root, the pods a
# bridge (invoker0, 10.213.0.0/24) that node.sh creates. Pods get no default route: they reach
# the other pods, the broker and Redis listening on the bridge's own address, and the apiserver
# through its Service address (DNATed to loopback); no other address. The images are built here
# (the pause sandbox from scripts/node/pause.c, a busybox test image from Debian's
# busybox-static) and imported, never pulled.
#
# Interface (for kube.sh): _node_start, _node_stop, _node_status, _node_enabled.
# For other scripts: node_import_image ARCHIVE (needs the node running).
# Environment: INVOKER_KUBE_REAL_NODE (1; 0 leaves the node out), INVOKER_NODE_KAFKA_PORT
# (19092), INVOKER_NODE_REDIS_PORT (16380), INVOKER_NODE_KUBELET_PORT (16250).
# The addresses the tests need are written to $INVOKER_RUN/node/env on every start.

NODE_SRC=$INVOKER_ROOT/scripts/node
NODE_RUN=$INVOKER_RUN/node
NODE_CACHE=$INVOKER_CACHE/node
NODE_NAME=invoker-node
NODE_LABEL_KEY=invoker.io/node
NODE_LABEL_VALUE=real
NODE_BRIDGE=invoker0
NODE_POD_CIDR=10.213.0.0/24
NODE_IP=10.213.0.1  # the bridge's address: the pods' gateway, the kubelet, the broker, Redis
NODE_KAFKA_PORT=${INVOKER_NODE_KAFKA_PORT:-19092}
NODE_KAFKA_CONTROLLER_PORT=$((NODE_KAFKA_PORT + 1))  # on loopback
NODE_REDIS_PORT=${INVOKER_NODE_REDIS_PORT:-16380}
NODE_KUBELET_PORT=${INVOKER_NODE_KUBELET_PORT:-16250}
NODE_KUBELET_HEALTHZ_PORT=$((NODE_KUBELET_PORT - 2))  # on loopback
NODE_SOCKET=$NODE_RUN/containerd.sock
NODE_CTR_ROOT=$NODE_RUN/containerd        # images, snapshots, metadata: like /var/lib/containerd
NODE_CTR_STATE=$NODE_RUN/containerd-state # shims, mounts, netns: like /run/containerd
NODE_RUNC_ROOT=$NODE_RUN/runc
NODE_IPAM_DIR=$NODE_RUN/cni/ipam
NODE_CNI_CONF_DIR=$NODE_RUN/cni/net.d
NODE_KUBELET_DIR=$NODE_RUN/kubelet
NODE_PAUSE_IMAGE=localhost/invoker/pause:3.10
NODE_BUSYBOX_IMAGE=localhost/invoker/busybox:1.35
NODE_ENV_FILE=$NODE_RUN/env
# The kubernetes Service's ClusterIP (first address of kube.sh's service range): pods reach the
# apiserver there, as they would through kube-proxy.
NODE_API_SERVICE_IP=10.96.0.1
NODE_COMPONENTS=(containerd node-kafka node-redis kubelet)

_node_enabled() { [ "${INVOKER_KUBE_REAL_NODE:-1}" != 0 ]; }

_node_ctr() { ctr --address "$NODE_SOCKET" --namespace k8s.io "$@"; }

# ---------------------------------------------------------------------------------------------
# Install: Debian packages and the two images (the kubelet binary is built by kube.sh).

_node_install() {
  # python3: scripts/node/oci_image.py (standard library only) runs before any virtualenv exists.
  apt_install containerd runc containernetworking-plugins iptables iproute2 procps gcc libc6-dev \
    redis-server python3
  # A unix socket path is limited to 108 bytes; containerd adds ".ttrpc" to its own.
  [ ${#NODE_SOCKET} -le 100 ] || die "INVOKER_RUN is too long for containerd's socket path: $NODE_SOCKET"
  _node_build_images
}

# _node_image_archive NAME: the cached archive of image NAME (pause or busybox).
_node_image_archive() {
  local key
  key=$(file_hash "$NODE_SRC/pause.c" "$NODE_SRC/oci_image.py")
  echo "$NODE_CACHE/images/$1-$key.tar"
}

_node_build_images() {
  local pause busybox
  pause=$(_node_image_archive pause) busybox=$(_node_image_archive busybox)
  [ -s "$pause" ] && [ -s "$busybox" ] && return 0
  mkdir -p "$NODE_CACHE/images"
  log "building the node's images ($NODE_PAUSE_IMAGE, $NODE_BUSYBOX_IMAGE)"
  _node_build_pause "$pause" || die "building $NODE_PAUSE_IMAGE failed"
  _node_build_busybox "$busybox" || die "building $NODE_BUSYBOX_IMAGE failed"
}

# _node_build_pause ARCHIVE: pause.c, statically linked (the image has no libc), in one layer.
_node_build_pause() (
  tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
  mkdir "$tmp/rootfs" \
    && gcc -static -Os -Wall -Wextra -Werror -o "$tmp/rootfs/pause" "$NODE_SRC/pause.c" \
    && strip "$tmp/rootfs/pause" \
    && python3 "$NODE_SRC/oci_image.py" --rootfs "$tmp/rootfs" --name "$NODE_PAUSE_IMAGE" \
         --entrypoint /pause --user 65535:65535 --out "$1"
)

# _node_build_busybox ARCHIVE: Debian's busybox-static with a link per applet: a shell, cat, nc
# and friends for tests, in 2 MB. The Debian version used is recorded beside the archive.
_node_build_busybox() (
  tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
  cd "$tmp" || exit 1
  # apt-get download needs package lists; a fresh machine may have none yet.
  apt-get download busybox-static >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get download busybox-static >/dev/null; } \
    || { warn "apt-get download busybox-static failed"; exit 1; }
  dpkg-deb -f busybox-static_*.deb Version >"$1.version" || exit 1
  dpkg-deb -x busybox-static_*.deb deb && mkdir -p rootfs/bin rootfs/tmp && chmod 1777 rootfs/tmp \
    && cp deb/bin/busybox rootfs/bin/busybox || exit 1
  for applet in $(rootfs/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "rootfs/bin/$applet"
  done
  python3 "$NODE_SRC/oci_image.py" --rootfs rootfs --name "$NODE_BUSYBOX_IMAGE" \
    --cmd /bin/sh --out "$1"
)

# node_import_image ARCHIVE: imports an OCI/Docker image archive into the node's containerd
# (namespace k8s.io, where the kubelet looks), unless the same archive was imported already.
# The stamp lives in containerd's root, so a wiped root imports again.
node_import_image() {
  local archive=$1 stamp want
  [ -s "$archive" ] || die "no image archive at $archive"
  stamp=$NODE_CTR_ROOT/imported/$(basename "$archive").sha256
  want=$(sha256sum <"$archive" | cut -c1-64)
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
  _node_ctr images import "$archive" >/dev/null || die "could not import $archive into the node's containerd"
  mkdir -p "$(dirname "$stamp")" && echo "$want" >"$stamp"
}

# ---------------------------------------------------------------------------------------------
# Network: the bridge and the apiserver's Service address. Idempotent.

# _node_nat_rule: the DNAT of the kubernetes Service to the apiserver on loopback (kube-proxy's
# job on a real cluster; route_localnet lets packets from the bridge reach 127.0.0.1).
_node_nat_rule() {
  echo PREROUTING -i "$NODE_BRIDGE" -d "$NODE_API_SERVICE_IP/32" -p tcp --dport 443 \
    -m comment --comment invoker-node -j DNAT --to-destination "127.0.0.1:$KUBE_APISERVER_PORT"
}

_node_network_up() {
  local rule
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 || ip link add "$NODE_BRIDGE" type bridge \
    || die "could not create the bridge $NODE_BRIDGE"
  ip addr replace "$NODE_IP/${NODE_POD_CIDR#*/}" dev "$NODE_BRIDGE" && ip link set "$NODE_BRIDGE" up \
    && sysctl -qw "net.ipv4.conf.$NODE_BRIDGE.route_localnet=1" \
    || die "could not configure the bridge $NODE_BRIDGE"
  read -ra rule < <(_node_nat_rule)
  iptables -t nat -C "${rule[@]}" 2>/dev/null || iptables -t nat -A "${rule[@]}" \
    || die "could not add the DNAT rule for $NODE_API_SERVICE_IP:443"
}

_node_network_down() {
  local rule
  read -ra rule < <(_node_nat_rule)
  while iptables -t nat -D "${rule[@]}" 2>/dev/null; do :; done
  ip link del "$NODE_BRIDGE" 2>/dev/null || true  # absent already
}

# ---------------------------------------------------------------------------------------------
# Processes

# _node_cmd NAME: the command line of NAME, one word per line.
_node_cmd() {
  case $1 in
    containerd) printf '%s\n' containerd --config "$NODE_RUN/containerd.toml" ;;
    kubelet)
      printf '%s\n' "$KUBE_BIN/kubelet" --config="$NODE_RUN/kubelet.yaml" \
        --kubeconfig="$NODE_RUN/kubelet.kubeconfig" --hostname-override="$NODE_NAME" \
        --node-ip="$NODE_IP" --node-labels="$NODE_LABEL_KEY=$NODE_LABEL_VALUE" \
        --root-dir="$NODE_KUBELET_DIR" --cert-dir="$NODE_RUN/pki" --v="$KUBE_LOG_LEVEL" ;;
    node-kafka)
      local KAFKA_DIR=$NODE_RUN/kafka KAFKA_HEAP_OPTS=-Xmx256m
      _kafka_jvm
      printf '%s\n' "${KAFKA_JVM[@]}" kafka.Kafka "$NODE_RUN/kafka/server.properties" ;;
    node-redis)
      printf '%s\n' redis-server --bind "$NODE_IP" --port "$NODE_REDIS_PORT" --protected-mode no \
        --save '' --appendonly no --dir "$NODE_RUN/redis" ;;
    *) die "unknown node component: $1" ;;
  esac
}

# _node_marker NAME: what the command line of a live NAME contains (redis rewrites its own).
_node_marker() {
  case $1 in
    containerd) echo "containerd --config $NODE_RUN/containerd.toml" ;;
    kubelet) echo "$KUBE_BIN/kubelet " ;;
    node-kafka) echo "kafka.Kafka $NODE_RUN/kafka/server.properties" ;;
    node-redis) echo "redis-server $NODE_IP:$NODE_REDIS_PORT" ;;
  esac
}

_node_healthy() {
  case $1 in
    containerd) _node_ctr version >/dev/null 2>&1 ;;
    kubelet) curl -fsS -m 2 "http://127.0.0.1:$NODE_KUBELET_HEALTHZ_PORT/healthz" >/dev/null ;;
    node-kafka) _node_kafka_ready ;;
    node-redis) redis-cli -h "$NODE_IP" -p "$NODE_REDIS_PORT" ping 2>/dev/null | grep -q PONG ;;
  esac
}

# _node_kafka_ready: the broker answers a metadata request on the bridge address (lib.sh kafka_ready).
_node_kafka_ready() { kafka_ready "$NODE_IP" "$NODE_KAFKA_PORT" "$NODE_RUN/kafka/logs/server.log"; }

# _node_state NAME: running | crashed | stopped; a live pid running something else is crashed.
_node_state() {
  local pidfile=$NODE_RUN/$1.pid state
  state=$(pid_state "$pidfile")
  if [ "$state" = running ] && ! tr '\0' ' ' 2>/dev/null <"/proc/$(cat "$pidfile")/cmdline" \
      | grep -qF "$(_node_marker "$1")"; then
    state=crashed
  fi
  echo "$state"
}

# _node_config_hash NAME: the command line and config file NAME was (or would be) started with;
# a running component whose hash changed is restarted, so edits apply on the next start.
_node_config_hash() {
  local conf=/dev/null
  case $1 in
    containerd) conf=$NODE_RUN/containerd.toml ;;
    kubelet) conf=$NODE_RUN/kubelet.yaml ;;
    node-kafka) conf=$NODE_RUN/kafka/server.properties ;;
  esac
  { _node_cmd "$1"; cat "$conf"; } | sha256sum | cut -c1-16
}

_node_spawn() {
  local name=$1 cmd
  mapfile -t cmd < <(_node_cmd "$name")
  # The broker's own log must be this run's alone: _node_kafka_ready may read it.
  [ "$name" != node-kafka ] || [ ! -f "$NODE_RUN/kafka/logs/server.log" ] \
    || mv -f "$NODE_RUN/kafka/logs/server.log" "$NODE_RUN/kafka/logs/server.log.prev"
  _node_config_hash "$name" >"$NODE_RUN/$name.config"
  spawn_detached "$NODE_RUN" "$name" "${cmd[@]}"
}

_node_stop_one() {
  if [ "$(_node_state "$1")" = running ]; then
    stop_pidfile "$NODE_RUN/$1.pid" "$1"
  else
    rm -f "$NODE_RUN/$1.pid"
  fi
}

# _node_ensure NAME [TIMEOUT]: NAME runs, is healthy and runs its current configuration.
_node_ensure() {
  local name=$1 timeout=${2:-60} state
  state=$(_node_state "$name")
  if [ "$state" = running ] && [ "$(cat "$NODE_RUN/$name.config" 2>/dev/null)" != "$(_node_config_hash "$name")" ]; then
    log "restarting $name: its configuration changed"
    _node_stop_one "$name"
    [ "$name" = containerd ] && _node_cleanup
    state=stopped
  fi
  [ "$state" = running ] && _node_healthy "$name" && return 0
  if [ "$state" != running ]; then
    [ "$state" = crashed ] && warn "$name had crashed; restarting it (previous log: $NODE_RUN/$name.log.prev)"
    rm -f "$NODE_RUN/$name.pid"
    _node_spawn "$name"
  fi
  if ! wait_until "$timeout" "$name to become healthy" _node_healthy "$name"; then
    tail -n 30 "$NODE_RUN/$name.log" >&2
    die "$name did not become healthy; log: $NODE_RUN/$name.log"
  fi
}

# ---------------------------------------------------------------------------------------------
# Configuration files, rewritten on every start from the templates in scripts/node/.

# _node_template FILE NAME=VALUE...: FILE with each @NAME@ replaced by VALUE.
_node_template() {
  local file=$1 expr=() pair; shift
  for pair in "$@"; do expr+=(-e "s|@${pair%%=*}@|${pair#*=}|g"); done
  sed "${expr[@]}" "$file"
}

# _node_write FILE: stdin to FILE, replacing it only when the content changed (mtime-stable).
_node_write() {
  local tmp=$1.tmp
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv -f "$tmp" "$1"; fi
}

_node_configs() {
  mkdir -p "$NODE_CNI_CONF_DIR" "$NODE_IPAM_DIR" "$NODE_RUN/kafka/logs" "$NODE_RUN/kafka/data" \
    "$NODE_RUN/redis" "$NODE_RUN/pki"
  _node_template "$NODE_SRC/containerd.toml" ROOT="$NODE_CTR_ROOT" STATE="$NODE_CTR_STATE" \
    SOCKET="$NODE_SOCKET" SANDBOX_IMAGE="$NODE_PAUSE_IMAGE" RUNC="$(command -v runc)" \
    RUNC_ROOT="$NODE_RUNC_ROOT" CNI_BIN_DIR=/usr/lib/cni CNI_CONF_DIR="$NODE_CNI_CONF_DIR" \
    | _node_write "$NODE_RUN/containerd.toml"
  _node_template "$NODE_SRC/cni.conflist" BRIDGE="$NODE_BRIDGE" IPAM_DIR="$NODE_IPAM_DIR" \
    POD_CIDR="$NODE_POD_CIDR" GATEWAY="$NODE_IP" SERVICE_CIDR="$KUBE_SERVICE_CIDR" \
    | _node_write "$NODE_CNI_CONF_DIR/10-invoker.conflist"
  _node_template "$NODE_SRC/kubelet.yaml" SOCKET="$NODE_SOCKET" NODE_IP="$NODE_IP" \
    PORT="$NODE_KUBELET_PORT" HEALTHZ_PORT="$NODE_KUBELET_HEALTHZ_PORT" CA_FILE="$KUBE_RUN/pki/ca.crt" \
    POD_LOGS_DIR="$NODE_RUN/pod-logs" CERT="$NODE_RUN/pki/kubelet.crt" KEY="$NODE_RUN/pki/kubelet.key" \
    | _node_write "$NODE_RUN/kubelet.yaml"
  _node_kafka_config
  _node_kubelet_credentials
}

# _node_kafka_config: kafka.sh's broker settings, on our own ports, dirs and bridge address.
_node_kafka_config() {
  local KAFKA_DIR=$NODE_RUN/kafka KAFKA_PORT=$NODE_KAFKA_PORT KAFKA_CONTROLLER_PORT=$NODE_KAFKA_CONTROLLER_PORT
  _kafka_write_config
  # The client listener on the bridge (pods and the host both reach it there); the controller
  # stays on loopback.
  sed -i "s|PLAINTEXT://127.0.0.1:|PLAINTEXT://$NODE_IP:|g" "$KAFKA_DIR/server.properties"
  grep -q "^listeners=PLAINTEXT://$NODE_IP:$NODE_KAFKA_PORT," "$KAFKA_DIR/server.properties" \
    || die "kafka.sh's server.properties changed shape; update _node_kafka_config"
  [ -f "$KAFKA_DIR/data/meta.properties" ] && return 0
  local KAFKA_HEAP_OPTS=-Xmx256m id
  _kafka_jvm
  id=$("${KAFKA_JVM[@]}" kafka.tools.StorageTool random-uuid) || die "StorageTool random-uuid failed"
  "${KAFKA_JVM[@]}" kafka.tools.StorageTool format -t "$id" -c "$KAFKA_DIR/server.properties" \
    >"$KAFKA_DIR/logs/format.log" 2>&1 || { cat "$KAFKA_DIR/logs/format.log" >&2; die "formatting the node's kafka failed"; }
}

# _node_kubelet_credentials: the node's identity (user system:node:invoker-node, group
# system:nodes, a static token kube.sh adds to the apiserver's token file; the Node authorizer
# and NodeRestriction limit it to its own node and pods) and a serving certificate signed by the
# cluster CA, so the apiserver verifies the kubelet it talks to for logs and exec.
_node_kubelet_credentials() {
  _kube_write_kubeconfig "$NODE_RUN/kubelet.kubeconfig" "system:node:$NODE_NAME"
  local pki=$NODE_RUN/pki
  if openssl verify -CAfile "$KUBE_RUN/pki/ca.crt" "$pki/kubelet.crt" >/dev/null 2>&1 \
      && openssl x509 -in "$pki/kubelet.crt" -noout -ext subjectAltName 2>/dev/null | grep -q "IP Address:$NODE_IP"; then
    return 0
  fi
  (
    cd "$pki" || exit 1
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=system:node:$NODE_NAME" \
      -keyout kubelet.key -out kubelet.csr \
      && echo "subjectAltName=IP:$NODE_IP,DNS:$NODE_NAME" >kubelet.ext \
      && openssl x509 -req -CA "$KUBE_RUN/pki/ca.crt" -CAkey "$KUBE_RUN/pki/ca.key" -CAcreateserial \
           -days 3650 -in kubelet.csr -extfile kubelet.ext -out kubelet.crt
  ) >"$pki/openssl.log" 2>&1 || die "could not sign the kubelet's serving certificate (see $pki/openssl.log)"
}

# _node_env: the addresses the tests and the end-to-end set-up read (KEY=VALUE, shell-sourceable).
_node_env() {
  cat <<EOF | _node_write "$NODE_ENV_FILE"
# Written by scripts/services/node.sh on every start of the real node; docs/kubernetes-node.md.
INVOKER_NODE_NAME=$NODE_NAME
INVOKER_NODE_SELECTOR=$NODE_LABEL_KEY=$NODE_LABEL_VALUE
INVOKER_NODE_TAINT=$NODE_LABEL_KEY=$NODE_LABEL_VALUE:NoSchedule
INVOKER_NODE_IP=$NODE_IP
INVOKER_NODE_POD_CIDR=$NODE_POD_CIDR
INVOKER_NODE_KAFKA_BOOTSTRAP=$NODE_IP:$NODE_KAFKA_PORT
INVOKER_NODE_REDIS_URL=redis://$NODE_IP:$NODE_REDIS_PORT/0
INVOKER_NODE_APISERVER_URL=https://$NODE_API_SERVICE_IP:443
INVOKER_NODE_KUBELET_HEALTHZ=http://127.0.0.1:$NODE_KUBELET_HEALTHZ_PORT/healthz
INVOKER_NODE_CONTAINERD_ADDRESS=$NODE_SOCKET
INVOKER_NODE_CONTAINERD_NAMESPACE=k8s.io
INVOKER_NODE_PAUSE_IMAGE=$NODE_PAUSE_IMAGE
INVOKER_NODE_BUSYBOX_IMAGE=$NODE_BUSYBOX_IMAGE
EOF
}

# ---------------------------------------------------------------------------------------------
# Cleanup: what a reboot does to /run. Used when containerd is not running (stopped, killed,
# or its configuration changed): containers, shims, mounts, network namespaces and IP leases
# of the previous containerd are removed; its root (images, pod metadata) is kept, and the
# kubelet recreates the pods the API still binds to the node, as after a node reboot.

# _node_shim_pids: the containerd shims serving our containerd (they outlive it).
_node_shim_pids() {
  local dir cmdline
  for dir in /proc/[0-9]*; do
    cmdline=$(tr '\0' ' ' 2>/dev/null <"$dir/cmdline") || continue
    case $cmdline in *containerd-shim*"-address $NODE_SOCKET "*) echo "${dir#/proc/}" ;; esac
  done
}

_node_cleanup() {
  local ns id pid mnt
  for ns in "$NODE_RUNC_ROOT"/*/; do
    [ -d "$ns" ] || continue
    for id in $(runc --root "$ns" list -q 2>/dev/null); do
      runc --root "$ns" kill --all "$id" KILL 2>/dev/null
      runc --root "$ns" delete --force "$id" 2>/dev/null
    done
  done
  for pid in $(_node_shim_pids); do kill -9 "$pid" 2>/dev/null; done
  # Every mount under our run dir (container roots, shm, netns, the kubelet's tmpfs volumes),
  # deepest first.
  for mnt in $(awk -v root="$NODE_RUN/" 'index($5, root) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || warn "could not unmount $mnt"
  done
  rm -rf "$NODE_CTR_STATE" "$NODE_RUNC_ROOT" "$NODE_IPAM_DIR" \
    || die "could not remove containerd's state $NODE_CTR_STATE"
  mkdir -p "$NODE_IPAM_DIR"
}

# ---------------------------------------------------------------------------------------------
# Kernel settings. The kubelet refuses to run unless vm.overcommit_memory=1, kernel.panic=10 and
# kernel.panic_on_oops=1 (it sets them itself, as on every Kubernetes node, and this machine has
# no separate kernel for it). We record the machine's values before the kubelet first starts
# and put them back when the node stops.

NODE_SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops)

_node_sysctls_save() {
  [ -s "$NODE_RUN/sysctl.saved" ] && return 0  # saved by an earlier start; the kubelet may have changed them since
  sysctl "${NODE_SYSCTLS[@]}" | tr -d ' ' >"$NODE_RUN/sysctl.saved.tmp" \
    && mv "$NODE_RUN/sysctl.saved.tmp" "$NODE_RUN/sysctl.saved"
}

_node_sysctls_restore() {
  [ -s "$NODE_RUN/sysctl.saved" ] || return 0
  xargs sysctl -qw <"$NODE_RUN/sysctl.saved" || warn "could not restore the kernel settings in $NODE_RUN/sysctl.saved"
  rm -f "$NODE_RUN/sysctl.saved"
}

# ---------------------------------------------------------------------------------------------
# Health: the node is Ready and a pod on it actually runs a process.

NODE_CHECK_POD=invoker-node-check

_node_check_pod_json() {
  cat <<EOF
{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "$NODE_CHECK_POD", "namespace": "kube-system"},
 "spec": {"nodeSelector": {"$NODE_LABEL_KEY": "$NODE_LABEL_VALUE"},
   "tolerations": [{"key": "$NODE_LABEL_KEY", "operator": "Equal", "value": "$NODE_LABEL_VALUE",
                    "effect": "NoSchedule"}],
   "automountServiceAccountToken": false, "restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
   "containers": [{"name": "check", "image": "$NODE_BUSYBOX_IMAGE", "imagePullPolicy": "Never",
     "command": ["sh", "-c", "echo ran >/tmp/proof && test \"\$(cat /tmp/proof)\" = ran"]}]}}
EOF
}

_node_check_pod_phase() {
  _kube_api GET "/api/v1/namespaces/kube-system/pods/$NODE_CHECK_POD" | tr -d ' \n' \
    | sed -n 's/.*"phase":"\([A-Za-z]*\)".*/\1/p'
}

_node_check_pod_done() { case $(_node_check_pod_phase) in Succeeded|Failed) return 0 ;; esac; return 1; }

_node_check_pod_delete() {
  _kube_api DELETE "/api/v1/namespaces/kube-system/pods/$NODE_CHECK_POD?gracePeriodSeconds=0" \
    >/dev/null 2>&1 || true  # absent
}

_node_check_pod_gone() { ! _kube_api GET "/api/v1/namespaces/kube-system/pods/$NODE_CHECK_POD" >/dev/null 2>&1; }

# _node_check: a pod scheduled onto the node runs a shell in the busybox image that writes and
# reads a file and exits 0; phase Succeeded proves sandbox, CNI, runc and the image all work.
_node_check() {
  _node_check_pod_delete
  wait_until 30 "the previous check pod to go" _node_check_pod_gone || die "the old $NODE_CHECK_POD is stuck"
  _kube_api POST /api/v1/namespaces/kube-system/pods "$(_node_check_pod_json)" >/dev/null \
    || die "could not create the check pod"
  wait_until 90 "the check pod to finish" _node_check_pod_done || true
  local phase; phase=$(_node_check_pod_phase)
  if [ "$phase" != Succeeded ]; then
    _kube_api GET "/api/v1/namespaces/kube-system/pods/$NODE_CHECK_POD" >&2 || true
    tail -n 20 "$NODE_RUN/kubelet.log" >&2
    die "the check pod on $NODE_NAME ended in phase '${phase:-none}' (logs: $NODE_RUN/kubelet.log, containerd.log)"
  fi
  _node_check_pod_delete
}

# ---------------------------------------------------------------------------------------------
# Lifecycle (called by kube.sh under its lock, after the control plane is up)

_node_start() {
  local t0=$SECONDS
  _node_install
  mkdir -p "$NODE_RUN" && chmod 700 "$NODE_RUN"
  _node_network_up
  _node_configs
  case $(_node_state containerd) in
    running) ;;
    crashed) warn "containerd had crashed; removing what its containers left behind, then restarting it"
             rm -f "$NODE_RUN/containerd.pid"; _node_cleanup ;;
    stopped) _node_cleanup ;;  # a machine whose processes were killed leaves no pid file behind either
  esac
  _node_ensure containerd 30
  node_import_image "$(_node_image_archive pause)"
  node_import_image "$(_node_image_archive busybox)"
  _node_ensure node-redis 20
  _node_ensure node-kafka 90
  _node_sysctls_save
  _node_ensure kubelet 60
  wait_until 90 "node $NODE_NAME Ready" _kube_node_ready "$NODE_NAME" \
    || { tail -n 30 "$NODE_RUN/kubelet.log" >&2; die "node $NODE_NAME never went Ready (log: $NODE_RUN/kubelet.log)"; }
  _node_check
  _node_env
  log "node $NODE_NAME ready in $((SECONDS - t0))s (pods: $NODE_POD_CIDR; kafka $NODE_IP:$NODE_KAFKA_PORT, redis $NODE_IP:$NODE_REDIS_PORT; $NODE_ENV_FILE)"
}

# _node_stop: the kubelet, then every container (runc, shims, mounts, network namespaces), then
# containerd, the broker and Redis, then the bridge. The Node object stays registered (NotReady).
_node_stop() {
  _node_stop_one kubelet
  _node_sysctls_restore
  local ns id
  for ns in "$NODE_RUNC_ROOT"/*/; do
    [ -d "$ns" ] || continue
    for id in $(runc --root "$ns" list -q 2>/dev/null); do runc --root "$ns" kill --all "$id" KILL 2>/dev/null; done
  done
  _node_stop_one containerd
  _node_cleanup
  _node_stop_one node-kafka
  _node_stop_one node-redis
  _node_network_down
  rm -f "$NODE_ENV_FILE"
}

_node_status() {
  local name state ok=0
  for name in "${NODE_COMPONENTS[@]}"; do
    state=$(_node_state "$name")
    printf '%-24s %s\n' "$name" "$state"
    [ "$state" = running ] || ok=1
  done
  if _kube_pki_complete && _kube_node_ready "$NODE_NAME" 2>/dev/null; then
    printf '%-24s %s\n' "node $NODE_NAME" Ready
  else
    printf '%-24s %s\n' "node $NODE_NAME" "not ready"; ok=1
  fi
  return $ok
}

# shellcheck shell=bash
# Helm 3, for the chart tests (charts/invoker, tests/chart). Sourced by ./dev after
# scripts/lib.sh, never run.
#
# Why built from source: there is no Debian package and no GitHub downloads here; the Go module
# proxy is the source. `go install helm.sh/helm/v3/cmd/helm@VERSION` into
# $INVOKER_CACHE/helm/VERSION/bin, so only the first run on a machine compiles (a few minutes
# on 2 cores); later runs build nothing. A tool, not a server: start = install, stop = nothing.
#
# The version ldflags matter: a plain `go install` helm reports its version as "v3.18" and
# assumes Kubernetes v1.20 for `helm template`/`helm lint` (Capabilities.KubeVersion) unless
# given --kube-version. We set the same -X flags as Helm's Makefile, so it reports its real
# version and defaults to the Kubernetes minor its client-go was built against (1.33 for 3.18).
# The tests pass --kube-version explicitly anyway.
#
# Interface: helm_install, helm_start, helm_stop, helm_status, helm_bin.
# Environment: INVOKER_HELM_VERSION (default below).

HELM_VERSION=${INVOKER_HELM_VERSION:-v3.18.6}
HELM_BIN=$INVOKER_CACHE/helm/$HELM_VERSION/bin
export HELM_VERSION HELM_BIN

helm_bin() { echo "$HELM_BIN/helm"; }

_helm_go() {
  local go; go=$(command -v go || echo /usr/local/go/bin/go)
  [ -x "$go" ] || die "Go is required to build Helm (looked in PATH and /usr/local/go/bin)"
  GOFLAGS="-trimpath -buildvcs=false" "$go" "$@"
}

# _helm_ldflags: Helm's Makefile flags: its version, and the Kubernetes version lint/template
# assume (major+1 / minor of the k8s.io/client-go it requires, e.g. v0.33.3 -> 1.33).
_helm_ldflags() {
  local gomod client_go major minor
  gomod=$(cd /tmp && _helm_go mod download -json "helm.sh/helm/v3@$HELM_VERSION" \
    | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p') || return 1
  [ -f "$gomod" ] || return 1
  client_go=$(awk '$1 == "k8s.io/client-go" && $2 ~ /^v0\./ { print $2; exit }' "$gomod")
  [ -n "$client_go" ] || return 1
  client_go=${client_go#v}
  major=$(( ${client_go%%.*} + 1 ))
  minor=${client_go#*.}; minor=${minor%%.*}
  local f="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  f+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  f+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$major"
  f+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
  f+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major"
  f+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
  echo "$f"
}

# helm_install: builds helm when the cached binary is missing. Staged in a temp dir and moved,
# so an interrupted build never leaves a half-written binary behind.
helm_install() {
  [ -x "$HELM_BIN/helm" ] && return 0
  mkdir -p "$HELM_BIN"
  log "building helm $HELM_VERSION from the Go module proxy (first time on this machine: a few minutes)"
  (
    stage=$(mktemp -d "$HELM_BIN/.stage.XXXXXX") || exit 1
    trap 'rm -rf "$stage"' EXIT
    ldflags=$(_helm_ldflags) || { echo "cannot resolve helm $HELM_VERSION's go.mod" >&2; exit 1; }
    cd /tmp && GOBIN=$stage _helm_go install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" \
      && mv "$stage/helm" "$HELM_BIN/helm"
  ) || die "building helm $HELM_VERSION failed"
}

helm_start() { helm_install; }

helm_stop() { :; }

helm_status() {
  if [ -x "$HELM_BIN/helm" ]; then
    echo "helm: $("$HELM_BIN/helm" version --short 2>/dev/null || echo "broken ($HELM_BIN/helm)")"
  else
    echo "helm: missing ($HELM_BIN/helm)"
    return 1
  fi
}

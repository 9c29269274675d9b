# shellcheck shell=bash
# The container images, built here from the repository's own Dockerfiles: the dashboard
# (docker/Dockerfile), the io and state sidecars and the two sample UDF images
# (executor/docker/*.Dockerfile), all on a Python 3.11 base made here from Debian packages.
# Sourced by ./dev after scripts/lib.sh, never run. docs/images.md has the whole story.
#
# Why these tools: there is no Docker daemon and no registry. mmdebstrap makes the base's root
# filesystem from Debian bookworm (whose python3 is 3.11); buildah imports it as an image and
# runs `buildah bud` on the Dockerfiles without a daemon. Inside this machine (itself a
# container, cgroups v1) the OCI isolation would need namespaces and cgroups runc cannot
# always get, so RUN steps use `--isolation chroot`: same filesystem semantics, host network
# (pip reaches PyPI). The storage driver is overlay (native kernel overlayfs; the store lives
# on ext4): a layer costs only its own files, where vfs copies the whole image at every step.
#
# Cache: each image's key hashes what it is built from (its Dockerfile and build target, the
# files its COPY steps read, .dockerignore, the build flags, the base's key); the base's key
# hashes its mmdebstrap recipe. A built image is exported as an OCI archive named by its key;
# an archive present = nothing to do, so a warm run builds nothing. `buildah bud --layers`
# keeps intermediate layers in the store, so a change to executor/*.py re-runs only the COPY
# steps after it, never pip.
#
# Layout ($INVOKER_CACHE/images):
#   archives/NAME-KEY.oci.tar   one OCI archive per image; its only ref is localhost/invoker/NAME:KEY
#   images.json, images.tsv     the current images: name, ref, archive, key, size (both formats)
#   store/                      buildah's containers-storage (overlay), the layer cache
#   rootfs/                     unpacked copies the image tests run (tests/images), per key
# Import into containerd: ctr -n k8s.io images import ARCHIVE (the ref becomes the image name).
#
# Interface: images_install, images_start (= build what is missing), images_stop, images_status,
#            images_build, images_ref NAME, images_archive NAME, cmd_images.
# Environment: INVOKER_DEBIAN_MIRROR (default deb.debian.org), INVOKER_IMAGES_VERBOSE=1 (build
# logs on the terminal instead of $INVOKER_RUN/images/*.log), INVOKER_IMAGES_STORE_MAX_MB (8000:
# above it the layer cache is emptied after a build; the archives stay).

IMAGES_DIR=$INVOKER_CACHE/images
IMAGES_STORE=$IMAGES_DIR/store
IMAGES_ARCHIVES=$IMAGES_DIR/archives
IMAGES_RUNROOT=$INVOKER_RUN/images
IMAGES_MANIFEST=$IMAGES_DIR/images.json
IMAGES_REPO=localhost/invoker
IMAGES_BASE_NAME=python
IMAGES_BASE_REF=$IMAGES_REPO/python:3.11-bookworm
export IMAGES_DIR IMAGES_MANIFEST

# The base: Debian bookworm's minbase plus Python. Bump IMAGES_BASE_REVISION to take in the
# archive's newer packages (security updates): the key is the recipe, not the mirror's state.
IMAGES_BASE_REVISION=1
IMAGES_BASE_SUITE=bookworm
IMAGES_BASE_PACKAGES=python3,python3-venv,python-is-python3,ca-certificates
IMAGES_DEBIAN_MIRROR=${INVOKER_DEBIAN_MIRROR:-http://deb.debian.org}

# NAME DOCKERFILE TARGET ("-": the last stage). Order = build order.
IMAGES_RECIPES=(
  "dashboard docker/Dockerfile -"
  "io-sidecar executor/docker/io.Dockerfile -"
  "state-sidecar executor/docker/state.Dockerfile -"
  "executor-word-count executor/docker/udf.Dockerfile word-count"
  "executor-sum executor/docker/udf.Dockerfile sum"
)

_images_buildah() {
  buildah --root "$IMAGES_STORE" --runroot "$IMAGES_RUNROOT" --storage-driver overlay "$@"
}

_images_require_root() {
  [ "$(id -u)" -eq 0 ] || die "building images needs root (mmdebstrap, buildah's overlay store); run ./dev images as root"
}

images_install() {
  # runc and umoci: the image tests unpack the archives and run them (tests/images).
  apt_install buildah mmdebstrap umoci skopeo runc
}

# --- keys -------------------------------------------------------------------------------------

_images_base_key() {
  {
    echo "$IMAGES_BASE_REVISION $IMAGES_BASE_SUITE $IMAGES_BASE_PACKAGES $IMAGES_DEBIAN_MIRROR"
    declare -f _images_mmdebstrap _images_build_base
  } | sha256sum | cut -c1-16
}

# _images_copy_sources DOCKERFILE: the repository paths its COPY/ADD steps read (not --from).
_images_copy_sources() {
  awk '
    { line = line $0 }
    /\\$/ { sub(/\\$/, "", line); next }
    {
      n = split(line, f, /[ \t]+/); line = ""
      start = (f[1] == "") ? 2 : 1
      kw = toupper(f[start])
      if (kw != "COPY" && kw != "ADD") next
      for (i = start + 1; i <= n; i++) if (f[i] ~ /^--from=/) next
      last = n; while (last > start && f[last] == "") last--
      for (i = start + 1; i < last; i++) if (f[i] !~ /^--/) print f[i]
    }' "$INVOKER_ROOT/$1"
}

# _images_key DOCKERFILE TARGET: the image's cache key.
_images_key() {
  local dockerfile=$1 target=$2 sources
  mapfile -t sources < <(_images_copy_sources "$dockerfile")
  {
    echo "base $(_images_base_key) target $target"
    declare -f _images_bud
    cat "$INVOKER_ROOT/$dockerfile" "$INVOKER_ROOT/.dockerignore"
    (cd "$INVOKER_ROOT" && find "${sources[@]}" \( -name __pycache__ -o -name '*.pyc' \) -prune \
      -o -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
  } | sha256sum | cut -c1-16
}

_images_recipe() {
  local line
  for line in "${IMAGES_RECIPES[@]}"; do
    [ "${line%% *}" = "$1" ] && { echo "$line"; return 0; }
  done
  return 1
}

# images_ref NAME / images_archive NAME: what the current sources build (python = the base).
images_ref() {
  if [ "$1" = "$IMAGES_BASE_NAME" ]; then echo "$IMAGES_BASE_REF"; return; fi
  local recipe _name dockerfile target
  recipe=$(_images_recipe "$1") || die "unknown image '$1' (known: $(_images_names | tr '\n' ' '))"
  read -r _name dockerfile target <<<"$recipe"
  echo "$IMAGES_REPO/$1:$(_images_key "$dockerfile" "$target")"
}

images_archive() {
  local key
  if [ "$1" = "$IMAGES_BASE_NAME" ]; then key=$(_images_base_key); else key=$(images_ref "$1"); key=${key##*:}; fi
  echo "$IMAGES_ARCHIVES/$1-$key.oci.tar"
}

_images_names() {
  echo "$IMAGES_BASE_NAME"
  local line
  for line in "${IMAGES_RECIPES[@]}"; do echo "${line%% *}"; done
}

# --- building ---------------------------------------------------------------------------------

# _images_run LOG CMD...: runs CMD with its output in LOG (or on the terminal when verbose).
_images_run() {
  local logfile=$1; shift
  if [ "${INVOKER_IMAGES_VERBOSE:-0}" = 1 ]; then "$@"; return; fi
  "$@" >"$logfile" 2>&1 && return 0
  warn "failed: $* (last lines of $logfile):"
  tail -n 25 "$logfile" >&2
  return 1
}

_images_mmdebstrap() {
  local out=$1 mirror=$IMAGES_DEBIAN_MIRROR
  # No recommends, merged /usr by the hook instead of the usrmerge package (which pulls in
  # perl: 47 MB), no device nodes (the runtime makes /dev), no docs, man pages or apt lists.
  mmdebstrap --variant=minbase --include="$IMAGES_BASE_PACKAGES" \
    --aptopt='APT::Install-Recommends "false"' \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr --skip=output/dev \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*' \
    "$IMAGES_BASE_SUITE" "$out" \
    "deb $mirror/debian $IMAGES_BASE_SUITE main" \
    "deb $mirror/debian $IMAGES_BASE_SUITE-updates main" \
    "deb $mirror/debian-security $IMAGES_BASE_SUITE-security main"
}

# _images_build_base KEY: the base image, committed as $IMAGES_BASE_REF and labelled with KEY.
_images_build_base() {
  local key=$1 tmp ctr
  tmp=$(mktemp -d "$IMAGES_DIR/.base.XXXXXX")
  _images_run "$IMAGES_RUNROOT/python.log" _images_mmdebstrap "$tmp/rootfs.tar" || { rm -rf "$tmp"; return 1; }
  ctr=$(_images_buildah from scratch) || { rm -rf "$tmp"; return 1; }
  _images_buildah add --quiet "$ctr" "$tmp/rootfs.tar" / >/dev/null \
    && _images_buildah config \
      --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
      --cmd '["python3"]' --label "io.invoker.cache-key=$key" \
      --label "org.opencontainers.image.description=Debian $IMAGES_BASE_SUITE minbase + $IMAGES_BASE_PACKAGES" \
      "$ctr" \
    && _images_buildah commit --quiet --rm "$ctr" "$IMAGES_BASE_REF" >/dev/null
  local rc=$?
  rm -rf "$tmp"
  return $rc
}

# _images_bud DOCKERFILE TARGET REF KEY: `buildah bud` from the repository root. The RUN steps
# see the host's CA bundle (bind-mounted, never committed), so pip works behind a TLS-inspecting
# proxy the host trusts.
_images_bud() {
  local dockerfile=$1 target=$2 ref=$3 key=$4
  local args=(bud --isolation chroot --layers --pull-never --format oci
    --build-arg "PYTHON_IMAGE=$IMAGES_BASE_REF" --label "io.invoker.cache-key=$key"
    -f "$INVOKER_ROOT/$dockerfile" -t "$ref")
  [ "$target" = - ] || args+=(--target "$target")
  [ -f /etc/ssl/certs/ca-certificates.crt ] \
    && args+=(-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
  _images_buildah "${args[@]}" "$INVOKER_ROOT"
}

# _images_export REF ARCHIVE: the OCI archive (gzipped layers), written aside and renamed, so
# an archive that exists is complete.
_images_export() {
  local ref=$1 archive=$2 tmp
  tmp="$archive.tmp.$$"
  rm -f "$tmp"
  _images_buildah push --quiet "$ref" "oci-archive:$tmp:$ref" && mv "$tmp" "$archive" \
    || { rm -f "$tmp"; return 1; }
}

# _images_forget NAME KEY: removes NAME's archives of other keys. Its older images stay in the
# store: removing one would also remove the untagged intermediate images under it, which are the
# layer cache of the next build (_images_trim_store bounds the store instead).
_images_forget() {
  local name=$1 key=$2 old
  for old in "$IMAGES_ARCHIVES/$name"-*.oci.tar; do
    [ -e "$old" ] && [ "$old" != "$IMAGES_ARCHIVES/$name-$key.oci.tar" ] && rm -f "$old"
  done
  return 0
}

# _images_ensure_base: the current base in the store (imported from its archive when the store
# lost it, built when there is no archive either) and its archive.
_images_ensure_base() {
  local key archive have started=$SECONDS
  key=$(_images_base_key)
  archive=$IMAGES_ARCHIVES/$IMAGES_BASE_NAME-$key.oci.tar
  have=$(_images_buildah inspect --type image --format '{{index .OCIv1.Config.Labels "io.invoker.cache-key"}}' \
    "$IMAGES_BASE_REF" 2>/dev/null || true)
  [ "$have" = "$key" ] && [ -s "$archive" ] && return 0
  if [ "$have" != "$key" ] && [ -s "$archive" ]; then
    log "images: loading the base from $archive"
    _images_buildah pull --quiet "oci-archive:$archive" >/dev/null || return 1
    return 0
  fi
  if [ "$have" != "$key" ]; then
    log "images: building the base $IMAGES_BASE_REF from Debian $IMAGES_BASE_SUITE (first time: 1-3 min)"
    _images_build_base "$key" || return 1
  fi
  _images_export "$IMAGES_BASE_REF" "$archive" || return 1
  _images_forget "$IMAGES_BASE_NAME" "$key"
  log "images: base ready in $((SECONDS - started))s"
}

# _images_build_one NAME DOCKERFILE TARGET: builds and exports NAME unless its archive exists;
# adds "NAME REF ARCHIVE" to IMAGES_CURRENT (keys are computed once: the tree may change meanwhile).
_images_build_one() {
  local name=$1 dockerfile=$2 target=$3 key ref archive started=$SECONDS
  key=$(_images_key "$dockerfile" "$target")
  ref=$IMAGES_REPO/$name:$key
  archive=$IMAGES_ARCHIVES/$name-$key.oci.tar
  [ -s "$archive" ] && { IMAGES_CURRENT+=("$name $ref $archive"); return 0; }
  _images_ensure_base || return 1
  log "images: building $ref from $dockerfile$([ "$target" = - ] || echo " (target $target)")"
  _images_run "$IMAGES_RUNROOT/$name.log" _images_bud "$dockerfile" "$target" "$ref" "$key" || return 1
  _images_export "$ref" "$archive" || return 1
  _images_forget "$name" "$key"
  IMAGES_CURRENT+=("$name $ref $archive")
  log "images: $name built in $((SECONDS - started))s"
}

# _images_keep_previous NAME: lists NAME's newest older archive, if any (its build just failed).
_images_keep_previous() {
  local archive key
  archive=$(ls -t "$IMAGES_ARCHIVES/$1"-*.oci.tar 2>/dev/null | head -n 1)
  [ -n "$archive" ] || return 0
  key=$(basename "$archive" .oci.tar); key=${key#"$1"-}
  warn "images: $1 stays at its previous build $IMAGES_REPO/$1:$key"
  IMAGES_CURRENT+=("$1 $IMAGES_REPO/$1:$key $archive")
}

_images_size() {
  _images_buildah images --format '{{.Size}}' "$1" 2>/dev/null | head -n 1
}

# _images_write_manifest: images.json and images.tsv from IMAGES_CURRENT, written aside and renamed.
_images_write_manifest() {
  local line name ref archive key size first=1 json tsv
  json=$(mktemp "$IMAGES_DIR/.images.json.XXXXXX") tsv=$(mktemp "$IMAGES_DIR/.images.tsv.XXXXXX")
  printf '{\n  "images": {\n' >"$json"
  printf '# name\tref\tarchive\tsize\n' >"$tsv"
  for line in "${IMAGES_CURRENT[@]}"; do
    read -r name ref archive <<<"$line"
    key=$(basename "$archive" .oci.tar); key=${key#"$name"-}
    size=$(_images_size "$ref")
    [ $first -eq 1 ] || printf ',\n' >>"$json"
    first=0
    printf '    "%s": {"ref": "%s", "archive": "%s", "key": "%s", "size": "%s", "archive_bytes": %s}' \
      "$name" "$ref" "$archive" "$key" "${size:-unknown}" "$(stat -c %s "$archive")" >>"$json"
    printf '%s\t%s\t%s\t%s\n' "$name" "$ref" "$archive" "${size:-unknown}" >>"$tsv"
  done
  printf '\n  }\n}\n' >>"$json"
  chmod 644 "$json" "$tsv"
  mv "$json" "$IMAGES_MANIFEST" && mv "$tsv" "$IMAGES_DIR/images.tsv"
}

_images_locked() {
  mkdir -p "$IMAGES_DIR" "$IMAGES_ARCHIVES" "$IMAGES_RUNROOT"
  local fd
  exec {fd}>>"$IMAGES_DIR/.lock"
  flock -w 3600 "$fd" || die "timed out waiting for $IMAGES_DIR/.lock"
  "$@"
  local rc=$?
  exec {fd}>&-
  return $rc
}

# _images_build_all: every image; one that fails does not stop the others (its previous build
# stays listed), but the whole fails.
_images_build_all() {
  local line name dockerfile target failed=() built_before
  built_before=$(ls "$IMAGES_ARCHIVES")
  _images_ensure_base || return 1
  IMAGES_CURRENT=("$IMAGES_BASE_NAME $IMAGES_BASE_REF $IMAGES_ARCHIVES/$IMAGES_BASE_NAME-$(_images_base_key).oci.tar")
  for line in "${IMAGES_RECIPES[@]}"; do
    read -r name dockerfile target <<<"$line"
    _images_build_one "$name" "$dockerfile" "$target" || { failed+=("$name"); _images_keep_previous "$name"; }
  done
  _images_write_manifest
  [ "$built_before" = "$(ls "$IMAGES_ARCHIVES")" ] || _images_trim_store
  [ ${#failed[@]} -eq 0 ] || { warn "images: failed to build: ${failed[*]}"; return 1; }
}

# _images_trim_store: the layer cache keeps every intermediate layer of every build (an edit to
# the dashboard's code adds some 30 MB), so past a bound it is emptied. The archives, which are
# what counts, stay; the base comes back from its archive, and the next build re-runs pip once.
_images_trim_store() {
  local used max=${INVOKER_IMAGES_STORE_MAX_MB:-8000}
  used=$(du -sm "$IMAGES_STORE" 2>/dev/null | cut -f1)
  [ "${used:-0}" -le "$max" ] && return 0
  log "images: the layer cache holds ${used} MB (over $max); emptying it"
  _images_buildah rm --all >/dev/null 2>&1
  _images_buildah rmi --all --force >/dev/null 2>&1 || warn "images: could not empty $IMAGES_STORE"
  return 0
}

# images_build: builds whatever is missing or stale; prints nothing when all are current.
images_build() {
  _images_require_root
  images_install
  _images_locked _images_build_all || die "image build failed (logs in $IMAGES_RUNROOT/)"
}

# images_start: for ./dev test. A failed build does not stop the suite: tests/images then fails,
# naming the stale image, and the build log says why.
images_start() {
  if [ "$(id -u)" -ne 0 ]; then
    warn "images: not building (needs root); tests/images will fail"
    return 0
  fi
  images_install
  _images_locked _images_build_all || warn "images: build failed (logs in $IMAGES_RUNROOT/); tests/images will fail"
  return 0
}

images_stop() { :; }

# images_status: one line; fails when an image is missing or stale.
images_status() {
  local name missing=() count=0
  while read -r name; do
    if [ -s "$(images_archive "$name")" ]; then count=$((count + 1)); else missing+=("$name"); fi
  done < <(_images_names)
  if [ ${#missing[@]} -eq 0 ]; then
    echo "images: $count current ($IMAGES_ARCHIVES)"
  else
    echo "images: missing or stale: ${missing[*]} (./dev images builds them)"
    return 1
  fi
}

# cmd_images: ./dev images: build what is missing or stale, then list every image and its size.
cmd_images() {
  local started=$SECONDS name ref archive size
  images_build
  printf '%-20s %-8s %-8s %s\n' IMAGE SIZE ARCHIVE REF
  while IFS=$'\t' read -r name ref archive size; do
    [[ "$name" == "#"* ]] && continue
    printf '%-20s %-8s %-8s %s\n' "$name" "$size" "$(($(stat -c %s "$archive") / 1000000)) MB" "$ref"
  done <"$IMAGES_DIR/images.tsv"
  log "images: ready in $((SECONDS - started))s; archives, images.json and images.tsv in $IMAGES_DIR"
}

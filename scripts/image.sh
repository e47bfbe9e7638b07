#!/usr/bin/env bash
# Builds the container image from docker/Dockerfile with podman: no Docker engine needed.
#
#   scripts/image.sh                   builds rendercast:latest and prints its image ID
#
# The Dockerfile's base images (debian:12-slim, golang:1.26-bookworm) come from local storage,
# else from the registry, else the script makes stand-ins once from Debian 12 itself
# (debootstrap --variant=minbase from the Debian mirror apt uses, plus this machine's Go 1.26
# and C toolchain for the build image) and keeps them in podman's storage and their root file
# systems under $RENDERCAST_CACHE. Podman's layer cache and the Go caches of the build stage
# (RUN --mount=type=cache) make a rebuild after a source change short.
#
# Environment:
#   IMAGE                       image name (default rendercast:latest)
#   IMAGE_IIDFILE               if set, the built image's ID is written there
#   RENDERCAST_CACHE            stand-in root file systems and the lock (default /var/cache/rendercast)
#   RENDERCAST_STORAGE_DRIVER   podman storage driver (default: podman's own, overlay here; vfs
#                               where overlay is not available)
#   RENDERCAST_PODMAN_OPTS      more global podman options (e.g. --root DIR --runroot DIR)
#   RENDERCAST_PULL             never: do not try the registry for missing base images
#   RENDERCAST_IMAGE_LOCK_HELD  set to 1 by a caller that already holds $RENDERCAST_CACHE/image.lock
#   DEBIAN_MIRROR               mirror for the stand-ins (default: the first one apt uses here)
#   GOROOT_HOST                 Go for the build stand-in (default /usr/local/go; must be Go 1.26)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${1:-}" in
  "") ;;
  -h | --help) sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "image: unknown argument $1 (usage: scripts/image.sh)" >&2; exit 2 ;;
esac
IMAGE="${IMAGE:-rendercast:latest}"
CACHE="${RENDERCAST_CACHE:-/var/cache/rendercast}"
GOROOT_HOST="${GOROOT_HOST:-/usr/local/go}"

die() { echo "image: $*" >&2; exit 1; }
say() { echo "image: $*" >&2; }

# --- what this needs, said exactly when it is missing ---
command -v podman >/dev/null || die "podman is missing: install podman, buildah and crun (apt-get install podman buildah crun; scripts/setup.sh does it)"
[ "$(id -u)" -eq 0 ] || die "run as root: podman builds here with root storage and chroot isolation (stand-in bases need debootstrap as root too)"
PODMAN=(podman)
[ -n "${RENDERCAST_STORAGE_DRIVER:-}" ] && PODMAN+=(--storage-driver "$RENDERCAST_STORAGE_DRIVER")
# shellcheck disable=SC2206 # options are words
[ -n "${RENDERCAST_PODMAN_OPTS:-}" ] && PODMAN+=($RENDERCAST_PODMAN_OPTS)

mkdir -p "$CACHE"
if [ "${RENDERCAST_IMAGE_LOCK_HELD:-}" != 1 ]; then
  # One build at a time on this machine: builds share the tag, the caches and the pruning.
  exec 9>"$CACHE/image.lock"
  flock 9
fi

debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local m
  m="$(grep -hoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)"
  echo "${m:-http://deb.debian.org/debian}"
}

# The dpkg settings of Docker's debian:*-slim images, so that a stand-in carries no
# documentation, manual pages or translations either.
SLIM_DPKG='path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias'

# make_rootfs DIR [PACKAGES]: a Debian 12 minbase root file system with PACKAGES, the slim
# dpkg settings, the mirror's bookworm, -updates and -security suites and this machine's CA
# bundle (so that apt and the Go module proxy verify behind this machine's TLS setup).
make_rootfs() {
  local dir="$1" include="${2:-}" mirror sec
  mirror="$(debian_mirror)"
  sec="${mirror%/debian}/debian-security"
  rm -rf "$dir" && mkdir -p "$dir/etc/dpkg/dpkg.cfg.d" "$CACHE/debs"
  printf '%s\n' "$SLIM_DPKG" >"$dir/etc/dpkg/dpkg.cfg.d/docker"
  say "debootstrap bookworm from $mirror into $dir${include:+ (with $include)}"
  debootstrap --variant=minbase --cache-dir="$CACHE/debs" ${include:+--include="$include"} \
    bookworm "$dir" "$mirror" >"$dir.log" 2>&1 || { tail -n 20 "$dir.log" >&2; die "debootstrap failed (log: $dir.log)"; }
  cat >"$dir/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $sec bookworm-security main
EOF
  # Docker's slim images keep no downloaded packages or package caches either.
  mkdir -p "$dir/etc/apt/apt.conf.d"
  cat >"$dir/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$dir/etc/apt/apt.conf.d/docker-no-languages"
  [ -f /etc/ssl/certs/ca-certificates.crt ] && install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb "$dir"/var/log/*.log
  # dpkg installed the documentation before the exclusions were read: drop it now.
  find "$dir/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
  rm -rf "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/*
}

# standin NAME: makes the stand-in for the base image NAME and imports it into podman.
standin() {
  local name="$1" dir tar
  command -v debootstrap >/dev/null || die "the base image $name is neither in podman's storage nor pullable from its registry, and debootstrap is missing to make a stand-in from Debian 12: install debootstrap (scripts/setup.sh does it) or give this machine registry access"
  tar="$CACHE/bases/${name//[:\/]/_}.tar"
  mkdir -p "$CACHE/bases"
  if [ ! -s "$tar" ]; then
    dir="$CACHE/bases/${name//[:\/]/_}.rootfs"
    case "$name" in
      debian:12-slim)
        make_rootfs "$dir"
        ;;
      golang:1.26-bookworm)
        [ -x "$GOROOT_HOST/bin/go" ] || die "the base image $name is missing and there is no Go at $GOROOT_HOST to make a stand-in (set GOROOT_HOST)"
        "$GOROOT_HOST/bin/go" version | grep -q ' go1\.26' || die "the stand-in for $name needs Go 1.26 at $GOROOT_HOST; found: $("$GOROOT_HOST/bin/go" version)"
        # What the official image carries for cgo builds.
        make_rootfs "$dir" ca-certificates,gcc,libc6-dev,make,pkg-config,git
        cp -a "$GOROOT_HOST" "$dir/usr/local/go"
        mkdir -p "$dir/go/bin" "$dir/go/src" && chmod -R 1777 "$dir/go"
        ;;
      *) die "no stand-in recipe for $name" ;;
    esac
    tar -C "$dir" --numeric-owner -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$dir" "$dir.log"
  fi
  # This machine's CA bundle as it is now (it may have changed since the tar was made).
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    local ca
    ca="$(mktemp -d)"
    install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$ca/etc/ssl/certs/ca-certificates.crt"
    tar --delete -f "$tar" ./etc/ssl/certs/ca-certificates.crt 2>/dev/null || true
    tar -rf "$tar" -C "$ca" --owner=0 --group=0 --numeric-owner ./etc/ssl/certs/ca-certificates.crt
    rm -rf "$ca"
  fi
  local changes=(--change 'LABEL org.rendercast.standin=true' --change "LABEL org.rendercast.ca=$(ca_sum)")
  case "$name" in
    debian:12-slim) changes+=(--change 'CMD ["bash"]') ;;
    golang:1.26-bookworm)
      # One ENV per --change: podman import keeps a multi-variable ENV as one string.
      changes+=(--change 'ENV GOLANG_VERSION=1.26' --change 'ENV GOTOOLCHAIN=local' --change 'ENV GOPATH=/go'
        --change 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
        --change 'WORKDIR /go')
      ;;
  esac
  say "importing the stand-in for $name"
  "${PODMAN[@]}" import "${changes[@]}" "$tar" "docker.io/library/$name" >/dev/null
}

# ca_sum names this machine's CA bundle; a stand-in made with another one is made again, so
# that the build stage's downloads verify behind this machine's TLS setup.
ca_sum() { { sha256sum /etc/ssl/certs/ca-certificates.crt 2>/dev/null || echo none; } | cut -c1-16; }

for base in $(awk 'toupper($1) == "FROM" && $2 !~ /^(build|\$)/ {print $2}' "$ROOT/docker/Dockerfile" | sort -u); do
  if "${PODMAN[@]}" image exists "$base"; then
    labels="$("${PODMAN[@]}" image inspect --format '{{index .Labels "org.rendercast.standin"}} {{index .Labels "org.rendercast.ca"}}' "$base" 2>/dev/null || true)"
    if [ "${labels%% *}" != true ] || [ "${labels#* }" = "$(ca_sum)" ]; then continue; fi
    say "the stand-in for $base has another CA bundle than this machine: importing it again"
    standin "$base"
    continue
  fi
  if [ "${RENDERCAST_PULL:-}" = never ]; then
    out="RENDERCAST_PULL=never"
  elif out="$(timeout 600 "${PODMAN[@]}" pull -q "docker.io/library/$base" 2>&1)"; then
    say "pulled $base"
    continue
  fi
  say "cannot pull $base (${out##*$'\n'}): making a stand-in"
  standin "$base"
done

# --- build ---
old="$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
iid="$(mktemp)"
trap 'rm -f "$iid"' EXIT
start=$SECONDS
say "building $IMAGE from docker/Dockerfile"
# --format docker keeps HEALTHCHECK; chroot isolation and the host network need no
# container runtime features (crun cannot set rlimits on some machines, which stops podman run).
build=("${PODMAN[@]}" build --format docker --isolation chroot --network host --layers -f "$ROOT/docker/Dockerfile")
# The build stage first, tagged, so that pruning keeps its layers for the next build; the
# image then reuses them.
"${build[@]}" --target build -t rendercast-build:cache "$ROOT" >&2
"${build[@]}" --iidfile "$iid" -t "$IMAGE" "$ROOT" >&2
new="$(cat "$iid")"
new="${new#sha256:}"
say "built $IMAGE ($new) in $((SECONDS - start)) s"
# Layers of earlier builds that nothing uses any more (podman's storage holds whole file
# systems per layer with vfs: gigabytes).
if [ -n "$old" ] && [ "$old" != "$new" ]; then "${PODMAN[@]}" rmi "$old" >/dev/null 2>&1 || true; fi
"${PODMAN[@]}" image prune -f >/dev/null 2>&1 || true
[ -n "${IMAGE_IIDFILE:-}" ] && echo "$new" >"$IMAGE_IIDFILE"
echo "$new"

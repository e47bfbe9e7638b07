#!/usr/bin/env bash
# Installs the Debian 12 packages Rendercast needs, only those missing.
# Idempotent; silent when everything is present. Needs root (or sudo) to install.
set -euo pipefail

PACKAGES=(
  # build
  gcc pkg-config make git ca-certificates
  # FFmpeg: CLI (tests, tools) and development libraries (go-astiav)
  ffmpeg libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
  libswresample-dev libavfilter-dev libavdevice-dev libx264-dev
  # OpenGL headless: EGL (Mesa's device + surfaceless platforms) and software rasteriser
  libegl-dev libegl-mesa0 libgl1-mesa-dri libgles-dev libgl-dev
  # GLFW preview window (go-gl/glfw builds GLFW from source against X11)
  libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev
  # a virtual display for the preview window test
  xvfb xauth
  # real RTMP clients for tests (the compatibility matrix): librtmp's rtmpdump; GStreamer's
  # rtmp2src (bad) with flvdemux (good), h264parse (bad) and avdec_h264 (libav); VLC (its
  # RTMP access and TS muxer are in vlc-plugin-base); python3-librtmp for remote calls
  rtmpdump
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-libav
  vlc-bin vlc-plugin-base
  python3 python3-librtmp
  # an independent RTMP server to publish to (package publish, internal/nginxtest)
  nginx-light libnginx-mod-rtmp
  # the link lab's network namespaces, veth pairs and tbf rate limits (ip, tc)
  iproute2
  # glTF test models (good and broken)
  assimp-testmodels
  # headless browser for the browser viewer test (driven by playwright-core, see web/test)
  chromium
  # the container image, built and run by its test without a Docker engine (scripts/image.sh)
  podman buildah crun debootstrap
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js runs the browser test's driver; Debian's only when there is none (the machines
# may have a newer one from elsewhere).
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

# The tests' npm packages, from the committed lock files, once: the browser test's driver
# (web/test) and the AMF codecs the AMF tests check ours against (rtmpsrv/testdata/amfjs).
npm_deps() {
  local root dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  for dir in web/test rtmpsrv/testdata/amfjs; do
    if [ ! -d "$root/$dir/node_modules" ]; then
      echo "setup: npm ci in $dir" >&2
      (cd "$root/$dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null >/dev/null)
    fi
  done
}

# Helm 3 for the chart's tests (deploy/chartcheck), built once from the Go module proxy into
# $RENDERCAST_BIN (default ~/.cache/rendercast/bin), where the tests look for it; a few
# minutes on 2 cores, then nothing.
HELM_VERSION=v3.21.4
helm_bin() {
  local bin="${RENDERCAST_BIN:-$HOME/.cache/rendercast/bin}" go
  go="$(command -v go || echo /usr/local/go/bin/go)"
  [ -x "$go" ] || { echo "setup: Go is missing (want /usr/local/go/bin/go): cannot build helm" >&2; return 1; }
  # go install stamps the module version in the binary (helm version says only v3.21).
  if [ -x "$bin/helm" ] && "$go" version -m "$bin/helm" 2>/dev/null | grep -Eq "^\s+mod\s+helm.sh/helm/v3\s+$HELM_VERSION\s"; then
    return 0
  fi
  echo "setup: building helm $HELM_VERSION into $bin (once, a few minutes)" >&2
  mkdir -p "$bin"
  GOBIN="$bin" "$go" install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" </dev/null >/dev/null
}

[ ${#missing[@]} -eq 0 ] && { npm_deps; helm_bin; exit 0; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "setup: missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
fi

echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq </dev/null >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
echo "setup: done" >&2
npm_deps
helm_bin

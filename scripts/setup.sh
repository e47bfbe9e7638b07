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
  # real RTMP clients for tests
  rtmpdump
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

# The browser test's npm packages, from the committed lock file, once.
npm_deps() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/web/test"
  if [ ! -d "$dir/node_modules" ]; then
    echo "setup: npm ci in web/test" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null >/dev/null)
  fi
}

[ ${#missing[@]} -eq 0 ] && { npm_deps; exit 0; }

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

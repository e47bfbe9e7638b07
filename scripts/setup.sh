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
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

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

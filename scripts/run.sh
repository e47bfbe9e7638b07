#!/usr/bin/env bash
# Started by `make run`: runs the streamer with its built-in demo scene.
set -euo pipefail
cd "$(dirname "$0")/.."
exec ./bin/streamer "$@"

#!/usr/bin/env bash
# Started by `make run`: runs the streamer with its built-in demo scene on the default ports.
# Extra arguments go to the streamer (e.g. `make run ARGS="-size 640x360"`).
set -euo pipefail
cd "$(dirname "$0")/.."
cat <<'MSG'
Rendercast is starting (RTMP :1935, HTTP :8080).
  watch:        ffplay rtmp://127.0.0.1:1935/live/demo
  steer:        ./bin/streamer call rtmp://127.0.0.1:1935/live/demo camera.orbit dx=30 dy=0
                ./bin/streamer call rtmp://127.0.0.1:1935/live/demo scene.setBackground r=1 g=0 b=0
  status page:  http://127.0.0.1:8080/   metrics: http://127.0.0.1:8080/metrics
  stop:         Ctrl-C
(a call acts on the calling connection's own view: `streamer call` plays the scene itself,
 applies the call and prints the result; an interactive client keeps one connection.)
MSG
exec ./bin/streamer "$@"

#!/usr/bin/env bash
# Soak test (`make soak`): runs the streamer built in bin/ for SOAK_DURATION under steady
# load (viewers playing and sending calls, a churn of short-lived viewers) with attackers
# from other loopback addresses, and fails when memory, goroutines or open files grow beyond
# noise or an honest viewer falls under SOAK_MIN_FPS. Writes soak.csv, soak.png and the
# streamer's log to SOAK_OUT. Not part of `make test`.
#
# The attacks are on by default, at the levels that locked every viewer out before the
# streamer budgeted per source address: 120 RTMP connections from 127.0.0.2 that never
# send a handshake (more than the default -max-conns 100), re-opened as the streamer closes
# them, and 5 WHEP offers a second from 127.0.0.3 that are never connected. A streamer
# without per-address budgets fails this soak; SOAK_ATTACK_RTMP=0 SOAK_ATTACK_WHEP=0 runs
# the honest load alone.
#
# Environment:
#   SOAK_DURATION  default 10m
#   SOAK_VIEWERS   long-lived RTMP viewers, default 4
#   SOAK_WHEP_VIEWERS  long-lived WebRTC (WHEP) viewers, default 1
#   SOAK_MIN_FPS   an honest viewer under this in a sample fails the soak, default 29
#   SOAK_ATTACK_RTMP   handshake-never RTMP connections held from 127.0.0.2, default 120 (0: none)
#   SOAK_ATTACK_WHEP   never-connected WHEP offers a second from 127.0.0.3, default 5 (0: none)
#   SOAK_ATTACK_AFTER  the attacks start this long after the honest viewers, default 5s
#   SOAK_CALLS     calls per second per viewer, default 5
#   SOAK_CHURN     a short-lived viewer connects this often, default 3s
#   SOAK_CHURN_PLAY  how long it plays, default 1s
#   SOAK_INTERVAL  sampling interval, default 5s
#   SOAK_OUT       output directory, default out/soak
#   SOAK_ARGS      streamer flags, default "-size 640x360"
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

mkdir -p bin
go build -tags egl -o bin/streamer ./cmd/streamer
go build -o bin/soak ./cmd/soak
# shellcheck disable=SC2086 # SOAK_ARGS is a list of flags
exec bin/soak -bin bin/streamer \
	-duration "${SOAK_DURATION:-10m}" \
	-viewers "${SOAK_VIEWERS:-4}" \
	-calls "${SOAK_CALLS:-5}" \
	-churn "${SOAK_CHURN:-3s}" \
	-churn-play "${SOAK_CHURN_PLAY:-1s}" \
	-interval "${SOAK_INTERVAL:-5s}" \
	-whep-viewers "${SOAK_WHEP_VIEWERS:-1}" \
	-min-fps "${SOAK_MIN_FPS:-29}" \
	-attack-rtmp "${SOAK_ATTACK_RTMP:-120}" \
	-attack-whep "${SOAK_ATTACK_WHEP:-5}" \
	-attack-after "${SOAK_ATTACK_AFTER:-5s}" \
	-out "${SOAK_OUT:-out/soak}" \
	-- ${SOAK_ARGS:--size 640x360}

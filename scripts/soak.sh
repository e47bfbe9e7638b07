#!/usr/bin/env bash
# Soak test (`make soak`): runs the streamer built in bin/ for SOAK_DURATION under steady
# load (viewers playing and sending calls, a churn of short-lived viewers) and fails when
# memory, goroutines or open files grow beyond noise or a viewer stalls. Writes soak.csv,
# soak.png and the streamer's log to SOAK_OUT. Not part of `make test`.
#
# Environment:
#   SOAK_DURATION  default 10m
#   SOAK_VIEWERS   long-lived viewers, default 4
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
	-out "${SOAK_OUT:-out/soak}" \
	-- ${SOAK_ARGS:--size 640x360}

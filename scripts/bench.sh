#!/usr/bin/env bash
# `make bench`: the end-to-end benchmarks of the streamer (cmd/rtmpbench: time to first frame,
# call-to-frame latency, frame pacing, density, idle connections, and nginx-rtmp + ffmpeg in
# the same run), then a brief run of the Go micro-benchmarks of encode, render and rtmpsrv.
# A table goes to stdout; the output directory gets results.json, report.md (the figures as
# Markdown, for docs/PERFORMANCE.md), the PNG plots and go-bench.txt. Takes under 5 minutes.
#
# Environment:
#   BENCH_OUT    output directory (default out/bench)
#   BENCH_ARGS   extra rtmpbench flags, e.g. "-quick" or "-suites latency,ttff -calls 500"
#   BENCH_DOCS   1: copy the plots into docs/ (what docs/PERFORMANCE.md shows)
#   GOBENCH      0: skip the Go micro-benchmarks; GOBENCHTIME their -benchtime (default 100ms)
#   WAIT_IDLE    1: first wait (up to 40 min, polling every 30 s) for a 1-minute load average
#                below 1.0, so other work on the machine does not skew the figures
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

OUT=${BENCH_OUT:-out/bench}
GOBENCHTIME=${GOBENCHTIME:-100ms}

# nginx with the RTMP module is needed only here (the comparison): installed only when missing.
missing=()
for p in nginx-light libnginx-mod-rtmp; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	echo "bench: installing ${missing[*]} (for the nginx-rtmp comparison)" >&2
	$SUDO apt-get update -qq </dev/null >/dev/null
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi

if [ "${WAIT_IDLE:-0}" = 1 ]; then
	for i in $(seq 80); do
		load=$(cut -d' ' -f1 /proc/loadavg)
		awk -v l="$load" 'BEGIN { exit !(l < 1.0) }' && break
		echo "bench: load average $load, waiting for < 1.0 ($i/80)" >&2
		sleep 30
	done
fi

SECONDS=0
mkdir -p "$OUT"
go build -tags egl -o bin/ ./cmd/streamer ./cmd/rtmpbench
set +e
# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
bin/rtmpbench -streamer bin/streamer -out "$OUT" ${BENCH_ARGS:-} | tee "$OUT/results.txt"
status=${PIPESTATUS[0]}
set -e

if [ "${BENCH_DOCS:-0}" = 1 ]; then
	cp "$OUT"/bench-*.png docs/
	echo "bench: plots copied to docs/" >&2
fi

if [ "${GOBENCH:-1}" != 0 ]; then
	echo
	echo "Go micro-benchmarks (-benchtime $GOBENCHTIME; docs/perf-encode.md and docs/perf-render.md have the full runs):"
	go test -tags egl -run XXX -bench . -benchtime "$GOBENCHTIME" ./encode ./render ./rtmpsrv 2>&1 |
		tee "$OUT/go-bench.txt" | grep -E '^(Benchmark|ok|FAIL|---)' || true
fi
echo
echo "bench: results in $OUT (results.json, report.md, results.txt, plots); ${SECONDS} s"
exit "$status"

#!/usr/bin/env bash
# Call-to-frame latency (rtmpbench, 720p30 by default) with each read-back and conversion
# mode, interleaved over ROUNDS rounds so that load on a shared machine hits every mode
# alike: sync-cpu (software GL's default), pbo-gpu (GPUs' default), pbo-cpu, sync-gpu.
# Prints one line per run and the median of each mode's p50.
#
# Environment: ROUNDS (default 3), CALLS (default 200), SIZE (default 1280x720),
#   MODES (default "sync:cpu pbo:gpu"), EXTRA (more streamer flags, e.g. "-gl-contexts 2").
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
make -s build >/dev/null
ROUNDS=${ROUNDS:-3}; CALLS=${CALLS:-200}; SIZE=${SIZE:-1280x720}
MODES=${MODES:-"sync:cpu pbo:gpu"}
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
for round in $(seq "$ROUNDS"); do
	for m in $MODES; do
		rb=${m%:*}; cv=${m#*:}
		bin/rtmpbench -q -json -suites latency -calls "$CALLS" -size "$SIZE" \
			-streamer-args "-readback $rb -convert $cv ${EXTRA:-}" >"$out/$rb-$cv-$round.json"
		p=$(python3 - "$out/$rb-$cv-$round.json" <<'PY' 2>/dev/null || echo "? ? ?"
import json, sys
l = json.load(open(sys.argv[1]))["latency"]["call_to_frame"]
print("%.1f %.1f %.1f" % (l["p50_ms"], l["p95_ms"], l["p99_ms"]))
PY
)
		echo "round $round $rb-$cv p50/p95/p99 ms: $p (load $(cut -d' ' -f1 /proc/loadavg))"
		echo "$rb-$cv ${p%% *}" >>"$out/p50"
	done
done
python3 - "$out/p50" <<'PY'
import sys, statistics, collections
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m, v = line.split()
    if v != "?": d[m].append(float(v))
for m, v in d.items():
    print(f"{m}: median p50 {statistics.median(v):.1f} ms over {len(v)} runs ({', '.join(f'{x:.1f}' for x in v)})")
PY

#!/usr/bin/env bash
# Encoder benchmark: package encode (go test -bench) beside the ffmpeg CLI doing the same work,
#   ffmpeg -f lavfi -i testsrc2=size=WxH:rate=30 -frames:v N -c:v libx264 -preset ultrafast
#          -tune zerolatency -f null -
# minus the cost of the source alone (the same command without an encoder: -f null wraps the
# raw frames). Both sides encode testsrc2 frames with x264 ultrafast + zerolatency; the Go
# benchmark does not time making the frames.
#
# Runs are interleaved (Go, CLI, source; RUNS times) and the best run of each counts, so a
# shared machine's load hits all sides alike. Prints frames/s, CPU ms per frame and the ratio
# ours/CLI; the target is >= 0.90.
#
# Environment: RUNS (default 3), FRAMES (default 600), SIZES (default "1280x720 1920x1080").
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

RUNS=${RUNS:-3}
FRAMES=${FRAMES:-600}
SIZES=${SIZES:-"1280x720 1920x1080"}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

command -v ffmpeg >/dev/null || { echo "bench-encode: ffmpeg not found (scripts/setup.sh installs it)" >&2; exit 1; }
go test -tags egl -c -o "$tmp/encode.test" ./encode/

bench_name() { # 1280x720 -> 720p
	echo "${1#*x}p"
}

# cli SIZE ARGS...: prints "wall_seconds cpu_seconds" of one ffmpeg run (its -benchmark line).
cli() {
	local size=$1
	shift
	ffmpeg -hide_banner -nostdin -benchmark -f lavfi -i "testsrc2=size=$size:rate=30" \
		-frames:v "$FRAMES" "$@" -f null - 2>&1 |
		awk '/bench: utime=/ {
			for (i = 1; i <= NF; i++) { split($i, kv, "="); sub("s$", "", kv[2]); v[kv[1]] = kv[2] }
			printf "%s %s\n", v["rtime"], v["utime"] + v["stime"]
		}'
}

pattern=""
for size in $SIZES; do
	pattern="$pattern|$(bench_name "$size")"
done
pattern="^BenchmarkEncode/(${pattern#|})\$"

x264=(-c:v libx264 -preset ultrafast -tune zerolatency)
for run in $(seq "$RUNS"); do
	"$tmp/encode.test" -test.run '^$' -test.bench "$pattern" -test.benchtime "${FRAMES}x" >>"$tmp/go.txt"
	for size in $SIZES; do
		cli "$size" "${x264[@]}" >>"$tmp/cli-$size.txt"
		# What package encode does: slice threads (the CLI's default is frame threads).
		cli "$size" "${x264[@]}" -thread_type slice >>"$tmp/slice-$size.txt"
		cli "$size" >>"$tmp/src-$size.txt"
	done
	echo "bench-encode: run $run of $RUNS done" >&2
done

echo "machine: $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}'), $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ffmpeg: $(ffmpeg -hide_banner -version | head -1 | cut -d' ' -f1-3); $FRAMES frames of testsrc2, x264 ultrafast + zerolatency; best of $RUNS"
printf '%-10s %-22s %10s %14s %8s\n' size encoder frames/s cpu-ms/frame ratio
for size in $SIZES; do
	name=$(bench_name "$size")
	# Go: best ns/op and the cpu-ms/frame of that run.
	read -r ours_fps ours_cpu < <(awk -v n="BenchmarkEncode/$name-" 'index($1, n) == 1 {
		for (i = 2; i < NF; i++) { if ($(i+1) == "ns/op") ns = $i; if ($(i+1) == "cpu-ms/frame") cpu = $i }
		if (best == "" || ns < best) { best = ns; bcpu = cpu }
	} END { printf "%.1f %.2f\n", 1e9 / best, bcpu }' "$tmp/go.txt")
	read -r src_wall src_cpu < <(sort -n "$tmp/src-$size.txt" | head -1)
	for kind in cli slice; do
		read -r wall cpu < <(sort -n "$tmp/$kind-$size.txt" | head -1)
		read -r fps cpums ratio < <(awk -v w="$wall" -v c="$cpu" -v sw="$src_wall" -v sc="$src_cpu" -v f="$FRAMES" -v o="$ours_fps" \
			'BEGIN { fps = f / (w - sw); printf "%.1f %.2f %.2f\n", fps, (c - sc) * 1000 / f, o / fps }')
		label="ffmpeg CLI"
		[ "$kind" = slice ] && label="ffmpeg CLI slice thr."
		printf '%-10s %-22s %10s %14s %8s\n' "$size" "$label" "$fps" "$cpums" ""
		[ "$kind" = cli ] && cli_ratio=$ratio
	done
	printf '%-10s %-22s %10s %14s %8s\n' "$size" "encode (Go)" "$ours_fps" "$ours_cpu" "$cli_ratio"
	verdict="meets"
	awk -v r="$cli_ratio" 'BEGIN { exit !(r < 0.90) }' && verdict="BELOW"
	echo "$size: ours/CLI = $cli_ratio ($verdict the 0.90 target)"
done

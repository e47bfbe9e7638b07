#!/usr/bin/env bash
# Runs on a GPU host: unpacks the bundle made by bundle.sh and writes into OUTDIR the render
# tests and benchmarks, a snapshot, and rtmpbench results against a streamer on the GPU.
# Usage: bash DIR/run-checks.sh OUTDIR [quick]
# GL_CONTEXTS (default 0: automatic) is passed to the streamer as -gl-contexts.
set -u
b=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: run-checks.sh OUTDIR [quick]}; mode=${2:-full}
mkdir -p "$out"
exec > >(tee "$out/run-checks.log") 2>&1
date; nproc; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null
r=/tmp/rc-bundle; rm -rf "$r"; mkdir -p "$r" && tar -xJf "$b/rc.tar.xz" -C "$r" || exit 1
for f in /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/share/glvnd/egl_vendor.d/10_nvidia.json /etc/glvnd/egl_vendor.d/10_nvidia.json; do
  [ -f "$f" ] && { export __EGL_VENDOR_LIBRARY_FILENAMES=$f; break; }
done
L="$r/lib:/usr/local/nvidia/lib64:/usr/local/nvidia/lib"
for p in render encode; do mkdir -p "$r/pkg/$p" && ln -sfn "$r/testdata/$p" "$r/pkg/$p/testdata"; done
echo "== render tests"
(cd "$r/pkg/render" && LD_LIBRARY_PATH=$L timeout 120 "$r/render.test" -test.v -test.timeout 110s >"$out/render-tests.log" 2>&1); echo "render tests rc=$?"
grep -E "^(--- FAIL|FAIL|ok|PASS)" "$out/render-tests.log" | head -30
grep -m1 "Renderer:" "$out/render-tests.log" | cut -c1-300
echo "== encode tests"
(cd "$r/pkg/encode" && LD_LIBRARY_PATH=$L timeout 90 "$r/encode.test" -test.timeout 80s >"$out/encode-tests.log" 2>&1); echo "encode tests rc=$?"
grep -E "^(--- FAIL|FAIL|ok|PASS)" "$out/encode-tests.log" | head -10
if [ "$mode" != quick ]; then
  echo "== render benchmarks"
  (cd "$r/pkg/render" && LD_LIBRARY_PATH=$L timeout 100 "$r/render.test" -test.run '^$' -test.bench . -test.benchtime 0.5s -test.timeout 95s >"$out/render-bench.log" 2>&1)
  grep -E "^Benchmark" "$out/render-bench.log" | head -40
fi
LD_LIBRARY_PATH=$L "$r/streamer" snapshot -scene demo -o "$out/gpu-demo.png"; echo "snapshot rc=$?"
bench() { # tag size max-viewers suites timeout
  LD_LIBRARY_PATH=$L "$r/streamer" -listen 127.0.0.1:1935 -http 127.0.0.1:8080 -size "$2" -encoder libx264 -encoder-threads 1 -marker=true -max-conns 1000 -log-format json -gl-contexts "${GL_CONTEXTS:-0}" ${6:-} >"$out/streamer-$1.log" 2>&1 &
  local sp=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:8080/readyz >/dev/null 2>&1 && break; sleep 0.2; done
  curl -s http://127.0.0.1:8080/status.json | tr -d '\n' | grep -o '"glContexts":\[[^]]*\]' | cut -c1-600
  LD_LIBRARY_PATH=$L timeout "$5" "$r/rtmpbench" -url rtmp://127.0.0.1:1935/live/demo -pid $sp -http 127.0.0.1:8080 \
    -suites "$4" -density-motion moving -density-max "$3" -json >"$out/bench-$1.json" 2>"$out/bench-$1.err"
  echo "bench $1 rc=$?"; grep -E "density|call-to-frame|first frame" "$out/bench-$1.err" | tail -16
  kill $sp; wait $sp 2>/dev/null; sleep 1
}
echo "== streamer on the GPU"
if [ "$mode" = quick ]; then
  bench 720 1280x720 64 ttff,latency 90
else
  bench 720 1280x720 200 ttff,latency,pacing,density 200
  bench 720-sync 1280x720 8 latency 40 "-readback sync -convert cpu"
  bench 1080 1920x1080 128 density 100
fi
# the logs go into one archive: fewer files to copy back
(cd "$out" && tar -czf logs.tgz --remove-files streamer-*.log bench-*.err encode-tests.log 2>/dev/null)
ls "$out"; rm -rf "$r"; date

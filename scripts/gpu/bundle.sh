#!/usr/bin/env bash
# Packs streamer, rtmpbench and the render/encode test binaries with every shared library
# they load (glibc and the NVIDIA driver excepted) into DIR/rc.tar.xz, plus run-checks.sh.
# Usage (from the project root): scripts/gpu/bundle.sh DIR   (make gpu-bundle: DIR .gpu)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: bundle.sh DIR}
export PATH=/usr/local/go/bin:$PATH
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -tags egl -trimpath -ldflags "-s -w" -o "$work/" ./cmd/streamer ./cmd/rtmpbench
go test -tags egl -c -o "$work/render.test" ./render
go test -tags egl -c -o "$work/encode.test" ./encode
mkdir -p "$work/testdata/render" "$work/testdata/encode" "$work/lib"
cp -r render/testdata/. "$work/testdata/render/" 2>/dev/null || true
cp -r encode/testdata/. "$work/testdata/encode/" 2>/dev/null || true
# every library the binaries reach, but glibc's own and the C++ runtime (the host has newer ones)
ldd "$work"/streamer "$work"/rtmpbench "$work"/render.test "$work"/encode.test | awk '/=>/ {print $3}' | sort -u |
  while read -r f; do
    case $(basename "$f") in
      libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|ld-linux*|libstdc++*|libgcc_s*) ;;
      *) cp -L "$f" "$work/lib/" ;;
    esac
  done
# large libraries FFmpeg links and Rendercast never calls: stubs with the same symbols
for f in libicudata.so.72 libcodec2.so.1.0 libflite_cmu_us_rms.so.1 libflite_cmu_us_kal16.so.1 \
  libflite_cmu_us_slt.so.1 libflite_cmu_us_awb.so.1 libflite_cmu_us_kal.so.1 liblapack.so.3 \
  libSvtAv1Enc.so.1 libaom.so.3 libplacebo.so.208 librav1e.so.0 libopenmpt.so.0 libx265.so.199 \
  librsvg-2.so.2 libvpx.so.7 libSDL2-2.0.so.0 libdav1d.so.6; do
  [ -f "$work/lib/$f" ] || continue
  python3 "$here/mkstub.py" "$work/lib/$f" "$work/stub-$f" >/dev/null && mv "$work/stub-$f" "$work/lib/$f"
  rm -f "$work/stub-$f.c"
done
# drop what no binary reaches any more (the stubs need nothing)
LD_LIBRARY_PATH="$work/lib" ldd "$work"/streamer "$work"/rtmpbench "$work"/render.test "$work"/encode.test |
  awk '/=>/ {print $3}' | sort -u >"$work/reached"
for f in "$work"/lib/*; do grep -qx "$f" "$work/reached" || rm -f "$f"; done
if LD_LIBRARY_PATH="$work/lib" ldd "$work"/streamer | grep -q "not found"; then
  echo "bundle: a library is missing" >&2; exit 1
fi
mkdir -p "$dir"
tar -C "$work" -cf - lib streamer rtmpbench render.test encode.test testdata | xz -T0 -6 >"$dir/rc.tar.xz"
cp "$here/run-checks.sh" "$dir/"
echo "bundle: $dir/rc.tar.xz $(du -h "$dir/rc.tar.xz" | cut -f1)"

#!/usr/bin/env bash
# Runs Rendercast's native fuzz targets one after another, FUZZTIME each (default 30s), and
# prints a summary: executions and result per target. Not part of `make test` (CI runs each
# target's committed seed corpus in testdata/fuzz as ordinary tests); run it by hand or
# nightly: `make fuzz`, `FUZZTIME=5m make fuzz`, `FUZZ=Chunk make fuzz`.
#
# A failing input is written by Go to <package>/testdata/fuzz/<Target>/<hash>: fix the bug,
# keep the file (it is now a regression test that `go test` runs), commit both.
#
# Environment:
#   FUZZTIME       per-target duration or count (Go's -fuzztime: 30s, 2m, 100000x); default 30s
#   FUZZ           regular expression selecting targets by "package Target"; default all
#   FUZZ_PARALLEL  fuzzing workers (-parallel); default 2
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

FUZZTIME="${FUZZTIME:-30s}"
FILTER="${FUZZ:-.}"
PARALLEL="${FUZZ_PARALLEL:-2}"

# package target: the parsers that see bytes from the network or from files.
TARGETS=(
	"./rtmpsrv FuzzServerHandshake"   # RTMP handshake (C0, C1, C2)
	"./rtmpsrv FuzzChunkReader"       # chunk and message reading (bounded reader)
	"./rtmpsrv FuzzDecodeAMF0"        # AMF0 decoding, checked against gortmplib's; all AMF0 types
	"./rtmpsrv FuzzDecodeAMF3"        # AMF3 values (behind 0x11), round trip through our encoder
	"./rtmpsrv FuzzDecodeCommand"     # commands, AMF0 and AMF3 (type 17)
	"./internal/app FuzzCallArgs"     # call argument decoding
	"./scenes FuzzLoadGLB"            # glTF loader
	"./rtmpclient FuzzDecodeCommand"  # the client's parsers (tools and tests face servers)
	"./rtmpclient FuzzDecodeData"
	"./rtmpclient FuzzDecodeUserControl"
	"./rtmpclient FuzzParseVideoTag"
	"./rtmpclient FuzzParseURL"
	"./avc FuzzParseConfigRecord"     # H.264 helpers
	"./avc FuzzParseSPS"
	"./avc FuzzSplitAVCC"
	"./avc FuzzAnnexBToAVCC"
)

logdir="$(mktemp -d)"
trap 'rm -rf "$logdir"' EXIT
summary=()
failed=0
for entry in "${TARGETS[@]}"; do
	read -r pkg target <<<"$entry"
	[[ "$pkg $target" =~ $FILTER ]] || continue
	log="$logdir/${pkg//\//_}_$target.log"
	echo "== $pkg $target ($FUZZTIME)"
	if go test -tags egl -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -parallel "$PARALLEL" "$pkg" >"$log" 2>&1; then
		result=ok
	else
		result=FAIL
		failed=1
		grep -E "Failing input written|--- FAIL|panic:|Error" "$log" | head -20 || true
	fi
	execs="$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | awk '{print $2}' || true)"
	if [[ "$result" == FAIL && -z "$execs" ]]; then
		tail -20 "$log" # no fuzzing happened: a build failure, say
	fi
	summary+=("$(printf '%-14s %-24s %12s  %s' "$pkg" "$target" "${execs:-?}" "$result")")
done

echo
printf '%-14s %-24s %12s  %s\n' package target execs result
printf '%s\n' "${summary[@]}"
if ((failed)); then
	echo "fuzzing found failures: see the inputs written under */testdata/fuzz/ (git status)"
	exit 1
fi

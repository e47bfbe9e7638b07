#!/usr/bin/env bash
# The link lab by hand (the same layout as internal/linklab, docs/PERFORMANCE.md "Link lab"):
# a server namespace rclab-sh-s joined to viewer namespaces rclab-sh-c1.. by veth pairs, each
# with a token-bucket limit (tc tbf) on the server-to-viewer direction. Needs root and iproute2.
#
#   scripts/linklab.sh up [RATE_KBIT...]   # default: 1000 2000 5000 0 (0: unthrottled)
#   scripts/linklab.sh down
#   scripts/linklab.sh status
#
# Link i: server 10.213.i.1/24 (device l<i> in rclab-sh-s), viewer 10.213.i.2/24 (device v0
# in rclab-sh-c<i>, default route via the server). Nothing changes in the root namespace.
# Then, e.g.:
#   ip netns exec rclab-sh-s bin/streamer -listen 0.0.0.0:1935 -http 0.0.0.0:8080 -animate on -marker
#   ip netns exec rclab-sh-c2 ffmpeg -i rtmp://10.213.2.1:1935/live/demo -c copy -t 25 /tmp/2M.flv
set -euo pipefail

NAME=rclab-sh
# burst: 20 ms at the rate, at least 3 full frames; latency (queue) 100 ms.
LATENCY=100ms

down() {
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep "^$NAME-" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns"
  done
}

up() {
  [ "$(id -u)" -eq 0 ] || { echo "linklab: needs root" >&2; exit 1; }
  command -v tc >/dev/null || { echo "linklab: tc missing: apt-get install iproute2" >&2; exit 1; }
  down
  local rates=("$@") i=0 rate burst
  [ ${#rates[@]} -gt 0 ] || rates=(1000 2000 5000 0)
  ip netns add "$NAME-s"
  ip -n "$NAME-s" link set lo up
  for rate in "${rates[@]}"; do
    i=$((i + 1))
    local c="$NAME-c$i"
    ip netns add "$c"
    ip -n "$c" link set lo up
    ip -n "$NAME-s" link add "l$i" type veth peer name v0 netns "$c"
    ip -n "$NAME-s" addr add "10.213.$i.1/24" dev "l$i"
    ip -n "$c" addr add "10.213.$i.2/24" dev v0
    ip -n "$NAME-s" link set "l$i" up
    ip -n "$c" link set v0 up
    ip -n "$c" route add default via "10.213.$i.1"
    if [ "$rate" -gt 0 ]; then
      burst=$((rate * 1000 / 8 / 50))
      [ "$burst" -ge 4542 ] || burst=4542
      tc -n "$NAME-s" qdisc add dev "l$i" root tbf rate "${rate}kbit" burst "$burst" latency "$LATENCY"
    fi
    echo "$c: 10.213.$i.2 -> server 10.213.$i.1, $([ "$rate" -gt 0 ] && echo "${rate} kbit/s (burst $burst B, latency $LATENCY)" || echo unthrottled)"
  done
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  status)
    ip netns list | grep "^$NAME-" || echo "no lab"
    ip netns list | grep -q "^$NAME-s" && tc -n "$NAME-s" qdisc show | grep tbf || true
    ;;
  *) echo "usage: $0 up [RATE_KBIT...] | down | status" >&2; exit 2 ;;
esac

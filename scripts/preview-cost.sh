#!/usr/bin/env bash
# What watching the console costs the stream: the same show streamed twice for SECONDS
# (default 60), once with nobody looking and once with a console's worth of requests
# (/preview.jpg and /status every second, as the page makes them), and a third time with
# as many requests but none for the picture (what the requests themselves cost). Prints, for both runs,
# repeated frames over the whole run and after the first 10 s (start-up repeats a few
# frames whoever looks), rendered fps and the process's CPU time.
#
#   scripts/preview-cost.sh [SECONDS] [SHOW] [--size WxH]
# Default show: the test catalog on the colour-panel scene (tests/fixtures/shop.toml),
# which holds real time on two cores, so any repeated frame is the console's doing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo build --release --locked --quiet
SECONDS_RUN="${1:-60}"
WORK="$(mktemp -d -t twincast-preview-cost-XXXX)"
trap 'rm -rf "$WORK"' EXIT
if [ -n "${2:-}" ]; then SHOW="$2"; else
  sed "s|scene = \"colour_panels.ron\"|scene = \"$PWD/tests/fixtures/colour_panels.ron\"|" \
    tests/fixtures/shop.toml > "$WORK/shop.toml"
  SHOW="$WORK/shop.toml"
fi
shift $(( $# > 2 ? 2 : $# )) || true

run() { # $1: label, $2: 1 to poll like a console; the rest: stream's options
  local label="$1" poll="$2"; shift 2
  local port; port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  TWINCAST_API_TOKEN=t "$TWINCAST_BIN" stream "$SHOW" --seconds "$SECONDS_RUN" \
    --api "127.0.0.1:$port" -o null "$@" 2> "$WORK/$label.log" &
  local pid=$!
  until curl -s -o /dev/null "127.0.0.1:$port/health"; do sleep 0.2; done
  local pictures=0 status='{}'
  while kill -0 $pid 2>/dev/null; do
    if [ "$poll" = 1 ]; then
      curl -s -o "$WORK/p.jpg" -H 'Authorization: Bearer t' "127.0.0.1:$port/preview.jpg" \
        && pictures=$((pictures + 1)) || true
    elif [ "$poll" = 2 ]; then # the same number of requests, without the picture
      curl -s -o /dev/null "127.0.0.1:$port/health" || true
    fi
    status="$(curl -s -H 'Authorization: Bearer t' "127.0.0.1:$port/status" || echo "$status")"
    [ -n "$status" ] && echo "$status" > "$WORK/$label.status"
    [ -e "$WORK/$label.first" ] || python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])).get("media_seconds", 0) < 10)' \
      "$WORK/$label.status" 2>/dev/null && cp -n "$WORK/$label.status" "$WORK/$label.first" || true
    ticks="$(awk '{print $14 + $15}' /proc/$pid/stat 2>/dev/null || echo "${ticks:-0}")"
    sleep 1
  done
  wait $pid || true
  python3 - "$label" "$WORK/$label.status" "$WORK/$label.first" "$ticks" "$pictures" "$SECONDS_RUN" <<'PY'
import json, os, sys
label, path, first, ticks, pictures, seconds = sys.argv[1:]
s, f = json.load(open(path)), json.load(open(first))
cpu = int(ticks) / os.sysconf("SC_CLK_TCK")
steady = s['frames'] - f['frames']
print(f"{label:>26}: {s['frames']} frames, {s['repeated_frames']} repeated "
      f"({s['repeated_frames'] - f['repeated_frames']} of the {steady} after {f['media_seconds']:.0f} s), "
      f"rendered {s['rendered_frames'] / float(seconds):.1f} fps, CPU {cpu:.1f} s "
      f"({100 * cpu / float(seconds):.0f} %), {pictures} preview pictures")
PY
}

echo "preview cost, $(date -u +%F), $(nproc) cores, ${SECONDS_RUN} s of $SHOW $*"
run "nobody looking" 0 "$@"
run "console open" 1 "$@"
run "same requests, no picture" 2 "$@"

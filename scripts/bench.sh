#!/usr/bin/env bash
# Prints speed and memory figures for 720p30 and 1080p30 on this machine:
#   render-only fps (render + readback, no encode) of a held shot, of a camera move
#   (`--glide`) and of the close-up (`--camera closeup`), encode-only fps (our encoder on
#   raw frames), the ffmpeg command line on the same raw frames with the same settings,
#   end-to-end real-time factor of `twincast render`, and peak RSS (each render next to
#   the same drawn every frame in full: `--no-held-shots`, `render --reference`); and
#   speech synthesis real-time factor per engine and the mixer's cost per second of
#   audio; BVH parse speed and per-frame pose costs.
# Figures, not pass/fail. FRAMES (default 90) and E2E_SECONDS (default 10) size the runs;
# ROUNDS (default 1) repeats each render-only pair.
#
#   scripts/bench.sh --shows N   instead: N `stream`s of the demo at once for SHOW_SECONDS
#                                (60) at SIZE (1280x720), each to a null output, and how
#                                many held real time (under 2 % of frames repeated), next
#                                to N ffmpeg CLI runs making and encoding 2D test video in
#                                real time (what a compositor like OBS costs)
#   scripts/bench.sh --programs  instead: the cost of a second program (a second language
#                                on the same picture; the vertical one) relative to one
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null
source scripts/env.sh
cargo build --release --locked --quiet
# What else is busy: figures taken beside other work are low (stray browsers left by a test
# once cost a fifth of a held frame's speed here).
echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) =="
# (CPU per program name, averaged over each process's life, all its processes summed.)
ps -eo pcpu=,comm= | awk '{ cpu[$2] += $1; n[$2]++ }
  END { for (c in cpu) if (cpu[c] >= 5) printf "  busy beside the bench: %s, %d processes, %.0f%% CPU\n", c, n[c], cpu[c] }'

if [ "${1:-}" = "--shows" ]; then
  exec bash scripts/bench-shows.sh "${2:?--shows takes a number}"
fi
if [ "${1:-}" = "--programs" ]; then
  exec bash scripts/bench-programs.sh
fi

FRAMES="${FRAMES:-90}"
ROUNDS="${ROUNDS:-1}"
SECONDS_E2E="${E2E_SECONDS:-10}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
source scripts/bench-common.sh

echo "== motion capture =="
"$TWINCAST_BIN" bench mocap 2>/dev/null

echo "== speech synthesis and mixer =="
"$TWINCAST_BIN" bench voice 2>/dev/null
"$TWINCAST_BIN" bench voice --voice cmn 2>/dev/null | head -1
"$TWINCAST_BIN" bench voice --engine "command:espeak-ng -v {voice} -w {output} --stdin" --voice en 2>/dev/null | head -1
# The HTTP engine against the test suite's local OpenAI-style server (espeak-ng behind HTTP).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 tests/fixtures/tts_server.py "$port" & tts_pid=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
"$TWINCAST_BIN" bench voice --engine "http:http://127.0.0.1:$port/v1/audio/speech" --voice en 2>/dev/null | head -1
kill "$tts_pid" 2>/dev/null || true

for spec in "1280x720 2500" "1920x1080 4500"; do
  set -- $spec
  size=$1; kbps=$2
  echo "== $size @ 30 fps, libx264 veryfast, ${kbps} kb/s CBR =="
  # ROUNDS pairs, each held-shots run next to its reference (every frame drawn in full,
  # same settings otherwise): a shared machine's speed can swing by tens of percent
  # within minutes, so compare within a pair and look at the spread.
  for round in $(seq "$ROUNDS"); do
    "$TWINCAST_BIN" bench render --size "$size" --frames "$FRAMES" --raw "$work/frames.rgba" |
      sed "1s/^/round=$round /"
    "$TWINCAST_BIN" bench render --size "$size" --frames "$FRAMES" --no-held-shots |
      head -1 | sed "s/^/round=$round /"
    # The show's first camera move: drawn smaller (`render.glide_scale`), and in full.
    "$TWINCAST_BIN" bench render --size "$size" --frames "$FRAMES" --glide |
      head -1 | sed "s/^/round=$round /"
    "$TWINCAST_BIN" bench render --size "$size" --frames "$FRAMES" --glide --no-held-shots |
      head -1 | sed "s/^/round=$round /"
    # The demo's close-up, where she fills a third of the picture: drawn with fewer pixels
    # (`render.host_pixels`), and in full.
    "$TWINCAST_BIN" bench render --size "$size" --frames "$FRAMES" --camera closeup |
      head -1 | sed "s/^/round=$round /"
    "$TWINCAST_BIN" bench render --size "$size" --frames "$FRAMES" --camera closeup \
      --no-held-shots | head -1 | sed "s/^/round=$round /"
  done
  "$TWINCAST_BIN" bench encode --size "$size" --bitrate "$kbps" --raw "$work/frames.rgba"
  cli_encode "$size" "$kbps" "$FRAMES" "$work/frames.rgba"
  rm -f "$work/frames.rgba"
  end_to_end "$size" "$kbps" "$SECONDS_E2E"
done

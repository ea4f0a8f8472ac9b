#!/usr/bin/env bash
# The GPU figures, on a machine with one: builds, prints the Vulkan adapter twincast
# renders on, runs `bench render` (a held shot, the same drawn in full, and a glide),
# `bench encode` next to the ffmpeg CLI, and 10 s of `render` next to `render --reference`
# at 720p and 1080p, and N shows at once for 60 s (`scripts/bench.sh --shows N`, for each
# N in SHOWS, default 8), and writes what it printed to out/gpu-check-<date>.txt for the
# README, the runs' stderr beside it. SINGLE=0 runs only the shows (with LOGS=DIR and
# STATUS_EVERY=S passed on to bench-shows.sh, SHOW_SECONDS for their length). On a
# machine without a GPU it runs the same on lavapipe and says so.
#
#   scripts/gpu-check.sh            # SHOWS=8 FRAMES=300 by default
#   SHOWS="8 16" scripts/gpu-check.sh   # 8 shows at once, then 16
#   scripts/gpu-check.sh --bundle twincast-bundle.tar.xz   # no toolchain there: see
#                                                          # scripts/gpu-bundle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--bundle" ]; then
  source scripts/bundle-env.sh "${2:?--bundle takes the file scripts/gpu-bundle.sh wrote}"
  source scripts/env.sh
else
  bash scripts/install-deps.sh >/dev/null
  source scripts/env.sh
  cargo build --release --locked --quiet
fi

SHOWS="${SHOWS:-8}"
FRAMES="${FRAMES:-300}"
mkdir -p out
report="out/gpu-check-$(date -u +%Y%m%dT%H%MZ).txt"
log="${report%.txt}.log" # what the runs wrote to stderr, for when one fails
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
source scripts/bench-common.sh

{
  set +e # one run failing leaves the others' figures
  echo "== machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(date -u +%Y-%m-%dT%H:%MZ)"
  lscpu 2> /dev/null | grep -E '^(Model name|Thread\(s\) per core|Core\(s\) per socket|Socket\(s\))'
  if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_mode,clocks.max.sm --format=csv,noheader
  fi
  if command -v vulkaninfo > /dev/null; then
    vulkaninfo --summary 2> /dev/null | grep -E 'deviceName|driverName|apiVersion' || true
  fi
  for spec in "1280x720 2500" "1920x1080 4500"; do
    [ "${SINGLE:-1}" = 0 ] && break
    set -- $spec
    echo "== $1 @ 30 fps =="
    "$TWINCAST_BIN" bench render --size "$1" --frames "$FRAMES" --raw "$work/frames.rgba" 2>> "$log"
    "$TWINCAST_BIN" bench render --size "$1" --frames "$FRAMES" --no-held-shots 2>> "$log"
    # A camera move (on a GPU `auto` draws glides at full size).
    "$TWINCAST_BIN" bench render --size "$1" --frames "$FRAMES" --glide 2>> "$log"
    "$TWINCAST_BIN" bench encode --size "$1" --bitrate "$2" --raw "$work/frames.rgba" 2>> "$log"
    cli_encode "$1" "$2" "$FRAMES" "$work/frames.rgba" 2>> "$log"
    rm -f "$work/frames.rgba"
    end_to_end "$1" "$2" "${E2E_SECONDS:-10}"
  done
  if "$TWINCAST_BIN" bench render --size 64x36 --frames 1 2> /dev/null | grep -q 'llvmpipe'; then
    echo "NOTE: rendered on lavapipe (llvmpipe): no GPU was used"
  fi
  for n in $SHOWS; do bash scripts/bench-shows.sh "$n"; done
} 2>&1 | tee "$report"
echo "written to $report (the runs' own logs: $log)" >&2

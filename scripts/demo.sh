#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install what is missing, build, and run the
# built-in demo show. With an RTMP URL it goes live there; without, it records to
# out/demo.flv. Extra arguments go to `twincast stream`.
#
#   scripts/demo.sh                                  # 20 s recording to out/demo.flv
#   scripts/demo.sh --seconds 60                     # a minute
#   scripts/demo.sh --output rtmp://host/app/KEY     # live until Ctrl-C
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
source scripts/env.sh

echo "demo: building (the first build compiles Bevy and takes a while)"
cargo build --release --locked

args=("$@")
has_output=0; has_seconds=0
for a in "${args[@]}"; do
  case "$a" in --output|-o|--output=*) has_output=1 ;; --seconds|--seconds=*) has_seconds=1 ;; esac
done
if [ $has_output -eq 0 ] && [ $has_seconds -eq 0 ]; then
  args+=(--seconds 20)
fi

"$TWINCAST_BIN" stream "${args[@]}"
if [ $has_output -eq 0 ]; then
  echo "demo: recording written to $(pwd)/out/demo.flv"
fi

#!/usr/bin/env bash
# A designer iterating on the presenter's avatar: streams the robot alone before black and
# saves her avatar file TIMES times, 4 s apart, alternately as the VRM human and as the
# robot (each save loads a new version of the file and puts her on stage from it). Prints
# the process's RSS after each save, then the slowest frames and the median frame from the
# stream's telemetry, and how many saves were put on stage.
#
#   scripts/resave.sh 20
set -euo pipefail
cd "$(dirname "$0")/.."
TIMES="${1:-20}"
source scripts/env.sh
BIN="${TWINCAST_BIN:-${CARGO_TARGET_DIR:-target}/release/twincast}"
[ -x "$BIN" ] || cargo build --release --locked --quiet
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
WORK="$(mktemp -d -t twincast-resave-XXXX)"
REPO="$PWD"
ROBOT="$REPO/assets/avatars/RobotExpressive.glb"
HUMAN="$REPO/tests/fixtures/human.vrm"
cp "$ROBOT" "$WORK/her.glb"
sed -e "s#../../assets/avatars/RobotExpressive.glb#her.glb#" -e "s#../../assets/#$REPO/assets/#" \
    -e 's#    shapes: \[.*#    environment: (clear_color: "\#000000", ambient_brightness: 500.0),#' \
    tests/fixtures/mocap_scene.ron > "$WORK/alone.ron"
sed "s/mocap_scene.ron/alone.ron/" tests/fixtures/mocap.toml > "$WORK/alone.toml"
"$BIN" stream "$WORK/alone.toml" --seconds $((10 + 4 * TIMES + 6)) --output "$WORK/out.mkv" \
    --telemetry "$WORK/frames.jsonl" 2> "$WORK/stream.log" &
PID=$!
sleep 10
echo "save,rss_mib"
for i in $(seq 1 "$TIMES"); do
    if (( i % 2 )); then cp "$HUMAN" "$WORK/her.glb"; else cp "$ROBOT" "$WORK/her.glb"; fi
    sleep 4
    echo "$i,$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$PID/status")"
done
wait "$PID"
python3 - "$WORK/frames.jsonl" <<'PY'
import json, statistics, sys
ms = [f["frame_ms"] for f in map(json.loads, open(sys.argv[1])) if f.get("frame_ms")]
print("slowest frames (ms):", ", ".join(f"{m:.1f}" for m in sorted(ms)[-5:]))
print(f"median frame (ms): {statistics.median(ms):.1f}")
PY
echo "put on stage again: $(grep -c 'on stage again from her files' "$WORK/stream.log") of $TIMES saves"
echo "log and recording in $WORK"

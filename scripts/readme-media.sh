#!/usr/bin/env bash
# The README's pictures, made from real renders of the current code, so they stay true when
# the look changes:
#   docs/media/wide.jpg       the demo's opening: wide shot, graphics, the banner, the twin screens
#   docs/media/product.jpg    the cake pitch: the product camera and the product card
#   docs/media/flash-sale.jpg the flash sale: countdown card and captions
#   docs/media/speaking.gif   the host speaking, three seconds
#   docs/media/night-zh.jpg   the same show at 03:00, in its Chinese slot
#   docs/media/vr360.jpg      one equirectangular frame of the 360° video
#   docs/media/preview.jpg    `twincast preview` in a window (on a virtual display)
#   docs/media/editor.jpg     `twincast edit` with the cake selected
#   docs/media/console-desktop.jpg, console-phone.jpg  the operator console in Chromium,
#                             steering a running demo stream
#   docs/media/clips.jpg      `twincast clips` on the vertical program: a still of each clip
#   docs/media/clips.txt      that batch's summary table and speed
#   docs/media/programs.jpg   three programs of one world at once during the first pitch:
#                             English, Chinese on the same picture, the vertical Chinese one
#   docs/media/human.jpg      the demo with the generated VRM human as its host: the
#                             opening's wide shot, and its close-up mid-beat
# Moments are found in the audit log (when each segment's first line went on air), not by
# fixed times, so a longer line does not make a picture of the wrong segment.
#
#   scripts/readme-media.sh                 # all of them: about 25 minutes on two CPU cores
#   scripts/readme-media.sh night windows   # some: day, night, vr, windows, console, clips,
#                                           # programs, human
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null
source scripts/env.sh
cargo build --release --locked --quiet

OUT=docs/media
WORK="$(mktemp -d -t twincast-media-XXXX)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
SIZE=960x540

# The demo show, recording what it says (and when) beside the video.
show_copy() { # $1: name; writes $WORK/$1.toml: the demo, its audit log in $WORK
  sed -e "s|\"\\.\\./|\"$PWD/assets/|g" \
      -e "s|^\\[compliance\\]\$|[compliance]\\naudit_log = \"$WORK/$1.said.jsonl\"|" \
      assets/shows/demo.toml > "$WORK/$1.toml"
}

# Media time (s) at which segment KIND's first line went on air, plus OFFSET.
moment() { # $1: audit log, $2: kind, $3: offset
  python3 - "$@" <<'PY'
import json, sys
log, kind, offset = sys.argv[1], sys.argv[2], float(sys.argv[3])
for line in open(log):
    said = json.loads(line)
    if said.get("segment") == kind:
        print("%.2f" % (said["media"] + offset))
        break
else:
    sys.exit("no %s segment in %s" % (kind, log))
PY
}

render_demo() { # $1: name, $2: seconds, $3: --clock; the demo to $WORK/$1.mkv
  show_copy "$1"
  "$TWINCAST_BIN" render "$WORK/$1.toml" --size "$SIZE" --seconds "$2" --clock "$3" \
    -o "$WORK/$1.mkv" > /dev/null
}

still() { # $1: video, $2: seconds, $3: jpg
  ffmpeg -v error -y -ss "$2" -i "$1" -frames:v 1 -update 1 -q:v 3 "$3"
}

wanted() { [ "$PARTS" = "" ] || [[ " $PARTS " == *" $1 "* ]]; }
PARTS="$*"

if wanted day; then
echo "rendering the demo (${SIZE}, 45 s of show)..." >&2
render_demo day 45 12:00
still "$WORK/day.mkv" "$(moment "$WORK/day.said.jsonl" opening 4)" "$OUT/wide.jpg"
still "$WORK/day.mkv" "$(moment "$WORK/day.said.jsonl" pitch 4)" "$OUT/product.jpg"
still "$WORK/day.mkv" "$(moment "$WORK/day.said.jsonl" flash_sale 3)" "$OUT/flash-sale.jpg"
# The close-up of the opening: the host speaking.
START="$(moment "$WORK/day.said.jsonl" opening 9)"
ffmpeg -v error -y -ss "$START" -t 3 -i "$WORK/day.mkv" \
  -vf "fps=12,scale=480:-2:flags=lanczos,split[a][b];[a]palettegen=max_colors=96[p];[b][p]paletteuse=dither=bayer" \
  "$OUT/speaking.gif"
fi

if wanted night; then
echo "rendering the night slot..." >&2
render_demo night 8 03:00
still "$WORK/night.mkv" "$(moment "$WORK/night.said.jsonl" opening 4)" "$OUT/night-zh.jpg"
fi

if wanted vr; then
echo "rendering a 360° frame..." >&2
cat > "$WORK/vr.toml" <<TOML
scene = "$PWD/assets/scenes/showroom.ron"
camera = "closeup"
[video]
width = 1536
height = 768
fps = 10
[render]
vr360 = true
TOML
"$TWINCAST_BIN" render "$WORK/vr.toml" --seconds 0.3 -o "$WORK/vr.mkv" > /dev/null
still "$WORK/vr.mkv" 0.2 "$OUT/vr360.jpg"
fi

if wanted windows; then
echo "opening the preview and the editor on a virtual display..." >&2
window() { # $1: command, $2: file, $3: script lines, $4: jpg
  printf "$3\nscreenshot %s\nquit\n" "$WORK/shot.ppm" > "$WORK/commands.txt"
  xvfb-run -a -s "-screen 0 1280x800x24" "$TWINCAST_BIN" "$1" "$2" --size 960x540 \
    --commands "$WORK/commands.txt" > /dev/null 2> "$WORK/window.log" \
    || { cat "$WORK/window.log" >&2; exit 1; }
  ffmpeg -v error -y -i "$WORK/shot.ppm" -q:v 3 "$4"
}
window preview assets/shows/demo.toml "wait 12\nkey Digit3\nwait 4" "$OUT/preview.jpg"
cp assets/scenes/showroom.ron "$WORK/showroom.ron"
sed -i "s|\"\\.\\./|\"$PWD/assets/|g" "$WORK/showroom.ron"
window edit "$WORK/showroom.ron" "wait 12\nselect cake\nwait 3" "$OUT/editor.jpg"
fi

if wanted console; then
echo "steering a live demo from the console in Chromium..." >&2
show_copy console
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
TWINCAST_API_TOKEN=readme "$TWINCAST_BIN" stream "$WORK/console.toml" --size "$SIZE" \
  --seconds 240 --api "127.0.0.1:$PORT" -o null 2> "$WORK/console.log" &
STREAM=$!
python3 scripts/console-shots.py "127.0.0.1:$PORT" readme "$WORK" \
  || { kill $STREAM; tail -20 "$WORK/console.log" >&2; exit 1; }
kill $STREAM; wait $STREAM || true
for shot in console-desktop console-phone; do
  ffmpeg -v error -y -i "$WORK/$shot.png" -q:v 3 "$OUT/$shot.jpg"
done
fi

if wanted clips; then
echo "making the demo's short videos (vertical, both languages)..." >&2
"$TWINCAST_BIN" clips --program vertical --size 360x640 --languages zh,en \
  --seconds 10..30 -o "$WORK/clips" > "$OUT/clips.txt"
# The product's close-up, 6 s in, of each clip, side by side.
inputs=() ; n=0
for clip in cake-zh cake-en speeder-zh speeder-en; do
  still "$WORK/clips/$clip.mp4" 6 "$WORK/$clip.jpg"
  inputs+=(-i "$WORK/$clip.jpg"); n=$((n + 1))
done
ffmpeg -v error -y "${inputs[@]}" -filter_complex "hstack=inputs=$n" -q:v 3 "$OUT/clips.jpg"
fi

if wanted programs; then
echo "rendering the demo's three programs at once (rendered at half size)..." >&2
show_copy programs
"$TWINCAST_BIN" render "$WORK/programs.toml" --render-scale 0.5 --seconds 30 --clock 12:00 \
  -o "$WORK/programs-en.mp4" --program-output "chinese=$WORK/programs-zh.mp4" \
  --program-output "vertical=$WORK/programs-vertical.mp4" > /dev/null
at="$(moment "$WORK/programs.said.jsonl" pitch 4)"
for program in en zh vertical; do
  still "$WORK/programs-$program.mp4" "$at" "$WORK/programs-$program.jpg"
done
ffmpeg -v error -y -i "$WORK/programs-en.jpg" -i "$WORK/programs-zh.jpg" \
  -i "$WORK/programs-vertical.jpg" -filter_complex \
  "[0]scale=640:360[a];[1]scale=640:360[b];[a][b]vstack[l];[2]scale=-2:720[r];[l][r]hstack" \
  -q:v 3 "$OUT/programs.jpg"
fi

if wanted human; then
echo "rendering the demo with the generated VRM human as its host..." >&2
show_copy human
# The showroom with its presenter block swapped for the human (no clips of her own: she
# stands relaxed, and the demo's BVH clips are retargeted onto her), and the close-up
# framed for her height (the robot's is shorter).
sed -e "s|\"\\.\\./|\"$PWD/assets/|g" \
    -e "s|\"$PWD/assets/avatars/RobotExpressive.glb\"|\"$PWD/tests/fixtures/human.vrm\"|" \
    -e 's|idle: "Idle",||' \
    -e 's|scale: (0.3, 0.3, 0.3)|scale: (0.95, 0.95, 0.95)|' \
    -e 's|(name: "closeup", position: ([^)]*), look_at: ([^)]*)|(name: "closeup", position: (-0.55, 1.45, 2.9), look_at: (-0.9, 1.15, 1.1)|' \
    assets/scenes/showroom.ron > "$WORK/human.ron"
sed -i "s|^scene = .*|scene = \"$WORK/human.ron\"|" "$WORK/human.toml"
"$TWINCAST_BIN" render "$WORK/human.toml" --size "$SIZE" --seconds 20 --clock 12:00 \
  -o "$WORK/human.mkv" --telemetry "$WORK/human.jsonl" > /dev/null
# The opening's wide shot, and its close-up (held from 11 s: 8 s wide, a 3 s move) at the
# moment her hands are highest in a beat (read from the telemetry), side by side.
at="$(moment "$WORK/human.said.jsonl" opening 4)"
beat="$(python3 - "$WORK/human.jsonl" "$(moment "$WORK/human.said.jsonl" opening 11.2)" \
  "$WORK/human.said.jsonl" <<'PY'
import json, sys
start = float(sys.argv[2])
# Until the pitch cuts away (when its first line starts), at most 2.5 s.
end = min([start + 2.5] + [json.loads(l)["media"] - 0.2 for l in open(sys.argv[3])
                           if json.loads(l).get("segment") == "pitch"])
best = max((json.loads(l) for l in open(sys.argv[1])),
           key=lambda f: -1e9 if not start <= f["time"] <= end else
           max(f["pose"]["leftHand"][1], f["pose"]["rightHand"][1]))
print("%.3f" % best["time"])
PY
)"
still "$WORK/human.mkv" "$at" "$WORK/human-a.jpg"
still "$WORK/human.mkv" "$beat" "$WORK/human-b.jpg"
ffmpeg -v error -y -i "$WORK/human-a.jpg" -i "$WORK/human-b.jpg" \
  -filter_complex "[0][1]hstack" -q:v 3 "$OUT/human.jpg"
fi

ls -l "$OUT" >&2

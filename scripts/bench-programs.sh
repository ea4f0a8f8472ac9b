#!/usr/bin/env bash
# The cost of a second program (run by `scripts/bench.sh --programs`): the demo rendered
# for PROGRAM_SECONDS (default 6) of media at its own size, alone; with a second language
# on the same picture (`chinese`: the 3D drawn once, composed under each program's
# graphics); and with the vertical program (a camera and a picture of its own). Each line
# gives wall and CPU seconds and the ratio to the program alone; the reference line is
# two separate renders one after the other, what a second program costs without sharing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
seconds="${PROGRAM_SECONDS:-6}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
show=assets/shows/demo.toml

# Runs twincast render with the given extra arguments; prints "wall cpu".
measure() {
  local TIMEFORMAT="%R %U %S" out
  out=$( { time "$TWINCAST_BIN" render "$show" --seconds "$seconds" -o "$work/main.mp4" "$@" \
    >/dev/null 2>"$work/log"; } 2>&1 ) || { cat "$work/log" >&2; exit 1; }
  tail -1 <<<"$out" | awk '{ printf "%.1f %.1f", $1, $2 + $3 }'
  rm -f "$work"/*.mp4
}

echo "== second program: demo, ${seconds} s of media, $(nproc) cores =="
read -r wall1 cpu1 <<<"$(measure)"
printf "one_program wall_seconds=%s cpu_seconds=%s ratio=1.00\n" "$wall1" "$cpu1"
report() {
  awk -v n="$1" -v w="$2" -v c="$3" -v w1="$wall1" -v c1="$cpu1" \
    'BEGIN { printf "%s wall_seconds=%.1f cpu_seconds=%.1f ratio=%.2f cpu_ratio=%.2f\n", n, w, c, w/w1, c/c1 }'
}
read -r wall cpu <<<"$(measure --program-output "chinese=$work/chinese.mp4")"
report second_language_same_picture "$wall" "$cpu"
read -r wall cpu <<<"$(measure --program-output "vertical=$work/vertical.mp4")"
report vertical_own_camera "$wall" "$cpu"
read -r walla cpua <<<"$(measure)"
read -r wallb cpub <<<"$(measure --program chinese)"
report reference_two_separate_renders "$(awk -v a="$walla" -v b="$wallb" 'BEGIN{print a+b}')" \
  "$(awk -v a="$cpua" -v b="$cpub" 'BEGIN{print a+b}')"

#!/usr/bin/env bash
# Several shows on one machine: N `twincast stream`s of the demo at once, each paced to the
# wall clock for SHOW_SECONDS (60) at SIZE (1280x720) to a null output, and how many held
# real time (fewer than 2 % of their frames repeated because rendering fell behind), and
# how many cores each kept busy, and how busy the machine's cores and GPU (nvidia-smi) were
# meanwhile. Next to them, as a reference, N ffmpeg CLI runs that
# generate 2D test video at the same size and encode it with the same x264 settings in
# real time (REFERENCE=0 leaves them out). SHOW: another show file than the demo; LOGS: a
# folder to keep each show's log in, with a status line every STATUS_EVERY seconds. Run
# through `scripts/bench.sh --shows N`, which builds first; figures, not pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
N="${1:?usage: bench-shows.sh N}"
SECONDS_RUN="${SHOW_SECONDS:-60}"
SIZE="${SIZE:-1280x720}"
show=(${SHOW:+"$SHOW"})
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

source scripts/bench-common.sh
physical="$(lscpu -p=core,socket 2> /dev/null | grep -v '^#' | sort -u | wc -l)"
echo "== $N shows at once, $SIZE @ 30 fps, ${SECONDS_RUN} s each, on $(nproc) cores ($physical physical) =="
load_start
pids=()
for i in $(seq "$N"); do
  XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}" "$TWINCAST_BIN" stream "${show[@]}" --size "$SIZE" \
    --seconds "$SECONDS_RUN" --status-every "${STATUS_EVERY:-3600}" -o null 2> "$work/show$i.log" > /dev/null &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || true; done
read -r cores total gpu samples most <<<"$(load_since)"
printf "machine meanwhile: %s of %d cores busy" "$cores" "$total"
if [ "$samples" -gt 0 ]; then
  printf ", GPU busy %s %% (mean of %d 1-s samples, most %d %%)" "$gpu" "$samples" "$most"
fi
echo
if [ -n "${LOGS:-}" ]; then mkdir -p "$LOGS" && cp "$work"/show*.log "$LOGS"/; fi
held=0
for i in $(seq "$N"); do
  # "1800 frames (60.00 s of media; 95 rendered, 1705 repeated) in 61.2 s: …"
  line="$(grep -E '^[0-9]+ frames \(' "$work/show$i.log" | tail -1 || true)"
  if [ -z "$line" ]; then
    echo "show $i: no summary (it failed):"; tail -3 "$work/show$i.log"; continue
  fi
  frames="$(sed -E 's/^([0-9]+) frames.*/\1/' <<<"$line")"
  rendered="$(sed -E 's/.*; ([0-9]+) rendered.*/\1/' <<<"$line")"
  repeated="$(sed -E 's/.* ([0-9]+) repeated.*/\1/' <<<"$line")"
  rss="$(grep -o 'peak RSS [0-9]* MiB' <<<"$line" | grep -o '[0-9]*' || echo '?')"
  cores="$(grep -o 'CPU [0-9.]* cores' <<<"$line" | grep -o '[0-9.]*' || echo '?')"
  # Frames drawn smaller to keep real time (`render.keep_pace`), when there were any.
  paced="$(grep -oE '[0-9]+ drawn smaller to keep pace \(lowest: [^)]*\)' <<<"$line" || true)"
  ok=$(awk -v r="$repeated" -v f="$frames" 'BEGIN { print (f > 0 && r / f < 0.02) ? 1 : 0 }')
  held=$((held + ok))
  awk -v i="$i" -v f="$frames" -v d="$rendered" -v r="$repeated" -v s="$SECONDS_RUN" -v m="$rss" -v c="$cores" -v ok="$ok" \
    -v p="${paced:+, $paced}" \
    'BEGIN { printf "show %d: %d frames, %.1f unique fps, %d repeated (%.1f %%)%s, peak RSS %s MiB, CPU %s cores, %s\n", i, f, d / s, r, 100 * r / (f > 0 ? f : 1), p, m, c, ok ? "holds real time" : "does not hold real time" }'
done
echo "shows holding real time: $held of $N"
[ "${REFERENCE:-1}" = 0 ] && exit 0

echo "== reference: $N ffmpeg CLI runs of 2D test video at once, same size and x264 settings =="
for i in $(seq "$N"); do
  ffmpeg -v error -stats -re -f lavfi -i "testsrc2=size=$SIZE:rate=30" -t "$SECONDS_RUN" \
    -pix_fmt yuv420p -c:v libx264 -preset veryfast -tune zerolatency -b:v 2500k \
    -maxrate 2500k -bufsize 5000k -g 60 -bf 0 -f null - 2> "$work/ffmpeg$i.log" &
  pids+=($!)
done
wait
kept=0
for i in $(seq "$N"); do
  speed="$(tr '\r' '\n' < "$work/ffmpeg$i.log" | grep -o 'speed=[ 0-9.]*x' | tail -1 | grep -o '[0-9.]*' || echo 0)"
  ok=$(awk -v s="$speed" 'BEGIN { print (s >= 0.98) ? 1 : 0 }')
  kept=$((kept + ok))
  echo "ffmpeg $i: speed ${speed}x"
done
echo "ffmpeg runs keeping real time: $kept of $N"

# Sourced by scripts/bench.sh, gpu-check.sh, bench-shows.sh and gpu-scaling.sh: the runs
# and readings they share, so their figures read the same. Needs TWINCAST_BIN
# (scripts/env.sh) and a scratch folder $work.

now() { date +%s.%N; }

# The ffmpeg command line encoding the same raw frames with the same settings as
# `twincast bench encode` (the reference for our encoder).
#   cli_encode SIZE KBPS FRAMES RAW_FILE
cli_encode() {
  local size=$1 kbps=$2 frames=$3 raw=$4 t0 t1
  t0=$(now)
  ffmpeg -v error -f rawvideo -pix_fmt rgba -s "$size" -r 30 -i "$raw" \
    -f lavfi -i anullsrc=r=48000:cl=stereo -shortest \
    -vf scale=out_color_matrix=bt709:out_range=tv -pix_fmt yuv420p \
    -c:v libx264 -preset veryfast -tune zerolatency -b:v "${kbps}k" -maxrate "${kbps}k" \
    -bufsize "$((kbps * 2))k" -g 60 -bf 0 -x264-params nal-hrd=cbr:force-cfr=1:scenecut=0 \
    -c:a aac -b:a 128k -f null -
  t1=$(now)
  awk -v f="$frames" -v a="$t0" -v b="$t1" -v s="$size" \
    'BEGIN { printf "ffmpeg_cli_encode size=%s frames=%d seconds=%.2f fps=%.2f\n", s, f, b-a, f/(b-a) }'
}

# Seconds `twincast render` takes for SECONDS of the demo at SIZE and KBPS, with any
# further arguments; what it wrote to stderr is left in $work/e2e.log.
#   render_seconds SIZE KBPS SECONDS [ARGS…]
render_seconds() {
  local size=$1 kbps=$2 seconds=$3 t0 t1
  shift 3
  t0=$(now)
  "$TWINCAST_BIN" render --size "$size" --bitrate "$kbps" --seconds "$seconds" \
    --output "$work/e2e.flv" "$@" 2>"$work/e2e.log" >/dev/null || return
  t1=$(now)
  rm -f "$work/e2e.flv"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }'
}

# `twincast render` of SECONDS of the demo, end to end (render, encode, mux), and its
# real-time factor; then the same the slow, full way (`--reference`: no held shots, Bevy's
# full lighting, its soft shadow filter and four cascades).
#   end_to_end SIZE KBPS SECONDS
end_to_end() {
  local size=$1 kbps=$2 seconds=$3 wall rss
  wall=$(render_seconds "$size" "$kbps" "$seconds")
  rss=$(grep -o 'peak RSS [0-9]* MiB' "$work/e2e.log" | grep -o '[0-9]*' || echo "?")
  awk -v m="$seconds" -v w="$wall" -v s="$size" -v r="$rss" \
    'BEGIN { printf "end_to_end size=%s media_seconds=%d wall_seconds=%.2f realtime_factor=%.3f peak_rss_mib=%s\n", s, m, w, m/w, r }'
  wall=$(render_seconds "$size" "$kbps" "$seconds" --reference)
  awk -v m="$seconds" -v w="$wall" -v s="$size" \
    'BEGIN { printf "end_to_end_reference size=%s media_seconds=%d wall_seconds=%.2f realtime_factor=%.3f\n", s, m, w, m/w }'
}

# Jiffies busy and idle over all cores: "busy idle".
cpu_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }

# How busy the machine is from here on: the cores' jiffies now, and the GPU's use
# (nvidia-smi, where there is one) sampled each second into $work/gpu.txt.
load_start() {
  load_before="$(cpu_jiffies)"
  load_sampler=""
  rm -f "$work/gpu.txt"
  if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits -l 1 \
      > "$work/gpu.txt" 2> /dev/null &
    load_sampler=$!
  fi
}

# What was busy since load_start: "CORES_BUSY CORES GPU_MEAN_% GPU_SAMPLES GPU_MOST_%"
# (the GPU's "- 0 -" where nothing was sampled).
load_since() {
  local busy0 idle0 busy1 idle1
  if [ -n "$load_sampler" ]; then kill "$load_sampler" 2> /dev/null || true; fi
  read -r busy0 idle0 <<<"$load_before"
  read -r busy1 idle1 <<<"$(cpu_jiffies)"
  awk -v b=$((busy1 - busy0)) -v i=$((idle1 - idle0)) -v n="$(nproc)" \
    'BEGIN { printf "%.1f %d", n * b / (b + i > 0 ? b + i : 1), n }'
  if [ -s "$work/gpu.txt" ]; then
    awk '{ s += $1; k++; if ($1 > m) m = $1 } END { printf " %.0f %d %d\n", s / k, k, m }' "$work/gpu.txt"
  else
    echo " - 0 -"
  fi
}

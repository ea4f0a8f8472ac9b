#!/usr/bin/env bash
# How the renderer's throughput scales with processes sharing one machine: for each N in
# COUNTS (default "1 2 4 8"), N `bench render`s of FRAMES (600) held 720p frames at once
# (then the same drawn in full), each one's fps, their sum, and how busy the GPU
# (nvidia-smi) and the cores were meanwhile. No pacing and no encoder: what the GPU and
# driver give when processes take turns. Figures, not pass/fail; run after sourcing
# scripts/bundle-env.sh on a machine without the toolchain, or after a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
FRAMES="${FRAMES:-600}"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2> /dev/null || true; rm -rf "$work"' EXIT
cpu_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }

for mode in held full; do
  extra=()
  [ "$mode" = full ] && extra=(--no-held-shots)
  for n in ${COUNTS:-1 2 4 8}; do
    sampler=""
    if command -v nvidia-smi > /dev/null; then
      nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits -l 1 > "$work/gpu.txt" 2> /dev/null &
      sampler=$!
    fi
    read -r busy0 idle0 <<<"$(cpu_jiffies)"
    pids=()
    for i in $(seq "$n"); do
      "$TWINCAST_BIN" bench render --size 1280x720 --frames "$FRAMES" "${extra[@]}" \
        2> /dev/null | head -1 > "$work/run$i.txt" &
      pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || true; done
    [ -n "$sampler" ] && kill "$sampler" 2> /dev/null || true
    read -r busy1 idle1 <<<"$(cpu_jiffies)"
    fps="$(grep -ho 'fps=[0-9.]*' "$work"/run*.txt | cut -d= -f2 | tr '\n' ' ')"
    gpu="$( [ -s "$work/gpu.txt" ] && awk '{ s += $1; n++ } END { printf "%.0f %%", s / n }' "$work/gpu.txt" || echo '?')"
    awk -v m="$mode" -v n="$n" -v f="$fps" -v g="$gpu" -v b=$((busy1 - busy0)) -v i=$((idle1 - idle0)) -v c="$(nproc)" \
      'BEGIN { k = split(f, a, " "); for (j = 1; j <= k; j++) s += a[j];
               printf "%s x%d: %.0f fps in all (each: %s), GPU busy %s, %.1f of %d cores\n", m, n, s, f, g, c * b / (b + i), c }'
    rm -f "$work"/run*.txt "$work/gpu.txt"
  done
done

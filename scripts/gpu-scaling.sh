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
source scripts/bench-common.sh

for mode in held full; do
  extra=()
  [ "$mode" = full ] && extra=(--no-held-shots)
  for n in ${COUNTS:-1 2 4 8}; do
    load_start
    pids=()
    for i in $(seq "$n"); do
      "$TWINCAST_BIN" bench render --size 1280x720 --frames "$FRAMES" "${extra[@]}" \
        2> /dev/null | head -1 > "$work/run$i.txt" &
      pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || true; done
    read -r cores total gpu samples _ <<<"$(load_since)"
    [ "$samples" -gt 0 ] && gpu="$gpu %" || gpu="?"
    fps="$(grep -ho 'fps=[0-9.]*' "$work"/run*.txt | cut -d= -f2 | tr '\n' ' ')"
    awk -v m="$mode" -v n="$n" -v f="$fps" -v g="$gpu" -v cores="$cores" -v c="$total" \
      'BEGIN { k = split(f, a, " "); for (j = 1; j <= k; j++) s += a[j];
               printf "%s x%d: %.0f fps in all (each: %s), GPU busy %s, %s of %d cores\n", m, n, s, f, g, cores, c }'
    rm -f "$work"/run*.txt
  done
done

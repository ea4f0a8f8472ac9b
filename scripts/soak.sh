#!/usr/bin/env bash
# Soak test: streams a show in real time to a local nginx-rtmp server for HOURS and prints
# RSS, render fps, bitrate, reconnects and dropped frames/packets once a minute (CSV on
# stdout, so it can be plotted). Every SOAK_OUTAGE_EVERY minutes (default 30; 0 = never) the
# server is killed for 10 s, to exercise reconnection through the night.
#
#   scripts/soak.sh 8                         # the demo show for 8 hours
#   SOAK_SHOW=my.toml scripts/soak.sh 24      # another show for a day
#   SOAK_INTERVAL=10 scripts/soak.sh 0.1      # six minutes, a line every 10 s
set -euo pipefail
cd "$(dirname "$0")/.."
HOURS="${1:?usage: scripts/soak.sh HOURS}"
SHOW="${SOAK_SHOW:-assets/shows/demo.toml}"
INTERVAL="${SOAK_INTERVAL:-60}"
OUTAGE_EVERY="${SOAK_OUTAGE_EVERY:-30}"
bash scripts/install-deps.sh >/dev/null
source scripts/env.sh
cargo build --release --locked --quiet

WORK="$(mktemp -d -t twincast-soak-XXXX)"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RTMP_PORT="$(port)"
API_PORT="$(port)"
MODULE="$(ls /usr/lib/nginx/modules/ngx_rtmp_module.so /usr/share/nginx/modules/ngx_rtmp_module.so 2>/dev/null | head -1)"
mkdir -p "$WORK/logs"
cat > "$WORK/nginx.conf" <<CONF
load_module $MODULE;
daemon off; master_process off; worker_processes 1;
error_log $WORK/logs/error.log warn; pid $WORK/nginx.pid;
events { worker_connections 64; }
rtmp { server { listen 127.0.0.1:$RTMP_PORT; chunk_size 4096;
  application live { live on; record off; } } }
CONF
start_server() { nginx -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/logs/error.log" & SERVER=$!; }
start_server
export TWINCAST_API_TOKEN="soak-$$"
SECONDS_TOTAL="$(python3 -c "print(int(float('$HOURS') * 3600))")"
"$TWINCAST_BIN" stream "$SHOW" --seconds "$SECONDS_TOTAL" \
  --output "rtmp://127.0.0.1:$RTMP_PORT/live/soak" --api "127.0.0.1:$API_PORT" \
  --status-every 300 > "$WORK/twincast.out" 2> "$WORK/twincast.log" &
TWINCAST=$!
cleanup() { kill "$TWINCAST" "$SERVER" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

echo "# soak: $SHOW for $HOURS h; log in $WORK/twincast.log" >&2
echo "minutes,rss_mib,render_fps,bitrate_kbps,repeated_frames,dropped_packets,reconnects,output_state"
start=$(date +%s)
next_outage=$((OUTAGE_EVERY * 60))
while kill -0 "$TWINCAST" 2>/dev/null; do
  sleep "$INTERVAL"
  now=$(( $(date +%s) - start ))
  rss=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$TWINCAST/status" 2>/dev/null || echo "")
  status=$(curl -s --max-time 5 "http://127.0.0.1:$API_PORT/status" || echo '{}')
  python3 - "$now" "$rss" "$status" <<'PY'
import json, sys
now, rss, raw = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    s = json.loads(raw)
except ValueError:
    s = {}
out = (s.get("outputs") or [{}])[0]
print(f'{int(now)/60:.1f},{rss},{s.get("render_fps", 0):.1f},{s.get("bitrate_kbps", 0):.0f},'
      f'{s.get("repeated_frames", "")},{s.get("dropped_packets", "")},{s.get("reconnects", "")},'
      f'{out.get("state", "")}', flush=True)
PY
  if [ "$OUTAGE_EVERY" -gt 0 ] && [ "$now" -ge "$next_outage" ]; then
    echo "# outage: server down for 10 s at $((now / 60)) min" >&2
    kill -9 "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    sleep 10
    start_server
    next_outage=$((next_outage + OUTAGE_EVERY * 60))
  fi
done
wait "$TWINCAST"
echo "# soak: twincast exited with $?" >&2

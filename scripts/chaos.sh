#!/usr/bin/env bash
# Chaos suite: runs each fault of an operator's bad night against a real `twincast stream`
# (real nginx-rtmp on loopback, real files, the real API) and prints one table row per
# fault: times injected, whether the show kept running, seconds of air lost, whether every
# recording plays, and RSS growth. Figures, not assertions: read the table.
#
#   scripts/chaos.sh              # every fault
#   scripts/chaos.sh flood udp    # some of them (names as in the table)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null
source scripts/env.sh
cargo build --release --locked --quiet
exec python3 scripts/chaos.py "$TWINCAST_BIN" "$@"

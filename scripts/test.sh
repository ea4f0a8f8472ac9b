#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install what is missing, then build and run
# every test (unit tests and the integration tests that drive the real binary against
# ffprobe, a real nginx-rtmp server and Mesa's CPU Vulkan driver). Extra arguments go to
# `cargo test` (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
source scripts/env.sh

# Tests and the demo share the release profile, so a fresh machine compiles Bevy once.
cargo test --release --locked "$@"

#!/usr/bin/env bash
# Installs the system packages twincast needs to build, run and test on Debian 12.
# Safe to re-run: apt-get skips what is already there. Runs as root or through sudo.
set -euo pipefail

PACKAGES=(
  # build
  build-essential pkg-config clang libclang-dev lld
  # FFmpeg libraries (ffmpeg-next links them) and the CLI tools the tests use (ffprobe)
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  libavfilter-dev libavdevice-dev ffmpeg
  # audio and input headers Bevy and cpal link against
  libasound2-dev libudev-dev
  # headless rendering on the CPU: Mesa's Vulkan drivers (lavapipe) and the loader
  mesa-vulkan-drivers libvulkan1 vulkan-tools
  # windowing libraries for `preview`/`edit` (winit loads them at run time)
  libx11-dev libxkbcommon-dev libwayland-dev
  # speech
  espeak-ng libespeak-ng-dev
  # a real RTMP server for the tests
  nginx libnginx-mod-rtmp
  # test helpers (Xvfb: a virtual display for the preview window's tests; Chromium and its
  # WebDriver for the console's tests)
  python3 curl procps xvfb xauth chromium chromium-driver
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all system packages present"
else
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Rust toolchain: use the one on PATH, else install rustup's stable.
if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "install-deps: cargo not found; install Rust (rustup) first" >&2
    exit 1
  fi
fi

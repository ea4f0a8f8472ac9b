# Sourced by the other scripts: one place for the build environment.
# The cargo target directory lives outside the work tree so that every checkout (and CI)
# reuses one build of Bevy; override CARGO_TARGET_DIR to put it elsewhere.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/twincast-target}"
export PATH="$HOME/.cargo/bin:$PATH"
# wgpu/Vulkan want a runtime dir even when nothing is displayed.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  export XDG_RUNTIME_DIR="${TMPDIR:-/tmp}/twincast-xdg-$(id -u)"
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
fi
# Scripts may run another copy (a soak keeps its own while the tree is rebuilt).
TWINCAST_BIN="${TWINCAST_BIN:-$CARGO_TARGET_DIR/release/twincast}"

# Sourced with the file scripts/gpu-bundle.sh wrote: unpacks it and points TWINCAST_BIN,
# PATH (its ffmpeg), the dynamic linker and espeak-ng at it, on a machine without the
# toolchain or Debian's packages (scripts/gpu-check.sh --bundle FILE). The machine's own
# copy of a library wins over the bundle's.
#
#   source scripts/bundle-env.sh twincast-bundle.tar.xz
bundle_root="$(mktemp -d)"
if command -v xz > /dev/null; then xz -dc "$1"; else
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"
fi | tar -C "$bundle_root" -xf -
bundle_have="$(ldconfig -p | awk 'NR > 1 { print $1 }')"
for bundle_lib in "$bundle_root"/lib/* "$bundle_root"/stub/*; do
  if grep -qxF "$(basename "$bundle_lib")" <<<"$bundle_have"; then rm -f "$bundle_lib"; fi
done
export LD_LIBRARY_PATH="$bundle_root/lib:$bundle_root/stub${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="$bundle_root/bin:$PATH" TWINCAST_BIN="$bundle_root/bin/twincast"
export ESPEAK_DATA_PATH="$bundle_root"
# NVIDIA's driver mounted where the Vulkan loader does not look (the lent machines).
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export VK_ICD_FILENAMES="$VK_DRIVER_FILES"
fi
if [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi

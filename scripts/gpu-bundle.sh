#!/usr/bin/env bash
# Packs the release build, the ffmpeg command line and what both load into one file, for a
# machine that has a GPU but neither Debian 12's packages nor a package registry (the lent
# GPU machines): `scripts/gpu-check.sh --bundle FILE` runs the figures from it there.
#
# The libraries the runs call travel as they are (FFmpeg's, x264, espeak-ng and its voice
# data for English and Mandarin, ALSA, the Vulkan loader and glvnd). The ~190 others that
# Debian's FFmpeg names but the runs never call (x265, codec2, SDL, PulseAudio, ICU, …)
# travel as stand-ins (scripts/stub-lib.py) that log "stub called: NAME" if one ever is.
# On the machine its own copy of a library wins over either.
#
#   scripts/gpu-bundle.sh out/twincast-bundle.tar.xz
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
out="${1:?usage: gpu-bundle.sh OUT.tar.xz}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$out")" "$work/bin" "$work/lib" "$work/stub" "$work/espeak-ng-data"

cp "$TWINCAST_BIN" "$work/bin/twincast"
cp "$(command -v ffmpeg)" "$work/bin/ffmpeg"
strip "$work/bin/twincast"

# glibc's own libraries come from the machine; a newer glibc runs what an older one built.
system='^(libc|libm|libpthread|libdl|librt|libresolv|ld-linux-x86-64)\.so'
called='^(libav(codec|format|util|device|filter)|libsw|libstdc\+\+|libpostproc|libx264|libespeak-ng|libpcaudio|libsonic|libasound|libvulkan|libsoxr|libgomp|libz\.|libbz2|liblzma|libzstd|libgcc_s|libGL|libGLX|libGLdispatch|libOpenGL)'
ldd "$work/bin/twincast" "$work/bin/ffmpeg" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' |
  sort -u | while read -r path; do
    name="$(basename "$path")"
    if grep -qE "$system" <<<"$name"; then
      continue
    elif grep -qE "$called" <<<"$name"; then
      cp -L "$path" "$work/lib/$name"
    else
      python3 scripts/stub-lib.py "$path" "$work/stub"
    fi
  done
# The driver's Vulkan and EGL front ends load these (glvnd), as the machine's README asks.
for name in libvulkan.so.1 libEGL.so.1 libGLdispatch.so.0; do
  cp -L "/usr/lib/x86_64-linux-gnu/$name" "$work/lib/"
done

voices=/usr/lib/x86_64-linux-gnu/espeak-ng-data
cp -r "$voices"/{phondata,phonindex,phontab,intonations,en_dict,cmn_dict,lang,voices} \
  "$work/espeak-ng-data/"

tar -C "$work" -cf - . | xz -9 -T0 > "$out"
echo "$out: $(du -h "$out" | cut -f1); $(ls "$work/lib" | wc -l) libraries, $(ls "$work/stub" | wc -l) stand-ins" >&2

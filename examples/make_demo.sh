#!/usr/bin/env bash
# Makes examples/demo.wav: a few sentences spoken by espeak-ng with pauses
# between them, 16 kHz mono 16-bit, with a faint noise bed so it sounds like a
# room rather than digital silence. Deterministic for a given espeak-ng/sox.
#
#   bash examples/make_demo.sh [OUT.wav]
#
# Needs: espeak-ng, sox (Debian packages of the same names).
set -euo pipefail
export SOX_OPTS="-R"  # repeatable: fixed seeds for dither and noise
out=${1:-"$(dirname "$0")/demo.wav"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sentences=(
  "Hey player, play some jazz."
  "Actually, skip this song."
  "Turn it down a little, please."
  "What's playing right now?"
)
voices=(en-us en-gb+m3 en-us+f2 en-gb)
parts=()
sox -n -r 16000 -c 1 -b 16 "$tmp/gap.wav" trim 0 1.5
parts+=("$tmp/gap.wav")
for i in "${!sentences[@]}"; do
  espeak-ng -v "${voices[$i]}" -s 150 -w "$tmp/s$i.raw.wav" "${sentences[$i]}"
  sox "$tmp/s$i.raw.wav" -r 16000 -c 1 -b 16 "$tmp/s$i.wav" norm -3
  parts+=("$tmp/s$i.wav" "$tmp/gap.wav")
done
sox "${parts[@]}" "$tmp/speech.wav"
len=$(soxi -D "$tmp/speech.wav")
# Brown noise at about -50 dBFS, seeded so the file is reproducible.
sox -R -n -r 16000 -c 1 -b 16 "$tmp/noise.wav" synth "$len" brownnoise vol 0.01
sox -m "$tmp/speech.wav" "$tmp/noise.wav" -b 16 "$out"
echo "wrote $out ($(soxi -d "$out"))" >&2

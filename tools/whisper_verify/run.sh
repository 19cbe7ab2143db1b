#!/bin/sh
# Re-run the transcription check used for models/whisper/README.md (the scorer:
# heyplayer_tools.whisper.wer, standard library only).
#   sh run.sh /path/to/ggml-model.bin [N_PROMPTS]
# Needs: sox, espeak-ng, asterisk-core-sounds-en (Debian), cargo, cmake, clang.
set -eu
MODEL=$1; N=${2:-50}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-/tmp/wverify-run}; mkdir -p "$WORK"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$WORK/target}
(cd "$HERE" && nice -n 10 cargo build --release -q)
SND=/usr/share/asterisk/sounds/en
# every k-th top-level prompt with a plain-text transcript (same pick as the README)
zcat /usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz | python3 -c "
import sys, os
out = []
for line in sys.stdin:
    line = line.strip()
    if not line or line.startswith(';') or ':' not in line: continue
    name, text = (s.strip() for s in line.split(':', 1))
    if '[' in text or not text or '/' in name: continue
    if os.path.isfile('$SND/%s.wav' % name): out.append((name, text))
k = len(out) / $N
for i in range($N): print('%s\t%s' % out[int(i * k)])
" > "$WORK/refs.tsv"
cut -f1 "$WORK/refs.tsv" | while read -r n; do sox "$SND/$n.wav" -r 16000 -b 16 "$WORK/$n.wav"; done
cut -f1 "$WORK/refs.tsv" | sed "s|^|$WORK/|; s|$|.wav|" > "$WORK/list.txt"
nice -n 10 "$CARGO_TARGET_DIR/release/whisper-verify" "$MODEL" --threads 2 $(cat "$WORK/list.txt") > "$WORK/hyp.tsv"
PYTHONPATH="$HERE/.." python3 -m heyplayer_tools.whisper.wer "$WORK/refs.tsv" "$WORK/hyp.tsv"

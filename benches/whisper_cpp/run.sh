#!/bin/sh
# ASR benchmark (`make bench-asr`): heyplayer's ASR stage against whisper.cpp on
# its own, in the same run, on the same clips, with the same model and threads;
# then the whole pipeline's latency on the wake corpus (`heyplayer eval`).
#
#   benches/whisper_cpp/run.sh [MODEL_NAME] [THREADS]
#
# Needs `cargo build --release` (it links the whisper.cpp static libraries
# that build produced) and `make test-data` (the clips).
set -eu
cd "$(dirname "$0")/../.."
MODEL=${1:-whisper-tiny.en-q8}
THREADS=${2:-2}
BIN=target/release/heyplayer
CLIPS_DIR=tests/out/commands/wav
OUT=target/bench-asr
mkdir -p "$OUT"

[ -x "$BIN" ] || { echo "run: cargo build --release first" >&2; exit 1; }
ls "$CLIPS_DIR"/*.wav >/dev/null 2>&1 || { echo "no clips in $CLIPS_DIR: run make test-data" >&2; exit 1; }

LIB=$(ls -t target/release/build/whisper-rs-sys-*/out/lib/libwhisper.a 2>/dev/null | head -1)
[ -n "$LIB" ] || { echo "whisper.cpp libraries not found under target/release/build" >&2; exit 1; }
OUTDIR=$(dirname "$(dirname "$LIB")")
${CC:-cc} -O2 -o "$OUT/side_by_side" benches/whisper_cpp/side_by_side.c \
    -I"$OUTDIR/include" -I"$OUTDIR/whisper.cpp/include" -I"$OUTDIR/whisper.cpp/ggml/include" \
    "$OUTDIR/lib/libwhisper.a" "$OUTDIR/lib/libggml.a" "$OUTDIR/lib/libggml-cpu.a" "$OUTDIR/lib/libggml-base.a" \
    -lstdc++ -lm -lpthread -fopenmp 2>"$OUT/cc.log" || {
    cat "$OUT/cc.log" >&2
    exit 1
}

MODELS_DIR=$("$BIN" models list | sed -n 's/^Models directory: //p')
MODEL_FILE="$MODELS_DIR/$(awk -v m="\"$MODEL\"" '/^name = /{n=$3} /^file = /{ if (n == m) { gsub(/"/, "", $3); print $3 } }' models/manifest.toml)"
[ -f "$MODEL_FILE" ] || { echo "$MODEL_FILE missing: run make models" >&2; exit 1; }
PROMPT=$("$BIN" config --print-default | sed -n 's/^initial_prompt = "\(.*\)"$/\1/p')

CLIPS=$(ls "$CLIPS_DIR"/*.wav)
echo "== $MODEL, $THREADS threads, $(echo "$CLIPS" | wc -l) clips from $CLIPS_DIR"
# shellcheck disable=SC2086
"$OUT/side_by_side" "$MODEL_FILE" "$THREADS" "$PROMPT" $CLIPS > "$OUT/whisper_cpp.tsv"
# shellcheck disable=SC2086
"$BIN" transcribe --json --model "$MODEL" --threads "$THREADS" $CLIPS > "$OUT/heyplayer.jsonl"

python3 - "$OUT/whisper_cpp.tsv" "$OUT/heyplayer.jsonl" <<'EOF'
import json, statistics, sys
cpp = {}
for line in open(sys.argv[1]):
    f, ms, text = line.rstrip("\n").split("\t", 2)
    cpp[f] = (float(ms), text.strip())
ours = [json.loads(l) for l in open(sys.argv[2])]
a = [cpp[o["file"]][0] for o in ours]
b = [o["elapsed_ms"] for o in ours]
g = [o["guided_ms"] for o in ours if o.get("guided_ms") is not None]
same = sum(1 for o in ours if cpp[o["file"]][1] == o["text"] or cpp[o["file"]][1].strip() == o["text"])
def p(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]
print(f"whisper.cpp alone : median {statistics.median(a):6.0f} ms  p95 {p(a, .95):6.0f} ms")
print(f"heyplayer (free)  : median {statistics.median(b):6.0f} ms  p95 {p(b, .95):6.0f} ms  (overhead {statistics.median(b) - statistics.median(a):+.0f} ms)")
if g:
    print(f"guided decoding   : ran on {len(g)}/{len(ours)} clips, median {statistics.median(g):.0f} ms, p95 {p(g, .95):.0f} ms")
print(f"same transcript   : {same}/{len(ours)}")
EOF

echo "== whole pipeline on tests/out/wake (wake + command, 2-4 s): latency from end of speech to the command event"
"$BIN" eval --manifest tests/out/wake/manifest.jsonl --model "$MODEL" 2>/dev/null | grep -E "latency|real-time|RSS|intent|WER|FRR" || true

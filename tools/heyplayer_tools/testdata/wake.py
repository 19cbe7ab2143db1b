#!/usr/bin/env python3
"""Wake-word test corpus, in the shared eval format (../shared/EVAL.md).

- pos/: "hey player, <command>" spoken by voices kept OUT of the wake model's
  training (tools/heyplayer_tools/wake/build_data.py): held-out espeak-ng voices and held-out
  Piper scale settings, with pink noise at 20 dB SNR. Labels: wake, transcript, intent.
- neg/real_speech.wav: about 10 minutes of real human speech that the model never
  saw: Debian's Italian and Russian Asterisk prompts, end to end with short gaps.

With `--fluent` the corpus is the phrase as people run it into the command (issue
29): "hey player <command>" said as one utterance, no comma, by the same held-out
voices (pos/fluent-NNN.wav), and no negatives.

    .venv/bin/python -m heyplayer_tools.testdata.wake OUT_DIR [--positives 40] [--neg-minutes 10] [--fluent] [--seed 11]
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from heyplayer_tools.testdata.commands import COMMANDS, mix, pink
from heyplayer_tools.wake.build_data import Piper, espeak_synth_p, to16k

SR = 16000
HELDOUT_ESPEAK = [("en-gb-x-gbclan", None), ("en-gb-x-gbcwmd", None), ("en-us-nyc", None)]
HELDOUT_PIPER = [(1.15, 0.667, 0.8), (0.92, 0.667, 0.8), (1.15, 0.667, 0.3)]
# The packages' own folders: the short "it"/"ru" links come only from the
# recommended metapackages, which --no-install-recommends leaves out.
NEG_DIRS = ["/usr/share/asterisk/sounds/it_IT_m_Carlo", "/usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--positives", type=int, default=40)
    ap.add_argument("--neg-minutes", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--fluent", action="store_true",
                    help="positives said fluently (\"hey player play some jazz\"), no negatives")
    args = ap.parse_args()
    manifest = args.out / "manifest.jsonl"
    if manifest.is_file():
        print(f"[wake] {manifest} exists; delete the folder to regenerate", file=sys.stderr)
        return
    rng = np.random.default_rng(args.seed)
    (args.out / "pos").mkdir(parents=True, exist_ok=True)
    (args.out / "neg").mkdir(parents=True, exist_ok=True)
    # Piper's noise comes from ONNX RandomNormal ops seeded at session creation:
    # seed them so the corpus is the same on every run.
    import onnxruntime as ort
    ort.set_seed(args.seed)
    piper = Piper()
    lines = []
    for i in range(args.positives):
        # The fluent set starts further down the list, so it says other commands first.
        text, intent = COMMANDS[(i + (20 if args.fluent else 0)) % len(COMMANDS)]
        spoken = f"hey player {text}" if args.fluent else f"hey player, {text}"
        if i % 2 == 0:
            v, var = HELDOUT_ESPEAK[(i // 2) % len(HELDOUT_ESPEAK)]
            prm = {"p": int(rng.integers(30, 70)), "s": int(rng.integers(140, 180)), "g": 0}
            audio, engine = espeak_synth_p(spoken, v, var, prm), f"espeak-{v}"
        else:
            ls, ns, nw = HELDOUT_PIPER[(i // 2) % len(HELDOUT_PIPER)]
            audio, engine = piper.synth(spoken, ls, ns, nw), f"piper-{ls}"
        speech = np.concatenate([np.zeros(int(1.0 * SR), np.float32), audio.astype(np.float32),
                                 np.zeros(int(1.5 * SR), np.float32)])
        clip = mix(speech, pink(len(speech), rng), 20.0)
        cid = f"fluent-{i:03d}" if args.fluent else f"pos-{i:03d}"
        sf.write(args.out / "pos" / f"{cid}.wav", clip, SR, subtype="PCM_16")
        lines.append({"id": cid, "audio": f"pos/{cid}.wav", "engine": engine,
                      "labels": {"wake": True, "transcript": text, "intent": intent}})
        print(f"[wake] positive {i + 1}/{args.positives} ({engine}): {spoken}", file=sys.stderr)
    if args.fluent:
        manifest.write_text("".join(json.dumps(l) + "\n" for l in lines))
        print(f"[wake] wrote {manifest}", file=sys.stderr)
        return
    files = sorted(p for d in NEG_DIRS for p in Path(d).rglob("*.wav"))
    if not files:
        sys.exit(f"[wake] error: no prompts in {NEG_DIRS}: install asterisk-core-sounds-it-wav "
                 f"and asterisk-core-sounds-ru-wav (make test does)")
    order = rng.permutation(len(files))
    parts, total = [], 0
    want = int(args.neg_minutes * 60 * SR)
    for k in order:
        a, sr = sf.read(files[k], dtype="float32")
        if a.ndim > 1:
            a = a.mean(axis=1)
        a = to16k(a, sr)
        gap = np.zeros(int(rng.uniform(0.2, 0.8) * SR), np.float32)
        parts += [a.astype(np.float32), gap]
        total += len(a) + len(gap)
        if total >= want:
            break
    neg = np.concatenate(parts)[:want]
    sf.write(args.out / "neg" / "real_speech.wav", neg, SR, subtype="PCM_16")
    lines.append({"id": "neg-real-speech", "audio": "neg/real_speech.wav", "labels": {"wake": False}})
    print(f"[wake] negative: {len(neg) / SR / 60:.1f} min of Italian and Russian prompts", file=sys.stderr)
    manifest.write_text("".join(json.dumps(l) + "\n" for l in lines))
    print(f"[wake] wrote {manifest}", file=sys.stderr)


if __name__ == "__main__":
    main()

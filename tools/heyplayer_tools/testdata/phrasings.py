#!/usr/bin/env python3
"""Everyday-phrasings command corpus (issue 29): commands as people say them to
a speaker, with fillers and politeness ("pause for a sec please", "put some
blues on", "turn it down a notch"), to measure how many give the right intent.

Written from how people talk to speakers, not from any evaluation corpus's
transcripts; none of these sentences is in the intent parser's unit tests.
Same engines, voices and noise as `heyplayer_tools.testdata.commands` (espeak-ng
and Piper taking turns, one clip per phrasing, 10 dB SNR), in the shared eval
format (../shared/EVAL.md). Deterministic for a given seed.

    .venv/bin/python -m heyplayer_tools.testdata.phrasings OUT_DIR [--snr 10] [--seed 29]
    heyplayer transcribe --json OUT_DIR/wav/*.wav   # then compare with the labels

Measured 2026-12-07 (seed 29, whisper-base-q8, default config): right intent on
26/40 clips with the parser before issue 29, 31/40 after (the 5 gained: "could
you stop the music for a minute" as a pause, "pause the song for a moment",
"okay you can keep going", "add this song to my favourites", and "wait a
minute, pause it" heard as "Later." whose guided guess is now the new phrasing
"wait a minute"); the 9 left are Whisper mishearing the audio, 8 of them
espeak-ng ("Pong-urusant-pleen." for "pause for a sec please").
On the true sentences (text only) 31/40 before, 39/40 after.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

from heyplayer_tools.testdata.commands import ESPEAK_VOICES, PIPER_SCALES, real_noise, write_clip
from heyplayer_tools.wake.build_data import Piper, espeak_synth_p


def _a(action, **kw):
    return {"action": action, **kw}


PHRASINGS = [
    ("pause for a sec please", _a("pause")),
    ("could you stop the music for a minute", _a("pause")),
    ("hold on a second", _a("pause")),
    ("okay you can keep going", _a("resume")),
    ("can you turn it up a little", _a("volume_up")),
    ("turn it down a notch please", _a("volume_down")),
    ("make it a bit louder", _a("volume_up")),
    ("that's too loud, turn it down", _a("volume_down")),
    ("set the volume to sixty percent", _a("volume_set", value=60)),
    ("volume to twenty five", _a("volume_set", value=25)),
    ("skip this song please", _a("next")),
    ("I don't want to hear this one, skip it", _a("next")),
    ("go back to the previous song", _a("previous")),
    ("play the last song again", _a("previous")),
    ("stop the music please", _a("stop")),
    ("turn the music off", _a("stop")),
    ("play something by Norah Jones", _a("play", query="something by norah jones")),
    ("put on some Bob Dylan", _a("play", query="some bob dylan")),
    ("could you play some relaxing piano music", _a("play", query="some relaxing piano music")),
    ("I'd like to listen to some soul music", _a("play", query="some soul music")),
    ("put some blues on", _a("play", query="some blues")),
    ("mute the sound please", _a("mute")),
    ("unmute please", _a("unmute")),
    ("turn shuffle on please", _a("shuffle_on")),
    ("put this song on repeat", _a("repeat_on")),
    ("what's the name of this song", _a("whats_playing")),
    ("who sings this song", _a("whats_playing")),
    ("add this song to my favourites", _a("like")),
    ("next track please", _a("next")),
    ("turn the volume up a bit", _a("volume_up")),
    ("wait a minute, pause it", _a("pause")),
    ("please could you skip to the next one", _a("next")),
    ("can you lower the volume a bit", _a("volume_down")),
    ("pause the song for a moment", _a("pause")),
    ("keep playing please", _a("resume")),
    ("shuffle my songs", _a("shuffle_on")),
    ("stop repeating this song", _a("repeat_off")),
    ("what am I listening to right now", _a("whats_playing")),
    ("play some jazz music for me please", _a("play", query="some jazz music")),
    ("turn it up to eighty percent", _a("volume_set", value=80)),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--snr", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=29)
    args = ap.parse_args()
    manifest = args.out / "manifest.jsonl"
    if manifest.is_file():
        print(f"[phrasings] {manifest} exists; delete the folder to regenerate", file=sys.stderr)
        return
    rng = np.random.default_rng(args.seed)
    real = real_noise()
    import onnxruntime as ort
    ort.set_seed(args.seed)
    piper = Piper()
    (args.out / "wav").mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (text, intent) in enumerate(PHRASINGS):
        # One clip per phrasing, the engines taking turns.
        if i % 2 == 0:
            v, var = ESPEAK_VOICES[(i // 2) % len(ESPEAK_VOICES)]
            prm = {"p": int(rng.integers(30, 70)), "s": int(rng.integers(140, 180)), "g": 0}
            engine, audio = "espeak", espeak_synth_p(text, v, var, prm)
        else:
            ls, ns, nw = PIPER_SCALES[(i // 2) % len(PIPER_SCALES)]
            engine, audio = "piper", piper.synth(text, ls, ns, nw)
        cid = f"phr-{engine}-{i:03d}"
        lines.append(write_clip(args.out, cid, audio, text, intent, rng, real, args.snr))
        print(f"[phrasings] {len(lines)}/{len(PHRASINGS)} {cid}: {text}", file=sys.stderr)
    manifest.write_text("\n".join(lines) + "\n")
    print(f"[phrasings] wrote {len(lines)} clips and {manifest}", file=sys.stderr)


if __name__ == "__main__":
    main()

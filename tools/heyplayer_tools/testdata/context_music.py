#!/usr/bin/env python3
"""Speech over music, for the context stage's music rule (src/context/mod.rs, MUSIC_MASKS).

A music player's front end hears music in the background more than anything else. Each
clip: 2 s of music alone (the pre-roll), then a command said by an espeak-ng voice over the
music at 5-15 dB SNR, then 0.5 s of music. The music is Asterisk's held-out music-on-hold
track (asterisk-moh-opsound-wav, `reno_project-system`), which no context training scene
used. Written to OUT/NN.wav with OUT/manifest.jsonl.

    .venv/bin/python -m heyplayer_tools.testdata.context_music tests/out/context/music [--clips 8] [--seed 5]
"""
import argparse
import json
from pathlib import Path

import numpy as np
import soundfile as sf

from heyplayer_tools.context.rooms import moh_tracks
from heyplayer_tools.testdata.commands import COMMANDS, mix
from heyplayer_tools.wake.build_data import espeak_synth_p, to16k

SR = 16000
VOICES = ["en-us", "en-gb", "en-us+f2", "en-gb-scotland", "en-us+m3", "en-gb-x-rp+f4"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    (track,) = moh_tracks("test")
    music, sr = sf.read(track, dtype="float32", always_2d=True)
    music = to16k(music.mean(axis=1), sr)
    args.out.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(args.clips):
        text = COMMANDS[i % len(COMMANDS)][0]
        voice = VOICES[i % len(VOICES)]
        speech = espeak_synth_p(f"hey player, {text}", voice, None,
                                {"p": int(rng.integers(35, 65)), "s": int(rng.integers(140, 180)), "g": 2})
        pre, post = 2 * SR, SR // 2
        n = pre + len(speech) + post
        start = int(rng.integers(0, len(music) - n))
        bed = music[start:start + n]
        voiced = np.concatenate([np.zeros(pre, np.float32), speech, np.zeros(post, np.float32)])
        snr = float(rng.uniform(5, 15))
        clip = mix(voiced, bed, snr)
        name = f"{i:02d}.wav"
        sf.write(args.out / name, clip, SR, subtype="PCM_16")
        lines.append(json.dumps({"audio": name, "voice": voice, "text": text, "snr_db": round(snr, 1),
                                 "music": track.stem}))
    (args.out / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.clips} clips of speech over {track.name} to {args.out}")


if __name__ == "__main__":
    main()

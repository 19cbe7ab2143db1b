#!/usr/bin/env python3
"""Held-out wake-word benchmark corpus (issue 4), in the shared eval format (../shared/EVAL.md).

Nothing here was used to train or tune the "hey player" head (tools/heyplayer_tools/wake/build_data.py):

- positives ("hey player", "hey, player", "hey player, <command>"):
  * flite, all its voices (kal, kal16, awb, rms, slt): an engine the issue keeps out of training;
  * espeak-ng: the held-out voices (en-gb-x-gbclan, en-gb-x-gbcwmd, en-us-nyc) with the
    held-out variants (every 5th in sorted order, as build_data.split_variants holds them back);
  * Piper "joe" at the held-out scale settings only (the same speaker as in training: a weaker
    hold-out, labelled engine "piper" so it can be reported apart);
- noises: the held-out Asterisk music-on-hold track (reno_project-system), babble made of
  held-out real speech, and generated mains hum + fan rumble (none of these is a training
  noise type), at 5-20 dB SNR, with a two-slope synthetic room response on a third;
- negatives (each a long file, wake: false):
  * >= 1 h of real human speech never used in training: Asterisk prompts in Italian
    (it_IT_m_Carlo, and it_IT_f_Menardi from asterisk-prompt-it-menardi-wav), Russian
    (ru_RU_f_IvrvoiceRU), Colombian Spanish (asterisk-prompt-es-co) and French by Armelle
    (asterisk-prompt-fr-armelle); training used only the en_US/es_MX/fr_CA Asterisk voices;
  * near misses ("hey layer", "hey prayer", "play her", "hey there", "okay player",
    "hey Siri", "hey Jarvis", "player", "hey") by the held-out voices, alone and in sentences;
  * sentences by the held-out voices (not the training sentences);
  * music and noise: the held-out music track (plain, band-limited, pitched, in noise), hum, fan.

Do not train or tune on this corpus: it is the benchmark (`make bench-wake`).

    .venv/bin/python -m heyplayer_tools.testdata.wake_corpus OUT_DIR [--positives 320] [--neg-hours 2.0] [--real-min 65]
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, lfilter, resample_poly

from heyplayer_tools.testdata.commands import COMMANDS, mix
from heyplayer_tools.wake.build_data import (ESPEAK_HELDOUT_VOICES, PIPER_HELDOUT, Piper, espeak_synth_p,
                                             split_variants, to16k, trim)

SR = 16000
FLITE_VOICES = ["kal", "kal16", "awb", "rms", "slt"]
AST = Path("/usr/share/asterisk/sounds")
REAL_SPEECH = [  # (folder, extension): all held out from training
    (AST / "it_IT_m_Carlo", ".wav"), (AST / "ru_RU_f_IvrvoiceRU", ".wav"),
    (AST / "it_IT_f_Menardi", ".wav"), (AST / "es", ".gsm"), (AST / "fr", ".gsm"),
]
MUSIC = Path("/usr/share/asterisk/moh/reno_project-system.wav")
APT = ("asterisk-core-sounds-it-wav asterisk-core-sounds-ru-wav asterisk-prompt-it-menardi-wav "
       "asterisk-prompt-es-co asterisk-prompt-fr-armelle asterisk-moh-opsound-wav flite espeak-ng")
NEAR_MISSES = ["hey layer", "hey prayer", "play her", "hey there", "okay player", "hey Siri",
               "hey Jarvis", "player", "hey"]
NEAR_MISS_CARRIERS = ["{}", "{}", "{}, how are you", "I said {}", "{}, can you hear me"]
# Not the training sentences (build_data.SENTENCES).
SENTENCES = [
    "the library closes at six on fridays", "could you send me the report by tomorrow",
    "my sister moved to a small town near the coast", "the bus was full so we walked home",
    "he plays the violin in an orchestra", "the layers of the cake were chocolate and cream",
    "please remember to water the plants", "the printer on the second floor is out of paper",
    "we watched a film about penguins last night", "a good player never gives up",
    "she prayed that the storm would pass", "turn left at the next traffic light",
    "the soup needs a little more salt", "our flight was delayed by two hours",
    "they are building a new bridge over the river", "the children laughed at the clown",
    "do you want tea or coffee", "the football match ended in a draw",
    "I can't find the remote control", "the radio said it will snow tonight",
    "hello there, nice to meet you", "okay, let's get started", "hey, what are you doing later",
    "the media player crashed again", "that song reminds me of summer",
]


def load(path: Path) -> np.ndarray:
    if path.suffix == ".gsm":  # 8 kHz GSM 06.10: sox decodes it
        raw = subprocess.run(["sox", "-t", "gsm", "-r", "8000", str(path), "-t", "raw", "-e", "floating-point",
                              "-b", "32", "-c", "1", "-"], capture_output=True, check=True).stdout
        return to16k(np.frombuffer(raw, np.float32).copy(), 8000)
    a, sr = sf.read(path, dtype="float32", always_2d=True)
    return to16k(a.mean(axis=1), sr)


class Voices:
    """The held-out voices, round robin, with varied speed and pitch."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        held_variants = split_variants()[1]
        self.espeak = [(v, var) for v in ESPEAK_HELDOUT_VOICES for var in [None] + held_variants]
        import onnxruntime as ort
        ort.set_seed(int(rng.integers(1 << 30)))
        self.piper = Piper()
        self.k = 0

    def say(self, text: str) -> tuple[np.ndarray, str]:
        rng, self.k = self.rng, self.k + 1
        kind = ["flite", "flite", "espeak", "espeak", "piper"][self.k % 5]
        if kind == "flite":
            v = FLITE_VOICES[int(rng.integers(len(FLITE_VOICES)))]
            with tempfile.NamedTemporaryFile(suffix=".wav") as f:
                subprocess.run(["flite", "-voice", v, "--setf", f"duration_stretch={rng.uniform(0.85, 1.25):.2f}",
                                "--setf", f"int_f0_target_mean={rng.uniform(85, 210):.0f}",
                                "-t", text, "-o", f.name], check=True, capture_output=True)
                a, sr = sf.read(f.name, dtype="float32")
            return to16k(a, sr), f"flite-{v}"
        if kind == "espeak":
            v, var = self.espeak[int(rng.integers(len(self.espeak)))]
            prm = {"p": int(rng.integers(25, 75)), "s": int(rng.integers(130, 190)), "g": int(rng.integers(0, 6))}
            return espeak_synth_p(text, v, var, prm), f"espeak-{v}" + (f"+{var}" if var else "")
        ls, ns, nw = PIPER_HELDOUT[int(rng.integers(len(PIPER_HELDOUT)))]
        return self.piper.synth(text, ls, ns, nw), f"piper-{ls}-{ns}-{nw}"


class Noises:
    """Held-out noise beds: music, babble, hum, fan."""

    def __init__(self, rng: np.random.Generator, babble_src: np.ndarray):
        self.rng = rng
        self.music = load(MUSIC)
        self.babble_src = babble_src

    def _slice(self, src: np.ndarray, n: int) -> np.ndarray:
        if len(src) < n:
            src = np.tile(src, n // len(src) + 1)
        o = int(self.rng.integers(0, len(src) - n + 1))
        return src[o:o + n].copy()

    def hum(self, n: int) -> np.ndarray:
        t = np.arange(n) / SR
        f0 = self.rng.choice([50.0, 60.0])
        x = sum(self.rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * f0 * k * t + self.rng.uniform(0, 6.3))
                for k in range(1, 8))
        return (x + 0.05 * self.rng.standard_normal(n)).astype(np.float32)

    def fan(self, n: int) -> np.ndarray:
        b, a = butter(2, self.rng.uniform(200, 900) / (SR / 2))
        x = lfilter(b, a, self.rng.standard_normal(n))
        wobble = 1 + 0.2 * np.sin(2 * np.pi * self.rng.uniform(0.2, 2) * np.arange(n) / SR)
        return (x * wobble).astype(np.float32)

    def babble(self, n: int) -> np.ndarray:
        return sum(self._slice(self.babble_src, n) for _ in range(4)).astype(np.float32)

    def bed(self, n: int) -> tuple[np.ndarray, str]:
        kind = ["music", "babble", "hum", "fan"][int(self.rng.integers(4))]
        x = self._slice(self.music, n) if kind == "music" else getattr(self, kind)(n)
        return x, kind


def room(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A two-slope synthetic room response (early reflections + late tail)."""
    n = int(rng.uniform(0.3, 0.9) * SR)
    t = np.arange(n) / SR
    h = rng.standard_normal(n) * (0.6 * np.exp(-t / 0.02) + 0.25 * np.exp(-t / rng.uniform(0.08, 0.2)))
    h[0] = 1.0
    return np.convolve(a, h / np.abs(h).max())[: len(a) + n // 2].astype(np.float32)


def telephone(a: np.ndarray) -> np.ndarray:
    b, c = butter(3, [300 / 4000, 3400 / 4000], btype="band")
    return resample_poly(lfilter(b, c, resample_poly(a, 1, 2)), 2, 1).astype(np.float32)[: len(a)]


def write(out: Path, rel: str, x: np.ndarray) -> None:
    peak = float(np.abs(x).max()) if len(x) else 0.0
    sf.write(out / rel, x / max(1.0, peak / 0.95), SR, subtype="PCM_16")


def long_negatives(out, lines, name, utterances, rng, noises, gap=(0.3, 1.5), minutes=5.0, snr=(5, 25)):
    """Utterances end to end in files of `minutes`, each utterance over its own held-out noise."""
    parts, total, k = [], 0, 0

    def flush():
        nonlocal parts, total, k
        if not parts:
            return
        rel = f"neg/{name}_{k:02d}.wav"
        write(out, rel, np.concatenate(parts))
        lines.append({"id": f"neg-{name}-{k:02d}", "audio": rel, "labels": {"wake": False}})
        print(f"[wake-corpus] {rel}: {total / SR / 60:.1f} min", file=sys.stderr)
        parts, total, k = [], 0, k + 1

    for a in utterances:
        a = np.concatenate([a, np.zeros(int(rng.uniform(*gap) * SR), np.float32)])
        if snr is not None:
            bed, _ = noises.bed(len(a))
            a = mix(a, bed, float(rng.uniform(*snr)))
        parts.append(a * float(10 ** (rng.uniform(-12, 0) / 20)))
        total += len(a)
        if total >= minutes * 60 * SR:
            flush()
    flush()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--positives", type=int, default=320)
    ap.add_argument("--neg-hours", type=float, default=2.0, help="all negative audio, real speech included")
    ap.add_argument("--real-min", type=float, default=65.0, help="minutes of real human speech")
    ap.add_argument("--seed", type=int, default=23)
    args = ap.parse_args()
    manifest = args.out / "manifest.jsonl"
    if manifest.is_file():
        print(f"[wake-corpus] {manifest} exists; delete the folder to regenerate", file=sys.stderr)
        return
    missing = [str(d) for d, _ in REAL_SPEECH if not d.is_dir()] + ([str(MUSIC)] if not MUSIC.is_file() else [])
    if missing:
        sys.exit(f"[wake-corpus] error: missing {missing}: apt-get install {APT}")
    rng = np.random.default_rng(args.seed)
    for d in ("pos", "neg"):
        (args.out / d).mkdir(parents=True, exist_ok=True)

    # Real speech first: it is also the babble source.
    files = [p for d, ext in REAL_SPEECH for p in sorted(d.rglob(f"*{ext}"))]
    real = []
    for i in rng.permutation(len(files)):
        a = trim(load(files[i]))
        if len(a) > SR // 4:
            real.append(a)
    real_s = sum(len(a) for a in real) / SR
    if real_s < args.real_min * 60:
        sys.exit(f"[wake-corpus] error: only {real_s / 60:.1f} min of held-out real speech")
    noises = Noises(rng, np.concatenate(real[: len(real) // 5]))
    voices = Voices(rng)
    lines = []

    # Positives.
    for i in range(args.positives):
        form = ["hey player", "hey, player"][i % 2]
        with_command = i % 3 != 0
        text, intent = COMMANDS[int(rng.integers(len(COMMANDS)))]
        spoken = f"{form}, {text}" if with_command else form
        a, engine = voices.say(spoken)
        a = trim(a)
        if rng.random() < 0.33:
            a = room(a, rng)
        if rng.random() < 0.15:
            a = telephone(a)
        speech = np.concatenate([np.zeros(int(rng.uniform(0.5, 1.5) * SR), np.float32), a,
                                 np.zeros(int(1.5 * SR), np.float32)])
        bed, noise = noises.bed(len(speech))
        snr = float(rng.uniform(5, 20))
        clip = mix(speech, bed, snr) * float(10 ** (rng.uniform(-15, 0) / 20))
        cid = f"pos-{i:04d}"
        labels = {"wake": True}
        if with_command:
            labels |= {"transcript": text.lower(), "intent": intent}
        write(args.out, f"pos/{cid}.wav", clip)
        lines.append({"id": cid, "audio": f"pos/{cid}.wav", "engine": engine, "noise": noise,
                      "snr_db": round(snr, 1), "labels": labels})
        if (i + 1) % 50 == 0:
            print(f"[wake-corpus] positives {i + 1}/{args.positives}", file=sys.stderr)

    # Negatives: real speech (clean, or over a quiet held-out bed).
    want_real = int(args.real_min * 60 * SR)
    used, n = [], 0
    for a in real:
        used.append(a)
        n += len(a)
        if n >= want_real:
            break
    long_negatives(args.out, lines, "real_speech", used, rng, noises, gap=(0.2, 0.8), minutes=10.0,
                   snr=(15, 30))
    # Near misses and sentences by the held-out voices.
    nm = []
    for r in range(4):
        for phrase in NEAR_MISSES:
            for carrier in NEAR_MISS_CARRIERS:
                nm.append(trim(voices.say(carrier.format(phrase))[0]))
    long_negatives(args.out, lines, "near_miss", nm, rng, noises)
    st = [trim(voices.say(s)[0]) for _ in range(6) for s in SENTENCES]
    long_negatives(args.out, lines, "tts_sentences", st, rng, noises)
    done_s = sum(sf.info(args.out / l["audio"]).duration for l in lines if not l["labels"]["wake"])
    # Music and noise up to the total.
    rest = max(0.0, args.neg_hours * 3600 - done_s) + 30
    chunks, left = [], rest
    while left > 0:
        d = min(left, float(rng.uniform(20, 60)))
        m = int(d * SR)
        kind = ["music", "music_tel", "music_pitch", "music_noisy", "hum", "fan"][len(chunks) % 6]
        if kind.startswith("music"):
            x = noises._slice(noises.music, m)
            if kind == "music_tel":
                x = telephone(x)
            elif kind == "music_pitch":
                x = resample_poly(x, 20, 21).astype(np.float32)[:m]
            elif kind == "music_noisy":
                x = mix(x, noises.fan(m), 10.0)
        else:
            x = getattr(noises, kind)(m)
            x = x / (np.abs(x).max() + 1e-9) * 0.3
        chunks.append(x * float(10 ** (rng.uniform(-15, 0) / 20)))
        left -= d
    long_negatives(args.out, lines, "music_noise", chunks, rng, noises, gap=(0.0, 0.2), minutes=10.0, snr=None)

    manifest.write_text("".join(json.dumps(l) + "\n" for l in lines))
    neg_h = sum(sf.info(args.out / l["audio"]).duration for l in lines if not l["labels"]["wake"]) / 3600
    real_h = sum(sf.info(args.out / l["audio"]).duration for l in lines if "real_speech" in l["id"]) / 3600
    print(f"[wake-corpus] wrote {manifest}: {args.positives} positives, {neg_h:.2f} h negatives "
          f"({real_h:.2f} h real speech)", file=sys.stderr)


if __name__ == "__main__":
    main()

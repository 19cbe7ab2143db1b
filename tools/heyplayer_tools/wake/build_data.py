#!/usr/bin/env python3
"""Synthesise + augment "hey player" data and compute openWakeWord embeddings.

Everything generated goes to the cache dir ($HEYPLAYER_WAKE_CACHE, default
~/.cache/heyplayer/wake). Each "shard" is a continuous 16 kHz stream built from
many utterances (with gaps), augmented, then turned into 96-d embeddings (one per
80 ms). Per shard we store embeddings plus the end times of every wake phrase
("hey player") and of every utterance, so train.py can label sliding windows.

Shards already present in the cache are skipped (features are cached).

Usage: .venv/bin/python -m heyplayer_tools.wake.build_data [--jobs 2] [--scale 1.0]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly, lfilter, butter

from heyplayer_tools.wake import kokoro_voices as kv
from heyplayer_tools.wake import real_speech as rsp
from heyplayer_tools.wake import wakefeat as wf

DATA_VERSION = "v3"
SR = wf.SR

# ----------------------------------------------------------------------------- text
WAKE_FORMS = ["hey player", "hey, player", "hey player,"]
COMMANDS = [
    "play some jazz", "skip this", "skip this song", "pause", "stop the music",
    "turn it up", "volume down", "next track", "play the next one", "what's playing",
    "play something relaxing", "shuffle my playlist", "resume", "go back", "louder please",
    "play the radio", "repeat this song", "play rock music", "mute", "play my favourites",
]
NEAR_MISSES = [
    "hey layer", "hey prayer", "play her", "hey there", "okay player", "hey Siri",
    "hey Jarvis", "player", "hey", "hey play", "hey slayer", "hey mayor", "hay bale",
    "a player", "the player", "hey planner", "say player", "hey players", "hey plate",
    "hey pliers", "hey Taylor", "hey Clare", "hey, Layla", "hey Blair", "day player",
    "hey plaything", "play, hey", "hey, how are you", "hey buddy", "hi player",
]
SENTENCES = [
    "the weather is nice today", "can you hear me", "I will call you back later",
    "please leave a message after the tone", "what time is it", "turn off the lights",
    "the meeting starts at nine", "I like to play football on sundays",
    "the record player is broken", "she is a great piano player", "he is the best player on the team",
    "let's go for a walk", "dinner is ready", "where are my keys", "open the window",
    "this is a test of the system", "good morning everyone", "thank you very much",
    "how was your day", "the train is late again", "I need a cup of coffee",
    "hey, can you pass the salt", "okay, let me think about it", "say that again please",
    "the players are on the field", "they prayed for rain", "a layer of dust covered the table",
    "set a timer for ten minutes", "call mom", "read me the news", "that's a good idea",
    "I don't know", "maybe tomorrow", "we should leave now", "the kids are playing outside",
    "hey look at that", "hey, wait for me", "play it again, Sam", "the game is over",
]

# ----------------------------------------------------------------------------- voices
ESPEAK_TRAIN_VOICES = ["en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029"]
ESPEAK_HELDOUT_VOICES = ["en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc"]
# Piper (single speaker "joe"): scale settings; held-out ones never used in training.
PIPER_TRAIN_LS = [0.75, 0.85, 1.0, 1.3]
PIPER_TRAIN_NS = [0.4, 0.9]
PIPER_TRAIN_NW = [0.5, 1.1]
PIPER_HELDOUT = [(1.15, 0.667, 0.8), (0.92, 0.667, 0.8), (1.15, 0.667, 0.3)]  # (length, noise, noise_w)
# Speed perturbation of training voices (never of held-out ones): share of speakers, factor.
SPEED_P = 0.7
SPEED_RANGE = (0.86, 1.16)


def espeak_variants() -> list[str]:
    out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True).stdout
    vs = sorted(line.split()[4][3:] for line in out.splitlines()[1:]
                if len(line.split()) >= 5 and line.split()[4].startswith("!v/"))
    return vs


def split_variants():
    vs = espeak_variants()
    held = [v for i, v in enumerate(vs) if i % 5 == 2]
    train = [v for v in vs if v not in held]
    return train, held


# ----------------------------------------------------------------------------- audio utils
def to16k(a: np.ndarray, sr: int) -> np.ndarray:
    if sr == SR:
        return a.astype(np.float32)
    from math import gcd
    g = gcd(sr, SR)
    return resample_poly(a, SR // g, sr // g).astype(np.float32)


def trim(a: np.ndarray, rel_db: float = -40.0) -> np.ndarray:
    if len(a) == 0:
        return a
    fr = 160
    n = len(a) // fr
    if n == 0:
        return a
    e = np.sqrt(np.mean(a[:n * fr].reshape(n, fr) ** 2, axis=1) + 1e-12)
    thr = e.max() * 10 ** (rel_db / 20)
    idx = np.where(e > thr)[0]
    if len(idx) == 0:
        return a[:0]
    return a[idx[0] * fr:(idx[-1] + 1) * fr]


def rms(a):
    return float(np.sqrt(np.mean(a.astype(np.float64) ** 2) + 1e-12))


def load_audio(path: str) -> np.ndarray:
    a, sr = sf.read(path, dtype="float32", always_2d=True)
    return to16k(a.mean(axis=1), sr)


def colored_noise(n: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    w = rng.standard_normal(n).astype(np.float32)
    if kind == "white":
        x = w
    elif kind == "pink":  # Voss-McCartney-ish via IIR filter (Paul Kellet)
        b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
        a = [1, -2.494956002, 2.017265875, -0.522189400]
        x = lfilter(b, a, w)
    else:  # brown (leaky integrator)
        x = lfilter([1], [1, -0.995], w)
    x = x.astype(np.float32)
    return x / (rms(x) + 1e-9)


def synth_rir(rng: np.random.Generator) -> np.ndarray:
    rt60 = rng.uniform(0.15, 0.7)
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    h = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    h[: int(0.002 * SR)] *= 0.2
    direct = np.zeros(n)
    direct[0] = 1.0
    wet = rng.uniform(0.15, 0.6)
    h = direct + wet * h / (np.sqrt(np.sum(h ** 2)) + 1e-9)
    return h.astype(np.float32)


def telephone(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    b8 = resample_poly(a, 1, 2)
    if rng.random() < 0.5:
        b, c = butter(2, [300 / 4000, 3400 / 4000], btype="band")
        b8 = lfilter(b, c, b8)
    return resample_poly(b8, 2, 1).astype(np.float32)[: len(a)]


def speed(a: np.ndarray, f: float) -> np.ndarray:
    """Play `a` f times faster: pitch and formants up by f, length down by f (the classic
    speed perturbation; it moves a synthetic voice's vocal-tract length, so a handful of
    TTS voices stand in for many more speakers)."""
    if abs(f - 1.0) < 1e-3:
        return a
    return resample_poly(a, 100, int(round(100 * f))).astype(np.float32)


def augment_utt(a: np.ndarray, rng: np.random.Generator, heavy: bool = True) -> np.ndarray:
    """Reverb / telephone band-limit / level on one dry utterance (float, ~[-1,1])."""
    if heavy and rng.random() < 0.4:
        a = np.convolve(a, synth_rir(rng))[: len(a) + int(0.3 * SR)].astype(np.float32)
    if heavy and rng.random() < 0.25:
        a = telephone(a, rng)
    if heavy and rng.random() < 0.1:  # cheap mic / clipping
        a = np.clip(a * rng.uniform(2, 6), -1, 1) / 3
    return a


# ----------------------------------------------------------------------------- TTS
_PIPER = None


def espeak_params(rng: np.random.Generator) -> dict:
    return {"p": int(rng.integers(15, 85)), "s": int(rng.integers(115, 210)), "g": int(rng.integers(0, 8))}


def espeak_synth_p(text: str, voice: str, variant: str | None, prm: dict) -> np.ndarray:
    v = voice + (f"+{variant}" if variant else "")
    cmd = ["espeak-ng", "-v", v, "-p", str(prm["p"]), "-s", str(prm["s"]), "-g", str(prm["g"]),
           "--stdout", text]
    wav = subprocess.run(cmd, capture_output=True, check=True).stdout
    a, sr = sf.read(io.BytesIO(wav), dtype="float32")
    return to16k(a, sr)


class Piper:
    def __init__(self):
        import onnxruntime as ort
        onnx_p, json_p = wf.piper_voice()
        cfg = json.loads(Path(json_p).read_text())
        self.idmap = cfg["phoneme_id_map"]
        self.sr = cfg["audio"]["sample_rate"]
        self.voice = cfg["espeak"]["voice"]
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        self.sess = ort.InferenceSession(str(onnx_p), so, providers=["CPUExecutionProvider"])

    def phonemes(self, text: str) -> str:
        parts = [p.strip() for p in text.replace("?", ",").replace(".", ",").split(",")]
        out = []
        for i, p in enumerate(parts):
            if not p:
                continue
            ph = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", self.voice, p],
                                capture_output=True, text=True).stdout
            ph = " ".join(ph.split())
            out.append(ph)
        sep = ", " if "," in text else " "
        return sep.join(out)

    def synth(self, text: str, ls: float, ns: float, nw: float) -> np.ndarray:
        ph = self.phonemes(text)
        ids = [self.idmap["^"][0], self.idmap["_"][0]]
        for ch in ph:
            if ch in self.idmap:
                ids += [self.idmap[ch][0], self.idmap["_"][0]]
        ids.append(self.idmap["$"][0])
        x = np.array([ids], dtype=np.int64)
        out = self.sess.run(None, {"input": x, "input_lengths": np.array([x.shape[1]], np.int64),
                                   "scales": np.array([ns, ls, nw], np.float32)})[0]
        return to16k(out.reshape(-1), self.sr)


def piper() -> Piper:
    global _PIPER
    if _PIPER is None:
        _PIPER = Piper()
    return _PIPER


# ----------------------------------------------------------------------------- sources
def ls_files(d: str, exts=(".wav",)) -> list[str]:
    """The files under d with these extensions. Every folder read here comes
    from a package of apt-packages.txt: an empty one means a missing package,
    and a model trained without its audio would differ silently, so stop."""
    out = []
    for root, _, files in os.walk(d, followlinks=True):
        for f in files:
            if f.lower().endswith(exts):
                out.append(os.path.join(root, f))
    if not out:
        sys.exit(f"build_data: no {'/'.join(exts)} files under {d}: install the Debian packages of "
                 "tools/heyplayer_tools/wake/apt-packages.txt (train_all --apt does)")
    return sorted(out)


AST = "/usr/share/asterisk/sounds"
SPEECH_TRAIN_DIRS = [f"{AST}/en_US_f_Allison", f"{AST}/es_MX_f_Allison", f"{AST}/fr_CA_f_June"]
REAL_PER_SPEAKER = 10_000  # prompts of each training speaker used as negatives (all of them)
POS_ESPEAK_SHARDS = 16      # espeak positive shards of 80 phrases (pos_esp_9 is validation)
POS_PIPER_SHARDS = 4        # Piper positive shards of 60 phrases (pos_pip_3 is validation)
NEG_ESPEAK_SHARDS = 7       # espeak near-miss/other-speech shards of 90 (neg_esp_6 is validation)
SPEECH_HELDOUT_DIRS = [f"{AST}/it_IT_m_Carlo", f"{AST}/ru_RU_f_IvrvoiceRU"]
MOH_DIR = "/usr/share/asterisk/moh"
MOH_HELDOUT = "reno_project-system.wav"
AMBIENT_FILES = ["/usr/share/sounds/alsa/Noise.wav"]
# (oxygen-sounds was listed here as /usr/share/sounds/oxygen, but Debian installs
# its files straight into /usr/share/sounds/: the folder was always empty and the
# committed model never heard them. Found when ls_files began to refuse empty folders.)
AMBIENT_DIRS = ["/usr/share/sounds/freedesktop"]


def ambient_pool() -> list[np.ndarray]:
    """Real non-speech recordings used as background noise (train only)."""
    missing = [f for f in AMBIENT_FILES if not os.path.exists(f)]
    if missing:
        sys.exit(f"build_data: {missing} missing: install the Debian packages of tools/heyplayer_tools/wake/apt-packages.txt")
    files = list(AMBIENT_FILES)
    for d in AMBIENT_DIRS:
        files += ls_files(d, (".wav", ".ogg", ".oga"))
    files += [f for f in ls_files(MOH_DIR) if not f.endswith(MOH_HELDOUT)]
    pool = []
    for f in files:
        try:
            a = load_audio(f)
        except Exception:
            continue
        if len(a) > SR // 4 and rms(a) > 1e-4:
            pool.append(a / rms(a))
    return pool


_AMB = None
_BABBLE = None


def babble_source() -> np.ndarray:
    """Every training-speaker Asterisk prompt (en_US/es_MX Allison, fr_CA June), trimmed,
    levelled and laid end to end: the talkers of babble. The held-out corpus's babble is
    made of other speakers (it, ru, es-CO, fr Armelle), never these."""
    parts = []
    for d in SPEECH_TRAIN_DIRS:
        for f in ls_files(d):
            try:
                a = trim(load_audio(f), -50)
            except Exception:
                continue
            if len(a) > SR // 4:
                parts.append(a / rms(a))
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def babble(n: int, rng: np.random.Generator) -> np.ndarray | None:
    """BABBLE_TALKERS random stretches of training speech summed: a room of people talking."""
    global _BABBLE
    if _BABBLE is None:
        _BABBLE = babble_source()
    if len(_BABBLE) < n + SR:
        return None
    k = int(rng.integers(BABBLE_TALKERS[0], BABBLE_TALKERS[1] + 1))
    x = np.zeros(n, np.float32)
    for _ in range(k):
        o = int(rng.integers(0, len(_BABBLE) - n))
        x += _BABBLE[o:o + n] * rng.uniform(0.5, 1.0)
    return x / (rms(x) + 1e-9)


BABBLE_P = 0.25          # share of noise segments that are babble
BABBLE_TALKERS = (2, 7)  # talkers summed, inclusive


def noise_segment(n: int, rng: np.random.Generator) -> np.ndarray:
    global _AMB
    if rng.random() < BABBLE_P:
        b = babble(n, rng)
        if b is not None:
            return b
    r = rng.random()
    if r < 0.45:
        return colored_noise(n, rng.choice(["white", "pink", "brown"]), rng)
    if _AMB is None:
        _AMB = ambient_pool()
    if not _AMB:
        return colored_noise(n, "pink", rng)
    src = _AMB[int(rng.integers(len(_AMB)))]
    if len(src) < n:
        src = np.tile(src, n // len(src) + 1)
    o = int(rng.integers(0, len(src) - n + 1))
    seg = src[o:o + n].copy()
    if rng.random() < 0.3:  # mix in some coloured noise too
        seg = seg + 0.5 * colored_noise(n, "pink", rng)
    return seg / (rms(seg) + 1e-9)


# ----------------------------------------------------------------------------- stream assembly
class Stream:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.parts: list[np.ndarray] = []
        self.pos = 0
        self.wake_ends: list[float] = []   # seconds: end of "hey player"
        self.utt_spans: list[tuple[float, float]] = []
        self.seg_levels: list[tuple[int, int, float, float]] = []  # (start,end,speech_rms,snr)
        self.utt_meta: list[dict] = []

    def gap(self, lo: float, hi: float):
        n = int(self.rng.uniform(lo, hi) * SR)
        self.parts.append(np.zeros(n, np.float32))
        self.pos += n

    def add(self, a: np.ndarray, wake_end: float | None = None, snr: float | None = None):
        s = self.pos
        self.parts.append(a.astype(np.float32))
        self.pos += len(a)
        self.utt_spans.append((s / SR, self.pos / SR))
        if wake_end is not None:
            self.wake_ends.append(s / SR + wake_end)
        self.seg_levels.append((s, self.pos, rms(a), snr if snr is not None else np.inf))

    def render(self, noise: bool = True, floor_db: float = -75) -> np.ndarray:
        x = np.concatenate(self.parts) if self.parts else np.zeros(SR, np.float32)
        rng = self.rng
        if noise:
            # noise level per segment: from previous utterance end to this one's end
            prev = 0
            for (s, e, lvl, snr) in self.seg_levels:
                if np.isfinite(snr):
                    nl = lvl / (10 ** (snr / 20))
                    x[prev:e] += nl * noise_segment(e - prev, rng)
                prev = e
            if self.seg_levels and np.isfinite(self.seg_levels[-1][3]) and prev < len(x):
                lvl, snr = self.seg_levels[-1][2], self.seg_levels[-1][3]
                x[prev:] += lvl / (10 ** (snr / 20)) * noise_segment(len(x) - prev, rng)
        x += (10 ** (floor_db / 20)) * rng.standard_normal(len(x)).astype(np.float32)
        return np.clip(x, -1, 1) * 32767.0


def level(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    db = rng.uniform(-32, -14)  # target RMS dBFS
    return a * (10 ** (db / 20) / (rms(a) + 1e-9))


def pick_snr(rng: np.random.Generator, clean_p: float = 0.15) -> float:
    return np.inf if rng.random() < clean_p else float(rng.uniform(5, 20))


# ----------------------------------------------------------------------------- shard builders
def tts_say(engine: str, voices, rng: np.random.Generator):
    """Returns a function text->audio using one random voice/setting (same for all parts).
    Training voices (`perturb` set) are also sped up or slowed down by one factor per
    speaker (SPEED_P of them, factor in SPEED_RANGE), the same for every part."""
    f = 1.0
    if voices.get("perturb") and rng.random() < SPEED_P:
        f = float(rng.uniform(*SPEED_RANGE))
    if engine == "espeak":
        voice = voices["voices"][int(rng.integers(len(voices["voices"])))]
        variant = None if rng.random() < 0.2 else voices["variants"][int(rng.integers(len(voices["variants"])))]
        prm = espeak_params(rng)
        return (lambda t: speed(trim(espeak_synth_p(t, voice, variant, prm)), f)), \
            f"espeak:{voice}+{variant}x{f:.2f}"
    if engine == "kokoro":
        spk = kv.draw_speaker(rng, voices.get("heldout", False), "neg")
        k = kokoro()
        return (lambda t: to16k(k.say(spk, t, None, "fluent")[0], kv.KOKORO_SR)), \
            f"kokoro:{spk.dominant()}/{spk.lang}x{spk.speed:.2f}"
    ls, ns, nw = voices["settings"][int(rng.integers(len(voices["settings"])))]
    ls = ls * rng.uniform(0.97, 1.03) if voices.get("jitter") else ls
    p = piper()
    return (lambda t: speed(trim(p.synth(t, ls, ns, nw)), f)), f"piper:{ls:.2f}/{ns}/{nw}x{f:.2f}"


def build_pos(n: int, engine: str, voices, rng, heavy=True):
    st = Stream(rng)
    meta = []
    for i in range(n):
        say, who = tts_say(engine, voices, rng)
        r = rng.random()
        wake = WAKE_FORMS[0] if r < 0.4 else WAKE_FORMS[1] if r < 0.6 else WAKE_FORMS[2]
        w = say(wake)
        if len(w) < SR // 5:
            continue
        a = w
        if r >= 0.6 or rng.random() < 0.2:  # + command
            cmd = COMMANDS[int(rng.integers(len(COMMANDS)))]
            c = say(cmd)
            a = np.concatenate([w, np.zeros(int(rng.uniform(0.05, 0.35) * SR), np.float32), c])
        a = level(augment_utt(a, rng, heavy), rng)
        st.gap(0.25, 1.0)
        snr = pick_snr(rng) if heavy else pick_snr(rng, 0.4)
        st.add(a, wake_end=len(w) / SR, snr=snr)
        meta.append(who)
        st.utt_meta.append({"who": who, "text": wake + (" +cmd" if len(a) > len(w) else ""), "snr": snr})
    st.gap(0.6, 0.9)
    return st, meta


_KOKORO = None
_JUDGE = None


def kokoro() -> "kv.Kokoro":
    global _KOKORO
    if _KOKORO is None:
        _KOKORO = kv.Kokoro(threads=1)
    return _KOKORO


def judge() -> "kv.Judge":
    global _JUDGE
    if _JUDGE is None:
        _JUDGE = kv.Judge()
    return _JUDGE


def build_pos_kokoro(n: int, heldout: bool, variants: list[str], rng, spk_rng, heavy=True):
    """n renders of "hey player [command]" by Kokoro mixture speakers (kokoro_voices.py),
    each as one utterance in one of `variants` (fluent / comma / pause), the end of "player"
    from the model's own token durations. 20 % are the wake phrase alone. Whisper tiny.en (the
    product's fast option; the default verifier is base) transcribes every dry render; only
    those where it hears "player" are kept, the others are counted. spk_rng draws speakers and texts (shards that share it
    share their speakers), rng the augmentation."""
    st = Stream(rng)
    meta, stats = [], {"rendered": 0, "accepted": 0}
    for i in range(n):
        spk = kv.draw_speaker(spk_rng, heldout, f"k{i}")
        v = variants[int(spk_rng.integers(len(variants)))]
        cmd = None if spk_rng.random() < 0.2 else COMMANDS[int(spk_rng.integers(len(COMMANDS)))]
        pause = float(spk_rng.uniform(0.15, 0.6))
        a24, we = kokoro().say(spk, "hey player", cmd, v, pause)
        a = to16k(a24, kv.KOKORO_SR)
        stats["rendered"] += 1
        text = judge().text(a)
        if not kv.hears_wake(text):
            continue
        stats["accepted"] += 1
        a = level(augment_utt(a, rng, heavy), rng)
        st.gap(0.25, 1.0)
        snr = pick_snr(rng) if heavy else pick_snr(rng, 0.4)
        st.add(a, wake_end=we, snr=snr)
        who = f"kokoro:{spk.dominant()}/{spk.lang}/{v}"
        meta.append(who)
        st.utt_meta.append({"who": who, "text": text, "snr": snr})
    st.gap(0.6, 0.9)
    return st, meta, stats


def build_tts_neg(n: int, engine: str, voices, rng, heavy=True):
    st = Stream(rng)
    meta = []
    for i in range(n):
        say, who = tts_say(engine, voices, rng)
        r = rng.random()
        if r < 0.55:
            t = NEAR_MISSES[int(rng.integers(len(NEAR_MISSES)))]
            if rng.random() < 0.3:
                t = t + ", " + COMMANDS[int(rng.integers(len(COMMANDS)))]
        elif r < 0.75:
            t = COMMANDS[int(rng.integers(len(COMMANDS)))]
        else:
            t = SENTENCES[int(rng.integers(len(SENTENCES)))]
        a = say(t)
        if len(a) < SR // 10:
            continue
        a = level(augment_utt(a, rng, heavy), rng)
        st.gap(0.15, 0.8)
        st.add(a, snr=pick_snr(rng))
        meta.append(who)
    st.gap(0.5, 0.8)
    return st, meta


def build_real(files: list[str], rng, heavy=True):
    st = Stream(rng)
    for f in files:
        try:
            a = trim(load_audio(f), -50)
        except Exception as e:  # unreadable file
            print("skip", f, e, flush=True)
            continue
        if len(a) < SR // 10:
            continue
        if heavy:
            a = level(augment_utt(a, rng, True), rng)
            snr = pick_snr(rng, 0.3)
        else:
            a = a * (10 ** (rng.uniform(-30, -16) / 20) / (rms(a) + 1e-9))
            snr = np.inf
        st.gap(0.1, 0.7)
        st.add(a, snr=snr)
    st.gap(0.3, 0.5)
    return st, [os.path.basename(f) for f in files]


def build_noise(seconds: float, rng, files: list[str] | None = None):
    """Pure noise / music / ambient stream (no speech)."""
    st = Stream(rng)
    parts = []
    total = int(seconds * SR)
    if files:
        for f in files:
            a = load_audio(f)
            parts.append(a * (10 ** (rng.uniform(-35, -15) / 20) / (rms(a) + 1e-9)))
        x = np.concatenate(parts)[:total] if parts else np.zeros(total, np.float32)
    else:
        x = np.zeros(0, np.float32)
        while len(x) < total:
            n = int(rng.uniform(3, 12) * SR)
            seg = noise_segment(n, rng) * (10 ** (rng.uniform(-45, -15) / 20))
            x = np.concatenate([x, seg.astype(np.float32)])
        x = x[:total]
    st.parts = [x.astype(np.float32)]
    st.pos = len(x)
    return st, []


# ----------------------------------------------------------------------------- plan
# Data v4 (issue 29): Kokoro mixture speakers and real game speech, on top of v3.
KOKORO_POS_SHARDS = 4       # Kokoro positive shards of 80 renders (pos_kok_3 is validation)
KOKORO_NEG_SHARDS = 2       # Kokoro near-miss/other-speech shards of 80 (neg_kok_1 is validation)
KOKORO_HO_RENDERS = 80      # per held-out variant shard (the same speakers and texts in each)
QUEEN_TRAIN_CLIPS = 1600    # of the 6,024 training queen clips: real_queen_0 (train), _1 (validation)
NEVERBALL_REPEATS = 6       # "player one" ... read this many times, augmented anew each time


def plan_v4(scale: float, S) -> list[dict]:
    specs = []
    tr = {"heldout": False}
    for i in range(KOKORO_POS_SHARDS):
        specs.append(dict(name=f"pos_kok_{i}", kind="pos_kokoro", heldout=False,
                          variants=["fluent", "comma", "pause"], n=S(80), spk_seed=5000 + i, split="train"))
    for i in range(KOKORO_NEG_SHARDS):
        specs.append(dict(name=f"neg_kok_{i}", kind="tts_neg", engine="kokoro", voices=tr, n=S(80), split="train"))
    for v in ("fluent", "comma", "pause"):
        specs.append(dict(name=f"ho_pos_kok_{v}", kind="pos_kokoro", heldout=True, variants=[v],
                          n=S(KOKORO_HO_RENDERS), spk_seed=6000, split="heldout"))
    specs.append(dict(name="ho_neg_kok_0", kind="tts_neg", engine="kokoro", voices={"heldout": True},
                      n=S(100), split="heldout"))
    rs = random.Random(4321)
    src = rsp.all_sources()
    q_tr, q_ho = rsp.split(src["queen"])
    rs.shuffle(q_tr)
    k = S(QUEEN_TRAIN_CLIPS)
    specs.append(dict(name="real_queen_0", kind="real", files=sorted(q_tr[:k // 2]), split="train"))
    specs.append(dict(name="real_queen_1", kind="real", files=sorted(q_tr[k // 2:k]), split="train"))
    d_tr, d_ho = rsp.split(src["drascula"])
    specs.append(dict(name="real_drascula_0", kind="real", files=d_tr, split="train"))
    specs.append(dict(name="real_kajongg_0", kind="real", files=[str(f) for f in src["kajongg"]], split="train"))
    specs.append(dict(name="real_qabcs_0", kind="real", files=[str(f) for f in src["qabcs"]], split="train"))
    specs.append(dict(name="real_neverball_0", kind="real",
                      files=[str(f) for f in src["neverball"]] * NEVERBALL_REPEATS, split="train"))
    # held-out real speech: whole queen conversations and drascula files never trained on
    specs.append(dict(name="ho_rspeech_queen", kind="real_clean", files=q_ho, split="heldout"))
    specs.append(dict(name="ho_rspeech_drascula", kind="real_clean", files=d_ho, split="heldout"))
    return specs


def plan(scale: float, version: str = DATA_VERSION):
    """List of shard specs. split: train (train+val by shard), heldout."""
    vtrain, vheld = split_variants()
    esp_tr = {"voices": ESPEAK_TRAIN_VOICES, "variants": vtrain, "perturb": True}
    esp_ho = {"voices": ESPEAK_HELDOUT_VOICES, "variants": vheld}
    settings_tr = [(l, n, w) for l in PIPER_TRAIN_LS for n in PIPER_TRAIN_NS for w in PIPER_TRAIN_NW]
    pip_tr = {"settings": settings_tr, "jitter": True, "perturb": True}
    pip_ho = {"settings": PIPER_HELDOUT}
    S = lambda k: max(1, int(round(k * scale)))  # noqa: E731
    specs = []
    # positives: 10 espeak shards + 4 piper shards (train pool; train.py splits val by shard)
    for i in range(POS_ESPEAK_SHARDS):
        specs.append(dict(name=f"pos_esp_{i}", kind="pos", engine="espeak", voices=esp_tr, n=S(80), split="train"))
    for i in range(POS_PIPER_SHARDS):
        specs.append(dict(name=f"pos_pip_{i}", kind="pos", engine="piper", voices=pip_tr, n=S(60), split="train"))
    for i in range(NEG_ESPEAK_SHARDS):
        specs.append(dict(name=f"neg_esp_{i}", kind="tts_neg", engine="espeak", voices=esp_tr, n=S(90), split="train"))
    for i in range(2):
        specs.append(dict(name=f"neg_pip_{i}", kind="tts_neg", engine="piper", voices=pip_tr, n=S(70), split="train"))
    # held-out synthetic
    for i in range(2):
        specs.append(dict(name=f"ho_pos_esp_{i}", kind="pos", engine="espeak", voices=esp_ho, n=S(100), split="heldout"))
    specs.append(dict(name="ho_pos_pip_0", kind="pos", engine="piper", voices=pip_ho, n=S(90), split="heldout"))
    specs.append(dict(name="ho_neg_esp_0", kind="tts_neg", engine="espeak", voices=esp_ho, n=S(150), split="heldout"))
    # real speech, train pool: subsample of en/es/fr asterisk prompts + tuxpaint + klettres
    rs = random.Random(1234)
    for d in SPEECH_TRAIN_DIRS:
        fs = ls_files(d)
        rs.shuffle(fs)
        k = min(len(fs), S(REAL_PER_SPEAKER))
        lang = Path(d).name[:2]
        for j in range(2):
            specs.append(dict(name=f"real_{lang}_{j}", kind="real", files=fs[j * k // 2:(j + 1) * k // 2], split="train"))
    tux = [f for f in ls_files("/usr/share/tuxpaint/stamps", (".ogg", ".wav"))]
    rs.shuffle(tux)
    specs.append(dict(name="real_tux_0", kind="real", files=tux[:S(160)], split="train"))
    kl = ls_files("/usr/share/klettres", (".ogg", ".wav"))
    rs.shuffle(kl)
    specs.append(dict(name="real_klettres_0", kind="real", files=kl[:S(200)], split="train"))
    # noise / music train
    moh = [f for f in ls_files(MOH_DIR) if not f.endswith(MOH_HELDOUT)]
    specs.append(dict(name="noise_gen_0", kind="noise", seconds=150 * scale, split="train"))
    specs.append(dict(name="music_0", kind="noise", files=moh, seconds=240 * scale, split="train"))
    # held-out real speech (never trained on): Italian + Russian asterisk prompts (all)
    for d in SPEECH_HELDOUT_DIRS:
        fs = ls_files(d)
        lang = Path(d).name[:2]
        half = len(fs) // 2
        specs.append(dict(name=f"ho_real_{lang}_0", kind="real_clean", files=fs[:half], split="heldout"))
        specs.append(dict(name=f"ho_real_{lang}_1", kind="real_clean", files=fs[half:], split="heldout"))
    specs.append(dict(name="ho_music_0", kind="noise", files=[os.path.join(MOH_DIR, MOH_HELDOUT)],
                      seconds=240, split="heldout"))
    for k, s in enumerate(specs):
        s["seed"] = 1000 + k
    if version == "v4":
        extra = plan_v4(scale, S)
        for k, s in enumerate(extra):
            s["seed"] = 3000 + k
        specs += extra
    return specs


def run_spec(spec: dict, out_dir: str) -> dict:
    t0 = time.time()
    rng = np.random.default_rng(spec["seed"])
    random.seed(spec["seed"])
    kind = spec["kind"]
    if spec.get("engine") == "piper":
        # Piper's noise comes from ONNX RandomNormal ops, seeded when the session is
        # created: reseed + recreate per shard so every shard is reproducible.
        import onnxruntime as ort
        global _PIPER
        ort.set_seed(spec["seed"])
        _PIPER = Piper()
    stats = None
    if kind == "pos":
        st, meta = build_pos(spec["n"], spec["engine"], spec["voices"], rng)
    elif kind == "pos_kokoro":
        st, meta, stats = build_pos_kokoro(spec["n"], spec["heldout"], spec["variants"], rng,
                                           np.random.default_rng(spec["spk_seed"]))
    elif kind == "tts_neg":
        st, meta = build_tts_neg(spec["n"], spec["engine"], spec["voices"], rng)
    elif kind == "real":
        st, meta = build_real(spec["files"], rng, heavy=True)
    elif kind == "real_clean":
        st, meta = build_real(spec["files"], rng, heavy=False)
    elif kind == "noise":
        st, meta = build_noise(spec["seconds"], rng, spec.get("files"))
    else:
        raise ValueError(kind)
    t1 = time.time()
    audio = st.render(noise=True)
    fx = _fx()
    emb = fx.embed(audio)
    t2 = time.time()
    np.savez_compressed(os.path.join(out_dir, spec["name"] + ".npz"),
                        emb=emb.astype(np.float16),
                        wake_ends=np.array(st.wake_ends, np.float64),
                        utt_spans=np.array(st.utt_spans, np.float64).reshape(-1, 2),
                        seconds=np.array(len(audio) / SR))
    info = dict(name=spec["name"], kind=kind, split=spec["split"], seconds=len(audio) / SR,
                n_emb=int(emb.shape[0]), n_wake=len(st.wake_ends), n_utt=len(st.utt_spans),
                voices=sorted(set(meta))[:200] if kind in ("pos", "tts_neg", "pos_kokoro") else None,
                whisper_filter=stats, utt_meta=st.utt_meta if kind == "pos_kokoro" else None,
                t_synth=round(t1 - t0, 1), t_feat=round(t2 - t1, 1))
    with open(os.path.join(out_dir, spec["name"] + ".json"), "w") as f:
        json.dump(info, f)
    return info


_FX = None


def _fx():
    global _FX
    if _FX is None:
        _FX = wf.FeatureExtractor(threads=1)
    return _FX


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--only", default=None, help="comma list of shard names")
    ap.add_argument("--data-version", default=DATA_VERSION, choices=["v3", "v4"],
                    help="v3: the committed recipe; v4: + Kokoro speakers and real game speech (issue 29)")
    args = ap.parse_args()
    t0 = time.time()
    wf.oww_models()
    wf.piper_voice()
    out_dir = wf.cache_dir() / f"features_{args.data_version}_s{args.scale:g}"
    out_dir.mkdir(parents=True, exist_ok=True)
    specs = plan(args.scale, args.data_version)
    if args.only:
        keep = set(args.only.split(","))
        specs = [s for s in specs if s["name"] in keep]
    todo = [s for s in specs if not (out_dir / (s["name"] + ".json")).exists()]
    print(f"[build_data] {len(specs)} shards, {len(todo)} to build -> {out_dir}", flush=True)
    # longest first for better packing
    todo.sort(key=lambda s: -(len(s.get("files") or []) * 3 + s.get("n", 0) * (8 if s["kind"] == "pos_kokoro" else 2.5)
                              + s.get("seconds", 0)))
    done = 0
    if args.jobs > 1 and len(todo) > 1:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(args.jobs) as pool:
            for info in pool.imap_unordered(_run_wrapped, [(s, str(out_dir)) for s in todo]):
                done += 1
                _progress(done, len(todo), info, t0)
    else:
        for s in todo:
            info = run_spec(s, str(out_dir))
            done += 1
            _progress(done, len(todo), info, t0)
    (out_dir / "plan.json").write_text(json.dumps(
        [{k: (v if k != "voices" else None) for k, v in s.items()} for s in specs], indent=0))
    print(f"[build_data] done in {time.time() - t0:.0f}s", flush=True)


def _run_wrapped(a):
    return run_spec(*a)


def _progress(done, total, info, t0):
    print(f"[build_data] {done}/{total} {info['name']}: {info['seconds']:.0f}s audio, "
          f"{info['n_emb']} emb, {info['n_wake']} wake (synth {info['t_synth']}s, feat {info['t_feat']}s) "
          f"elapsed {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()

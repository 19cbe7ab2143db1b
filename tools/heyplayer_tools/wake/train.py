#!/usr/bin/env python3
"""Train the "hey player" head (numpy MLP), mine hard negatives, pick a threshold,
export hey_player.onnx and write metrics.json.

Input of the exported model: "embeddings" f32 [1,16,96] (16 consecutive
openWakeWord embeddings, 1.28 s). Output: "probability" f32 [1,1].

Usage: .venv/bin/python -m heyplayer_tools.wake.train [--scale 1.0] [--out models/wake]
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from heyplayer_tools import ROOT
from heyplayer_tools.wake import temporal  # (JAX is imported only when a temporal head is made)
from heyplayer_tools.wake import wakefeat as wf
from heyplayer_tools.wake.build_data import DATA_VERSION

# Training seeds, one draw each (train.py --seeds): the committed head's seed first, then two
# more; the draw with the lowest validation FRR is kept.
SEEDS = (20240611, 1, 2)
HOP_S = 0.08
# end time (s) of the audio seen by the window whose last embedding is k
def t_end(k):
    return (1280 * np.asarray(k) + 12400) / 16000.0


# labelling relative to the end of "hey player" (te):
POS_LO, POS_HI = -0.08, 0.56        # window ends in [te-0.08, te+0.56] -> positive
IGN_LO, IGN_HI = -0.40, 0.90       # other windows in [te-0.40, te+0.90] -> ignored
DET_LO, DET_HI = -0.35, 1.0       # streaming eval: detection counts as a hit in this zone
REFRACTORY_S = 1.5                # after a detection, ignore triggers for this long

VAL_SHARDS = {"pos_esp_9", "pos_pip_3", "neg_esp_6", "neg_pip_1",
              "real_en_1", "real_es_1", "real_fr_1",
              "pos_kok_3", "neg_kok_1", "real_queen_1"}  # the last three: data v4 only

H1, H2 = 64, 32
CFG = {"dropout": 0.2, "feat_noise": 0.05, "wd": 1e-4}


# ----------------------------------------------------------------------------- data
def load_shards(feat_dir: Path):
    shards = {}
    for j in sorted(feat_dir.glob("*.json")):
        if j.name == "plan.json":
            continue
        info = json.loads(j.read_text())
        d = np.load(feat_dir / (info["name"] + ".npz"))
        info["emb"] = d["emb"].astype(np.float32)
        info["wake_ends"] = d["wake_ends"]
        shards[info["name"]] = info
    return shards


def window_labels(n_emb: int, wake_ends: np.ndarray):
    """labels for windows ending at k = 15..n_emb-1: 1 pos, 0 neg, -1 ignore."""
    k = np.arange(wf.WINDOW - 1, n_emb)
    te_k = t_end(k)
    lab = np.zeros(len(k), np.int8)
    for te in wake_ends:
        d = te_k - te
        lab[(d >= IGN_LO) & (d <= IGN_HI) & (lab == 0)] = -1
    for te in wake_ends:
        d = te_k - te
        lab[(d >= POS_LO) & (d <= POS_HI)] = 1
    return lab


def shard_windows(info):
    w = wf.windows(info["emb"])
    lab = window_labels(info["emb"].shape[0], info["wake_ends"])
    return w, lab


# ----------------------------------------------------------------------------- model
class MLP:
    def __init__(self, d_in, rng):
        self.p = {
            "W1": (rng.standard_normal((d_in, H1)) * np.sqrt(2.0 / d_in)).astype(np.float32),
            "b1": np.zeros(H1, np.float32),
            "W2": (rng.standard_normal((H1, H2)) * np.sqrt(2.0 / H1)).astype(np.float32),
            "b2": np.zeros(H2, np.float32),
            "W3": (rng.standard_normal((H2, 1)) * np.sqrt(1.0 / H2)).astype(np.float32),
            "b3": np.zeros(1, np.float32),
        }
        self.m = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.t = 0

    def forward(self, x, train=False, rng=None, drop=0.0):
        p = self.p
        z1 = x @ p["W1"] + p["b1"]
        h1 = np.maximum(z1, 0)
        mask = None
        if train and drop > 0:
            mask = (rng.random(h1.shape) >= drop).astype(np.float32) / (1 - drop)
            h1 = h1 * mask
        z2 = h1 @ p["W2"] + p["b2"]
        h2 = np.maximum(z2, 0)
        z3 = h2 @ p["W3"] + p["b3"]
        return z3[:, 0], (x, z1, h1, mask, z2, h2)

    def predict(self, x, bs=8192):
        out = []
        for i in range(0, len(x), bs):
            z, _ = self.forward(x[i:i + bs])
            out.append(sigmoid(z))
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def step(self, x, y, w, lr, rng, wd=1e-4, drop=0.2):
        z, (x, z1, h1, mask, z2, h2) = self.forward(x, True, rng, drop)
        pr = sigmoid(z)
        eps = 1e-7
        loss = -np.sum(w * (y * np.log(pr + eps) + (1 - y) * np.log(1 - pr + eps))) / np.sum(w)
        g3 = (w * (pr - y) / np.sum(w))[:, None].astype(np.float32)
        p = self.p
        grads = {"W3": h2.T @ g3, "b3": g3.sum(0)}
        gh2 = g3 @ p["W3"].T * (z2 > 0)
        grads["W2"] = h1.T @ gh2
        grads["b2"] = gh2.sum(0)
        gh1 = gh2 @ p["W2"].T
        if mask is not None:
            gh1 = gh1 * mask
        gh1 = gh1 * (z1 > 0)
        grads["W1"] = x.T @ gh1
        grads["b1"] = gh1.sum(0)
        self.t += 1
        b1, b2 = 0.9, 0.999
        for k in p:
            g = grads[k].astype(np.float32)
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            mh = self.m[k] / (1 - b1 ** self.t)
            vh = self.v[k] / (1 - b2 ** self.t)
            upd = lr * mh / (np.sqrt(vh) + 1e-8)
            if k.startswith("W"):
                upd = upd + lr * wd * p[k]
            p[k] -= upd.astype(np.float32)
        return float(loss)


def sigmoid(z):
    return (1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))).astype(np.float32)


class Ensemble:
    """Members trained apart (own seed, own negative draws and mining), whose logits are
    averaged. It is one wider MLP with block-diagonal hidden layers, so `p` is exported
    with the same ops and the runtime does not know the difference."""

    def __init__(self, members: list[MLP]):
        self.members = members

    def logit(self, x):
        return sum(m.forward(x)[0] for m in self.members) / len(self.members)

    def predict(self, x, bs=8192):
        out = [sigmoid(self.logit(x[i:i + bs])) for i in range(0, len(x), bs)]
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    @property
    def p(self):
        from scipy.linalg import block_diag
        ms, k = self.members, len(self.members)
        return {"W1": np.concatenate([m.p["W1"] for m in ms], axis=1),
                "b1": np.concatenate([m.p["b1"] for m in ms]),
                "W2": block_diag(*[m.p["W2"] for m in ms]).astype(np.float32),
                "b2": np.concatenate([m.p["b2"] for m in ms]),
                "W3": np.concatenate([m.p["W3"] for m in ms], axis=0) / k,
                "b3": sum(m.p["b3"] for m in ms) / k}


def train_epochs(model, X, y, w, epochs, lr, rng, bs=256, log=""):
    n = len(X)
    for ep in range(epochs):
        idx = rng.permutation(n)
        tot = 0.0
        nb = 0
        lr_ep = lr * (0.5 * (1 + np.cos(np.pi * ep / max(1, epochs))))  # cosine within round
        for i in range(0, n, bs):
            b = idx[i:i + bs]
            xb = X[b]
            # light feature noise augmentation
            xb = xb + rng.standard_normal(xb.shape, dtype=np.float32) * CFG["feat_noise"]
            tot += model.step(xb, y[b], w[b], lr_ep, rng, wd=CFG["wd"], drop=CFG["dropout"])
            nb += 1
        print(f"  {log} epoch {ep + 1}/{epochs} loss {tot / nb:.4f}", flush=True)


# ----------------------------------------------------------------------------- streaming eval
def detections(scores: np.ndarray, thr: float, patience: int):
    """indices (window positions) where the streaming rule fires, with refractory."""
    above = scores >= thr
    ev = []
    run = 0
    block_until = -1
    refr = int(round(REFRACTORY_S / HOP_S))
    for i, a in enumerate(above):
        run = run + 1 if a else 0
        if run >= patience and i > block_until:
            ev.append(i)
            block_until = i + refr
    return np.array(ev, int)


def stream_eval(items, thr, patience):
    """items: list of (scores over windows k=15.., wake_ends, seconds).

    Positive streams: a phrase is a hit if `patience` consecutive scores >= thr occur
    with window ends inside [te+DET_LO, te+DET_HI] (no refractory: phrases in our
    synthetic streams can be closer together than a refractory period).
    Streams without phrases: count detections (with refractory) per hour."""
    hits = n_wake = fa = n_utt = 0
    fa_hours = 0.0
    for scores, wake_ends, seconds, *rest in items:
        if len(wake_ends):
            te_k = t_end(np.arange(len(scores)) + wf.WINDOW - 1)
            above = (scores >= thr).astype(int)
            for te in wake_ends:
                n_wake += 1
                z = np.where((te_k - te >= DET_LO) & (te_k - te <= DET_HI))[0]
                a = above[z]
                run = best = 0
                for v in a:
                    run = run + 1 if v else 0
                    best = max(best, run)
                hits += int(best >= patience)
        else:
            fa += int(len(detections(scores, thr, patience)))
            fa_hours += seconds / 3600.0
            n_utt += int(rest[0]) if rest else 0
    return {
        "n_phrases": n_wake, "hits": hits,
        "frr": (1 - hits / n_wake) if n_wake else None,
        "false_accepts": fa, "hours": round(fa_hours, 4),
        "fa_per_hour": (fa / fa_hours) if fa_hours > 0 else None,
        "negative_utterances": n_utt,
    }


# ----------------------------------------------------------------------------- onnx
def export_onnx(model: MLP, mean, std, path: Path):
    import onnx
    from onnx import helper, TensorProto, numpy_helper
    p = model.p
    # fold input normalisation (x - mean)/std into the first layer
    W1 = p["W1"] / std[:, None]
    b1 = p["b1"] - (mean / std) @ p["W1"]
    D = W1.shape[0]
    inits = [
        numpy_helper.from_array(W1.T.astype(np.float32).copy(), "W1"),
        numpy_helper.from_array(b1.astype(np.float32), "b1"),
        numpy_helper.from_array(p["W2"].T.astype(np.float32).copy(), "W2"),
        numpy_helper.from_array(p["b2"].astype(np.float32), "b2"),
        numpy_helper.from_array(p["W3"].T.astype(np.float32).copy(), "W3"),
        numpy_helper.from_array(p["b3"].astype(np.float32), "b3"),
    ]
    nodes = [
        helper.make_node("Flatten", ["embeddings"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "W1", "b1"], ["z1"], transB=1),
        helper.make_node("Relu", ["z1"], ["h1"]),
        helper.make_node("Gemm", ["h1", "W2", "b2"], ["z2"], transB=1),
        helper.make_node("Relu", ["z2"], ["h2"]),
        helper.make_node("Gemm", ["h2", "W3", "b3"], ["z3"], transB=1),
        helper.make_node("Sigmoid", ["z3"], ["probability"]),
    ]
    graph = helper.make_graph(
        nodes, "hey_player_head",
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, [1, wf.WINDOW, wf.EMB_DIM])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, [1, 1])],
        inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="heyplayer-wake-train")
    m.ir_version = 7
    m.doc_string = ("hey player wake-word head over 16 openWakeWord embeddings. MIT licence. "
                    f"input dim {D}")
    onnx.checker.check_model(m)
    path.write_bytes(m.SerializeToString())


def onnx_check(path: Path, model: MLP, mean, std, X):
    import onnxruntime as ort
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ref = model.predict((X.reshape(len(X), -1) - mean) / std)
    got = np.array([s.run(None, {"embeddings": x[None].astype(np.float32)})[0][0, 0] for x in X])
    return float(np.max(np.abs(ref - got)))


def train_member(Xtr, ytr, is_tts_neg, args, rng, tag=""):
    """One head (the MLP, or with --arch conv the temporal head): round 0 on all positives + a
    random 30 % of the negatives, then two rounds that mine the whole negative pool (score >
    0.1) and weight what they find up."""
    if args.arch == "conv":
        model = temporal.ConvHead(Xtr.shape[1], rng, channels=args.channels, hidden=H2)
    else:
        model = MLP(Xtr.shape[1], rng)
    pos_idx = np.where(ytr == 1)[0]
    neg_idx = np.where(ytr == 0)[0]
    # hard-negative multiplier per training window (near-miss TTS windows start harder)
    hard = np.ones(len(Xtr), np.float32)
    hard[is_tts_neg] = args.tts_neg_weight

    # round 0: all positives + random 30% of negatives; rounds 1-2: mine the full pool
    sel_neg = rng.choice(neg_idx, size=int(0.3 * len(neg_idx)), replace=False)
    rounds = [(sel_neg, args.epochs, 2e-3)]
    mining_log = []
    for r in range(3):
        if r > 0:
            p_neg = model.predict(Xtr[neg_idx])
            hard_mask = p_neg > 0.1
            mined = neg_idx[hard_mask]
            hard[mined] *= 2.0  # hard negatives get extra weight each round they are found
            rand = rng.choice(neg_idx, size=int(0.3 * len(neg_idx)), replace=False)
            sel_neg = np.union1d(mined, rand)
            mining_log.append({"round": r, "hard_negatives_found": int(hard_mask.sum()),
                               "neg_pool": int(len(neg_idx)),
                               "max_neg_score": float(p_neg.max())})
            print(f"[train] {tag}round {r}: mined {int(hard_mask.sum())} hard negatives "
                  f"(score>0.1) of {len(neg_idx)}", flush=True)
            rounds.append((sel_neg, max(2, args.epochs * 3 // 4), 1e-3))
        sel_neg, ep, lr = rounds[-1]
        idx = np.concatenate([pos_idx, sel_neg])
        y = ytr[idx]
        npos, nneg = len(pos_idx), len(sel_neg)
        # class weighting: balance the two classes' total weight (positives count 1:1 with negatives)
        cw = np.where(y == 1, 0.5 * len(idx) / npos, 0.5 * len(idx) / nneg).astype(np.float32)
        w = cw * np.where(y == 1, 1.0, hard[idx]).astype(np.float32)
        train_epochs(model, Xtr[idx], y, w, ep, lr, rng, log=f"{tag}round {r}")
    return model, mining_log


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seeds", default=",".join(str(v) for v in SEEDS),
                    help="training seeds, comma-separated: one model (draw) is trained per seed and the "
                         "one with the lowest validation FRR at its own threshold is kept (default "
                         f"{','.join(str(v) for v in SEEDS)}; give one seed to train one model); data are "
                         "not affected")
    ap.add_argument("--data-version", default=DATA_VERSION,
                    help=f"which cached features to train on (default {DATA_VERSION}, build_data.py's)")
    ap.add_argument("--out", default=str(ROOT / "models" / "wake"))
    ap.add_argument("--target-fa", type=float, default=1.0,
                    help="max false accepts/hour on validation real speech when choosing threshold")
    ap.add_argument("--target-near-miss", type=float, default=0.07,
                    help="max fraction of validation synthetic negative utterances (near-misses, "
                         "commands, sentences) that may trigger, when choosing the threshold")
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--feat-noise", type=float, default=0.05)
    ap.add_argument("--wd", type=float, default=1e-4)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--hidden", default="64,32", help="hidden layer sizes H1,H2")
    ap.add_argument("--members", type=int, default=1,
                    help="MLPs trained apart and averaged (logits); exported as one block-diagonal MLP")
    ap.add_argument("--arch", choices=("mlp", "conv"), default="mlp",
                    help="mlp: the numpy MLP (the committed head); conv: dilated 1-D convolutions over the 16 "
                         "embeddings (heyplayer_tools.wake.temporal, needs JAX); --hidden's second size is its "
                         "dense layer")
    ap.add_argument("--channels", type=int, default=48, help="--arch conv: channels of each convolution")
    ap.add_argument("--tts-neg-weight", type=float, default=2.0,
                    help="initial weight multiplier of synthetic near-miss/other-speech negatives")
    args = ap.parse_args()
    if args.arch == "conv" and args.members != 1:
        ap.error("--arch conv trains one model per draw (--members 1)")
    global H1, H2
    H1, H2 = (int(v) for v in args.hidden.split(","))
    CFG.update(dropout=args.dropout, feat_noise=args.feat_noise, wd=args.wd)
    T0 = time.time()
    try:
        seeds = [int(v) for v in args.seeds.split(",")]
    except ValueError:
        ap.error(f"--seeds takes comma-separated integers, not {args.seeds!r}")
    feat_dir = wf.cache_dir() / f"features_{args.data_version}_s{args.scale:g}"
    shards = load_shards(feat_dir)
    print(f"[train] {len(shards)} shards from {feat_dir}", flush=True)

    parts = {"train": [], "val": [], "heldout": []}
    for name, info in shards.items():
        sp = "heldout" if info["split"] == "heldout" else ("val" if name in VAL_SHARDS else "train")
        parts[sp].append(name)

    def stack(names):
        Xs, ys, src = [], [], []
        for n in names:
            w, lab = shard_windows(shards[n])
            keep = lab >= 0
            Xs.append(w[keep].reshape(keep.sum(), -1))
            ys.append(lab[keep].astype(np.float32))
            src += [n] * int(keep.sum())
        return np.concatenate(Xs), np.concatenate(ys), np.array(src)

    Xtr, ytr, srctr = stack(parts["train"])
    Xva, yva, srcva = stack(parts["val"])
    print(f"[train] train windows {len(Xtr)} (pos {int(ytr.sum())}), val {len(Xva)} (pos {int(yva.sum())})",
          flush=True)
    mean = np.tile(Xtr.reshape(len(Xtr), wf.WINDOW, wf.EMB_DIM).mean((0, 1)), wf.WINDOW).astype(np.float32)
    std = np.tile(Xtr.reshape(len(Xtr), wf.WINDOW, wf.EMB_DIM).std((0, 1)), wf.WINDOW).astype(np.float32) + 1e-3
    Xtr = (Xtr - mean) / std
    Xva = (Xva - mean) / std

    is_tts_neg = np.char.startswith(srctr.astype(str), "neg_")

    def fit_draw(seed):
        rng = np.random.default_rng(seed)
        members, mining_log = [], []
        for k in range(args.members):
            # Member 0 draws from the seed's own generator, so --members 1 is the single model of before.
            mrng = rng if k == 0 else np.random.default_rng(seed + 7919 * k)
            m, log = train_member(Xtr, ytr, is_tts_neg, args, mrng,
                                  tag=f"seed {seed} " + (f"member {k} " if args.members > 1 else ""))
            members.append(m)
            mining_log += [dict(e, member=k) for e in log] if args.members > 1 else log
        return (members[0] if args.members == 1 else Ensemble(members)), mining_log

    # ---------------------------------------------------------------- evaluation
    def window_stats(model, X, y, thr):
        p = model.predict(X)
        pos, neg = p[y == 1], p[y == 0]
        return {"windows": int(len(y)), "pos_windows": int((y == 1).sum()),
                "pos_recall": float((pos >= thr).mean()) if len(pos) else None,
                "neg_false_positive_rate": float((neg >= thr).mean()) if len(neg) else None}

    def stream_items(model, names):
        items = []
        for n in names:
            info = shards[n]
            w = wf.windows(info["emb"]).reshape(-1, wf.WINDOW * wf.EMB_DIM)
            sc = model.predict((w - mean) / std)
            items.append((sc, info["wake_ends"], info["seconds"], info["n_utt"]))
        return items

    def group(names, pred):
        return [n for n in names if pred(n)]

    # The streams the threshold is chosen on (validation, and the training negatives).
    select_groups = {
        "speech": group(parts["val"], lambda n: n.startswith("real_")),
        "tts": group(parts["val"], lambda n: n.startswith("neg_")),
        "pos": group(parts["val"], lambda n: n.startswith("pos_")),
        "train_neg": group(parts["train"], lambda n: not n.startswith("pos_")),
    }
    # threshold: lowest threshold (=> best recall) whose validation false-accept rate,
    # over validation real speech + near-miss TTS + training negatives, is within target
    grid = np.concatenate([np.round(np.arange(0.30, 0.985, 0.01), 2),
                           [0.99, 0.992, 0.994, 0.996, 0.997, 0.998, 0.999, 0.9995, 0.9998, 0.9999]])

    def choose_threshold(model, tag):
        items = {k: stream_items(model, v) for k, v in select_groups.items()}
        chosen, table = None, []
        for thr in grid:
            vs = stream_eval(items["speech"] + items["train_neg"], thr, 2)
            vt = stream_eval(items["tts"], thr, 2)
            vp = stream_eval(items["pos"], thr, 2)
            table.append((float(thr), vp["frr"], vs["fa_per_hour"], vt["false_accepts"]))
            print(f"  {tag}thr {thr:.3f}: val FRR {vp['frr']:.3f}  speech/noise FA/h {vs['fa_per_hour']:.2f}  "
                  f"val near-miss FAs {vt['false_accepts']}", flush=True)
            nm_rate = vt["false_accepts"] / max(1, vt["negative_utterances"])
            if chosen is None and vs["fa_per_hour"] <= args.target_fa and nm_rate <= args.target_near_miss:
                chosen = float(thr)
        target_met = chosen is not None
        thr = chosen if target_met else float(grid[-1])
        val_frr = next(f for (t, f, _, _) in table if t == thr)
        return thr, target_met, table, val_frr, items

    # One draw per seed; the kept one has the lowest validation FRR at its own threshold
    # (a draw that met the threshold rule beats one that did not; ties go to the earlier seed).
    # A single draw's held-out figures move by 10+ points with the seed; validation ranks the
    # draws only loosely, but the best of three is better on average (MODEL_CARD.md).
    draws = []
    for seed in seeds:
        model, mining_log = fit_draw(seed)
        thr, target_met, table, val_frr, items = choose_threshold(model, f"seed {seed} ")
        print(f"[train] seed {seed}: threshold {thr}, validation FRR {val_frr:.3f}"
              f"{'' if target_met else ' (threshold rule not met)'}", flush=True)
        draws.append(dict(seed=seed, model=model, mining_log=mining_log, thr=thr,
                          target_met=target_met, table=table, val_frr=val_frr, items=items))
    best = min(draws, key=lambda d: (not d["target_met"], d["val_frr"]))
    model, mining_log, thr, target_met, table, select_items = (
        best[k] for k in ("model", "mining_log", "thr", "target_met", "table", "items"))
    t_train = time.time() - T0
    print(f"[train] kept seed {best['seed']}, threshold {thr}", flush=True)
    train_items_pos = stream_items(model, group(parts["train"], lambda n: n.startswith("pos_")))

    ho = parts["heldout"]
    ho_sets = {
        "heldout_pos_espeak_voices": group(ho, lambda n: n.startswith("ho_pos_esp")),
        "heldout_pos_piper_scales": group(ho, lambda n: n.startswith("ho_pos_pip")),
        "heldout_real_speech_it_ru": group(ho, lambda n: n.startswith("ho_real_")),
        "heldout_real_speech_it": group(ho, lambda n: n.startswith("ho_real_it")),
        "heldout_real_speech_ru": group(ho, lambda n: n.startswith("ho_real_ru")),
        "heldout_near_miss_tts_espeak": group(ho, lambda n: n.startswith("ho_neg_esp")),
        "heldout_music": group(ho, lambda n: n.startswith("ho_music")),
        # data v4 only (empty groups are left out)
        "heldout_pos_kokoro_fluent": group(ho, lambda n: n == "ho_pos_kok_fluent"),
        "heldout_pos_kokoro_comma": group(ho, lambda n: n == "ho_pos_kok_comma"),
        "heldout_pos_kokoro_pause": group(ho, lambda n: n == "ho_pos_kok_pause"),
        "heldout_near_miss_tts_kokoro": group(ho, lambda n: n.startswith("ho_neg_kok")),
        "heldout_real_speech_games": group(ho, lambda n: n.startswith("ho_rspeech_")),
    }
    ho_sets = {k: v for k, v in ho_sets.items() if v}
    ho_items = {k: stream_items(model, v) for k, v in ho_sets.items()}
    metrics = {
        "model": "hey_player.onnx",
        "input": {"name": "embeddings", "shape": [1, wf.WINDOW, wf.EMB_DIM], "dtype": "float32"},
        "output": {"name": "probability", "shape": [1, 1], "dtype": "float32"},
        "threshold": thr,
        "threshold_target_met": target_met,
        "threshold_rule": f"lowest threshold (patience 2) with <= {args.target_fa} false accepts/hour on "
                          "validation real speech + all training negative streams, and <= "
                          f"{args.target_near_miss:.0%} of validation synthetic negative utterances "
                          "(near-misses/commands/sentences) triggering",
        "streaming_rule": "fire when `patience` consecutive 80 ms steps have probability >= threshold; "
                          f"refractory {REFRACTORY_S}s after a detection",
        "labels": {"positive_window_end_after_phrase_end_s": [POS_LO, POS_HI],
                   "ignored_s": [IGN_LO, IGN_HI], "hit_zone_s": [DET_LO, DET_HI]},
        "seed": best["seed"],
        "draws": [{"seed": d["seed"], "threshold": d["thr"], "threshold_target_met": d["target_met"],
                   "val_frr_p2": d["val_frr"]} for d in draws],
        "hyperparameters": {"arch": args.arch,
                            "layers": ([wf.WINDOW * wf.EMB_DIM, H1, H2, 1] if args.arch == "mlp" else
                                       temporal.conv_layers(args.channels, H2)),
                            "optimizer": "Adam",
                            "dropout_h1": args.dropout, "feature_noise_std": args.feat_noise,
                            "weight_decay": args.wd, "epochs_round0": args.epochs,
                            "mining_rounds": 2, "tts_neg_weight": args.tts_neg_weight,
                            "members": args.members},
        "train_windows": int(len(Xtr)), "train_pos_windows": int(ytr.sum()),
        "hard_negative_mining": mining_log,
        "window_level": {"train": window_stats(model, Xtr, ytr, thr), "val": window_stats(model, Xva, yva, thr)},
        "streaming": {},
        "threshold_sweep_val": [{"threshold": t, "val_frr_p2": f, "val_speech_and_train_neg_fa_per_hour_p2": a,
                                 "val_near_miss_false_accepts_p2": c} for (t, f, a, c) in table[::5] + table[-10:]],
    }
    for patience in (1, 2):
        key = f"patience_{patience}"
        d = {
            "train_pos": stream_eval(train_items_pos, thr, patience),
            "train_neg_streams": stream_eval(select_items["train_neg"], thr, patience),
            "val_pos": stream_eval(select_items["pos"], thr, patience),
            "val_real_speech": stream_eval(select_items["speech"], thr, patience),
            "val_near_miss_tts": stream_eval(select_items["tts"], thr, patience),
        }
        for k, items in ho_items.items():
            d[k] = stream_eval(items, thr, patience)
        metrics["streaming"][key] = d

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "hey_player.onnx"
    if args.arch == "conv":
        temporal.export_onnx(model, mean, std, onnx_path)
    else:
        export_onnx(model, mean, std, onnx_path)
    # compare onnxruntime with the numpy forward pass (raw, un-normalised embeddings)
    sample = []
    for n in parts["val"][:3] + ho[:2]:
        w = wf.windows(shards[n]["emb"])
        sample.append(w[:: max(1, len(w) // 100)])
    sample = np.concatenate(sample).astype(np.float32)
    diff = onnx_check(onnx_path, model, mean, std, sample)
    metrics["onnx_vs_numpy_max_abs_diff"] = diff
    metrics["onnx_bytes"] = onnx_path.stat().st_size
    metrics["train_seconds"] = round(t_train, 1)
    metrics["total_seconds"] = round(time.time() - T0, 1)
    metrics["data"] = {k: {"shards": v, "hours": round(sum(shards[n]["seconds"] for n in v) / 3600, 3)}
                       for k, v in parts.items()}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print(f"[train] onnx vs numpy max |diff| = {diff:.2e}; size {onnx_path.stat().st_size} bytes", flush=True)
    for p in (1, 2):
        s = metrics["streaming"][f"patience_{p}"]
        print(f"[train] patience {p}: val FRR {s['val_pos']['frr']:.3f}, "
              f"heldout espeak FRR {s['heldout_pos_espeak_voices']['frr']:.3f}, "
              f"heldout piper FRR {s['heldout_pos_piper_scales']['frr']:.3f}, "
              f"heldout speech FA/h {s['heldout_real_speech_it_ru']['fa_per_hour']:.2f} "
              f"({s['heldout_real_speech_it_ru']['false_accepts']} in {s['heldout_real_speech_it_ru']['hours']:.2f} h), "
              f"near-miss FA/h {s['heldout_near_miss_tts_espeak']['fa_per_hour']:.1f}", flush=True)
    print(f"[train] done in {time.time() - T0:.0f}s", flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Trains the context head (issue 7) on the scenes of `build_data.py`.

1. Features: `heyplayer context --zero-shot --features --json` on every clip
   (the Rust stage's own vector, `src/context/features.rs`; the zero-shot
   labels of the same run are kept for the comparison). Cached next to the
   data as `{split}.features.jsonl`.
2. Head: one softmax regression per axis (physical: 5 labels, social: 3), on
   standardised features, L2-regularised, fitted with scipy's L-BFGS. The L2
   strength and the feature set (all 2,088 values, the 1,064 without the
   background embedding, the 22 compact ones, those and the background's
   class scores, or those and the background embedding) are chosen together by grouped
   3-fold cross-validation on the training split (folds by source recording
   series), never on the test split; dropped values get zero weights.
   A label with no training data would get zero weights and a bias of -30, so
   the head would never say it (indoor_quiet and indoor_busy before the
   synthetic rooms of `rooms.py`). Each axis's logits are then divided by a
   softmax temperature from the same cross-validation's out-of-fold logits, the
   best by log loss that keeps its out-of-fold accuracy with `unknown` (`temperature()`).
3. Export: `models/context/context_head.onnx` (MatMul + Add + Softmax per axis,
   standardisation folded into the weights; opset 13), checked against numpy
   with onnxruntime; `tests/golden/context_head.json` holds a few test feature
   vectors and the expected outputs for the Rust test.
4. Figures: per-class accuracy (recall) and confusion matrices on the held-out
   test split, zero-shot mapping and head side by side, for scenes and for
   the bare held-out ambient recordings; written to
   `models/context/figures.md` and `{out}/report.json`.

With `--backbone ced` (issue 33) the features are CED-tiny's (527 classes, a
192-value embedding: 1,268 values) and the head, golden file, figures and
report are written beside the YAMNet ones with a `_ced` suffix
(models/context/context_head_ced.onnx, tests/golden/context_head_ced.json,
models/context/figures_ced.md, report_ced.json); the feature cache is
`{split}.features.ced.jsonl`.

    .venv/bin/python -m heyplayer_tools.context.train_head [--data tests/out/context/scenes] [--bin target/release/heyplayer] [--jobs 2] [--backbone yamnet|ced]
"""
import argparse
import hashlib
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from heyplayer_tools import ROOT
PHYSICAL = ["indoor_quiet", "indoor_busy", "street", "nature", "vehicle"]
SOCIAL = ["alone", "conversation", "crowd"]
AXES = {"physical": PHYSICAL, "social": SOCIAL}
HEAD = ROOT / "models/context/context_head.onnx"
GOLDEN = ROOT / "tests/golden/context_head.json"
FIGURES = ROOT / "models/context/figures.md"
L2_GRID = [1e-3, 1e-2, 1e-1, 1.0]
# The feature vector's layout (src/context/features.rs): 12 mapped scores, 4 flags and
# fractions, 6 prosody values (COMPACT in all), then 521 YAMNet scores on the background,
# 521 on the speech, and the 1,024 values of YAMNet's mean embedding on the background.
# Each axis uses the set that cross-validates best: with 900 training clips, the 1,064
# score values let the social head fit the training scenes perfectly and generalise
# worse than the 22 compact ones.
NUM_CLASSES = 521
EMBEDDING = 1024
# Per backbone: classes, embedding values, the index of `Music`, the file suffix.
BACKBONES = {"yamnet": (521, 1024, 132, ""), "ced": (527, 192, 137, "_ced")}
COMPACT = 12 + 4 + 6
FEATURE_SETS = ["all", "scores", "compact", "compact+background", "compact+embedding"]
NO_DATA_BIAS = -30.0
MIN_CONFIDENCE = 0.35  # src/context/mod.rs's: under it a label is `unknown` (the golden test checks they agree)
# src/context/mod.rs's MUSIC_MASKS: at or above this YAMNet `Music` score on the background,
# physical and social are `unknown` (music hides the surroundings); the figures apply it to
# both the zero-shot and the head's answers, as the stage does (the golden test checks the value).
MUSIC_MASKS = 0.5
MUSIC_CLASS_INDEX = 132  # `Music` in yamnet_class_map.csv
BACKGROUND_MUSIC = COMPACT + MUSIC_CLASS_INDEX  # its ln score in the feature vector
# src/context/mod.rs also makes physical `unknown` when the background is digitally silent
# (SILENT_BACKGROUND_DBFS): the level is not in the feature vector, so the figures here cannot
# apply it; measured with the binary instead (MODEL_CARD.md, "No background sound").


def use_backbone(name: str) -> None:
    """Sets the module's layout constants and output paths for a backbone."""
    global NUM_CLASSES, EMBEDDING, MUSIC_CLASS_INDEX, BACKGROUND_MUSIC, HEAD, GOLDEN, FIGURES, BACKBONE
    NUM_CLASSES, EMBEDDING, MUSIC_CLASS_INDEX, suffix = BACKBONES[name]
    BACKGROUND_MUSIC = COMPACT + MUSIC_CLASS_INDEX
    HEAD = ROOT / f"models/context/context_head{suffix}.onnx"
    GOLDEN = ROOT / f"tests/golden/context_head{suffix}.json"
    FIGURES = ROOT / f"models/context/figures{suffix}.md"
    BACKBONE = name


BACKBONE = "yamnet"


def masked_by_music(r: dict) -> bool:
    return float(np.exp(r["features"][BACKGROUND_MUSIC])) >= MUSIC_MASKS


def extract(data: Path, split: str, binary: str, jobs: int, preroll_ms: int = 2000) -> list[dict]:
    cache = data / (f"{split}.features.jsonl" if BACKBONE == "yamnet" else f"{split}.features.{BACKBONE}.jsonl")
    rows = [json.loads(line) for line in open(data / f"{split}.jsonl")]
    if cache.exists():
        got = [json.loads(line) for line in open(cache)]
        if len(got) == len(rows) and all(g["audio"] == r["audio"] for g, r in zip(got, rows)):
            return got
    files = [str(data / r["audio"]) for r in rows]
    chunks = [files[i::jobs] for i in range(jobs)]

    def run(chunk: list[str]) -> dict[str, dict]:
        out = {}
        for i in range(0, len(chunk), 50):
            part = chunk[i:i + 50]
            r = subprocess.run([binary, "context", "--backbone", BACKBONE, "--zero-shot", "--features",
                                "--preroll-ms", str(preroll_ms)] + part,
                               stdout=subprocess.PIPE, text=True, check=True)
            for line in r.stdout.splitlines():
                v = json.loads(line)
                out[v["file"]] = v
        return out

    res = {}
    with ThreadPoolExecutor(jobs) as ex:
        for d in ex.map(run, chunks):
            res.update(d)
    out = []
    for r, f in zip(rows, files):
        v = res[f]
        out.append({**r, "features": v["features"], "zs_physical": v["physical"]["value"],
                    "zs_social": v["social"]["value"], "zs_emotion": v["emotion"]["value"],
                    "zs_arousal": v["arousal"]["value"]})
    with open(cache, "w") as fh:
        for o in out:
            fh.write(json.dumps(o) + "\n")
    print(f"{split}: features of {len(out)} clips", file=sys.stderr)
    return out


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit(x, y, k, l2, present):
    """Softmax regression on standardised x; returns (W [F,k], b [k])."""
    n, f = x.shape
    onehot = np.eye(k)[y]
    cols = np.array(present)

    def loss(theta):
        w = theta[:f * len(cols)].reshape(f, len(cols))
        b = theta[f * len(cols):]
        z = x @ w + b
        p = softmax(z)
        t = onehot[:, cols]
        ll = -np.sum(t * np.log(p + 1e-12)) / n + 0.5 * l2 * np.sum(w * w)
        g = (p - t) / n
        gw = x.T @ g + l2 * w
        gb = g.sum(axis=0)
        return ll, np.concatenate([gw.ravel(), gb])

    theta0 = np.zeros(f * len(cols) + len(cols))
    r = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    w = np.zeros((f, k))
    b = np.full(k, NO_DATA_BIAS)
    w[:, cols] = r.x[:f * len(cols)].reshape(f, len(cols))
    b[cols] = r.x[f * len(cols):]
    return w, b


def standardiser(x):
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    sd[sd < 1e-6] = 1.0
    return mu, sd


def feature_columns(name: str, n_features: int) -> np.ndarray:
    """The columns of a named feature set (see FEATURE_SETS)."""
    compact = np.arange(COMPACT)
    background = COMPACT + np.arange(NUM_CLASSES)
    embedding = COMPACT + 2 * NUM_CLASSES + np.arange(EMBEDDING)
    cols = {"all": np.arange(n_features),
            "scores": np.arange(COMPACT + 2 * NUM_CLASSES),
            "compact": compact,
            "compact+background": np.concatenate([compact, background]),
            "compact+embedding": np.concatenate([compact, embedding])}[name]
    return cols[cols < n_features]


def train_axis_select(rows, axis, labels):
    """Chooses the feature set and the L2 strength of one axis together, by the same
    grouped cross-validation on the training split; the dropped columns get zero
    weights, so the exported head still reads the whole vector."""
    n_features = len(rows[0]["features"])
    best = None
    for name in FEATURE_SETS:
        cols = feature_columns(name, n_features)
        sub = [dict(r, features=[r["features"][c] for c in cols]) for r in rows]
        score, lam, oof, y = cv_select(sub, axis, labels, f"{axis} [{name}]")
        if best is None or score > best[0]:
            best = (score, lam, name, cols, sub, oof, y)
    score, lam, name, cols, sub, oof, y = best
    w, b = train_axis(sub, axis, labels, lam)
    t = temperature(oof, y, tag=axis)
    tau = abstention(oof, y, t, tag=axis)
    # A label with no training data has all-zero weights and keeps its NO_DATA_BIAS; every
    # other bias is divided too (with the standardisation folded in, a real bias can be
    # below NO_DATA_BIAS, so the bias value cannot tell them apart).
    no_data = ~w.any(axis=0)
    w, b = w / t, np.where(no_data, b, b / t).astype(np.float32)
    full = np.zeros((n_features, w.shape[1]), np.float32)
    full[cols] = w
    print(f"  {axis}: feature set {name} ({len(cols)} values), l2 {lam:g}, grouped CV {score:.3f}, "
          f"temperature {t:.2f}", file=sys.stderr)
    return full, b, lam, name, t, tau


# Selective prediction (issue 33). The rule, fixed before any held-out figure of the
# heads it applies to was seen: an axis answers only when its calibrated probability
# (softmax at the temperature above) is at least TAU, where TAU is the smallest value of
# the grid MIN_CONFIDENCE, MIN_CONFIDENCE + 0.01, ..., 0.99 at which the out-of-fold
# answers of the training split's grouped cross-validation (folds by source recording
# series; the same folds and logits the temperature came from) are right at least
# TARGET_ACCURACY of the time while answering at least TARGET_COVERAGE of the clips;
# if no value does both, the one with the best out-of-fold selective accuracy among
# those answering at least TARGET_COVERAGE. The test split is never read.
TARGET_ACCURACY = 0.90
TARGET_COVERAGE = 0.60


def abstention(oof, y, t, tag):
    run = ~np.isnan(oof).any(axis=1)
    p = softmax(oof[run] / t)
    y = y[run]
    conf, right = p.max(1), p.argmax(1) == y
    grid = np.round(np.arange(round(MIN_CONFIDENCE * 100), 100) / 100.0, 2)
    rows = []
    for tau in grid:
        ans = conf >= tau
        cov = float(ans.mean())
        acc = float(right[ans].mean()) if ans.any() else 0.0
        rows.append((float(tau), acc, cov))
    ok = [r for r in rows if r[1] >= TARGET_ACCURACY and r[2] >= TARGET_COVERAGE]
    if ok:
        tau, acc, cov = ok[0]
        how = "smallest meeting both targets"
    else:
        cands = [r for r in rows if r[2] >= TARGET_COVERAGE] or rows[:1]
        tau, acc, cov = max(cands, key=lambda r: (r[1], -r[0]))
        how = f"no threshold meets {TARGET_ACCURACY:.0%} right at {TARGET_COVERAGE:.0%} answered: best accuracy"
    print(f"  {tag}: abstention threshold {tau:.2f} ({how}; out-of-fold right {acc:.3f} when answering, "
          f"answering {cov:.3f})", file=sys.stderr)
    return tau


def selective(rows, axis, key):
    """(right when answering, share answered, n) on rows with a truth on `axis`; `unknown`
    (the threshold, or a mask) is an abstention."""
    rows = [r for r in rows if r[axis] is not None]
    if not rows:
        return 0.0, 0.0, 0
    ans = [r for r in rows if r[key] != "unknown"]
    acc = sum(r[key] == r[axis] for r in ans) / len(ans) if ans else 0.0
    return acc, len(ans) / len(rows), len(rows)


def risk_coverage(rows, axis, labels, taus=(0.35, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)):
    """Selective accuracy and coverage of the head's probabilities at several thresholds."""
    rows = [r for r in rows if r[axis] is not None]
    out = []
    for tau in taus:
        ans = [r for r in rows if not r.get("masked") and max(r["head_" + axis + "_p"]) >= tau]
        acc = sum(labels[int(np.argmax(r["head_" + axis + "_p"]))] == r[axis] for r in ans) / len(ans) if ans else 0.0
        out.append((tau, acc, len(ans) / len(rows) if rows else 0.0))
    return out


def temperature(oof, y, tag):
    """The softmax temperature of one axis, from the out-of-fold logits `oof` of the
    grouped cross-validation that chose its features and L2 (never the test split; rows
    of a fold that was not run are NaN and left out), `y` the true labels. A head fitted
    with little L2 on ~900 clips is sure of itself even when wrong, so `unknown` would
    never fire; dividing the logits by T > 1 softens it. T minimises the out-of-fold log
    loss among the temperatures that leave the out-of-fold accuracy with `unknown` under
    MIN_CONFIDENCE counted as wrong, the issue's measure, where it was at T = 1. That
    accuracy can only fall as T grows (the argmax stays, confidences shrink), and the log
    loss is convex in 1/T, so the answer is the unconstrained minimiser, or the largest
    allowed T when the minimiser lies beyond it."""
    from scipy.optimize import minimize_scalar
    run = ~np.isnan(oof).any(axis=1)
    z, y = oof[run], y[run]

    def log_loss(t):
        p = softmax(z / t)
        return float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))

    def answered(t):
        p = softmax(z / t)
        return float(np.mean((p.argmax(1) == y) & (p.max(1) >= MIN_CONFIDENCE)))

    best = float(minimize_scalar(log_loss, bounds=(0.2, 50.0), method="bounded").x)
    t = best
    if answered(t) < answered(1.0):
        # Largest allowed T, by bisection on [1, best]: answered(lo) keeps the T = 1 figure.
        lo, hi = 1.0, best
        while hi - lo > 1e-3:
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if answered(mid) >= answered(1.0) else (lo, mid)
        t = lo
    if log_loss(t) >= log_loss(1.0):
        t = 1.0
    print(f"  {tag}: out-of-fold log loss {log_loss(1.0):.3f} -> {log_loss(t):.3f} at T {t:.2f} "
          f"(unconstrained minimum {log_loss(best):.3f} at T {best:.2f}), accuracy with unknown "
          f"{answered(1.0):.3f} -> {answered(t):.3f}", file=sys.stderr)
    return t


def cv_select(rows, axis, labels, tag):
    """(best grouped-CV balanced accuracy, its L2, its out-of-fold logits, the labels) over
    L2_GRID; the logits of a fold that was not run are NaN."""
    rows = [r for r in rows if r[axis] is not None]
    x = np.array([r["features"] for r in rows], np.float64)
    y = np.array([labels.index(r[axis]) for r in rows])
    groups = np.array([int(hashlib.sha256(r["series"].encode()).hexdigest()[:8], 16) % 3 for r in rows])
    best = None
    for lam in L2_GRID:
        acc = []
        oof = np.full((len(y), len(labels)), np.nan)
        for k in range(3):
            tr, va = groups != k, groups == k
            if not va.any() or len(set(y[tr])) < 2:
                continue
            mu, sd = standardiser(x[tr])
            w, b = fit((x[tr] - mu) / sd, y[tr], len(labels), lam, sorted(set(y[tr].tolist())))
            oof[va] = (x[va] - mu) / sd @ w + b
            pred = oof[va].argmax(1)
            # Balanced accuracy: mean per-class recall.
            acc.append(np.mean([np.mean(pred[y[va] == c] == c) for c in set(y[va].tolist())]))
        score = float(np.mean(acc))
        print(f"  {tag} l2={lam:g}: grouped CV balanced accuracy {score:.3f}", file=sys.stderr)
        if best is None or score > best[0]:
            best = (score, lam, oof, y)
    return best


def train_axis(rows, axis, labels, l2):
    """The head of one axis at L2 strength `l2`, standardisation folded in."""
    rows = [r for r in rows if r[axis] is not None]
    x = np.array([r["features"] for r in rows], np.float64)
    y = np.array([labels.index(r[axis]) for r in rows])
    present = sorted(set(y.tolist()))
    mu, sd = standardiser(x)
    w, b = fit((x - mu) / sd, y, len(labels), l2, present)
    # Fold the standardisation in: z = ((x - mu) / sd) W + b = x (W / sd) + (b - (mu / sd) W).
    wf = w / sd[:, None]
    bf = b - (mu / sd) @ w
    return wf.astype(np.float32), bf.astype(np.float32)


def export(heads, n_features, taus):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    nodes, inits, outputs = [], [], []
    for axis, (w, b) in heads.items():
        inits += [numpy_helper.from_array(w, f"{axis}_W"), numpy_helper.from_array(b.reshape(1, -1), f"{axis}_b")]
        nodes += [helper.make_node("MatMul", ["features", f"{axis}_W"], [f"{axis}_mm"]),
                  helper.make_node("Add", [f"{axis}_mm", f"{axis}_b"], [f"{axis}_logits"]),
                  helper.make_node("Softmax", [f"{axis}_logits"], [axis], axis=1)]
        outputs.append(helper.make_tensor_value_info(axis, TensorProto.FLOAT, [1, w.shape[1]]))
    graph = helper.make_graph(nodes, "context_head",
                              [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, n_features])],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="heyplayer")
    model.ir_version = 8
    # The abstention thresholds travel with the head (src/context/head.rs reads them).
    for axis, tau in taus.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = f"abstain_{axis}", f"{tau:.2f}"
    onnx.checker.check_model(model)
    HEAD.write_bytes(model.SerializeToString())


def confusion(rows, axis, labels, key):
    cols = labels + ["unknown"]
    m = {t: {c: 0 for c in cols} for t in labels}
    for r in rows:
        if r[axis] is not None:
            m[r[axis]][r[key] if r[key] in cols else "unknown"] += 1
    return m


def table(rows, axis, labels, title):
    lines = [f"**{title}** ({axis}; rows: truth, columns: answer; unknown counts as wrong)", ""]
    for key, name in (("zs_" + axis, "zero-shot mapping"), ("head_" + axis, "learned head")):
        m = confusion(rows, axis, labels, key)
        cols = labels + ["unknown"]
        lines += [f"{name}:", "", "| truth | n | accuracy | " + " | ".join(cols) + " |",
                  "|---|---|---|" + "---|" * len(cols)]
        tot = cor = 0
        for t in labels:
            n = sum(m[t].values())
            if n == 0:
                lines.append(f"| {t} | 0 | no data | " + " | ".join("" for _ in cols) + " |")
                continue
            tot, cor = tot + n, cor + m[t][t]
            lines.append(f"| {t} | {n} | {100 * m[t][t] / n:.1f}% | " + " | ".join(str(m[t][c]) for c in cols) + " |")
        lines += [f"| overall | {tot} | {100 * cor / max(tot, 1):.1f}% | |", ""]
    return lines


def accuracy(rows, axis, key):
    r = [x for x in rows if x[axis] is not None]
    return sum(x[axis] == x[key] for x in r) / max(len(r), 1), len(r)


EMOTION = ["neutral", "happy", "sad", "angry"]


def auc(scores, positive):
    """Area under the ROC curve (probability a positive outranks a negative; ties half)."""
    pos = [s for s, p in zip(scores, positive) if p]
    neg = [s for s, p in zip(scores, positive) if not p]
    if not pos or not neg:
        return None
    wins = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def emotion_lopo(rows, labels, key):
    """Leave-one-pack-out softmax regression; L2 chosen inside each fold by
    grouped 3-fold CV over the remaining packs. Writes r["head_" + key]."""
    x_all = np.array([r["features"] for r in rows], np.float64)
    y_all = np.array([labels.index(r[key]) for r in rows])
    packs = np.array([r["pack"] for r in rows])
    for pack in sorted(set(packs)):
        tr, te = packs != pack, packs == pack
        x, y, g = x_all[tr], y_all[tr], packs[tr]
        names = sorted(set(g))
        fold = np.array([names.index(p) % 3 for p in g])
        best = None
        for lam in L2_GRID[1:] + [10.0]:
            acc = []
            for k in range(3):
                a, b = fold != k, fold == k
                mu, sd = standardiser(x[a])
                w, bb = fit((x[a] - mu) / sd, y[a], len(labels), lam, sorted(set(y[a].tolist())))
                acc.append(np.mean(((x[b] - mu) / sd @ w + bb).argmax(1) == y[b]))
            if best is None or np.mean(acc) > best[0]:
                best = (np.mean(acc), lam)
        mu, sd = standardiser(x)
        w, bb = fit((x - mu) / sd, y, len(labels), best[1], sorted(set(y.tolist())))
        pred = ((x_all[te] - mu) / sd @ w + bb).argmax(1)
        for r, p in zip((r for r, t in zip(rows, te) if t), pred):
            r["head_" + key] = labels[p]


def emotion_figures(data: Path, binary: str, jobs: int) -> list[str]:
    rows = extract(data, "emotion", binary, jobs, preroll_ms=1000)
    emotion_lopo(rows, EMOTION, "emotion")
    emotion_lopo(rows, ["low", "high"], "arousal")
    md = [f"## Emotion (Hedgewars voice packs, weak labels, leave one pack out; {len(rows)} clips, "
          f"{len({r['pack'] for r in rows})} packs)", "",
          "The head column here is a softmax regression evaluated leave-one-pack-out (trained on 14 packs, "
          "tested on the 15th, for each pack); it is an evaluation only, not part of the committed head.", ""]
    md += table(rows, "emotion", EMOTION, "Emotion")
    hi = [r["arousal"] == "high" for r in rows]
    zs = [r["zs_arousal"] if r["zs_arousal"] is not None else 0.5 for r in rows]
    a = auc(zs, hi)
    acc_lopo = np.mean([r["head_arousal"] == r["arousal"] for r in rows])
    none = sum(r["zs_arousal"] is None for r in rows)
    md += [f"**Arousal** (weak: happy/angry high, sad/neutral low; chance 0.5): zero-shot arousal value "
           f"AUC {a:.3f} ({none} clips with too little speech counted as 0.5); "
           f"leave-one-pack-out logistic regression high/low accuracy {100 * acc_lopo:.1f}% "
           f"(majority class {100 * max(np.mean(hi), 1 - np.mean(hi)):.1f}%).", ""]
    return md


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "tests/out/context/scenes")
    ap.add_argument("--bin", default=str(ROOT / "target/release/heyplayer"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--emotion", action="store_true",
                    help="also evaluate emotion leave-one-pack-out (needs build_data.py --emotion)")
    ap.add_argument("--backbone", choices=sorted(BACKBONES), default="yamnet",
                    help="whose features the head reads (yamnet: the committed head; ced: issue 33)")
    args = ap.parse_args()
    use_backbone(args.backbone)
    train = extract(args.data, "train", args.bin, args.jobs)
    test = extract(args.data, "test", args.bin, args.jobs)
    n_features = len(train[0]["features"])
    heads, l2s, sets, temps, taus = {}, {}, {}, {}, {}
    for axis, labels in AXES.items():
        w, b, l2s[axis], sets[axis], temps[axis], taus[axis] = train_axis_select(train, axis, labels)
        heads[axis] = (w, b)
    export(heads, n_features, taus)

    import onnxruntime as ort
    sess = ort.InferenceSession(str(HEAD))
    for split_rows in (train, test):
        for r in split_rows:
            x = np.array(r["features"], np.float32)[None]
            out = sess.run(None, {"features": x})
            music = masked_by_music(r)
            for (axis, labels), p in zip(AXES.items(), out):
                ref = softmax((x.astype(np.float64) @ heads[axis][0] + heads[axis][1])[None][0])
                assert np.allclose(p, ref, atol=1e-4), (axis, p, ref)
                r["head_" + axis] = labels[int(p.argmax())]
                r["head_" + axis + "_p"] = p[0].tolist()
                r["sel_" + axis] = r["head_" + axis] if float(p.max()) >= taus[axis] else "unknown"
                r["masked"] = music
                if music:
                    r["head_" + axis] = r["zs_" + axis] = r["sel_" + axis] = "unknown"
    # Golden vectors for the Rust test: the first test clip of each physical label and a crowd.
    picks, seen = [], set()
    for r in test:
        key = (r["kind"], r["physical"], r["social"])
        if key not in seen and len(picks) < 6:
            seen.add(key)
            picks.append(r)
    # MIN_CONFIDENCE and MUSIC_MASKS go with them, so the Rust test also checks that both sides
    # use the same ones.
    GOLDEN.write_text(json.dumps({"min_confidence": MIN_CONFIDENCE, "music_masks": MUSIC_MASKS, "abstain": taus,
                                  "cases": [{"audio": r["audio"], "features": r["features"],
                                             "physical": r["head_physical_p"], "social": r["head_social_p"]}
                                            for r in picks]}))

    scenes = [r for r in test if r["kind"] == "scene"]
    bare = [r for r in test if r["kind"] == "ambient"]
    rooms_bare = [r for r in test if r["kind"] == "room"]
    md = ["# Context head: held-out figures", "",
          f"Generated by `heyplayer_tools.context.train_head` (feature set and L2 chosen by grouped "
          f"cross-validation on the training clips: physical {sets['physical']}, {l2s['physical']:g}; "
          f"social {sets['social']}, {l2s['social']:g}; softmax temperature, from the same cross-validation: "
          f"physical {temps['physical']:.2f}, social {temps['social']:.2f}; the vector has {n_features} values; "
          f"{len(train)} training clips, {len(test)} held-out clips).", ""]
    md += table(scenes, "physical", PHYSICAL, f"Held-out scenes ({len(scenes)}: test speakers over test recordings)")
    md += table(scenes, "social", SOCIAL, f"Held-out scenes ({len(scenes)})")
    md += table(bare, "physical", PHYSICAL, f"Held-out real ambient recordings alone ({len(bare)} files, no speech)")
    if rooms_bare:
        md += table(rooms_bare, "physical", PHYSICAL,
                    f"Held-out synthetic rooms alone ({len(rooms_bare)} rooms, no speech; the generator's, not real)")
    md += [f"**Selective prediction** (abstention thresholds from the training split's grouped "
           f"cross-validation: physical {taus['physical']:.2f}, social {taus['social']:.2f}; "
           f"right = accuracy of the labels given, answered = share of clips labelled)", "",
           "| set | axis | plain accuracy | right when answering | answered | n |", "|---|---|---|---|---|---|"]
    for name, rows in (("held-out scenes", scenes), ("held-out real ambient alone", bare),
                       ("held-out synthetic rooms alone", rooms_bare)):
        for axis in AXES:
            acc, cov, n = selective(rows, axis, "sel_" + axis)
            if n:
                md.append(f"| {name} | {axis} | {accuracy(rows, axis, 'head_' + axis)[0]:.1%} | "
                          f"{acc:.1%} | {cov:.1%} | {n} |")
    md += ["", "Risk-coverage of the head's probability (threshold: right when answering / answered):", ""]
    for name, rows in (("held-out scenes", scenes), ("held-out real ambient alone", bare)):
        for axis, labels in AXES.items():
            rc = risk_coverage(rows, axis, labels)
            if any(r[axis] is not None for r in rows):
                md.append(f"- {name}, {axis}: " + ", ".join(f"{t:.2f}: {a:.1%} / {c:.1%}" for t, a, c in rc))
    md.append("")
    if args.emotion:
        md += emotion_figures(args.data, args.bin, args.jobs)
    FIGURES.write_text("\n".join(md) + "\n")
    summary = {}
    for name, rows in (("scenes", scenes), ("ambient", bare), ("rooms", rooms_bare)):
        for axis in AXES:
            for key in ("zs_", "head_"):
                a, n = accuracy(rows, axis, key + axis)
                summary[f"{name}.{axis}.{key.rstrip('_')}"] = {"accuracy": round(a, 4), "n": n}
            acc, cov, n = selective(rows, axis, "sel_" + axis)
            summary[f"{name}.{axis}.selective"] = {"right_when_answering": round(acc, 4),
                                                   "answered": round(cov, 4), "n": n}
    train_acc = {axis: accuracy(train, axis, "head_" + axis)[0] for axis in AXES}
    (args.data / f"report{BACKBONES[BACKBONE][3]}.json").write_text(json.dumps({"summary": summary, "train_accuracy": train_acc,
                                                       "l2": l2s, "feature_sets": sets,
                                                       "temperature": temps, "abstain": taus}, indent=1))
    print(json.dumps(summary, indent=1))
    print("train accuracy (head):", train_acc)
    print(f"wrote {HEAD} ({HEAD.stat().st_size} bytes), {GOLDEN}, {FIGURES}")


if __name__ == "__main__":
    main()

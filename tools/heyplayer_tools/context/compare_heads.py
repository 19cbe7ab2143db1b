#!/usr/bin/env python3
"""Two context heads side by side on the same cached feature vectors (issue 33).

Reads `{data}/test.features.jsonl` (written by `train_head`; the Rust stage's
own vectors) and runs each head with onnxruntime, as the stage does: the
label is the most probable one, `unknown` under the head's abstention
threshold for the axis (`abstain_physical` / `abstain_social` in its ONNX
metadata; a head without them uses MIN_CONFIDENCE, 0.35, as the stage does),
and both axes are `unknown` when the background's `Music` score reaches
MUSIC_MASKS. (The stage's other masks, test signals, clipping and a silent
background, need the audio; the card measured that they take none of these
clips.) Printed per set and axis: plain accuracy (`unknown` wrong), right
when answering, share answered, and the clips on which the two heads differ.

    .venv/bin/python -m heyplayer_tools.context.compare_heads --data DIR OLD.onnx NEW.onnx
"""
import argparse
import json
from pathlib import Path

import numpy as np

from heyplayer_tools.context.train_head import AXES, MIN_CONFIDENCE, masked_by_music


def thresholds(path: Path) -> dict[str, float]:
    import onnx
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    return {axis: float(meta.get(f"abstain_{axis}", MIN_CONFIDENCE)) for axis in AXES}


def answers(path: Path, rows: list[dict], abstain: bool = True) -> dict[str, list[str]]:
    """The head's answers; with `abstain` false, its most probable label whatever its
    probability (the music mask still applies): train_head's "plain accuracy"."""
    import onnxruntime as ort
    sess = ort.InferenceSession(str(path))
    tau = thresholds(path) if abstain else {axis: 0.0 for axis in AXES}
    out = {axis: [] for axis in AXES}
    for r in rows:
        probs = sess.run(None, {"features": np.array(r["features"], np.float32)[None]})
        for (axis, labels), p in zip(AXES.items(), probs):
            p = p[0]
            ok = float(p.max()) >= tau[axis] and not masked_by_music(r)
            out[axis].append(labels[int(p.argmax())] if ok else "unknown")
    return out


def figures(rows, got, axis):
    keep = [i for i, r in enumerate(rows) if r[axis] is not None]
    n = len(keep)
    ans = [i for i in keep if got[axis][i] != "unknown"]
    right = sum(got[axis][i] == rows[i][axis] for i in ans)
    plain = sum(got[axis][i] == rows[i][axis] for i in keep)
    return {"n": n, "plain": plain / max(1, n), "right_when_answering": right / max(1, len(ans)),
            "answered": len(ans) / max(1, n), "plain_count": plain, "answered_count": len(ans)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="train_head's --data (with test.features.jsonl)")
    ap.add_argument("heads", type=Path, nargs=2, metavar="HEAD.onnx")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    rows = [json.loads(line) for line in open(args.data / "test.features.jsonl")]
    sets = {"held-out scenes": [i for i, r in enumerate(rows) if r["kind"] == "scene"],
            "held-out real ambient alone": [i for i, r in enumerate(rows) if r["kind"] == "ambient"],
            "held-out synthetic rooms alone": [i for i, r in enumerate(rows) if r["kind"] == "room"]}
    got = [answers(h, rows) for h in args.heads]
    top = [answers(h, rows, abstain=False) for h in args.heads]
    report = {}
    print("plain accuracy: the most probable label, no threshold (train_head's figures); as answered: "
          "with the head's threshold, `unknown` counted wrong (what the stage says)")
    print("| set | axis | head | plain accuracy | as answered | right when answering | answered | n |")
    print("|---|---|---|---|---|---|---|---|")
    for name, idx in sets.items():
        sub = [rows[i] for i in idx]
        for axis in AXES:
            if not any(r[axis] is not None for r in sub):
                continue
            for h, g, t in zip(args.heads, got, top):
                f = figures(sub, {a: [g[a][i] for i in idx] for a in AXES}, axis)
                p = figures(sub, {a: [t[a][i] for i in idx] for a in AXES}, axis)
                f["top_label"] = p["plain"]
                report[f"{name}|{axis}|{h.name}"] = f
                print(f"| {name} | {axis} | {h.name} (tau {thresholds(h)[axis]:.2f}) | {p['plain']:.1%} "
                      f"({p['plain_count']}) | {f['plain']:.1%} ({f['plain_count']}) | "
                      f"{f['right_when_answering']:.1%} | {f['answered']:.1%} ({f['answered_count']}) | {f['n']} |")
    for axis in AXES:
        diff = sum(a != b for a, b in zip(top[0][axis], top[1][axis]))
        print(f"{axis}: the heads' most probable labels differ on {diff} of {len(rows)} held-out clips")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

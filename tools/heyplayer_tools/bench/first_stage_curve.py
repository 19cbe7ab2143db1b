#!/usr/bin/env python3
"""The first stage's trade-off curve on the held-out corpus, for one or more wake heads.

FRR (by engine and by the positives' background noise) and false accepts per hour at several thresholds (patience 2 unless --patience says
otherwise, 1.5 s refractory: the daemon's streaming rule), with the features of the training recipe (tools/heyplayer_tools/wake/wakefeat.py:
openWakeWord's mel and embedding models in onnxruntime). The embeddings do not depend on the
head, so they are computed once per file and cached next to the corpus (`first_stage_emb.npz`);
then every head is scored on the same windows. Positives count as found when the rule fires
anywhere in their file, as `heyplayer eval` counts them.

This is how the model card's first-stage curves were measured; it does not choose anything.
Do not tune on the corpus.

    .venv/bin/python -m heyplayer_tools.bench.first_stage_curve tests/out/wake_corpus/manifest.jsonl \\
        models/wake/hey_player.onnx [OTHER.onnx ...]
    # the issue's own point (<= 0.5 false accepts/h) lies beyond the default grid:
    .venv/bin/python -m heyplayer_tools.bench.first_stage_curve tests/out/wake_corpus/manifest.jsonl \
        models/wake/hey_player.onnx --patience 1 --thresholds 0.999,0.9995,0.9997,0.9999
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from heyplayer_tools.wake import wakefeat as wf
from heyplayer_tools.wake.train import detections  # (the training recipe's streaming rule, refractory included)

THRESHOLDS = [0.3, 0.5, 0.7, 0.9, 0.95, 0.99, 0.995, 0.997, 0.999]
PATIENCE = 2


def embeddings(manifest: Path) -> dict:
    cache = manifest.parent / "first_stage_emb.npz"
    entries = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    if cache.exists():
        z = np.load(cache)
        if set(z.files) >= {e["id"] for e in entries}:
            return {e["id"]: (z[e["id"]], e) for e in entries}
    fx = wf.FeatureExtractor(threads=2)
    out = {}
    for i, e in enumerate(entries):
        x, sr = sf.read(manifest.parent / e["audio"], dtype="float32", always_2d=True)
        if sr != wf.SR:
            sys.exit(f"{e['audio']}: {sr} Hz, the corpus is 16 kHz")
        out[e["id"]] = fx.embed(x.mean(axis=1) * 32767.0).astype(np.float32)
        if (i + 1) % 50 == 0 or i + 1 == len(entries):
            print(f"[curve] embeddings {i + 1}/{len(entries)}", file=sys.stderr, flush=True)
    np.savez(cache, **out)
    return {e["id"]: (out[e["id"]], e) for e in entries}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("manifest", type=Path)
    ap.add_argument("heads", type=Path, nargs="+")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--patience", type=int, default=PATIENCE,
                    help=f"consecutive 80 ms steps at or over the threshold (default {PATIENCE}, the daemon's)")
    ap.add_argument("--thresholds", default=",".join(str(t) for t in THRESHOLDS),
                    help="comma-separated thresholds (default: %(default)s)")
    args = ap.parse_args()
    try:
        thresholds = [float(t) for t in args.thresholds.split(",")]
    except ValueError:
        ap.error(f"--thresholds takes comma-separated numbers, not {args.thresholds!r}")
    if args.patience < 1:
        ap.error("--patience must be at least 1")
    if not args.manifest.exists():
        sys.exit(f"{args.manifest}: no such manifest (make wake-corpus writes tests/out/wake_corpus/manifest.jsonl)")
    for head in args.heads:
        if not head.exists():
            sys.exit(f"{head}: no such wake head (an ONNX file with input embeddings [1,16,96])")
    import onnxruntime as ort
    emb = embeddings(args.manifest)
    seconds = {k: sf.info(args.manifest.parent / entry["audio"]).duration for k, (_, entry) in emb.items()}
    report = {}
    for head in args.heads:
        sess = ort.InferenceSession(str(head), providers=["CPUExecutionProvider"])
        scores = {}
        for k, (e, _) in emb.items():
            w = wf.windows(e).astype(np.float32)
            scores[k] = np.array([sess.run(None, {"embeddings": x[None]})[0][0, 0] for x in w]) \
                if len(w) else np.zeros(0, np.float32)
        rows = []
        for thr in thresholds:
            pos = missed = fa = 0
            hours = 0.0
            by_engine: dict[str, list[int]] = {}
            by_noise: dict[str, list[int]] = {}  # the positives' background: music, babble, hum, fan
            fa_by: dict[str, int] = {}
            for k, (e, entry) in emb.items():
                d = len(detections(scores[k], thr, args.patience))
                if entry["labels"].get("wake"):
                    pos += 1
                    missed += d == 0
                    eng = entry.get("engine", "other").split("-")[0]  # flite, espeak, piper
                    by_engine.setdefault(eng, [0, 0])
                    by_engine[eng][0] += 1
                    by_engine[eng][1] += d == 0
                    bed = by_noise.setdefault(entry.get("noise", "none"), [0, 0])
                    bed[0] += 1
                    bed[1] += d == 0
                else:
                    fa += d
                    hours += seconds[k] / 3600.0
                    kind = entry["id"].rsplit("-", 1)[0] if entry["id"][-1].isdigit() else entry["id"]
                    fa_by.setdefault(kind, 0)
                    fa_by[kind] += d
            rows.append({"threshold": thr, "patience": args.patience, "frr": missed / max(1, pos), "false_accepts": fa,
                         "fa_per_hour": fa / hours if hours else None, "positives": pos, "hours": hours,
                         "frr_by_group": {g: m / n for g, (n, m) in sorted(by_engine.items())},
                         "frr_by_noise": {g: m / n for g, (n, m) in sorted(by_noise.items())},
                         "false_accepts_by_kind": dict(sorted(fa_by.items()))})
        report[str(head)] = rows
        if not args.json:
            print(f"{head}:")
            for r in rows:
                groups = ", ".join(f"{g} {v:.1%}" for g, v in r["frr_by_group"].items())
                noises = ", ".join(f"{g} {v:.1%}" for g, v in r["frr_by_noise"].items())
                print(f"  thr {r['threshold']:<6} FRR {r['frr']:6.1%} ({groups}; over {noises})  "
                      f"FA/h {r['fa_per_hour']:6.2f} ({r['false_accepts']} in {r['hours']:.2f} h: "
                      + ", ".join(f"{k} {v}" for k, v in r["false_accepts_by_kind"].items()) + ")")
    if args.json:
        print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

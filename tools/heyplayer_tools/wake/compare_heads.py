#!/usr/bin/env python3
"""Compare wake heads side by side on the same cached held-out shards (issue 29).

For each head (an exported hey_player.onnx) and each held-out positive set, the FRR
(patience 2, as the daemon) at the lowest threshold whose false accepts per hour on the
held-out negative pool stay within each target; the pool is every held-out stream of real
speech and music (Asterisk it/ru, the held-out game speech of data v4, the held-out music
track). Held-out near-miss TTS is reported apart (its false accepts per utterance).
Nothing here trains or tunes: the shards are the held-out ones of build_data.py.

    .venv/bin/python -m heyplayer_tools.wake.compare_heads --features ~/.cache/heyplayer/wake/features_v4_s1 \\
        --head committed=OLD.onnx --head new=models/wake/hey_player.onnx
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from heyplayer_tools.wake import wakefeat as wf
from heyplayer_tools.wake.train import load_shards, stream_eval

POS_SETS = {
    "kokoro fluent (held-out voice)": ["ho_pos_kok_fluent"],
    "kokoro comma (held-out voice)": ["ho_pos_kok_comma"],
    "kokoro pause (held-out voice)": ["ho_pos_kok_pause"],
    "espeak held-out voices": ["ho_pos_esp_0", "ho_pos_esp_1"],
    "piper held-out settings": ["ho_pos_pip_0"],
}
NEG_POOL_PREFIX = ("ho_real_", "ho_rspeech_", "ho_music")
NEAR_MISS = ["ho_neg_esp_0", "ho_neg_kok_0"]
GRID = np.concatenate([np.round(np.arange(0.05, 0.99, 0.01), 2), np.round(np.arange(0.99, 0.99995, 0.0005), 4)])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features", required=True, help="a build_data.py features folder")
    ap.add_argument("--head", action="append", required=True, help="NAME=PATH.onnx (repeat)")
    ap.add_argument("--fa", default="0.5,2,5", help="false accepts/h targets on the negative pool")
    ap.add_argument("--patience", type=int, default=2)
    ap.add_argument("--pool", default=",".join(NEG_POOL_PREFIX),
                    help="shard-name prefixes of the negative pool (default: all held-out real speech and music)")
    ap.add_argument("--near-miss", default="",
                    help="also rows at the lowest threshold with at most this many near-miss TTS false accepts "
                         "(comma-separated counts)")
    args = ap.parse_args()
    shards = load_shards(Path(args.features))
    pos_sets = {k: [n for n in v if n in shards] for k, v in POS_SETS.items()}
    pos_sets = {k: v for k, v in pos_sets.items() if v}
    pool = [n for n in shards if n.startswith(tuple(args.pool.split(",")))]
    near = [n for n in NEAR_MISS if n in shards]
    hours = sum(shards[n]["seconds"] for n in pool) / 3600
    print(f"negative pool: {', '.join(sorted(pool))} ({hours:.2f} h)")
    targets = [float(v) for v in args.fa.split(",")]
    for spec in args.head:
        name, path = spec.split("=", 1)
        f = wf.head_scorer(path)
        items = {n: (f(shards[n]["emb"]), shards[n]["wake_ends"], shards[n]["seconds"], shards[n]["n_utt"])
                 for n in set(pool + near + sum(pos_sets.values(), []))}
        fa_at = {float(t): stream_eval([items[n] for n in pool], t, args.patience) for t in GRID}
        nm_at = {float(t): stream_eval([items[n] for n in near], t, args.patience) for t in GRID} \
            if args.near_miss else {}
        print(f"\n## {name} ({path})")
        print("| FA/h target on the pool | threshold | FA/h | " + " | ".join(pos_sets) + " | near-miss TTS FAs |")
        print("| --- " * (4 + len(pos_sets)) + "|")
        nm_targets = [f"near-miss FAs <= {v}" for v in args.near_miss.split(",") if v]
        for tgt in targets + ["0.5 (daemon default threshold)"] + nm_targets:
            if isinstance(tgt, str) and tgt.startswith("near-miss"):
                cap = int(tgt.rsplit(" ", 1)[1])
                ok = [t for t in GRID if nm_at[float(t)]["false_accepts"] <= cap]
                if not ok:
                    print(f"| {tgt} | none on the grid | | |")
                    continue
                thr = float(min(ok))
            elif isinstance(tgt, str):
                thr = 0.5
            else:
                ok = [t for t in GRID if fa_at[float(t)]["fa_per_hour"] <= tgt]
                if not ok:
                    print(f"| {tgt} | none on the grid | | |")
                    continue
                thr = float(min(ok))
            fa = stream_eval([items[n] for n in pool], thr, args.patience)
            cells = []
            for k, names in pos_sets.items():
                r = stream_eval([items[n] for n in names], thr, args.patience)
                cells.append(f"{100 * r['frr']:.1f} % ({r['n_phrases'] - r['hits']}/{r['n_phrases']})")
            nm = stream_eval([items[n] for n in near], thr, args.patience)
            print(f"| {tgt} | {thr:g} | {fa['fa_per_hour']:.2f} ({fa['false_accepts']}) | " + " | ".join(cells)
                  + f" | {nm['false_accepts']}/{nm['negative_utterances']} |")


if __name__ == "__main__":
    main()

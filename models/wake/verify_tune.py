#!/usr/bin/env python3
"""Choose the second stage's threshold (`wake.verify_min_forced_logprob`) on the
training voices only.

Makes clips the way the daemon hands them to Whisper after a first-stage
detection (a little noise, the phrase, a command) with the *training* voices and
settings of build_data.py (espeak training voices and variants, Piper training
settings, the same speed perturbation and noise), runs
`examples/verify_scores.rs` on them, and prints, for each candidate threshold,
the share of positives accepted and of near-miss negatives ("hey layer, play
some jazz") let through. Held-out voices, flite and the held-out corpus are
never used here.

    python models/wake/verify_tune.py [--n 120] [--out DIR] [--bin target/release/examples/verify_scores]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_data as bd  # noqa: E402

SR = bd.SR
THRESHOLDS = [-0.5, -0.75, -1.0, -1.25, -1.5, -1.75, -2.0, -2.25, -2.5, -3.0, -3.5, -4.0]


def clip(rng, say, text_parts):
    """Noise lead-in, the parts with short pauses, a tail; levelled, noise at 10-25 dB."""
    parts = [np.zeros(int(rng.uniform(0.3, 1.0) * SR), np.float32)]
    for i, t in enumerate(text_parts):
        a = say(t)
        if i:
            parts.append(np.zeros(int(rng.uniform(0.05, 0.35) * SR), np.float32))
        parts.append(a)
    parts.append(np.zeros(int(0.5 * SR), np.float32))
    x = bd.level(np.concatenate(parts), rng)
    snr = rng.uniform(10, 25)
    x = x + bd.rms(x) / 10 ** (snr / 20) * bd.noise_segment(len(x), rng)
    return np.clip(x, -1, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=120, help="clips of each kind (positive, near miss)")
    ap.add_argument("--out", default=str(bd.wf.cache_dir() / "verify_tune"))
    ap.add_argument("--bin", default="target/release/examples/verify_scores")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    vtrain, _ = bd.split_variants()
    esp = {"voices": bd.ESPEAK_TRAIN_VOICES, "variants": vtrain, "perturb": True}
    pip = {"settings": [(l, n, w) for l in bd.PIPER_TRAIN_LS for n in bd.PIPER_TRAIN_NS
                        for w in bd.PIPER_TRAIN_NW], "jitter": True, "perturb": True}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for kind in ("pos", "near"):
        for i in range(args.n):
            engine, voices = ("piper", pip) if i % 4 == 3 else ("espeak", esp)
            say, who = bd.tts_say(engine, voices, rng)
            cmd = bd.COMMANDS[int(rng.integers(len(bd.COMMANDS)))]
            if kind == "pos":
                head = bd.WAKE_FORMS[int(rng.integers(len(bd.WAKE_FORMS)))]
            else:
                head = bd.NEAR_MISSES[int(rng.integers(len(bd.NEAR_MISSES)))]
            f = out / f"{kind}-{i:03d}.wav"
            sf.write(f, clip(rng, say, [head, cmd]), SR, subtype="PCM_16")
            files.append((kind, who, head, cmd, str(f)))
    print(f"[verify_tune] {len(files)} clips in {out}; running {args.bin}", flush=True)
    res = subprocess.run([args.bin] + [f[-1] for f in files], capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(res.stderr)
    rows = [json.loads(l) for l in res.stdout.splitlines()]
    by = {r["clip"]: r for r in rows}
    table = []
    for thr in THRESHOLDS:
        acc = {"pos": 0, "near": 0}
        for kind, who, head, cmd, f in files:
            r = by[f]
            acc[kind] += r["matched"] or r["forced_logprob"] >= thr
        table.append({"threshold": thr, "positives_accepted": acc["pos"] / args.n,
                      "near_misses_passed": acc["near"] / args.n})
        print(f"min_forced {thr:6.2f}: positives accepted {acc['pos'] / args.n:6.1%}, "
              f"near misses passed {acc['near'] / args.n:6.1%}")
    (out / "scores.jsonl").write_text("".join(
        json.dumps(dict(by[f], kind=k, who=w, said=f"{h}, {c}")) + "\n" for k, w, h, c, f in files))
    (out / "table.json").write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Choose the second stage's threshold (`wake.verify_min_forced_logprob`) on the
training voices only.

Makes clips the way the daemon hands them to Whisper after a first-stage
detection (a little noise, the phrase, a command) with the *training* voices and
settings of build_data.py (espeak training voices and variants, Piper training
settings, the same speed perturbation and noise), runs
`examples/verify_scores.rs` on them, and prints, for each candidate threshold,
the share of positives accepted and of near-miss negatives ("hey layer, play
some jazz") and real-speech clips (the training speakers' Asterisk prompts) let
through, then the same for the daemon's second stage with its default settings
(the forced check, the near-miss rivals and the plain retry). `--fluent N` adds
N clips of each fluent kind: "hey player play some jazz" and a near miss ("hey
layer play some jazz") said as one phrase, no pause (issue 29). `--bin none`
only makes the clips (to score them with another tool, e.g.
`examples/verify_short.rs`, or `VERIFY_EVIDENCE=1 examples/verify_scores` whose
dump `heyplayer_tools.wake.verify_study` rescores offline). With
`VERIFY_LEADS` and `VERIFY_PLAIN` set (see examples/verify_scores.rs),
scores.jsonl also holds each rival's score, to choose the rival settings.
`--eval-manifest` also writes `manifest.jsonl` (../shared/EVAL.md) for
`heyplayer eval`: pos and fluent clips are wakes with their command's
transcript and intent (the parser on the sentence, `examples/parse_intents`),
the others are not; so the whole pipeline can be compared on these clips
(e.g. one Whisper model against another, `eval --model`).
Held-out voices, flite and the held-out corpus are never used here.

    .venv/bin/python -m heyplayer_tools.wake.verify_tune [--n 120] [--fluent 0] [--out DIR] [--bin target/release/examples/verify_scores] [--eval-manifest]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from heyplayer_tools.parse_text import PARSE_BIN, parse_texts
from heyplayer_tools.wake import build_data as bd

SR = bd.SR
KINDS = ("pos", "near", "speech")
FLUENT_KINDS = ("fluent", "near_fluent")
POSITIVE_KINDS = ("pos", "fluent")
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


def write_eval_manifest(out, files, parse_bin):
    """manifest.jsonl for `heyplayer eval`: wakes (pos, fluent) labelled with
    the command's sentence and the parser's intent for it; the rest not wakes."""
    cmds = sorted({c for kind, _, _, c, _ in files if kind in POSITIVE_KINDS})
    intents = {c: row["command"] for c, row in zip(cmds, parse_texts(cmds, parse_bin))}
    rows = []
    for kind, who, head, cmd, f in files:
        labels = {"wake": kind in POSITIVE_KINDS}
        if labels["wake"]:
            labels.update(transcript=cmd, intent=intents[cmd])
        rows.append({"id": Path(f).stem, "audio": Path(f).name, "engine": who, "labels": labels})
    (out / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"[verify_tune] eval manifest: {out / 'manifest.jsonl'}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=120, help="clips of each kind (positive, near miss)")
    ap.add_argument("--fluent", type=int, default=0,
                    help="clips of each fluent kind (phrase and command as one utterance)")
    ap.add_argument("--out", default=str(bd.wf.cache_dir() / "verify_tune"))
    ap.add_argument("--bin", default="target/release/examples/verify_scores")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--eval-manifest", action="store_true",
                    help="also write manifest.jsonl for `heyplayer eval` (labels from --parse-bin)")
    ap.add_argument("--parse-bin", default=str(PARSE_BIN))
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    vtrain, _ = bd.split_variants()
    esp = {"voices": bd.ESPEAK_TRAIN_VOICES, "variants": vtrain, "perturb": True}
    pip = {"settings": [(l, n, w) for l in bd.PIPER_TRAIN_LS for n in bd.PIPER_TRAIN_NS
                        for w in bd.PIPER_TRAIN_NW], "jitter": True, "perturb": True}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    prompts = sorted(f for d in bd.SPEECH_TRAIN_DIRS for f in bd.ls_files(d))
    count = dict({k: args.n for k in KINDS}, **{k: args.fluent for k in FLUENT_KINDS})
    kinds = [k for k in KINDS + FLUENT_KINDS if count[k]]
    for kind in kinds:
        for i in range(count[kind]):
            f = out / f"{kind}-{i:03d}.wav"
            if kind == "speech":
                picks = [prompts[int(rng.integers(len(prompts)))] for _ in range(3)]
                say = lambda p: bd.trim(bd.load_audio(p), -50)  # noqa: E731
                sf.write(f, clip(rng, say, picks)[: 4 * SR], SR, subtype="PCM_16")
                files.append((kind, "asterisk", Path(picks[0]).parent.name, "", str(f)))
                continue
            engine, voices = ("piper", pip) if i % 4 == 3 else ("espeak", esp)
            say, who = bd.tts_say(engine, voices, rng)
            cmd = bd.COMMANDS[int(rng.integers(len(bd.COMMANDS)))]
            if kind == "pos":
                head = bd.WAKE_FORMS[int(rng.integers(len(bd.WAKE_FORMS)))]
            elif kind == "fluent":
                head = "hey player"
            else:
                head = bd.NEAR_MISSES[int(rng.integers(len(bd.NEAR_MISSES)))]
            parts = [f"{head} {cmd}"] if kind in FLUENT_KINDS else [head, cmd]
            sf.write(f, clip(rng, say, parts), SR, subtype="PCM_16")
            files.append((kind, who, head, cmd, str(f)))
    (out / "clips.jsonl").write_text("".join(
        json.dumps({"kind": k, "who": w, "said": f"{h}, {c}", "clip": f}) + "\n"
        for k, w, h, c, f in files))
    if args.eval_manifest:
        write_eval_manifest(out, files, args.parse_bin)
    if args.bin == "none":
        print(f"[verify_tune] {len(files)} clips in {out}; list in {out / 'clips.jsonl'}")
        return
    print(f"[verify_tune] {len(files)} clips in {out}; running {args.bin}", flush=True)
    res = subprocess.run([args.bin] + [f[-1] for f in files], capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(res.stderr)
    rows = [json.loads(l) for l in res.stdout.splitlines()]
    by = {r["clip"]: r for r in rows}
    table = []
    for thr in THRESHOLDS:
        acc = dict.fromkeys(kinds, 0)
        for kind, who, head, cmd, f in files:
            r = by[f]
            acc[kind] += r["matched"] or r["forced_logprob"] >= thr
        table.append(dict({"threshold": thr}, **{k: acc[k] / count[k] for k in kinds}))
        print(f"min_forced {thr:6.2f}: " + ", ".join(f"{k} {acc[k] / count[k]:6.1%}" for k in kinds))
    ver = {k: sum(by[f]["verified"] for kind, _, _, _, f in files if kind == k) / count[k]
           for k in kinds}
    print("the daemon's second stage (default settings: forced check, rivals, plain retry): "
          + ", ".join(f"{k} passed {ver[k]:6.1%}" for k in kinds)
          + " (pos, fluent: positives; near, near_fluent, speech: must not pass)")
    (out / "scores.jsonl").write_text("".join(
        json.dumps(dict(by[f], kind=k, who=w, said=f"{h}, {c}")) + "\n" for k, w, h, c, f in files))
    (out / "table.json").write_text(json.dumps({"min_forced_alone": table, "default": ver}, indent=1))


if __name__ == "__main__":
    main()

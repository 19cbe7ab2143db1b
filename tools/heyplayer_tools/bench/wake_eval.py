#!/usr/bin/env python3
"""make bench-wake: the wake word on the held-out corpus (heyplayer_tools.testdata.wake_corpus).

1. heyplayer's first stage alone (examples/wake_rtf.rs), pinned to one core: real-time factor
   (wall clock and the thread's CPU time), FRR and false accepts per hour.
2. openWakeWord's own Python package (0.4.0) with its `hey_jarvis` model as the stand-in, on the
   same files, pinned to the same core (onnxruntime, one thread): real-time factor. Its
   detections are of "hey jarvis", so its FRR on "hey player" means nothing; its false accepts
   on our negatives are shown for scale only.
3. `heyplayer eval --json` (the whole pipeline, Whisper verification on): FRR and false accepts
   per hour with the first stage alone and with verification.

    .venv/bin/python -m heyplayer_tools.bench.wake_eval MANIFEST.jsonl [--bin target/release/heyplayer]
        [--rtf-bin target/release/examples/wake_rtf] [--model NAME] [--skip-eval]
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from heyplayer_tools.bench import heyplayer_eval


def oww(manifest: Path) -> dict:
    os.sched_setaffinity(0, {0})
    import openwakeword
    from openwakeword.model import Model
    res = Path(openwakeword.__file__).parent / "resources" / "models"
    model = Model(wakeword_model_paths=[str(res / "hey_jarvis_v0.1.onnx")])
    name = next(iter(model.models))
    audio_s = wall = cpu = 0.0
    pos = hits = neg_s = fa = 0
    for line in manifest.read_text().splitlines():
        e = json.loads(line)
        x, sr = sf.read(manifest.parent / e["audio"], dtype="int16", always_2d=True)
        if sr != 16000:
            sys.exit(f"{e['audio']}: {sr} Hz (the corpus is 16 kHz)")
        x = x[:, 0]
        model.reset()
        w0, c0 = time.perf_counter(), time.process_time()
        above, n = False, 0
        for k in range(0, len(x) - 1279, 1280):
            s = model.predict(x[k:k + 1280])[name]
            if s >= 0.5 and not above:
                n += 1
            above = s >= 0.5
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
        secs = len(x) / 16000
        audio_s += secs
        if e["labels"].get("wake") is True:
            pos, hits = pos + 1, hits + (n > 0)
        elif e["labels"].get("wake") is False:
            neg_s, fa = neg_s + secs, fa + n
    return {"audio_seconds": audio_s, "wall_seconds": wall, "cpu_seconds": cpu,
            "rtf_wall": audio_s / wall, "rtf_cpu": audio_s / cpu, "positives_fired": hits,
            "positives": pos, "false_accepts": fa, "false_accepts_per_hour": fa / (neg_s / 3600)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("manifest", type=Path)
    ap.add_argument("--bin", default="target/release/heyplayer")
    ap.add_argument("--rtf-bin", default="target/release/examples/wake_rtf")
    ap.add_argument("--model", help="Whisper model for the eval (default: the config's)")
    ap.add_argument("--skip-eval", action="store_true", help="only the first stage and openWakeWord")
    args = ap.parse_args()
    out = args.manifest.parent / "bench"
    out.mkdir(exist_ok=True)

    print("[bench-wake] heyplayer first stage, one core ...", file=sys.stderr)
    ours = json.loads(subprocess.run(["taskset", "-c", "0", args.rtf_bin, str(args.manifest)],
                                     check=True, capture_output=True, text=True).stdout)
    (out / "first_stage.json").write_text(json.dumps(ours, indent=1))
    print("[bench-wake] openWakeWord 0.4.0 (hey_jarvis), same core ...", file=sys.stderr)
    theirs = oww(args.manifest)
    (out / "openwakeword.json").write_text(json.dumps(theirs, indent=1))
    ev = None
    if not args.skip_eval:
        print("[bench-wake] heyplayer eval (whole pipeline, Whisper verification) ...", file=sys.stderr)
        ev = heyplayer_eval(args.bin, args.manifest,
                            *(["--model", args.model] if args.model else []))
        (out / "eval.json").write_text(json.dumps(ev, indent=1))

    pc = lambda v: "n/a" if v is None else f"{100 * v:.1f} %"  # noqa: E731
    fh = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
    print(f"\ncorpus: {args.manifest} ({ours['positives']} positives, "
          f"{ours['negative_hours']:.2f} h negatives)")
    print(f"{'':44} {'FRR':>8} {'FA/h':>8}")
    print(f"{'heyplayer first stage (wake_rtf)':44} {pc(ours['frr']):>8} {fh(ours['false_accepts_per_hour']):>8}")
    if ev:
        w = ev["wake"]
        print(f"{'heyplayer eval, first stage alone':44} {pc(w['frr_first_stage']):>8} "
              f"{fh(w['false_accepts_per_hour_first_stage']):>8}")
        print(f"{'heyplayer eval, with Whisper verification':44} {pc(w['frr']):>8} "
              f"{fh(w['false_accepts_per_hour']):>8}")
    print(f"{'openWakeWord hey_jarvis (stand-in; FA/h only)':44} {'-':>8} "
          f"{fh(theirs['false_accepts_per_hour']):>8}")
    print("\nreal-time factor on one core (audio s / processing s)      wall    CPU time")
    print(f"  heyplayer first stage (tract, features + head)      {ours['rtf_wall']:8.0f}x {ours['rtf_cpu']:8.0f}x")
    print(f"  openWakeWord 0.4.0 hey_jarvis (onnxruntime)         {theirs['rtf_wall']:8.0f}x {theirs['rtf_cpu']:8.0f}x")
    if ev:
        print(f"  heyplayer eval, whole pipeline (all cores)          {ev['perf']['real_time_factor']:8.0f}x")


if __name__ == "__main__":
    main()

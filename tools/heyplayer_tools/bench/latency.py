#!/usr/bin/env python3
"""Command latency, side by side with the previous release (issue 31).

Two binaries in the same session, on the same audio, taking turns:

- `eval`: `heyplayer eval --json` on the held-out wake corpus
  (tests/out/wake/manifest.jsonl, `make test-data`): end of speech -> `command`
  event p50/p95 (the audio clock, plus the time Whisper still needed after the
  recording ended had the audio come in real time), FRR, intent accuracy, WER,
  peak RSS;
- `live`: `heyplayer listen --realtime --player dry-run` (with `--mpv`, a real
  headless mpv over IPC) on one recording of
  the held-out positives with 2.5 s of silence after each, paced at 1x: from
  the end of each command's speech (its `voice_stopped`, on the audio clock,
  which at 1x is the wall clock from `audio_start` on) to the arrival of its
  `command` line and of its `action_result` line, p50/p95; resident memory
  (largest sample once the models are loaded) and CPU time.

    .venv/bin/python -m heyplayer_tools.bench.latency --prev PREV_BIN [--bin target/release/heyplayer] [--rounds 2] [--skip-live] [--live-n N] [--mpv]

`make bench-latency` builds the previous release (PREV_REF, a git ref) in its
own target folder and runs this. Figures only, no pass/fail.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from heyplayer_tools import ROOT
from heyplayer_tools.bench import heyplayer_eval, soak

MANIFEST = ROOT / "tests/out/wake/manifest.jsonl"
SR = 16_000


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def run_eval(bin_: Path) -> dict:
    r = heyplayer_eval(bin_, MANIFEST)
    return {
        "p50_ms": r["perf"]["latency_p50_ms"],
        "p95_ms": r["perf"]["latency_p95_ms"],
        "frr": r["wake"]["frr"],
        "intent_accuracy": r["command"]["intent_accuracy"],
        "wer": r["command"]["wer"],
        "peak_rss_mb": r["perf"]["peak_rss_mb"],
        "rtf": r["perf"]["real_time_factor"],
    }


def positives() -> list[Path]:
    out = []
    for line in MANIFEST.read_text().splitlines():
        e = json.loads(line)
        if e["labels"].get("wake"):
            out.append(MANIFEST.parent / e["audio"])
    return out


def live_recording(path: Path, limit: int | None) -> int:
    """The held-out positives one after another, 2.5 s of silence after each."""
    n = 0
    with sf.SoundFile(path, "w", SR, 1, subtype="PCM_16") as w:
        for p in positives()[:limit]:
            a, sr = sf.read(p, dtype="float32")
            if sr != SR:
                sys.exit(f"{p}: {sr} Hz, expected {SR}")
            w.write(a)
            w.write(np.zeros(int(2.5 * SR), np.float32))
            n += 1
    return n


def live_latencies(events: list) -> tuple[list, list]:
    """Seconds from the end of each command's speech to its `command` line
    and to its `action_result` line."""
    return soak.latencies(events, "command"), soak.latencies(events)


def run_live(bin_: Path, wav: Path, mpv: bool) -> dict:
    with tempfile.TemporaryDirectory() as d:
        with soak.headless_mpv(Path(d)) if mpv else contextlib.nullcontext() as sock:
            r = soak.run(bin_, wav, True, Path(d) / "store", sock)
    to_cmd, to_act = live_latencies(r["events"])
    opened = next((e["_wall"] - r["t0"] for e in r["events"] if e["type"] == "audio_start"), 0)
    steady = [kb for t, kb in r["rss"] if t > opened + 2]
    return {
        "commands": len(to_cmd),
        "to_command_p50_ms": ms(pct(to_cmd, 0.5)),
        "to_command_p95_ms": ms(pct(to_cmd, 0.95)),
        "to_action_p50_ms": ms(pct(to_act, 0.5)),
        "to_action_p95_ms": ms(pct(to_act, 0.95)),
        "rss_max_mb": round(max(steady) / 1024) if steady else None,
        "cpu_s": round(r["cpu_s"], 1),
        "wall_s": round(r["wall_s"], 1),
    }


def ms(s: float | None) -> int | None:
    return None if s is None else round(s * 1000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prev", type=Path, required=True, help="the previous release's binary")
    ap.add_argument("--bin", type=Path, default=ROOT / "target/release/heyplayer", help="this build's binary")
    ap.add_argument("--rounds", type=int, default=2, help="eval runs of each binary, taking turns")
    ap.add_argument("--skip-live", action="store_true", help="only the eval part")
    ap.add_argument("--live-n", type=int, help="live: only the first N positives (default: all 40, about 5 min per binary)")
    ap.add_argument("--mpv", action="store_true",
                    help="live: drive a real headless mpv over IPC (a fresh one per binary) instead of "
                         "--player dry-run, so `to_action` is the action applied by a real player")
    ap.add_argument("--json", type=Path, help="also write every figure here")
    args = ap.parse_args()
    for b in (args.prev, args.bin):
        if not b.exists():
            sys.exit(f"{b}: no such binary (cargo build --release; make bench-latency builds the previous one)")
    if not MANIFEST.exists():
        sys.exit(f"{MANIFEST}: run `make test-data`")
    bins = {"previous": args.prev, "this": args.bin}
    evals: dict[str, list] = {k: [] for k in bins}
    for k in range(args.rounds):
        for name, b in bins.items():
            print(f"[bench-latency] eval round {k + 1}/{args.rounds}: {name}", file=sys.stderr)
            evals[name].append(run_eval(b))
    live = {}
    if not args.skip_live:
        with tempfile.TemporaryDirectory() as d:
            wav = Path(d) / "live.wav"
            n = live_recording(wav, args.live_n)
            for name, b in bins.items():
                player = "a real mpv" if args.mpv else "dry-run"
                print(f"[bench-latency] live (1x, {player}) on {n} commands: {name}", file=sys.stderr)
                live[name] = run_live(b, wav, args.mpv)
    print(f"{'':34}{'previous':>12}{'this':>12}")
    for key, label in [("p50_ms", "eval: speech end -> command p50"), ("p95_ms", "                             p95"),
                       ("frr", "eval: FRR"), ("intent_accuracy", "eval: intent accuracy"), ("wer", "eval: WER"),
                       ("peak_rss_mb", "eval: peak RSS MB")]:
        vals = [statistics.median(r[key] for r in evals[n]) for n in bins]
        print(f"{label:34}" + "".join(f"{v:>12.3g}" if isinstance(v, float) and v < 1 else f"{v:>12.0f}" for v in vals))
    for key in ["commands", "to_command_p50_ms", "to_command_p95_ms", "to_action_p50_ms", "to_action_p95_ms",
                "rss_max_mb", "cpu_s"]:
        if live:
            vals = [live[n][key] for n in bins]
            print(f"{'live: ' + key:34}" + "".join(f"{str(v):>12}" for v in vals))
    if args.json:
        args.json.write_text(json.dumps({"eval": evals, "live": live}, indent=1))


if __name__ == "__main__":
    main()

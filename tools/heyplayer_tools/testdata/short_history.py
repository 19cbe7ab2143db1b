#!/usr/bin/env python3
"""Short-history wake manifests (issue 29): the same positives starting just
before the phrase, and with 3 s of their own ambience before them.

    .venv/bin/python -m heyplayer_tools.testdata.short_history MANIFEST.jsonl OUT_DIR [--lead-ms 100]

For every `wake: true` line of MANIFEST (16-bit mono WAVs), finds the speech
onset (the first 10 ms frame 15 dB above the clip's 10th-percentile frame
level) and writes OUT_DIR/short/ID.wav (cut to start --lead-ms before the
onset) and OUT_DIR/history/ID.wav (the short clip after 3 s of the clip's own
lead-in ambience, repeated), with a manifest for each (short.jsonl,
history.jsonl) carrying the original labels. Score both with `heyplayer eval
--manifest` and compare `frr_first_stage` (and `frr`): a stream that starts
just before the phrase should do as well as one with history.
Standard library only; prints how many clips it wrote and their median lead.
"""
import argparse
import array
import json
import math
import statistics
import wave
from pathlib import Path

FRAME = 160  # 10 ms at 16 kHz


def read(path):
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1, path
        rate = w.getframerate()
        a = array.array("h", w.readframes(w.getnframes()))
    return rate, a


def write(path, rate, samples):
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(array.array("h", samples).tobytes())


def onset(samples):
    levels = []
    for i in range(0, len(samples) - FRAME + 1, FRAME):
        e = sum(s * s for s in samples[i : i + FRAME]) / FRAME
        levels.append(10 * math.log10(e + 1e-9))
    floor = sorted(levels)[len(levels) // 10]
    for k, lv in enumerate(levels):
        if lv > floor + 15:
            return k * FRAME
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--lead-ms", type=int, default=100)
    a = ap.parse_args()
    base = a.manifest.parent
    lines = [json.loads(l) for l in a.manifest.read_text().splitlines() if l.strip()]
    outs = {"short": [], "history": []}
    leads = []
    for e in lines:
        if e["labels"].get("wake") is not True:
            continue
        rate, s = read(base / e["audio"])
        assert rate == 16000, (e["audio"], rate)
        on = onset(s)
        leads.append(on / rate)
        start = max(0, on - a.lead_ms * rate // 1000)
        short = s[start:]
        amb = s[: max(start, FRAME)] or array.array("h", [0] * FRAME)
        hist = array.array("h")
        while len(hist) < 3 * rate:
            hist.extend(amb)
        hist = hist[: 3 * rate]
        for kind, audio in (("short", short), ("history", hist + short)):
            rel = f"{kind}/{e['id']}.wav"
            write(a.out / rel, rate, audio)
            outs[kind].append({"id": e["id"], "audio": rel, "labels": e["labels"]})
    for kind, rows in outs.items():
        (a.out / f"{kind}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(
        f"{len(outs['short'])} positives; their lead-in before the phrase: median "
        f"{statistics.median(leads):.2f} s (min {min(leads):.2f}, max {max(leads):.2f}); "
        f"short clips start {a.lead_ms} ms before it"
    )


if __name__ == "__main__":
    main()

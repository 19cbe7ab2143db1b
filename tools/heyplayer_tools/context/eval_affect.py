#!/usr/bin/env python3
"""What can be checked of arousal's level and the emotion label (issue 33, part 3).

The rule (src/context/affect.rs, `[affect]` in models/context/mapping.toml) is
not fitted to anything, so nothing here tunes it; this prints what it says.

1. `--hedgewars DATA`: the Hedgewars voice packs (hedgewars-data, 15 packs;
   `build_data --emotion --out DATA` writes DATA/emotion.jsonl and the clips:
   each phrase normalised to -20 dBFS, so loudness says nothing there). Weak
   labels from the phrase names (laugh/victory/amazing happy, stupid/traitor
   angry, nooo/ohdear/drat sad, hello/yessir neutral; arousal high for happy
   and angry). Each clip goes through `heyplayer context --json --preroll-ms
   1000`. Printed: the emotion confusion matrix, how often a named emotion
   (happy, sad, angry) is right and how often one is named; the arousal level
   against the weak high/low label; per pack (the rule has nothing fitted, so
   every pack is held out from it: "leave one pack out" is the plain figure,
   and the spread over the packs is shown).
2. `--tts OUT`: a controlled sanity check, not an accuracy claim. The same
   sentences rendered at low and at high vocal effort by the engines the
   recipes train with (espeak-ng: speed 125 vs 210 wpm, SSML pitch range
   x-low vs x-high; Piper joe: length scale 1.25 vs 0.8, noise_w 0.3 vs 1.0
   (less or more variation), as it has no pitch-range control), each over the
   same generated pink-noise bed at -50 dBFS with 1 s of it before, at speech
   level -34 dBFS (low) and -16 dBFS (high). Printed, per engine: the arousal
   value low vs high (paired: how often high > low, mean difference), the
   level counts per effort, and the emotion labels (no strong cue is in
   these renderings, so anything but neutral/unknown is a false emotion).
   Never flite, festival or mbrola.

    .venv/bin/python -m heyplayer_tools.context.eval_affect --hedgewars tests/out/context/scenes_fg \\
        --tts /tmp/affect_tts [--bin target/release/heyplayer] [--json report.json]
"""
import argparse
import io
import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

from heyplayer_tools import ROOT

SR = 16000
EMOTIONS = ["neutral", "happy", "sad", "angry"]
LEVELS = ["calm", "neutral", "energetic", "unknown"]
SENTENCES = [
    "Play something relaxing from my evening playlist, please.",
    "Turn the volume up, this song is great!",
    "Skip this track and play the next album.",
    "What is the name of the band playing right now?",
    "Pause the music for a moment, someone is at the door.",
    "Put on the news from this morning.",
    "I would like to hear some jazz while I cook dinner.",
    "Go back to the beginning of the song.",
    "Shuffle all the songs by this artist.",
    "Stop the music and turn off the speaker.",
]
# (engine, effort) -> parameters; see the module doc.
ESPEAK = {"low": {"s": 125, "range": "x-low"}, "high": {"s": 210, "range": "x-high"}}
ESPEAK_VOICES = ["en-us", "en"]
PIPER = {"low": (1.25, 0.4, 0.3), "high": (0.8, 0.8, 1.0)}  # length scale, noise scale, noise_w
LEVEL_DBFS = {"low": -34.0, "high": -16.0}
BED_DBFS = -50.0


def run_context(binary: str, files: list[Path], preroll_ms: int) -> list[dict]:
    out = []
    for i in range(0, len(files), 40):
        r = subprocess.run([binary, "context", "--json", "--preroll-ms", str(preroll_ms),
                            *map(str, files[i:i + 40])], stdout=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit("heyplayer context failed")
        out += [json.loads(line) for line in r.stdout.splitlines()]
    return out


def level(v: dict) -> str:
    return (v["arousal"].get("level") or {}).get("value", "unknown")


def hedgewars(data: Path, binary: str) -> dict:
    rows = [json.loads(line) for line in open(data / "emotion.jsonl")]
    res = run_context(binary, [data / r["audio"] for r in rows], 1000)
    conf = {t: Counter() for t in EMOTIONS}
    lev = {a: Counter() for a in ("low", "high")}
    per_pack = defaultdict(lambda: [0, 0])
    why = {"emotion": Counter(), "arousal": Counter()}
    named = named_right = 0
    for r, v in zip(rows, res, strict=True):
        got = v["emotion"]["value"]
        conf[r["emotion"]][got] += 1
        if got in ("happy", "sad", "angry"):
            named += 1
            named_right += got == r["emotion"]
        lev[r["arousal"]][level(v)] += 1
        if got == "unknown" and v["emotion"]["evidence"]:
            why["emotion"][v["emotion"]["evidence"][0][0]] += 1
        ev = (v["arousal"].get("level") or {}).get("evidence") or []
        if level(v) == "unknown" and ev:
            why["arousal"][ev[0][0]] += 1
        per_pack[r["pack"]][0] += got == r["emotion"]
        per_pack[r["pack"]][1] += 1
    n = len(rows)
    print(f"\n=== Hedgewars voice packs: {n} clips, {len(per_pack)} packs (weak labels)")
    print("emotion (rows: truth, columns: answer):")
    print("| truth | n | " + " | ".join(EMOTIONS + ["unknown"]) + " |")
    for t in EMOTIONS:
        print(f"| {t} | {sum(conf[t].values())} | " + " | ".join(str(conf[t][c]) for c in EMOTIONS + ["unknown"]) + " |")
    right = sum(conf[t][t] for t in EMOTIONS)
    print(f"plain accuracy {right}/{n} ({right / n:.1%}); a named emotion (happy/sad/angry) "
          f"right {named_right}/{named} ({named_right / max(1, named):.1%}), named on {named}/{n} "
          f"({named / n:.1%})")
    accs = sorted(a / b for a, b in per_pack.values())
    print(f"per pack (each held out from a rule fitted to nothing): accuracy min {accs[0]:.1%}, "
          f"median {accs[len(accs) // 2]:.1%}, max {accs[-1]:.1%}")
    print("arousal level against the weak label (rows: weak label):")
    print("| weak | n | " + " | ".join(LEVELS) + " |")
    for a in ("low", "high"):
        print(f"| {a} | {sum(lev[a].values())} | " + " | ".join(str(lev[a][c]) for c in LEVELS) + " |")
    decided = {a: lev[a]["calm"] + lev[a]["energetic"] for a in lev}
    right_lev = lev["low"]["calm"] + lev["high"]["energetic"]
    print(f"calm/energetic said on {sum(decided.values())}/{n}; right (low->calm, high->energetic) "
          f"{right_lev}/{max(1, sum(decided.values()))}")
    print(f"why unknown: emotion {dict(why['emotion'])}; arousal level {dict(why['arousal'])}")
    return {"emotion": {t: dict(conf[t]) for t in EMOTIONS}, "why_unknown": {k: dict(v) for k, v in why.items()}, "named_right": named_right, "named": named,
            "plain_right": right, "n": n, "arousal_level": {a: dict(lev[a]) for a in lev},
            "per_pack": {p: v for p, v in per_pack.items()}}


def espeak(text: str, voice: str, prm: dict) -> np.ndarray:
    from heyplayer_tools.wake.build_data import to16k
    ssml = f'<speak><prosody range="{prm["range"]}">{text}</prosody></speak>'
    wav = subprocess.run(["espeak-ng", "-m", "-v", voice, "-s", str(prm["s"]), "--stdout", ssml],
                         capture_output=True, check=True).stdout
    a, sr = sf.read(io.BytesIO(wav), dtype="float32")
    return to16k(a, sr)


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    f = np.fft.rfft(rng.standard_normal(n))
    f /= np.sqrt(np.maximum(np.arange(len(f)), 1))
    x = np.fft.irfft(f, n)
    return (x / np.sqrt(np.mean(x ** 2))).astype(np.float32)


def at(x: np.ndarray, dbfs: float) -> np.ndarray:
    return x * (10 ** (dbfs / 20) / max(1e-9, float(np.sqrt(np.mean(x ** 2)))))


def tts(out: Path, binary: str) -> dict:
    from heyplayer_tools.wake.build_data import Piper
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(33)
    piper = Piper()
    items = []
    for i, text in enumerate(SENTENCES):
        renders = {}
        for effort in ("low", "high"):
            for voice in ESPEAK_VOICES:
                renders[(f"espeak-{voice}", effort)] = espeak(text, voice, ESPEAK[effort])
            renders[("piper-joe", effort)] = piper.synth(text, *PIPER[effort])
        for (engine, effort), x in renders.items():
            x = np.trim_zeros(x.astype(np.float32))
            bed = at(pink(len(x) + int(1.5 * SR), np.random.default_rng(1000 + i)), BED_DBFS)
            y = bed.copy()
            y[SR:SR + len(x)] += at(x, LEVEL_DBFS[effort])
            y = np.clip(y, -0.99, 0.99)
            path = out / f"{i:02d}-{engine}-{effort}.wav"
            sf.write(path, y, SR, subtype="PCM_16")
            items.append({"sentence": i, "engine": engine, "effort": effort, "path": path})
    res = run_context(binary, [it["path"] for it in items], 1000)
    by = {(it["sentence"], it["engine"], it["effort"]): v for it, v in zip(items, res, strict=True)}
    report = {}
    print(f"\n=== TTS vocal effort, {len(SENTENCES)} sentences (a sanity check, not an accuracy claim)")
    for engine in sorted({it["engine"] for it in items}):
        pairs, levels, emotions = [], {"low": Counter(), "high": Counter()}, Counter()
        for i in range(len(SENTENCES)):
            lo, hi = by[(i, engine, "low")], by[(i, engine, "high")]
            a, b = lo["arousal"]["value"], hi["arousal"]["value"]
            if a is not None and b is not None:
                pairs.append((a, b))
            levels["low"][level(lo)] += 1
            levels["high"][level(hi)] += 1
            emotions[lo["emotion"]["value"]] += 1
            emotions[hi["emotion"]["value"]] += 1
        pros = {e: [by[(i, engine, e)]["arousal"]["prosody"] for i in range(len(SENTENCES))] for e in levels}
        moved = {e: {k: round(float(np.mean([p[k] for p in pros[e]])), 2)
                     for k in ("pitch_range_st", "level_above_background_db", "voiced_ratio")} for e in pros}
        print(f"{engine}: prosody means low {moved['low']}, high {moved['high']}")
        d = np.array([b - a for a, b in pairs])
        up = int((d > 0).sum())
        print(f"{engine}: arousal value high > low in {up}/{len(pairs)} pairs, mean difference "
              f"{d.mean() if len(d) else float('nan'):+.3f} (low mean {np.mean([a for a, _ in pairs]):.3f}, "
              f"high mean {np.mean([b for _, b in pairs]):.3f}); levels low {dict(levels['low'])}, "
              f"high {dict(levels['high'])}; emotions {dict(emotions)}")
        report[engine] = {"pairs": len(pairs), "high_gt_low": up, "mean_diff": float(d.mean()) if len(d) else None,
                          "levels": {k: dict(v) for k, v in levels.items()}, "emotions": dict(emotions), "prosody": moved,
                          "values": pairs}
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "target/release/heyplayer"))
    ap.add_argument("--hedgewars", type=Path, metavar="DATA",
                    help="a build_data --emotion output directory (emotion.jsonl)")
    ap.add_argument("--tts", type=Path, metavar="OUT", help="render the vocal-effort check into OUT")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    if not Path(args.bin).exists():
        sys.exit(f"{args.bin} is missing: cargo build --release")
    if not args.hedgewars and not args.tts:
        ap.error("give --hedgewars DATA, --tts OUT or both")
    report = {}
    if args.hedgewars:
        if not (args.hedgewars / "emotion.jsonl").exists():
            sys.exit(f"{args.hedgewars}/emotion.jsonl is missing: "
                     f"python -m heyplayer_tools.context.build_data --emotion --out {args.hedgewars}")
        report["hedgewars"] = hedgewars(args.hedgewars, args.bin)
    if args.tts:
        report["tts"] = tts(args.tts, args.bin)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()

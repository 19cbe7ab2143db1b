#!/usr/bin/env python3
"""Zero-shot figures for `heyplayer context` on real ambient recordings.

Sources (Debian packages; install with
`apt-get install --no-install-recommends lincity-ng-data openttd-opensfx`):

- lincity-ng-data: /usr/share/games/lincity-ng/sounds/*.wav (GPL-2+ in
  Debian; also CC BY-SA 2.0 upstream), 11.025 kHz mono city-builder ambiences.
- openttd-opensfx: the sounds inside opensfx.cat (CC BY-SA 3.0 / GPL-2+ /
  CDDL-1.1 as a set; each sound's own credit and licence is in its name,
  e.g. "Applause". Original ... License: Creative Commons Attribution 3.0),
  extracted here to tests/out/context/ambient/opensfx/ (not committed).

Labels come from the file names (lincity) or sound titles (opensfx) only, by
the rules below, fixed before any output was looked at. Files no rule names
are left out (building noises, explosions, jingles, toy sounds...).

Physical:
  street   lincity Trafic*; opensfx titles with bus, truck, car horn, level crossing
  vehicle  lincity RailTrain*; opensfx titles with train, plane, jet, helicopter,
           ship, ferry, steam engine (rail, air, water: the vehicle is the scene)
  nature   lincity Water*, ParklandLake*; opensfx Wind, Heavy wind, Bird, Sheep,
           Cow, Horse, Monkeys, Lion roar
  (indoor_quiet, indoor_busy: no file in these packages is clearly one)
Social:
  crowd    lincity SportsCroud*, MarketFull*, MarketMed*; opensfx Applause, Oooh sound
  alone    every file with a physical label above (no voices by its name)
  (conversation: no file here)
Toyland (opensfx's cartoon set) titles are always left out.

Each file is given to `heyplayer context --json --preroll-ms 0` as one clip
(the VAD marks any speech in it). Printed: per-class accuracy (recall) and
the confusion matrix for physical and social, `unknown` counted as wrong.

    .venv/bin/python -m heyplayer_tools.context.eval_ambient [--bin target/release/heyplayer] [--zero-shot]

Note: the learned head (train_head.py) was trained on the training part of
these very files (build_data.py splits them by recording), so with the head
this script's figures mix training and held-out recordings; the held-out
figures are in figures.md.
"""
import argparse
import json
import re
import struct
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import soundfile as sf

from heyplayer_tools import ROOT
LINCITY = Path("/usr/share/games/lincity-ng/sounds")
OPENSFX = Path("/usr/share/games/openttd/baseset/opensfx/opensfx.cat")
OUT = ROOT / "tests/out/context/ambient"
MIN_SECONDS = 0.5

PHYSICAL = ["indoor_quiet", "indoor_busy", "street", "nature", "vehicle"]
SOCIAL = ["alone", "conversation", "crowd"]


def lincity_label(name: str) -> tuple[str | None, str | None]:
    phys = None
    if name.startswith("Trafic"):
        phys = "street"
    elif name.startswith("RailTrain"):
        phys = "vehicle"
    elif name.startswith(("Water", "ParklandLake")):
        phys = "nature"
    social = "alone" if phys else None
    if name.startswith(("SportsCroud", "MarketFull", "MarketMed")):
        social = "crowd"
    return phys, social


def opensfx_label(title: str) -> tuple[str | None, str | None]:
    t = title.lower()
    if t.startswith("toyland"):
        return None, None
    phys = None
    if re.search(r"\bbus\b|truck|car horn|level crossing", t):
        phys = "street"
    elif re.search(r"train|plane|\bjet\b|helicopter|ship|ferry|steam engine", t):
        phys = "vehicle"
    elif re.search(r"^(heavy )?wind$|bird|sheep|cow|horse|monkeys|lion roar", t):
        phys = "nature"
    social = "alone" if phys else None
    if t in ("applause", "oooh sound"):
        social = "crowd"
    return phys, social


def extract_opensfx() -> list[tuple[Path, str, str | None, str | None]]:
    """Writes each sound of opensfx.cat as a WAV; returns (path, title, physical, social)."""
    data = OPENSFX.read_bytes()
    n = (struct.unpack_from("<I", data, 0)[0] & 0x7FFFFFFF) // 8
    out_dir = OUT / "opensfx"
    out_dir.mkdir(parents=True, exist_ok=True)
    items = []
    for i in range(n):
        off, size = struct.unpack_from("<II", data, 8 * i)
        off &= 0x7FFFFFFF
        ln = data[off]
        name = data[off + 1 : off + 1 + ln].rstrip(b"\0").decode("latin-1")
        wav = data[off + 1 + ln : off + 1 + ln + size]  # size counts the RIFF data only
        title = name.split('"')[1] if name.count('"') >= 2 else name
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        path = out_dir / f"{i:02d}-{slug}.wav"
        path.write_bytes(wav)
        items.append((path, title, *opensfx_label(title)))
    return items


def confusion(rows, labels, key):
    cols = labels + ["unknown"]
    m = defaultdict(Counter)
    for r in rows:
        if r[key] is not None:
            m[r[key]][r["got_" + key]] += 1
    print(f"\n{key}: per-class accuracy (recall), unknown counts as wrong")
    total = correct = 0
    for lab in labels:
        n = sum(m[lab].values())
        if n == 0:
            print(f"  {lab:<13} no files")
            continue
        c = m[lab][lab]
        total, correct = total + n, correct + c
        print(f"  {lab:<13} {c:>3}/{n:<3} = {100 * c / n:5.1f}%")
    print(f"  {'overall':<13} {correct:>3}/{total:<3} = {100 * correct / max(total, 1):5.1f}%")
    print("  confusion (rows: truth, columns: heyplayer):")
    print("  " + " " * 13 + "".join(f"{c[:8]:>9}" for c in cols))
    for lab in labels:
        if sum(m[lab].values()):
            print(f"  {lab:<13}" + "".join(f"{m[lab][c]:>9}" for c in cols))
    return {"correct": correct, "total": total,
            "matrix": {k: dict(v) for k, v in m.items()}}


def run_context(binary: str, files: list[Path], zero_shot: bool, backbone: str | None = None) -> list[dict]:
    """`heyplayer context --json` on each file as one clip, with no pre-roll (all of it is
    the scene); one result per file, in order. Exits when heyplayer fails."""
    extra = (["--zero-shot"] if zero_shot else []) + (["--backbone", backbone] if backbone else [])
    r = subprocess.run([binary, "context", "--json", "--preroll-ms", "0", *extra, *map(str, files)],
                       stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("heyplayer context failed")
    return [json.loads(line) for line in r.stdout.splitlines()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "target/release/heyplayer"))
    ap.add_argument("--zero-shot", action="store_true", help="the mapping alone, without the learned head")
    args = ap.parse_args()
    for p, pkg in ((LINCITY, "lincity-ng-data"), (OPENSFX, "openttd-opensfx")):
        if not p.exists():
            sys.exit(f"{p} is missing: apt-get install --no-install-recommends {pkg}")

    items = [(p, p.stem, *lincity_label(p.stem)) for p in sorted(LINCITY.glob("*.wav"))]
    items += extract_opensfx()
    items = [it for it in items if it[2] is not None or it[3] is not None]
    kept = []
    for it in items:
        info = sf.info(str(it[0]))
        if info.frames / info.samplerate >= MIN_SECONDS:
            kept.append(it)
        else:
            print(f"left out (shorter than {MIN_SECONDS} s): {it[1]}", file=sys.stderr)
    print(f"{len(kept)} labelled files ({len(items) - len(kept)} too short)", file=sys.stderr)

    results = run_context(args.bin, [it[0] for it in kept], args.zero_shot)
    rows = []
    for (path, title, phys, social), res in zip(kept, results, strict=True):
        rows.append({
            "file": str(path), "title": title, "physical": phys, "social": social,
            "got_physical": res["physical"]["value"], "got_social": res["social"]["value"],
            "physical_confidence": res["physical"]["confidence"],
            "physical_evidence": res["physical"]["evidence"],
            "speech_fraction": res["speech_fraction"], "fallback": res["whole_clip_fallback"],
            "top_classes": res["top_classes"], "elapsed_ms": res["elapsed_ms"], "audio_ms": res["audio_ms"],
        })
    report = {
        "physical": confusion(rows, PHYSICAL, "physical"),
        "social": confusion(rows, SOCIAL, "social"),
        "files": rows,
    }
    ms = sorted(r["elapsed_ms"] * 4000 / max(r["audio_ms"], 1) for r in rows)
    print(f"\nclassification time per 4 s of audio (median over files): {ms[len(ms) // 2]:.0f} ms")
    out = OUT / "eval_ambient.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"details: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()

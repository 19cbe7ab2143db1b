#!/usr/bin/env python3
"""Outside evaluation of the physical label: real ambient recordings from Debian
packages that no part of the recipe (build_data.py, train_head.py, mapping.toml)
ever used, scored by `heyplayer context` with the learned head and with the
zero-shot mapping.

The files and their labels are listed in outside.jsonl (next to this file), one
object per file: {"package", "path", "label", "seconds", "why"}. Labels come
from the file names only ("why" quotes the words that decided), written down
before anything was run on them; files whose class was unclear were left out.
The packages' licences are recorded in models/context/MODEL_CARD.md.

Each file is decoded (WAV, Ogg, FLAC), mixed to mono and written as a WAV under
tests/out/context/outside/: whole, and as its middle --seconds (default 4, about
what the daemon hands the context stage after a wake). Each is given to
`heyplayer context --json --preroll-ms 0` as one clip. Printed: per-class
accuracy and the confusion matrix, `unknown` counted as wrong; and (issue 33)
the selective figures: how often a label given is right, and the share of
files given one.

    make context-outside    # installs the packages (about 1.7 GB), builds, runs this
    .venv/bin/python -m heyplayer_tools.context.eval_outside [--bin target/release/heyplayer] [--seconds 4] [--backbone ced|yamnet] [--out DIR]
"""
import argparse
import json
import re
import sys
from pathlib import Path

import soundfile as sf

from heyplayer_tools import ROOT
from heyplayer_tools.context.eval_ambient import PHYSICAL, confusion, run_context

LIST = Path(__file__).resolve().parent / "outside.jsonl"
OUT = ROOT / "tests/out/context/outside"


def load_list() -> list[dict]:
    items = [json.loads(line) for line in LIST.read_text().splitlines() if line.strip()]
    bad = [it for it in items if it.get("label") not in PHYSICAL]
    if bad:
        sys.exit(f"{LIST}: labels must be one of {PHYSICAL}: {bad[0]}")
    missing = sorted({it["package"] for it in items if not Path(it["path"]).exists()})
    if missing:
        sys.exit("files of these packages are missing; install them with\n"
                 f"  apt-get install --no-install-recommends {' '.join(missing)}")
    return items


def write_clips(items: list[dict], seconds: float, out: Path = OUT) -> tuple[list[Path], list[Path]]:
    """Whole files and their middle `seconds`, as mono WAVs."""
    out.mkdir(parents=True, exist_ok=True)
    whole, middle = [], []
    for i, it in enumerate(items):
        try:
            a, sr = sf.read(it["path"], dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as e:
            sys.exit(f"{it['path']} ({it['package']}): cannot decode it: {e}")
        a = a.mean(axis=1)
        slug = re.sub(r"[^a-z0-9]+", "-", Path(it["path"]).stem.lower()).strip("-")
        stem = out / f"{i:03d}-{it['package']}-{slug}"
        w, m = stem.with_suffix(".wav"), Path(f"{stem}.mid.wav")
        sf.write(w, a, sr, subtype="PCM_16")
        n = int(seconds * sr)
        start = max(0, (len(a) - n) // 2)
        sf.write(m, a[start:start + n], sr, subtype="PCM_16")
        whole.append(w)
        middle.append(m)
    return whole, middle


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "target/release/heyplayer"))
    ap.add_argument("--seconds", type=float, default=4.0, help="length of the middle clip (s)")
    ap.add_argument("--backbone", choices=["yamnet", "ced"], help="the backbone (default: the product's)")
    ap.add_argument("--out", type=Path, default=OUT, help="where the clips and the report go")
    args = ap.parse_args()
    if not Path(args.bin).exists():
        sys.exit(f"{args.bin} is missing: cargo build --release")
    items = load_list()
    whole, middle = write_clips(items, args.seconds, args.out)
    report = {}
    for clip, files in (("whole file", whole), (f"middle {args.seconds:g} s", middle)):
        for how, zero in (("learned head", False), ("zero-shot mapping", True)):
            print(f"\n=== {clip}, {how} ({len(files)} files)")
            rows = []
            for it, res in zip(items, run_context(args.bin, files, zero, args.backbone), strict=True):
                rows.append({"file": it["path"], "package": it["package"], "physical": it["label"],
                             "got_physical": res["physical"]["value"],
                             "confidence": res["physical"]["confidence"],
                             "evidence": res["physical"]["evidence"],
                             "top_classes": res["top_classes"]})
            answered = [r for r in rows if r["got_physical"] != "unknown"]
            right = sum(r["got_physical"] == r["physical"] for r in answered)
            print(f"selective: right when answering {right}/{len(answered)} "
                  f"({right / max(1, len(answered)):.1%}), answered {len(answered)}/{len(rows)} "
                  f"({len(answered) / max(1, len(rows)):.1%})")
            report[f"{clip}, {how}"] = {"physical": confusion(rows, PHYSICAL, "physical"), "files": rows,
                                        "right_when_answering": right / max(1, len(answered)),
                                        "answered": len(answered) / max(1, len(rows))}
    out = args.out / f"eval_outside{'_' + args.backbone if args.backbone else ''}.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"details: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()

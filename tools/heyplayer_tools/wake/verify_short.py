#!/usr/bin/env python3
"""The wake phrase verified on its own short clip (issue 29), on the training
voices only: a table from the clips `verify_tune --bin none` makes and the
dump `examples/verify_short.rs` writes for them.

For each kind of clip (pos, fluent: positives; near, near_fluent, speech: must
not pass) it counts the clips the second stage accepts

- `whole`: today's check on the whole command recording;
- `short M`: the phrase's own clip, up to M ms after the first stage fired
  (audio context sized to the clip);
- `either M`: the own clip, else the whole recording;
- `either M, fs>=S f>=F`: as `either M`, and an own clip rejected only
  because the forced phrase scored under the threshold passes when the first
  stage's score is at least S and the forced phrase's mean log-probability
  (last pass) at least F (the first stage as evidence; the rivals are not
  re-checked, so this over-counts what such a rule would let in).

Counts are given for the second stage alone (every clip, as the previous
tables) and end to end (only clips the first stage fired on). Held-out voices
are never used here.

    python -m heyplayer_tools.wake.verify_short --clips DIR/clips.jsonl DUMP.jsonl...
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

KINDS = ("pos", "fluent", "near", "near_fluent", "speech")


def rules(margins):
    out = [("whole", lambda r: r["whole"]["verified"])]
    for m in margins:
        out.append((f"short {m}", lambda r, m=m: own(r, m)["verified"]))
    for m in margins:
        out.append((f"either {m}", lambda r, m=m: r["whole"]["verified"] or own(r, m)["verified"]))
    for m in margins:
        for s, f in [(0.9, -2.5), (0.9, -3.0), (0.99, -3.0), (0.99, -3.5)]:
            out.append((f"either {m}, fs>={s} f>={f}",
                        lambda r, m=m, s=s, f=f: r["whole"]["verified"] or own(r, m)["verified"]
                        or (own(r, m)["why"] == "phrase not heard" and r["first"]["score"] >= s
                            and (own(r, m)["forced"] or -99) >= f)))
    return out


def own(r, m):
    return next(v for k, v in r["short"].items() if k.split("/")[0] == str(m))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", required=True, help="clips.jsonl from verify_tune --bin none")
    ap.add_argument("dumps", nargs="+", help="JSON lines from examples/verify_short.rs")
    ap.add_argument("--json", help="also write the table here")
    args = ap.parse_args()
    kind = {}
    for line in open(args.clips):
        c = json.loads(line)
        kind[Path(c["clip"]).name] = c["kind"]
    rows = [json.loads(l) for d in args.dumps for l in open(d) if l.strip()]
    margins = sorted({int(k.split("/")[0]) for r in rows for k in r["short"]})
    # Only margins every row has.
    margins = [m for m in margins if all(any(k.split("/")[0] == str(m) for k in r["short"])
                                         for r in rows)]
    n = defaultdict(int)
    fired = defaultdict(int)
    for r in rows:
        k = kind[Path(r["clip"]).name]
        n[k] += 1
        fired[k] += r["first"]["fired"]
    kinds = [k for k in KINDS if n[k]]
    print("clips: " + ", ".join(f"{k} {n[k]} (first stage fired on {fired[k]})" for k in kinds))
    table = {}
    print(f"{'rule':32s} " + " ".join(f"{k:>17s}" for k in kinds) + "   (alone / end to end)")
    for name, ok in rules(margins):
        alone = defaultdict(int)
        e2e = defaultdict(int)
        for r in rows:
            k = kind[Path(r["clip"]).name]
            if ok(r):
                alone[k] += 1
                e2e[k] += r["first"]["fired"]
        table[name] = {k: {"alone": alone[k], "end_to_end": e2e[k], "n": n[k]} for k in kinds}
        print(f"{name:32s} " + " ".join(f"{alone[k]:>5d}/{n[k]:<3d} {e2e[k]:>3d}/{n[k]:<3d}"
                                        for k in kinds))
    # Cost: wall time of the own clip's pass(es) against the whole clip's.
    for m in margins:
        w = sum(r["whole"]["ms"] for r in rows)
        s = sum(own(r, m)["ms"] for r in rows)
        print(f"own clip {m} ms: {s / 1000:.0f} s of wall time against {w / 1000:.0f} s for the "
              f"whole clip's check ({s / w:.2f}x; same processes, interleaved, shared machine)")
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""make bench-verify-cpu: what the wake word's second stage costs on running speech (issue 29's
goal: at most 2 % of one core on an hour of real speech).

The outside corpus's real-speech streams (`neg-real_speech-*` of `make wake-corpus`, 1.31 h of
people talking, no "hey player") go through the whole daemon (`heyplayer eval`, one Whisper
thread) twice, side by side:

* with the default settings: every first-stage fire starts a command recording, is heard ahead
  at its pauses (issue 31) and verified by Whisper;
* with the first stage's threshold at 0.999999, where it never fires: the cost of listening
  alone (VAD, the first stage, reading the files).

The difference is what the false fires cost: CPU seconds per hour of speech, and that as a
share of one core. `--no-speculation` adds a third run with `command.speculate_after_ms = 0`.
CPU time is the children's user + system time; on a shared machine it moves between sessions,
so compare runs made side by side.

    .venv/bin/python -m heyplayer_tools.bench.verify_cpu tests/out/wake_corpus/manifest.jsonl
        [--bin target/release/heyplayer] [--no-speculation] [--json OUT.json]
"""
import argparse
import json
import resource
import sys
import tempfile
from pathlib import Path

from heyplayer_tools.bench import heyplayer_eval

GOAL_SHARE = 0.02  # of one core
NEVER_FIRES = 0.999999
PREFIX = "neg-real_speech"


def real_speech(manifest: Path, out: Path) -> int:
    """Writes the real-speech streams of `manifest` (paths made absolute) to `out`."""
    rows = []
    for line in manifest.read_text().splitlines():
        e = json.loads(line)
        if e["id"].startswith(PREFIX) and e["labels"].get("wake") is False:
            e["audio"] = str((manifest.parent / e["audio"]).resolve())
            rows.append(json.dumps(e))
    out.write_text("".join(r + "\n" for r in rows))
    return len(rows)


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(binary: str, manifest: Path, config: str, tmp: Path, name: str) -> dict:
    cfg = tmp / f"{name}.toml"
    cfg.write_text("[asr]\nthreads = 1\n" + config)
    print(f"[verify_cpu] {name}: heyplayer eval on {manifest.name} ...", flush=True)
    before = children_cpu()
    r = heyplayer_eval(binary, manifest, "--config", str(cfg))
    cpu = children_cpu() - before
    w = r["wake"]
    return {"run": name, "cpu_seconds": cpu, "hours": w["negative_hours"],
            "fires": w["false_accepts_first_stage"], "accepted": w["false_accepts"],
            "errors": len(r["errors"])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest", type=Path, help="the outside corpus's manifest (make wake-corpus)")
    ap.add_argument("--bin", default="target/release/heyplayer")
    ap.add_argument("--no-speculation", action="store_true",
                    help="also run with command.speculate_after_ms = 0")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args()
    if not Path(args.bin).exists():
        sys.exit(f"{args.bin} is missing: cargo build --release")
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        real = tmp / "real_speech.jsonl"
        n = real_speech(args.manifest, real)
        if n == 0:
            sys.exit(f"{args.manifest}: no {PREFIX}-* streams (make wake-corpus builds them)")
        runs = [run(args.bin, real, "", tmp, "default"),
                run(args.bin, real, f"[wake]\nthreshold = {NEVER_FIRES}\n", tmp, "never_fires")]
        if args.no_speculation:
            runs.append(run(args.bin, real, "[command]\nspeculate_after_ms = 0\n", tmp,
                            "no_speculation"))
    base = runs[1]
    hours = base["hours"]
    print(f"\n{n} streams, {hours:.2f} h of real speech, one Whisper thread\n")
    print("| run | CPU s | first-stage fires | accepted | fires' CPU s | per fire | per hour "
          "| share of one core |")
    print("|---|---|---|---|---|---|---|---|")
    for r in runs:
        extra = r["cpu_seconds"] - base["cpu_seconds"]
        r["fires_cpu_seconds"] = extra if r is not base else None
        r["share_of_one_core"] = extra / (hours * 3600) if r is not base else None
        if r is base:
            print(f"| {r['run']} | {r['cpu_seconds']:.1f} | {r['fires']} | {r['accepted']} "
                  "| – | – | – | – |")
            continue
        per = f"{extra / r['fires']:.2f} s" if r["fires"] else "–"
        print(f"| {r['run']} | {r['cpu_seconds']:.1f} | {r['fires']} | {r['accepted']} "
              f"| {extra:.1f} | {per} | {extra / hours:.1f} s | {r['share_of_one_core']:.2%} |")
    share = runs[0]["share_of_one_core"]
    verdict = "met" if share <= GOAL_SHARE else "NOT met"
    print(f"\nthe second stage on real speech: {share:.2%} of one core "
          f"(goal <= {GOAL_SHARE:.0%}: {verdict})")
    if any(r["errors"] for r in runs):
        print("[verify_cpu] some files failed: see `heyplayer eval` on the manifest")
    if args.json:
        args.json.write_text(json.dumps({"streams": n, "hours": hours, "runs": runs,
                                         "goal_share": GOAL_SHARE}, indent=1))


if __name__ == "__main__":
    main()

"""Benchmarks driven from Python: the daemon's soak and idle cost (make soak),
the wake word on the held-out corpus (make bench-wake: wake_eval,
first_stage_curve). The Rust benchmarks are in benches/."""

import json
import subprocess
import sys
from pathlib import Path


def heyplayer_eval(bin_, manifest: Path, *args: str) -> dict:
    """`heyplayer eval --json --manifest MANIFEST ARGS...`: its report; exits with the end of its
    standard error when it fails."""
    p = subprocess.run([str(bin_), "eval", "--json", "--manifest", str(manifest), *args],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{bin_} eval failed ({p.returncode}): {p.stderr[-2000:]}")
    return json.loads(p.stdout)

#!/usr/bin/env python3
"""Single entry point: fetch upstream feature models (pip download + sha256),
synthesise/augment data and compute features (cached), train, export.

    .venv/bin/python -m heyplayer_tools.wake.train_all [--apt] [--jobs 2] [--scale 1.0]

Run it with the venv's python (tools/pyproject.toml's `data` extra installed), e.g.
    /tmp/kvenv/bin/python -m heyplayer_tools.wake.train_all
--apt installs the Debian packages listed in apt-packages.txt first (needs root).
Cache: $HEYPLAYER_WAKE_CACHE (default ~/.cache/heyplayer/wake).
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--apt", action="store_true", help="apt-get install apt-packages.txt first")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--data-version", default=None, choices=["v3", "v4"],
                    help="build_data.py's recipe (default: its DATA_VERSION)")
    args = ap.parse_args()
    pkgs = [l.strip() for l in (HERE / "apt-packages.txt").read_text().splitlines()
            if l.strip() and not l.startswith("#")]
    if args.apt:
        subprocess.run(["apt-get", "update", "-q"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-q"] + pkgs, check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng not found: run with --apt or apt-get install espeak-ng")
    missing = [p for p in pkgs if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if missing:
        print(f"[train_all] warning: Debian packages missing (data will be smaller/different): {missing}",
              flush=True)
    times = {}
    dv = ["--data-version", args.data_version] if args.data_version else []
    for step, cmd in [("build_data", [sys.executable, "-m", "heyplayer_tools.wake.build_data",
                                      "--jobs", str(args.jobs), "--scale", str(args.scale)] + dv),
                      ("train", [sys.executable, "-m", "heyplayer_tools.wake.train", "--scale", str(args.scale)] + dv)]:
        t0 = time.time()
        print(f"[train_all] === {step}: {' '.join(cmd)}", flush=True)
        subprocess.run(cmd, check=True)
        times[step] = time.time() - t0
        print(f"[train_all] {step} took {times[step]:.0f}s", flush=True)
    print(f"[train_all] total {sum(times.values()):.0f}s: " +
          ", ".join(f"{k} {v:.0f}s" for k, v in times.items()), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Real English speech from Debian packages, as wake-word negatives (issue 29).

The packages are fetched with `apt-get download` and unpacked with `dpkg-deb -x` into
the cache ($HEYPLAYER_WAKE_CACHE/debs, .../x/<package>): nothing is installed, so no
game engine comes with them. Licences (each package's debian/copyright, checked
2026-12-06): see MODEL_CARD.md, "Real speech negatives".

* flight-of-the-amazon-queen: 6,745 voice clips (*.SB, MP3 at 11,025 Hz) inside the
  ScummVM resource file queen.1c; `queen_clips()` reads its table and writes each clip
  out as an .mp3 file (libsndfile, through soundfile, decodes them).
* drascula: en/*.ALS, raw unsigned 8-bit mono at 11,025 Hz, written out as WAV.
* kajongg: voices/<speaker>/*.ogg (4 English speakers calling tiles, and a German one).
* neverball-common: snd/*.ogg ("player one" ... "player four", "ready", "set", "go", ...):
  real near misses.
* qabcs-data: sounds/words/*.ogg, single words in 8 languages (en, en_gb among them).

Held out (never trained on; train.py / the tests report on them): the queen clips of
every conversation whose first two digits are 3 mod 10 or that are cut-scene files of
the set C3*, and drascula files numbered 440 and above (see `split`).

    .venv/bin/python -m heyplayer_tools.wake.real_speech    # fetch, unpack, extract; prints what it found
"""
from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

from heyplayer_tools.wake import wakefeat as wf

PACKAGES = ("flight-of-the-amazon-queen", "drascula", "kajongg", "neverball-common", "qabcs-data")


def unpacked(pkg: str) -> Path:
    """The package's files under the cache (apt-get download + dpkg-deb -x, once)."""
    root = wf.cache_dir() / "x" / pkg
    if (root / ".done").exists():
        return root
    debs = wf.cache_dir() / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    have = sorted(debs.glob(f"{pkg}_*.deb"))
    if not have:
        print(f"[real_speech] apt-get download {pkg}", flush=True)
        r = subprocess.run(["apt-get", "download", pkg], cwd=debs, capture_output=True, text=True)
        have = sorted(debs.glob(f"{pkg}_*.deb"))
        if not have:
            sys.exit(f"real_speech: apt-get download {pkg} failed: {r.stderr.strip()[-400:]} "
                     "(run apt-get update first?)")
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(have[-1]), str(root)], check=True)
    (root / ".done").write_text(have[-1].name)
    return root


def queen_clips() -> list[Path]:
    """Every voice clip of queen.1c as an .mp3 file in the cache (written once)."""
    out = wf.cache_dir() / "x" / "queen_sb"
    if (out / ".done").exists():
        return sorted(out.glob("*.mp3"))
    src = unpacked("flight-of-the-amazon-queen") / "usr/share/scummvm/flight-of-the-amazon-queen/queen.1c"
    d = src.read_bytes()
    # ScummVM "rebuilt" resource file: "QTBL", 6-byte version, 2 bytes, compression
    # (1 = MP3), uint16 BE entry count, then per entry a 12-byte NUL-padded name, a
    # bundle byte, uint32 BE offset and size.
    if d[:4] != b"QTBL" or d[12] != 1:
        sys.exit(f"real_speech: {src} is not an MP3-compressed QTBL resource file")
    n = struct.unpack(">H", d[13:15])[0]
    out.mkdir(parents=True, exist_ok=True)
    p = 15
    k = 0
    for _ in range(n):
        name = d[p:p + 12].split(b"\0")[0].decode("ascii")
        off, size = struct.unpack(">II", d[p + 13:p + 21])
        p += 21
        if name.endswith(".SB") and off + size <= len(d) and d[off] == 0xFF:
            (out / (name[:-3] + ".mp3")).write_bytes(d[off:off + size])
            k += 1
    (out / ".done").write_text(str(k))
    return sorted(out.glob("*.mp3"))


def drascula_clips() -> list[Path]:
    out = wf.cache_dir() / "x" / "drascula_wav"
    if (out / ".done").exists():
        return sorted(out.glob("*.wav"))
    import soundfile as sf
    src = unpacked("drascula") / "usr/share/scummvm/drascula/en"
    out.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.glob("*.ALS")):
        raw = np.frombuffer(f.read_bytes(), np.uint8).astype(np.float32)
        sf.write(out / (f.stem + ".wav"), (raw - 128.0) / 128.0, 11025, subtype="PCM_16")
    (out / ".done").write_text("")
    return sorted(out.glob("*.wav"))


def kajongg_clips() -> list[Path]:
    return sorted((unpacked("kajongg") / "usr/share/kajongg/voices").rglob("*.ogg"))


def neverball_clips() -> list[Path]:
    return sorted((unpacked("neverball-common") / "usr/share/games/neverball/snd").rglob("*.ogg"))


def qabcs_words() -> list[Path]:
    return sorted((unpacked("qabcs-data") / "usr/share/qabcs/abcs").glob("*/sounds/words/*.ogg"))


def heldout(path: Path) -> bool:
    """The real-speech files never trained on."""
    name = path.stem
    if path.suffix == ".mp3":  # queen
        m = re.match(r"(\d\d)", name)
        return bool(m and int(m.group(1)) % 10 == 3) or name.startswith("C3")
    if "drascula" in str(path):
        m = re.match(r"(\d+)$", name)
        return bool(m and int(m.group(1)) >= 440)
    return False


def split(files: list[Path]) -> tuple[list[str], list[str]]:
    tr = [str(f) for f in files if not heldout(f)]
    ho = [str(f) for f in files if heldout(f)]
    return tr, ho


def all_sources() -> dict[str, list[Path]]:
    return {"queen": queen_clips(), "drascula": drascula_clips(), "kajongg": kajongg_clips(),
            "neverball": neverball_clips(), "qabcs": qabcs_words()}


def main():
    import soundfile as sf
    for name, files in all_sources().items():
        tr, ho = split(files)
        dur = {}
        for lab, fs in (("train", tr), ("heldout", ho)):
            s = 0.0
            for f in fs:
                try:
                    s += sf.info(f).duration
                except Exception as e:  # noqa: BLE001
                    print(f"  unreadable {f}: {e}")
            dur[lab] = s
        print(f"{name}: {len(tr)} train files ({dur['train'] / 60:.1f} min), "
              f"{len(ho)} held out ({dur['heldout'] / 60:.1f} min)", flush=True)


if __name__ == "__main__":
    main()

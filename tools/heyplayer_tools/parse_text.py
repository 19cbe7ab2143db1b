"""The product's own text rules, from Python: the intent parser and `heyplayer
eval`'s WER normalisation, run by `examples/parse_intents` (build it with
`cargo build --release --example parse_intents`), so that tools label and
score text exactly as the product does instead of with a copy of its rules."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from heyplayer_tools import ROOT

PARSE_BIN = ROOT / "target/release/examples/parse_intents"


def parse_texts(texts: list[str], parse_bin: Path | str = PARSE_BIN) -> list[dict]:
    """For each text, {"command": the parser's command or None, "words": eval's WER words}."""
    if not Path(parse_bin).is_file():
        sys.exit(f"{parse_bin} is missing: cargo build --release --example parse_intents")
    res = subprocess.run([str(parse_bin)], capture_output=True, text=True,
                         input="".join(" ".join(t.splitlines()) + "\n" for t in texts))
    if res.returncode != 0:
        sys.exit(f"{parse_bin} failed: {res.stderr}")
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    if len(rows) != len(texts):
        sys.exit(f"{parse_bin} gave {len(rows)} rows for {len(texts)} texts")
    return rows

"""heyplayer's offline Python tooling (the product is Rust): one package.

Installed editable into the Makefile's venv (`make venv`: `pip install -e
./tools`), so each tool runs from anywhere as `.venv/bin/python -m
heyplayer_tools.PART.TOOL`. Pins and optional sets: tools/pyproject.toml.
`ROOT` is the checkout the package sits in (tools/heyplayer_tools/ -> ../..);
the tools find models/, tests/out/ and target/ from it.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

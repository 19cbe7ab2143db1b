"""heyplayer's offline Python tooling (the product is Rust): one package.

    fetch           make models: fetch and verify the files of models/manifest.toml
    whisper/        convert (CTranslate2 -> whisper.cpp ggml), wer (tools/whisper_verify/'s scorer)
    wake/           the wake-word head's recipe: build_data, train, train_all, wakefeat, ...
    context/        the context head's recipe: build_data, rooms, train_head, eval_*, reference
    testdata/       make test-data / wake-corpus: commands, wake, context_music, wake_corpus,
                    cafe_demo (examples/cafe.wav), short_history
    bench/          make soak, make bench-wake: soak, wake_eval, first_stage_curve;
                    transcribe_score (WER and intents of `transcribe --json`)
    parse_text      the product's intent parser and WER normalisation, via examples/parse_intents
    import_graph    the Rust crate's module graph: cycles and upward imports

Installed editable into the Makefile's venv (`make venv`: `pip install -e
./tools`, plus the extra each target needs), so each tool runs from anywhere
as `.venv/bin/python -m heyplayer_tools.PART.TOOL`. Pins and optional sets:
tools/pyproject.toml. `ROOT` is the checkout the package sits in
(tools/heyplayer_tools/ -> ../..); the tools find models/, tests/out/ and
target/ from it. `heyplayer models fetch` lays out a cache folder the same way
for `fetch` (src/models/fetch.rs), so keep this file standard-library only.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

"""Score `heyplayer transcribe --json` output against a manifest's labels, for
corpora without a wake phrase (the spoken commands), which `heyplayer eval`
cannot score: WER over eval's own normalised words (`examples/parse_intents`,
`heyplayer_tools.parse_text`) and intents (right when the action and the value
are, as in eval).

    heyplayer transcribe --json --model M tests/out/commands/wav/*.wav > out.jsonl
    python -m heyplayer_tools.bench.transcribe_score tests/out/commands/manifest.jsonl out.jsonl [-v]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from heyplayer_tools.parse_text import PARSE_BIN, parse_texts
from heyplayer_tools.whisper.wer import ed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest", type=Path, help="EVAL.md manifest with transcript and intent labels")
    ap.add_argument("transcripts", type=Path, help="`heyplayer transcribe --json` output")
    ap.add_argument("-v", "--verbose", action="store_true", help="list the wrong intents")
    ap.add_argument("--parse-bin", default=str(PARSE_BIN))
    args = ap.parse_args()
    got = {}
    for line in args.transcripts.read_text().splitlines():
        if line.strip():
            o = json.loads(line)
            got[Path(o["file"]).name] = o
    pairs = []
    for line in args.manifest.read_text().splitlines():
        e = json.loads(line)
        if "transcript" not in e["labels"]:
            continue
        o = got.get(Path(e["audio"]).name)
        if o is None:
            raise SystemExit(f"{e['audio']}: not in {args.transcripts}")
        pairs.append((e, o))
    texts = [t for e, o in pairs for t in (e["labels"]["transcript"], o.get("text") or "")]
    words = [row["words"] for row in parse_texts(texts, args.parse_bin)]
    errors = ref_words = right = 0
    wrong = []
    for i, (e, o) in enumerate(pairs):
        ref, hyp = words[2 * i], words[2 * i + 1]
        errors += ed(ref, hyp)
        ref_words += len(ref)
        want, command = e["labels"]["intent"], o.get("command") or {}
        if command.get("action") == want.get("action") and command.get("value") == want.get("value"):
            right += 1
        else:
            wrong.append((e["id"], e["labels"]["transcript"], o.get("text"), command.get("action")))
    n = len(pairs)
    print(f"intents {right}/{n} = {100 * right / n:.1f} %, WER {100 * errors / ref_words:.1f} % "
          f"({errors}/{ref_words} words)")
    if args.verbose:
        for w in wrong:
            print("  ", w)


if __name__ == "__main__":
    main()

"""Score `heyplayer transcribe --json` output against a manifest's labels, for
corpora without a wake phrase (the spoken commands), which `heyplayer eval`
cannot score: WER over normalised words (lower case, punctuation stripped,
number words as digits, as eval does) and intents (right when the action and
the value are, as in eval).

    heyplayer transcribe --json --model M tests/out/commands/wav/*.wav > out.jsonl
    python -m heyplayer_tools.bench.transcribe_score tests/out/commands/manifest.jsonl out.jsonl [-v]
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from heyplayer_tools.whisper.wer import ed

UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90, "hundred": 100}


def words(text: str) -> list[str]:
    """Lower case, punctuation and apostrophes dropped, numbers as digits ("forty two" -> "42")."""
    text = re.sub(r"[^a-z0-9' -]", " ", text.lower()).replace("-", " ").replace("'", "")
    out: list[str] = []
    for w in text.split():
        n = UNITS.index(w) if w in UNITS else TENS.get(w)
        if n is None:
            out.append(w)
        elif out and out[-1].isdigit() and 20 <= int(out[-1]) < 100 and int(out[-1]) % 10 == 0 and n < 10:
            out[-1] = str(int(out[-1]) + n)
        else:
            out.append(str(n))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest", type=Path, help="EVAL.md manifest with transcript and intent labels")
    ap.add_argument("transcripts", type=Path, help="`heyplayer transcribe --json` output")
    ap.add_argument("-v", "--verbose", action="store_true", help="list the wrong intents")
    args = ap.parse_args()
    got = {}
    for line in args.transcripts.read_text().splitlines():
        if line.strip():
            o = json.loads(line)
            got[Path(o["file"]).name] = o
    errors = ref_words = right = n = 0
    wrong = []
    for line in args.manifest.read_text().splitlines():
        e = json.loads(line)
        labels = e["labels"]
        if "transcript" not in labels:
            continue
        o = got.get(Path(e["audio"]).name)
        if o is None:
            raise SystemExit(f"{e['audio']}: not in {args.transcripts}")
        ref = words(labels["transcript"])
        errors += ed(ref, words(o.get("text") or ""))
        ref_words += len(ref)
        want, command = labels["intent"], o.get("command") or {}
        n += 1
        if command.get("action") == want.get("action") and command.get("value") == want.get("value"):
            right += 1
        else:
            wrong.append((e["id"], labels["transcript"], o.get("text"), command.get("action")))
    print(f"intents {right}/{n} = {100 * right / n:.1f} %, WER {100 * errors / ref_words:.1f} % "
          f"({errors}/{ref_words} words)")
    if args.verbose:
        for w in wrong:
            print("  ", w)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Rescore the wake word's second stage offline, on the training voices only
(issue 29): which scoring of the evidence Whisper already computes accepts
more positives without letting more near misses or real speech through.

Input: the dumps of `VERIFY_EVIDENCE=1 examples/verify_scores` (one JSON line
per clip: the first stage's score, and for the prompted and the plain pass the
transcript, the forced phrase's mean log-probability and the summed
log-probability and token count of the phrase's spellings, its rivals, the
`VERIFY_LEADS` texts and the transcript's own first two words) on clips made
by `verify_tune --bin none` (kinds pos, fluent: positives; near, near_fluent:
near misses; speech: real speech of the training speakers). The clip's kind is
its file name's prefix. Whisper is not run again.

Rules compared (the daemon's is `today`; every other one keeps its rivals
check and plain retry):

* `today`: a pass hears the phrase when its transcript starts with it or the
  forced "Hey player," has a mean token log-probability >= -2.0; a heard
  phrase stands unless a rival's summed log-probability beats the best of the
  phrase's four spellings by more than 1.0; the plain pass when the prompted
  one fails.
* `spell:SET`: the forced score is the best mean token log-probability over
  the spellings SET (today's four, plus the ways Whisper writes the phrase on
  the training voices), and so is the phrase's side of the rival check.
* `norm:D`: also heard when the best spelling's summed log-probability is
  within D of the transcript's own first two words (the phrase nearly as
  likely as what Whisper wrote).
* `shipped`: the weights and threshold the daemon ships (`SHIPPED`).
* `lr`: a logistic regression on the clip's evidence (first-stage score,
  forced score, best rival's lead, match, no-speech probability, normalised
  score; each the better of the two passes), fit on the `--fit` dumps, its
  threshold fixed by a rule written down before anything held-out is run:
  the lowest threshold at which the fit set's near misses (near and
  near_fluent) accepted are no more than today's rule accepts, both of all
  of them and of those the first stage fired on, and none of its real
  speech clips, scored as if the first stage had fired at 1.0 on them.
  `lr3` is the same on the three features the daemon weighs (first-stage
  score, best forced spelling, best rival's lead), which only ever gain from
  the plain retry.

Counts are "accepted / clips"; `e2e` counts only clips the first stage fired
on (as the daemon verifies only those).

`--first` replaces the first stage's part of the evidence by another head's,
from `VERIFY_FIRST_ONLY=1 examples/verify_scores` dumps of the same clips
(with `HEYPLAYER_MODELS_DIR` naming that head), after the dumps' verdicts are
checked against the head they were made with; so the weights can be refit for
a new first stage without running Whisper again.

`--second` adds another Whisper model's dumps of the same clips (`VERIFY_MODEL`)
as two more features, its best forced spelling and rival lead (`lr5`: both
models with the first stage; `lr3_2`: the other model alone). `--baseline
dumped` fixes the thresholds at the near-miss count of the daemon that made the
dumps (their `verified`) instead of the old rule's.

    python -m heyplayer_tools.wake.verify_study --fit ev1a.jsonl ev1b.jsonl --check ev2a.jsonl ev2b.jsonl [--first other.jsonl] [--second tiny.jsonl ...] [--baseline today|dumped] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

KINDS = ("pos", "fluent", "near", "near_fluent", "speech")
POSITIVE = {"pos", "fluent"}
OWN4 = ["Hey player,", "Hey player.", "Hey, player,", "Hey, player."]
RIVALS = ["Day player,", "Hey Blair,", "Hey Clare,", "Hey Jarvis,", "Hey Siri,", "Hey Taylor,",
          "Hey layer,", "Hey mayor,", "Hey players,", "Hey prayer,", "Hey slayer,", "Hey there,",
          "Hey, Claire,", "Hi player,", "Okay player,", "Play her,", "Player,", "Say player,",
          "The player,"]
# Spelling sets: today's four, then the ways Whisper wrote the phrase on the
# training voices' positives (counted by `--spellings`).
SPELLINGS = {
    "own4": OWN4,
    "own4+K": OWN4 + ["K-Player,", "K-Player."],
    "own4+A": OWN4 + ["A player,", "A player."],
    "own4+K+A": OWN4 + ["K-Player,", "K-Player.", "A player,", "A player."],
    "own4+bang": OWN4 + ["Hey player!", "Hey, player!"],
    "own4+K+A+bang": OWN4 + ["K-Player,", "K-Player.", "A player,", "A player.", "Hey player!",
                             "Hey, player!"],
}
MIN_FORCED = -2.0
MAX_LEAD = 1.0


def load(paths):
    rows = []
    for p in paths:
        for line in Path(p).read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                r["kind"] = Path(r["clip"]).name.rsplit("-", 1)[0]
                rows.append(r)
    return rows


def mean(ps, lead):
    return ps["leads"][lead] / max(ps["tokens"][lead], 1)


def best(ps, spell):
    """Best spelling: (mean token log-prob, summed log-prob)."""
    return max(mean(ps, s) for s in spell), max(ps["leads"][s] for s in spell)


def rival_lead(ps, spell):
    return max(ps["leads"][r] for r in RIVALS) - best(ps, spell)[1]


def pass_ok(ps, spell, min_forced=MIN_FORCED, max_lead=MAX_LEAD, norm=None, forced4=True):
    """One pass of the second stage under a rule."""
    forced = ps["forced"] if forced4 else best(ps, spell)[0]
    heard = ps["matched"] or forced >= min_forced
    if norm is not None and not heard:
        h2 = ps["leads"].get(ps.get("heard2") or "", None)
        heard = h2 is not None and best(ps, spell)[1] - h2 >= -norm
    return heard and rival_lead(ps, spell) <= max_lead


def rule(r, **kw):
    p = r["passes"]
    return pass_ok(p["prompted"], **kw) or pass_ok(p["plain"], **kw)


def hearing(dump, spell):
    """What one Whisper model's two passes give the phrase: the best forced
    spelling and the smallest rival lead (floored at -10), of either pass."""
    p = [dump["passes"]["prompted"], dump["passes"]["plain"]]
    return (max(best(x, spell)[0] for x in p),
            max(min(rival_lead(x, spell) for x in p), -10.0))


def features(r, s1=None, spell=OWN4):
    """The clip's evidence, each the better of the two passes."""
    p = [r["passes"]["prompted"], r["passes"]["plain"]]
    s = r["first"]["score"] if s1 is None else s1
    s = min(max(s, 1e-4), 1 - 1e-4)
    forced, lead = hearing(r, spell)
    matched = float(any(x["matched"] for x in p))
    nsp = min(x["no_speech_prob"] for x in p)
    norm = max(best(x, spell)[1] - x["leads"].get(x.get("heard2") or "", best(x, spell)[1])
               for x in p)
    out = [math.log(s / (1 - s)), forced, lead, matched, nsp, max(norm, -20.0)]
    if "second" in r:
        # Another Whisper model's hearing of the same clip (`--second`).
        out += list(hearing(r["second"], spell))
    return out


# The weights and threshold the daemon ships (`command::verify::Evidence`,
# `wake.verify_min_evidence`): lr3 fit on all 360 clips of seed 7.
SHIPPED = {"raw": [0.3505, 0.7879, -0.5151], "bias": 0.0619, "min": 0.71}


def shipped(r):
    """The daemon's second stage with the evidence weighed (the real speech
    clips with their own first-stage score, as the daemon would see them)."""
    x = features(r)[:3]
    z = sum(w * v for w, v in zip(SHIPPED["raw"], x)) + SHIPPED["bias"]
    return 1 / (1 + math.exp(-z)) >= SHIPPED["min"]


# One Whisper model's evidence, then (with --second) the other model's hearing.
FEATURES_ONE = ["first_logit", "forced_best", "rival_lead", "matched", "no_speech", "norm"]
FEATURES = FEATURES_ONE + ["forced_best_2", "rival_lead_2"]


def fit_lr(x, y, l2=1.0, iters=50):
    """L2-regularised logistic regression by Newton steps, on standardised x."""
    mu, sd = x.mean(0), x.std(0) + 1e-6
    z = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    reg = np.eye(z.shape[1]) * l2
    reg[-1, -1] = 0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-z @ w))
        g = z.T @ (p - y) + reg @ w
        h = z.T @ (z * (p * (1 - p))[:, None]) + reg
        w -= np.linalg.solve(h, g)
    return mu, sd, w


def lr_prob(model, x):
    mu, sd, w = model
    z = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])
    return 1 / (1 + np.exp(-z @ w))


def table(rows, accept, name):
    out = {"rule": name}
    for k in KINDS:
        ks = [r for r in rows if r["kind"] == k]
        if not ks:
            continue
        a = [accept(r) for r in ks]
        fired = [x for x, r in zip(a, ks) if r["first"]["fired"]]
        out[k] = f"{sum(a)}/{len(ks)}"
        out[k + "_e2e"] = f"{sum(fired)}/{len(ks)}"
    return out


def show(tabs, e2e=False):
    cols = [k + ("_e2e" if e2e else "") for k in KINDS]
    print("| rule | " + " | ".join(KINDS) + " |")
    print("|---" * (len(KINDS) + 1) + "|")
    for t in tabs:
        print(f"| {t['rule']} | " + " | ".join(t.get(c, "-") for c in cols) + " |")


def spellings_heard(rows):
    """How the training voices' positives' transcripts start (first two words)."""
    count = {}
    for r in rows:
        if r["kind"] in POSITIVE:
            for ps in r["passes"].values():
                h = (ps.get("heard2") or "").strip()
                count[h] = count.get(h, 0) + 1
    return sorted(count.items(), key=lambda kv: -kv[1])


def near_count(rows, accept):
    return sum(accept(r) for r in rows if r["kind"] in ("near", "near_fluent"))


def operating_point(fit, p_fit, baseline):
    """The rule fixed before any held-out run: the lowest threshold at which
    the fit set's near misses (near, near_fluent) accepted are no more than
    the `baseline` rule accepts (the old rule, or with --baseline dumped the
    dumps' own verdicts), both of all of them and of those the first stage
    fired on, and none of its real speech clips is accepted."""
    near = [(p, r) for p, r in zip(p_fit, fit) if r["kind"] in ("near", "near_fluent")]
    today = sum(baseline(r) for _, r in near)
    today_fired = sum(baseline(r) for _, r in near if r["first"]["fired"])
    speech = [p for p, r in zip(p_fit, fit) if r["kind"] == "speech"]
    for t in sorted(set(np.round(p_fit, 6).tolist()) | {0.5}):
        if (sum(p >= t for p, _ in near) <= today
                and sum(p >= t for p, r in near if r["first"]["fired"]) <= today_fired
                and sum(p >= t for p in speech) == 0):
            return float(t)
    return 1.0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fit", nargs="+", required=True, help="dumps the rules are chosen on")
    ap.add_argument("--check", nargs="*", default=[],
                    help="dumps of fresh clips of the same training voices, to check on")
    ap.add_argument("--json", help="write the tables and the fitted model here")
    ap.add_argument("--first", nargs="*", default=[],
                    help="first-stage dumps of another head on the same clips (VERIFY_FIRST_ONLY)")
    ap.add_argument("--baseline", choices=("today", "dumped"), default="today",
                    help="the rule whose near-miss count the fitted threshold may not exceed: "
                         "the old rule (today, as the shipped weights were chosen) or the "
                         "verdicts in the dumps, the daemon that made them (to refit for "
                         "another first stage, --first, at the near-miss rate it has now)")
    ap.add_argument("--second", nargs="*", default=[],
                    help="evidence dumps of the same clips by another Whisper model "
                         "(VERIFY_MODEL): adds its forced phrase and rival lead as features "
                         "(lr5: both models with the first stage; lr3_2: the other model alone)")
    ap.add_argument("--spellings", action="store_true",
                    help="list how the positives' transcripts start")
    args = ap.parse_args()
    fit, check = load(args.fit), load(args.check)
    for r in fit + check:
        # The evidence reproduces the daemon's verdict: the old rule's for
        # dumps made before the weighing, the shipped weights' after.
        decide = shipped if r.get("weighed") else (lambda r: rule(r, spell=OWN4))
        assert decide(r) == r["verified"], r["clip"]
    # Other dumps of the same clips, joined by clip: another head's first stage
    # (--first) and another Whisper model's hearing (--second).
    for paths, key, take in ((args.first, "first", lambda o: o["first"]),
                             (args.second, "second", lambda o: o)):
        if not paths:
            continue
        other = {o["clip"]: take(o) for o in load(paths)}
        missing = [r["clip"] for r in fit + check if r["clip"] not in other]
        if missing:
            raise SystemExit(f"--{key} has nothing for {len(missing)} clips, e.g. {missing[0]}")
        for r in fit + check:
            r[key] = other[r["clip"]]
    if args.spellings:
        for h, n in spellings_heard(fit):
            print(f"{n:4d} {h!r}")
    rules = {"today": lambda r: rule(r, spell=OWN4), "shipped": shipped}
    # Spelling sets need their texts scored (`VERIFY_LEADS`); a dump without
    # them is studied on the others only.
    def scored(spell):
        return all(t in ps["leads"] for r in fit + check for ps in r["passes"].values()
                   for t in spell)
    for name, spell in SPELLINGS.items():
        if not scored(spell):
            print(f"(spelling set {name}: not in the dumps' leads, left out)")
            continue
        for mf in (-2.0, -2.5):
            rules[f"spell:{name} forced>={mf}"] = (
                lambda r, s=spell, m=mf: rule(r, spell=s, forced4=False, min_forced=m))
    for d in (1.0, 2.0, 3.0, 4.0):
        rules[f"norm:{d}"] = lambda r, d=d: rule(r, spell=OWN4, norm=d)
        if scored(SPELLINGS["own4+K+A"]):
            rules[f"norm:{d} spell:own4+K+A"] = (
                lambda r, d=d: rule(r, spell=SPELLINGS["own4+K+A"], forced4=False, norm=d))
    # The logistic regressions: positives vs near misses and real speech (the
    # latter scored as if the first stage had fired at full confidence), on
    # every feature and on the three the second stage can weigh monotonically
    # (first-stage score, best forced spelling, best rival's lead).
    def feats(rows, cols):
        return np.array([[features(r, 1.0 if r["kind"] == "speech" else None)[c] for c in cols]
                         for r in rows])
    y = np.array([r["kind"] in POSITIVE for r in fit], float)
    base = rules["today"] if args.baseline == "today" else (lambda r: r["verified"])
    base_near = near_count(fit, base)
    models = {}
    sets = [("lr", list(range(len(FEATURES_ONE)))), ("lr3", [0, 1, 2])]
    if args.second:
        sets += [("lr5", [0, 1, 2, 6, 7]), ("lr3_2", [0, 6, 7])]
    for name, cols in sets:
        x = feats(fit, cols)
        model = fit_lr(x, y)
        p_fit = lr_prob(model, x)
        thr = operating_point(fit, p_fit, base)
        print(f"{name}: weights (standardised) "
              f"{dict(zip([FEATURES[c] for c in cols] + ['bias'], np.round(model[2], 3).tolist()))}"
              f"; threshold {thr:.4f} (fit set: {args.baseline}'s near misses {base_near})")
        p_all = np.concatenate([p_fit, lr_prob(model, feats(check, cols))]) if check else p_fit
        prob = {r["clip"]: p for r, p in zip(fit + check, p_all)}
        rules[name] = lambda r, prob=prob, thr=thr: prob[r["clip"]] >= thr
        mu, sd, w = model
        models[name] = {"features": [FEATURES[c] for c in cols], "mean": mu.tolist(),
                        "sd": sd.tolist(), "weights": w.tolist(), "threshold": thr,
                        # The same model on the raw features: p = sigmoid(raw . x + bias).
                        "raw": (w[:-1] / sd).tolist(),
                        "raw_bias": float(w[-1] - (w[:-1] * mu / sd).sum())}
    out = {}
    for label, rows in (("fit", fit), ("check", check)):
        if not rows:
            continue
        tabs = [table(rows, f, n) for n, f in rules.items()]
        print(f"\n{label} set ({len(rows)} clips), second stage alone:")
        show(tabs)
        print(f"\n{label} set, end to end (clips the first stage fired on):")
        show(tabs, e2e=True)
        out[label] = tabs
    if args.json:
        out["models"] = models
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

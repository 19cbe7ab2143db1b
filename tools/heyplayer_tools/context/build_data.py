#!/usr/bin/env python3
"""Data recipe for the context head (issue 7): scenes of real speech over real
ambient audio, from Debian packages only, labelled by file-name rules.

Ambient audio (physical and crowd labels): lincity-ng-data and
openttd-opensfx, labelled by the rules of `eval_ambient.py` (imported: one
source of truth; see its docstring for the rules and licences); with
`--more-ambient` (how the committed head was trained) also 0ad-data,
redeclipse-data and flightgear-data-base, by the rules of `zero_ad_label`,
`redeclipse_label`, `FLIGHTGEAR_VEHICLE` and `FLIGHTGEAR_NATURE` below. Files no rule
names are not used. Recordings of one series (file name without its trailing
number, e.g. lincity `Trafic1..3`) count as one source recording.

Speech: asterisk-core-sounds prompts (`apt-get install --no-install-recommends
asterisk-core-sounds-{en,it,ru,fr,es}-wav`; CC BY-SA 3.0, Digium). Speakers,
not languages, are the unit: `en_US_f_Allison` and `es_MX_f_Allison` are the
same speaker.

Splits (never by clip):
- speakers: train = Allison (en_US, es_MX), Menardi (it), June (fr_CA);
  test = Carlo (it), IvrvoiceRU (ru);
- ambient: within each label group (street, nature, vehicle, crowd), source
  recordings sorted by a fixed hash of their series name; every third one
  (starting with the first) is test, the rest train.

A scene (16 kHz mono, 16-bit WAV): `PREROLL_S` of ambient audio (the
pre-roll), then the user's command (1-3 prompts of one speaker at an SNR of
0-20 dB over the ambient), then `TAIL_S` of ambient. Ambient level -45..-25
dBFS RMS, looped from a random offset when shorter than the scene.
Social label:
- alone: no other talker, ambient not a crowd;
- conversation: one background talker (another speaker of the same split),
  talking through the pre-roll and on, 0-10 dB under the user;
- crowd: a crowd ambient (2 times in 3: a crowd recording, physical label
  then none, or a busy room, indoor_busy), or 3-5 background talkers at once
  (babble) over a non-crowd ambient.
Physical label: the ambient recording's.

Indoor (`rooms.py`): no recording in these packages is clearly indoor, so
`N_ROOMS` quiet rooms (room tone, hum, fans, clocks, typing: indoor_quiet,
social alone or conversation, the user 15-38 dB above a -65..-35 dBFS room)
and `N_ROOMS` busy rooms (6-14 talkers of the split's speakers, clatter,
sometimes music on hold: indoor_busy, a crowd ambient) are synthesised, each
with its own impulse response, through which the user and any companion
talk too half the time (else close to the microphone). Each room is a series; every third is held out (its babble is the
test speakers, its music the held-out track). Synthetic: a held-out figure on
them shows what the head makes of the generator's rooms, not of real ones.

Emotion (`--emotion`): the Hedgewars voice packs (hedgewars-data, GPL-2 /
its Data/ under the game's licence; 15 acted packs) with the issue's weak
labels by phrase name: Laugh, Victory, Amazing -> happy; Stupid, Traitor ->
angry; Nooo, Ohdear, Drat -> sad; Hello, Yessir -> neutral; everything else
(pain sounds included) left out. Each phrase is padded with 1 s of
-60 dBFS noise before (the pre-roll) and 0.5 s after. Written to
`OUT/emotion/` and `OUT/emotion.jsonl` (field `pack`: evaluate leave one
pack out). Weak arousal: happy and angry high, sad and neutral low.

The test split also holds every test ambient recording alone (kind
`ambient`, no speech), for physical on held-out real ambient audio, and every
held-out synthetic room alone (kind `room`).

Writes `OUT/{train,test}/*.wav` and `OUT/{train,test}.jsonl` (one line per
clip: audio, physical, social, kind, ambient, speaker, talkers, snr_db).
Generated audio stays out of git (tests/out/ is ignored).

    .venv/bin/python -m heyplayer_tools.context.build_data [--more-ambient] [--out tests/out/context/scenes] [--train N] [--test N]
"""
import argparse
import hashlib
import json
import re
import sys
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from heyplayer_tools import ROOT
from heyplayer_tools.context import eval_ambient as ea  # (the labelling rules)
from heyplayer_tools.context import rooms  # (the synthetic indoor rooms)
SR = 16000
PREROLL_S = 2.0
TAIL_S = 0.6
ASTERISK = Path("/usr/share/asterisk/sounds")
SPEAKERS = {
    "allison": ["en_US_f_Allison", "es_MX_f_Allison"],
    "menardi": ["it_IT_f_Menardi"],
    "june": ["fr_CA_f_June"],
    "carlo": ["it_IT_m_Carlo"],
    "ivrvoice": ["ru_RU_f_IvrvoiceRU"],
}
TEST_SPEAKERS = {"carlo", "ivrvoice"}
# The Debian package that installs each speaker's prompts (Menardi's are not in
# asterisk-core-sounds-it-wav).
SPEAKER_PACKAGE = {
    "allison": "asterisk-core-sounds-en-wav asterisk-core-sounds-es-wav",
    "menardi": "asterisk-prompt-it-menardi-wav",
    "june": "asterisk-core-sounds-fr-wav",
    "carlo": "asterisk-core-sounds-it-wav",
    "ivrvoice": "asterisk-core-sounds-ru-wav",
}
MIN_PROMPT_S, MAX_PROMPT_S = 0.6, 3.0
# Scene levels (dBFS RMS of the ambient) and the user's SNR over it, unless the
# ambient item says otherwise (a quiet room is quieter, the user far above it).
AMBIENT_LEVEL, SNR = (-45.0, -25.0), (0.0, 20.0)
QUIET_LEVEL, QUIET_SNR = (-65.0, -35.0), (15.0, 38.0)
# Indoors, the chance that the user's voice is heard through the room (else dry).
ROOM_VOICE_P = 0.5
# Synthetic rooms (rooms.py) of each indoor kind; every third is held out.
N_ROOMS = 18
# When the scene's social label is crowd: the chance that a crowd ambient (a
# crowd recording or a busy room) makes it, rather than talkers over another.
CROWD_AMBIENT_P = 2 / 3


def load16k(path: Path) -> np.ndarray:
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != SR:
        g = gcd(sr, SR)
        x = resample_poly(x, SR // g, sr // g).astype(np.float32)
    return x


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2) + 1e-12))


def series(name: str) -> str:
    return re.sub(r"[\s_-]*\d+$", "", name.lower()).strip()


def stable_hash(s: str) -> int:
    return int(hashlib.sha256(s.encode()).hexdigest()[:8], 16)


ZERO_AD = Path("/usr/share/games/0ad/mods/public/public.zip")
REDECLIPSE = Path("/usr/share/games/redeclipse/data/sounds/ambience")


def zero_ad_label(name: str) -> tuple[str | None, str | None]:
    """0ad-data `audio/ambient/{building,dayscape,water,weather}/*.ogg` (0 A.D.'s
    art and audio: CC BY-SA 3.0, Wildfire Games), by file name: dayscapes,
    water and weather are nature; the farm is nature (as opensfx's farm
    animals); the market (`amb_trade`) is a crowd; the port (ships and
    people) is left out."""
    if name.startswith(("day_", "river_", "waterfall", "wave", "rain", "snowstorm", "thunder", "wind",
                        "amb_farm")):
        return "nature", "alone"
    if name.startswith("amb_trade"):
        return None, "crowd"
    return None, None


def redeclipse_label(name: str) -> tuple[str | None, str | None]:
    """redeclipse-data `data/sounds/ambience/` (CC BY-SA 3.0; `morph/` CC BY
    3.0), by file name: creeks, rivers, waterfalls (not `waterfall_indoor`),
    forests, crickets, cicadas, wind, rain and storms are nature;
    `distant_cars` is street. Sci-fi ambiences (alien, dizzy, hollow and
    waste winds, lava, machines, teleports, hums) are left out."""
    base = name.split("/")[-1]
    if base == "distant_cars":
        return "street", "alone"
    if base.startswith(("creek", "cycadas", "forest", "nightcrickets", "river", "water", "wind", "blowwind",
                        "rain", "stormrain", "stormwind", "stormbolts")) and base != "waterfall_indoor":
        return "nature", "alone"
    return None, None


FLIGHTGEAR = Path("/usr/share/games/flightgear")
# flightgear-data-base (GPL-2+): engine and cockpit loops are vehicle (the
# listener is in the aircraft, as with opensfx's planes), rain, thunder and
# wind are nature; one-shots (clicks, doors, crashes, warnings) are left out,
# and so are `wind-8khz` (likely `wind` resampled: it could land in the other
# split), the seaplane's water and the unidentified `whine` and `wasp`.
# Recordings of one engine count as one series (the value).
FLIGHTGEAR_VEHICLE = {
    "Aircraft/c172p/Sounds/engine": "c172p-engine", "Aircraft/c172p/Sounds/engine-idle": "c172p-engine",
    "Aircraft/c172p/Sounds/tires-rolling-asphalt": "c172p-tires",
    "Aircraft/c172p/Sounds/tires-rolling-gravel": "c172p-tires",
    "Sounds/R-1535Slow": "r1535", "Sounds/engine-prop": "prop", "Sounds/prop": "prop",
    "Sounds/exhaust_loop": "exhaust", "Sounds/helicopter": "helicopter", "Sounds/rotor": "rotor",
    "Sounds/rotor-2blade": "rotor", "Sounds/jet": "jet", "Sounds/p51d_rpm1": "p51d",
    "Sounds/rumble": "rumble", "Sounds/rumble-rough": "rumble", "Sounds/turbine_loop": "turbine",
    "Sounds/turbojet_fan": "turbojet", "Sounds/turboprop1": "turboprop",
    "Sounds/rain-windshield": "rain-windshield",
}
FLIGHTGEAR_NATURE = {
    "Sounds/rain": "rain", "Sounds/thunder": "thunder", "Sounds/thunder1": "thunder",
    "Sounds/thunder2": "thunder", "Sounds/thunder3": "thunder", "Sounds/wind": "wind", "Sounds/wind1": "wind",
}


def more_ambient() -> list[tuple[Path, str, str | None, str | None, str]]:
    """The ambient recordings of 0ad-data, redeclipse-data and
    flightgear-data-base, labelled by the rules above (0ad's are extracted
    from its zip to OUT/0ad/). A flightgear item's title is its series."""
    import zipfile

    for p, pkg in ((ZERO_AD, "0ad-data"), (REDECLIPSE, "redeclipse-data"), (FLIGHTGEAR, "flightgear-data-base")):
        if not p.exists():
            sys.exit(f"{p} is missing: apt-get install --no-install-recommends {pkg}")
    items = []
    out_dir = ea.OUT / "0ad"
    out_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(ZERO_AD) as z:
        for n in sorted(z.namelist()):
            if not (n.startswith("audio/ambient/") and n.endswith(".ogg")):
                continue
            stem = Path(n).stem
            phys, social = zero_ad_label(stem)
            if phys is None and social is None:
                continue
            path = out_dir / Path(n).name
            if not path.exists():
                path.write_bytes(z.read(n))
            items.append((path, stem, phys, social, "0ad"))
    for p in sorted(REDECLIPSE.rglob("*.ogg")):
        name = str(p.relative_to(REDECLIPSE).with_suffix(""))
        items.append((p, name, *redeclipse_label(name), "redeclipse"))
    for rules, phys in ((FLIGHTGEAR_VEHICLE, "vehicle"), (FLIGHTGEAR_NATURE, "nature")):
        for name, group in sorted(rules.items()):
            items.append((FLIGHTGEAR / f"{name}.wav", group, phys, "alone", "flightgear"))
    return items


def ambient_items(more: bool = False) -> list[dict]:
    items = [(p, p.stem, *ea.lincity_label(p.stem), "lincity") for p in sorted(ea.LINCITY.glob("*.wav"))]
    items += [(p, t, ph, so, "opensfx") for p, t, ph, so in ea.extract_opensfx()]
    if more:
        items += more_ambient()
    out = []
    for p, title, phys, social, pkg in items:
        if phys is None and social is None:
            continue
        info = sf.info(str(p))
        if info.frames / info.samplerate < ea.MIN_SECONDS:
            continue
        group = "crowd" if social == "crowd" else phys
        out.append({"path": p, "title": title, "physical": phys, "crowd": social == "crowd",
                    "group": group, "series": f"{pkg}:{series(title)}",
                    "set": {"0ad": "more", "redeclipse": "more", "flightgear": "flightgear"}.get(pkg, "base")})
    # Split by series within each group, and within each set of packages
    # (the first recipe's; 0ad-data and redeclipse-data; flightgear-data-base),
    # so that adding a set leaves the earlier sets' splits as they were.
    for g, st in sorted({(it["group"], it["set"]) for it in out}):
        mine = [it for it in out if it["group"] == g and it["set"] == st]
        names = sorted({it["series"] for it in mine}, key=lambda s: (stable_hash(s), s))
        test = set(names[0::3])
        for it in mine:
            it["split"] = "test" if it["series"] in test else "train"
    return out + room_items()


def room_items() -> list[dict]:
    """The synthetic rooms (rooms.py) as ambient items: `N_ROOMS` quiet rooms
    (indoor_quiet, heard quietly, the user far above them) and `N_ROOMS` busy
    rooms (indoor_busy; their babble makes them crowd ambients). Each room is
    its own series; every third is held out. The audio is made per split
    (the babble is that split's speakers)."""
    items = []
    for kind, phys, base in (("quiet", "indoor_quiet", 1000), ("busy", "indoor_busy", 2000)):
        for i in range(N_ROOMS):
            it = {"path": None, "title": f"room-{kind}-{i:02d}", "physical": phys, "crowd": kind == "busy",
                  "group": phys, "series": f"rooms:{kind}-{i:02d}", "set": "rooms", "room_seed": base + i,
                  "split": "test" if i % 3 == 0 else "train"}
            if kind == "quiet":
                it.update(level=QUIET_LEVEL, snr=QUIET_SNR, bare_level=-45.0)
            items.append(it)
    return items


def room_audio(item: dict, split: str, prompts: dict, out: Path) -> np.ndarray:
    """A synthetic room's audio, written to OUT/rooms/ as well (to listen to)."""
    if item["physical"] == "indoor_busy":
        talkers = [prompts[s] for s in sorted(prompts)]
        x = rooms.busy_room(item["room_seed"], lambda rng, n: talk_track(talkers[int(rng.integers(len(talkers)))], n, rng),
                            split, load16k)
    else:
        x = rooms.quiet_room(item["room_seed"])
    d = out / "rooms"
    d.mkdir(parents=True, exist_ok=True)
    sf.write(str(d / f"{item['title']}.wav"), at_level(x, -30.0).astype(np.float32), SR, subtype="PCM_16")
    return x


def speaker_split(spk: str) -> str:
    """The split a speaker talks in."""
    return "test" if spk in TEST_SPEAKERS else "train"


def speech_items(splits: set[str]) -> dict[str, list[Path]]:
    """The prompts of the speakers the given splits use (a held-out-only build
    needs only the test speakers, whose packages `make deps` installs)."""
    by = {}
    for spk, dirs in SPEAKERS.items():
        if speaker_split(spk) not in splits:
            continue
        files = []
        for d in dirs:
            files += sorted((ASTERISK / d).rglob("*.wav"))
        if not files:
            sys.exit(f"no prompts for {spk} in {ASTERISK}: "
                     f"apt-get install --no-install-recommends {SPEAKER_PACKAGE[spk]}")
        by[spk] = files
    return by


class Prompts:
    """Loads prompts lazily, keeps those of a usable length."""

    def __init__(self, files: list[Path]):
        self.files = files
        self.cache: dict[Path, np.ndarray | None] = {}

    def pick(self, rng: np.random.Generator) -> np.ndarray:
        for _ in range(50):
            f = self.files[rng.integers(len(self.files))]
            if f not in self.cache:
                x = load16k(f)
                # Trim digital silence at the ends.
                nz = np.flatnonzero(np.abs(x) > 1e-3)
                x = x[nz[0]:nz[-1] + 1] if nz.size else x[:0]
                d = len(x) / SR
                self.cache[f] = x if MIN_PROMPT_S <= d <= MAX_PROMPT_S and rms(x) > 1e-3 else None
            if self.cache[f] is not None:
                return self.cache[f]
        raise RuntimeError("no usable prompt")


def loop_to(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    start = int(rng.integers(len(x)))
    reps = (start + n) // len(x) + 1
    return np.tile(x, reps)[start:start + n]


def at_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    return x * (10 ** (dbfs / 20) / rms(x))


def talk_track(prompts: Prompts, n: int, rng: np.random.Generator, gap=(0.1, 0.6)) -> np.ndarray:
    """Prompts back to back with short gaps, filling n samples."""
    out = np.zeros(n, np.float32)
    pos = int(rng.uniform(0, 0.4) * SR)
    while pos < n:
        p = prompts.pick(rng)
        p = p / rms(p)
        k = min(len(p), n - pos)
        out[pos:pos + k] += p[:k]
        pos += k + int(rng.uniform(*gap) * SR)
    return out


def scene(rng, amb: dict, amb_audio: np.ndarray, user: Prompts, others: list[Prompts], social: str) -> tuple[np.ndarray, dict]:
    cmd = np.concatenate([np.concatenate([p, np.zeros(int(0.15 * SR), np.float32)])
                          for p in (user.pick(rng) for _ in range(int(rng.integers(1, 4))))])
    n_pre, n_tail = int(PREROLL_S * SR), int(TAIL_S * SR)
    n = n_pre + len(cmd) + n_tail
    amb_level = float(rng.uniform(*amb.get("level", AMBIENT_LEVEL)))
    x = at_level(loop_to(amb_audio, n, rng), amb_level)
    snr = float(rng.uniform(*amb.get("snr", SNR)))
    h = None
    if "room_seed" in amb and rng.random() < ROOM_VOICE_P:
        # Indoors, the user's voice (and a companion's) comes through the room
        # too, unless the user is close to the microphone: dry speech must not
        # mean "outdoors".
        h = rooms.room_rir(amb["room_seed"], amb["physical"] == "indoor_busy")
        cmd = rooms.in_room(cmd, h)
    user_level = amb_level + snr
    # Speech level measured on its active part.
    active = cmd[np.abs(cmd) > 1e-3]
    user_level = min(user_level, -12.0)
    x[n_pre:n_pre + len(cmd)] += cmd * (10 ** (user_level / 20) / rms(active))
    talkers = 0
    if social == "conversation":
        talkers = 1
    elif social == "crowd" and not amb["crowd"]:
        talkers = int(rng.integers(3, 6))
    for t in range(talkers):
        o = others[int(rng.integers(len(others)))] if talkers == 1 else others[t % len(others)]
        track = talk_track(o, n, rng)
        if h is not None:
            track = rooms.in_room(track, h)
        if talkers == 1:
            level = user_level - float(rng.uniform(0, 10))
        else:
            level = user_level - float(rng.uniform(6, 16))
        x += track * 10 ** (level / 20)
    peak = float(np.max(np.abs(x)))
    if peak > 0.99:
        x *= 0.99 / peak
    return x.astype(np.float32), {"snr_db": round(snr, 1), "talkers": talkers}


def build_split(split: str, n: int, ambients: list[dict], speakers: dict[str, list[Path]], out: Path,
                seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = out / split
    d.mkdir(parents=True, exist_ok=True)
    amb = [a for a in ambients if a["split"] == split]
    spk = [s for s in speakers if speaker_split(s) == split]
    prompts = {s: Prompts(speakers[s]) for s in spk}
    audio = {id(a): room_audio(a, split, prompts, out) if "room_seed" in a else load16k(a["path"]) for a in amb}
    plain = [a for a in amb if not a["crowd"]]
    crowd = [a for a in amb if a["crowd"]]
    # Physical groups equally likely (their recordings are not equally many);
    # so are the crowd recordings and the busy rooms among crowd ambients.
    groups = sorted({a["group"] for a in plain})
    crowd_groups = sorted({a["group"] for a in crowd})
    rows = []
    for i in range(n):
        social = ["alone", "conversation", "crowd"][i % 3]
        if social == "crowd" and crowd and rng.random() < CROWD_AMBIENT_P:
            g = crowd_groups[int(rng.integers(len(crowd_groups)))]
            pool = [a for a in crowd if a["group"] == g]
            a = pool[int(rng.integers(len(pool)))]
        else:
            g = groups[int(rng.integers(len(groups)))]
            pool = [a for a in plain if a["group"] == g]
            a = pool[int(rng.integers(len(pool)))]
        user = spk[int(rng.integers(len(spk)))]
        others = [prompts[s] for s in spk if s != user]
        x, meta = scene(rng, a, audio[id(a)], prompts[user], others, social)
        path = d / f"{i:05d}.wav"
        sf.write(str(path), x, SR, subtype="PCM_16")
        rows.append({"audio": str(path.relative_to(out)), "kind": "scene", "physical": a["physical"],
                     "social": social, "ambient": a["title"], "series": a["series"], "speaker": user, **meta})
    if split == "test":
        for j, a in enumerate(amb):
            if a["physical"] is None:
                continue
            path = d / f"ambient-{j:03d}.wav"
            x = audio[id(a)]
            sf.write(str(path), at_level(x, a.get("bare_level", -30.0)).astype(np.float32), SR, subtype="PCM_16")
            kind = "room" if "room_seed" in a else "ambient"
            rows.append({"audio": str(path.relative_to(out)), "kind": kind, "physical": a["physical"],
                         "social": "crowd" if a["crowd"] else "alone", "ambient": a["title"], "series": a["series"],
                         "speaker": None, "talkers": 0, "snr_db": None})
    with open(out / f"{split}.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    print(f"{split}: {len(rows)} clips from {len(amb)} ambient recordings, speakers {spk}", file=sys.stderr)


HEDGEWARS = Path("/usr/share/games/hedgewars/Data/Sounds/voices")
EMOTION_RULES = {"laugh": "happy", "victory": "happy", "amazing": "happy", "stupid": "angry",
                 "traitor": "angry", "nooo": "sad", "ohdear": "sad", "drat": "sad",
                 "hello": "neutral", "yessir": "neutral"}


def build_emotion(out: Path, seed: int) -> None:
    if not HEDGEWARS.is_dir():
        sys.exit(f"{HEDGEWARS} is missing: apt-get install --no-install-recommends hedgewars-data")
    rng = np.random.default_rng(seed)
    d = out / "emotion"
    d.mkdir(parents=True, exist_ok=True)
    rows = []
    for pack in sorted(p.name for p in HEDGEWARS.iterdir() if p.is_dir()):
        for f in sorted((HEDGEWARS / pack).glob("*.ogg")):
            label = EMOTION_RULES.get(f.stem.lower())
            if label is None:
                continue
            x = load16k(f)
            if rms(x) < 1e-4:
                continue
            x = at_level(x, -20.0)
            pre = (rng.standard_normal(SR) * 1e-3).astype(np.float32)
            post = (rng.standard_normal(SR // 2) * 1e-3).astype(np.float32)
            y = np.concatenate([pre, x + (rng.standard_normal(len(x)) * 1e-3).astype(np.float32), post])
            y = np.clip(y, -0.99, 0.99)
            path = d / f"{pack}-{f.stem}.wav"
            sf.write(str(path), y, SR, subtype="PCM_16")
            rows.append({"audio": str(path.relative_to(out)), "kind": "emotion", "emotion": label,
                         "arousal": "high" if label in ("happy", "angry") else "low",
                         "pack": pack, "phrase": f.stem, "physical": None, "social": None})
    with open(out / "emotion.jsonl", "w") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    print(f"emotion: {len(rows)} clips from {len({r['pack'] for r in rows})} packs", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "tests/out/context/scenes")
    ap.add_argument("--train", type=int, default=900, help="training scenes")
    ap.add_argument("--test", type=int, default=300, help="held-out scenes")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--emotion", action="store_true", help="build the Hedgewars emotion set only")
    ap.add_argument("--more-ambient", action="store_true",
                    help="add the ambient recordings of 0ad-data, redeclipse-data and flightgear-data-base")
    args = ap.parse_args()
    if args.emotion:
        build_emotion(args.out, args.seed)
        return
    ambients = ambient_items(args.more_ambient)
    speakers = speech_items({s for s, n in (("train", args.train), ("test", args.test)) if n})
    args.out.mkdir(parents=True, exist_ok=True)
    splits = {}
    for a in ambients:
        splits.setdefault(a["split"], {}).setdefault(a["group"], set()).add(a["series"])
    for s, gs in sorted(splits.items()):
        print(f"{s} recordings (series): " + ", ".join(f"{g} {len(v)}" for g, v in sorted(gs.items())), file=sys.stderr)
    (args.out / "ambient_split.json").write_text(json.dumps(
        [{k: (str(v) if k == "path" else v) for k, v in a.items()} for a in ambients], indent=1))
    if args.train:
        build_split("train", args.train, ambients, speakers, args.out, args.seed)
    if args.test:
        build_split("test", args.test, ambients, speakers, args.out, args.seed + 1)


if __name__ == "__main__":
    main()

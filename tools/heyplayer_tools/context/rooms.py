"""Synthetic rooms for the indoor labels of the context head (issue 7).

No Debian package we use holds a recording that is clearly `indoor_quiet`
or `indoor_busy`, so these two are built, not recorded, from parts that are
real or plainly physical:

- a room: a synthetic impulse response (exponentially decaying noise, the
  high frequencies dying faster than the lows, RT60 drawn per room), which
  reverberates everything in the room, the user's voice included;
- `indoor_quiet`: room tone (coloured noise, as ventilation makes), plus
  sometimes mains or fridge hum, a fan, a ticking clock or keyboard typing;
- `indoor_busy` (a café, canteen or shop): 6-14 real talkers at once
  (asterisk-core-sounds prompts of the split's own speakers, so the held-out
  rooms' babble is held-out speakers), each through the room; cup and
  cutlery clinks and chair scrapes; sometimes music on hold
  (asterisk-moh-opsound-wav, split by track) playing in the room; a noise
  floor.

Each room is one "recording" (ROOM_S seconds) and its own series, so the
build's series split applies: every third room is held out. The held-out
rooms come from the same generator with other random draws and other
speakers and music: a held-out figure on them says the head learned what
the generator makes, not that it knows real rooms. Figures on them are
reported apart from the real recordings'.
"""
from pathlib import Path

import numpy as np
from scipy.signal import butter, fftconvolve, lfilter, sosfilt

SR = 16000
ROOM_S = 20.0
MOH = Path("/usr/share/asterisk/moh")
# The held-out music track (the wake corpus holds the same one out).
MOH_TEST = "reno_project-system"


def room_rir(seed: int, busy: bool) -> np.ndarray:
    """The room's impulse response (direct path first, unit peak)."""
    rng = np.random.default_rng(seed)
    rt60 = rng.uniform(0.5, 1.3) if busy else rng.uniform(0.25, 0.8)
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    noise = rng.standard_normal(n)
    low = lfilter(*butter(2, 1500 / (SR / 2)), noise)
    high = noise - low
    # Highs decay about twice as fast as the lows (air and soft furnishings).
    tail = low * np.exp(-6.9 * t / rt60) + high * np.exp(-6.9 * t / (0.5 * rt60))
    pre = int(rng.uniform(0.003, 0.012) * SR)  # first reflection after the direct sound
    tail[:pre] = 0.0
    h = np.zeros(n)
    h[0] = 1.0
    # Direct-to-reverberant energy ratio: a talker a metre or three away.
    drr_db = rng.uniform(-6, 4) if busy else rng.uniform(-3, 8)
    h += tail / (np.sqrt(np.sum(tail ** 2)) + 1e-9) * 10 ** (-drr_db / 20)
    return (h / np.abs(h).max()).astype(np.float32)


def in_room(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    return fftconvolve(x, h)[: len(x)].astype(np.float32)


def coloured(n: int, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """Noise with a 1/f^alpha power spectrum, unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    f[0] = f[1]
    x = np.fft.irfft(spec * f ** (-alpha / 2), n)
    return (x / (np.std(x) + 1e-12)).astype(np.float32)


def unit(x: np.ndarray) -> np.ndarray:
    return x / (np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12)


def hum(n: int, rng: np.random.Generator) -> np.ndarray:
    """Mains or fridge hum: harmonics of 50 or 60 Hz, slowly breathing."""
    t = np.arange(n) / SR
    f0 = rng.choice([50.0, 60.0]) * rng.uniform(0.995, 1.005)
    x = sum(rng.uniform(0.1, 1.0) / k * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6.3)) for k in range(1, 7))
    am = 1 + rng.uniform(0, 0.3) * np.sin(2 * np.pi * rng.uniform(0.1, 1.0) * t)
    return unit(x * am).astype(np.float32)


def fan(n: int, rng: np.random.Generator) -> np.ndarray:
    """A fan or air conditioner: band-limited noise and the blades' tone."""
    lo, hi = rng.uniform(120, 400), rng.uniform(1000, 3000)
    x = sosfilt(butter(2, [lo / (SR / 2), hi / (SR / 2)], btype="band", output="sos"), rng.standard_normal(n))
    t = np.arange(n) / SR
    blade = np.sin(2 * np.pi * rng.uniform(60, 250) * t)
    return unit(unit(x) + rng.uniform(0.1, 0.6) * unit(blade)).astype(np.float32)


def clicks(n: int, rate: float, rng: np.random.Generator, regular: bool, length_s=0.004) -> np.ndarray:
    """Short decaying noise clicks: a clock (regular) or typing (bursts)."""
    x = np.zeros(n, np.float32)
    k = int(length_s * SR)
    env = np.exp(-np.arange(k) / (k / 4))
    if regular:
        times = np.arange(rng.uniform(0, 1 / rate), n / SR, 1 / rate)
    else:
        times, t = [], rng.uniform(0, 2)
        while t < n / SR:
            burst_end = t + rng.uniform(1, 4)
            while t < min(burst_end, n / SR):
                times.append(t)
                t += rng.uniform(0.08, 0.25)
            t += rng.uniform(1, 5)
    for s in times:
        i = int(s * SR)
        if i + k < n:
            x[i:i + k] += (rng.standard_normal(k) * env * rng.uniform(0.5, 1)).astype(np.float32)
    return x


def clatter(n: int, rng: np.random.Generator) -> np.ndarray:
    """Cups, glasses and cutlery (ringing tones), and chairs (low scrapes)."""
    x = np.zeros(n, np.float32)
    rate = rng.uniform(0.3, 2.0)
    for s in np.cumsum(rng.exponential(1 / rate, int(rate * n / SR * 2) + 1)):
        i = int(s * SR)
        k = int(rng.uniform(0.1, 0.4) * SR)
        if i + k >= n:
            break
        t = np.arange(k) / SR
        tone = sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(1800, 7000, int(rng.integers(1, 4))))
        x[i:i + k] += (tone * np.exp(-t * rng.uniform(15, 60)) * rng.uniform(0.3, 1)).astype(np.float32)
    for s in np.cumsum(rng.exponential(1 / 0.1, 4)):
        i, k = int(s * SR), int(rng.uniform(0.15, 0.5) * SR)
        if i + k >= n:
            break
        scrape = sosfilt(butter(2, rng.uniform(300, 900) / (SR / 2), output="sos"), rng.standard_normal(k))
        x[i:i + k] += (unit(scrape) * np.hanning(k) * 0.3).astype(np.float32)
    return x


def moh_tracks(split: str) -> list[Path]:
    tracks = [p for p in sorted(MOH.glob("*.wav")) if (p.stem == MOH_TEST) == (split == "test")]
    if not tracks:
        raise SystemExit(f"no music on hold in {MOH}: apt-get install --no-install-recommends asterisk-moh-opsound-wav")
    return tracks


def quiet_room(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    n = int(ROOM_S * SR)
    x = coloured(n, rng.uniform(0.8, 2.0), rng)
    if rng.random() < 0.5:
        x = x + hum(n, rng) * 10 ** (rng.uniform(-10, 3) / 20)
    if rng.random() < 0.4:
        x = x + fan(n, rng) * 10 ** (rng.uniform(-6, 6) / 20)
    if rng.random() < 0.25:
        x = x + unit(clicks(n, 1.0, rng, regular=True)) * 10 ** (rng.uniform(-12, -3) / 20)
    if rng.random() < 0.3:
        x = x + unit(clicks(n, 6.0, rng, regular=False, length_s=0.008)) * 10 ** (rng.uniform(-8, 0) / 20)
    return unit(in_room(x, room_rir(seed, busy=False)))


def busy_room(seed: int, talk, split: str, load) -> np.ndarray:
    """`talk(rng, n)` gives one talker's track (unit RMS) from the split's speakers;
    `load(path)` reads a music track at 16 kHz."""
    rng = np.random.default_rng(seed + 1)
    n = int(ROOM_S * SR)
    h = room_rir(seed, busy=True)
    babble = np.zeros(n, np.float32)
    for _ in range(int(rng.integers(6, 15))):
        babble += talk(rng, n) * 10 ** (-rng.uniform(0, 10) / 20)
    babble = unit(in_room(babble, h))
    x = babble + unit(in_room(clatter(n, rng), h)) * 10 ** (rng.uniform(-12, -3) / 20)
    x = x + coloured(n, rng.uniform(0.8, 2.0), rng) * 10 ** (rng.uniform(-20, -10) / 20)
    tracks = moh_tracks(split)
    if rng.random() < 0.4:
        m = load(tracks[int(rng.integers(len(tracks)))])
        start = int(rng.integers(max(1, len(m) - n)))
        m = np.resize(m[start:], n)
        x = x + unit(in_room(m, h)) * 10 ** (rng.uniform(-12, -4) / 20)
    return unit(x)

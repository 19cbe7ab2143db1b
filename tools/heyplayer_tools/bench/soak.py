#!/usr/bin/env python3
"""The daemon's soak, idle-cost and drop benchmark (issue 6), on real audio.

Builds one long recording and runs the whole daemon on it
(`heyplayer listen --player dry-run`, Whisper, context and the privacy store
included), then reports what the issue asks for:

- soak: `--minutes 120` of mixed audio (real speech from asterisk-core-sounds
  in four languages, "hey player" commands from the held-out test corpus
  `tests/out/wake/pos`, pink noise, silence) at full speed: RSS at the start
  and at the end (sampled every second from /proc), and that no event is
  lost: every command inserted is accounted for (a `command`,
  `not_understood`, or a missed wake), every `command` has exactly one
  `action_result`, every accepted wake one `kept`, and no drops;
- idle: `--idle --minutes 10` of silence and non-wake speech: CPU time /
  audio time (the issue's goal: at most 1 % of one core); `--repeat N` runs
  the daemon N times on the same file and also reports the minimum and the
  median (a shared machine inflates CPU time by up to a third);
- `--realtime`: the same, paced at 1x real time, counting `frames_dropped`
  and `work_dropped` (goal: 0), and the end-to-end latency of each command:
  from the end of its speech (its `voice_stopped`, on the audio clock, which
  at 1x is the wall clock from `audio_start` on) to its `action_result`
  line, p50 and p95. With `--mpv` the commands drive a real headless mpv
  over its IPC socket instead of `--player dry-run`. Takes as long as the audio.

    .venv/bin/python -m heyplayer_tools.bench.soak [--minutes N] [--idle] [--repeat N] [--realtime] [--bin target/release/heyplayer]

Nothing here is a pass/fail test; it prints figures (and `--json` for a file).
"""
import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from heyplayer_tools import ROOT
from heyplayer_tools.testdata.commands import pink
from heyplayer_tools.wake.build_data import to16k

SR = 16000
SPEECH_DIRS = ["en", "fr", "es", "it_IT_m_Carlo", "ru_RU_f_IvrvoiceRU"]


def load(path: Path) -> np.ndarray:
    a, sr = sf.read(path, dtype="float32", always_2d=True)
    return to16k(a.mean(axis=1), sr)


def build(minutes: float, idle: bool, seed: int, out: Path) -> dict:
    """Writes the recording block by block (constant memory); returns what it holds."""
    rng = np.random.default_rng(seed)
    speech = []
    for d in SPEECH_DIRS:
        speech += sorted(Path("/usr/share/asterisk/sounds", d).rglob("*.wav"))
    if not speech:
        sys.exit("no asterisk-core-sounds recordings: run `make test-data` (it installs them)")
    pos = sorted((ROOT / "tests/out/wake/pos").glob("*.wav"))
    if not idle and not pos:
        sys.exit("no held-out commands in tests/out/wake/pos: run `make test-data`")
    total = int(minutes * 60 * SR)
    held = {"speech_s": 0.0, "commands": 0, "noise_s": 0.0, "silence_s": 0.0}
    n = 0
    with sf.SoundFile(out, "w", SR, 1, subtype="PCM_16") as w:
        while n < total:
            r = rng.random()
            if not idle and r < 0.12:
                block = load(pos[int(rng.integers(len(pos)))])
                held["commands"] += 1
                # Silence after a command, so it ends before other speech.
                block = np.concatenate([block, np.zeros(int(1.5 * SR), np.float32)])
            elif r < 0.6:
                block = load(speech[int(rng.integers(len(speech)))]) * rng.uniform(0.3, 1.0)
                held["speech_s"] += len(block) / SR
            elif r < 0.8:
                block = pink(int(rng.uniform(1, 6) * SR), rng) * rng.uniform(0.01, 0.1)
                held["noise_s"] += len(block) / SR
            else:
                block = np.zeros(int(rng.uniform(0.5, 4) * SR), np.float32)
                held["silence_s"] += len(block) / SR
            block = block[: total - n]
            w.write(np.clip(block, -1, 1))
            n += len(block)
    held["audio_s"] = n / SR
    return held


def rss_kb(pid: int) -> int | None:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


# Tracks for mpv's `play <query>`, named for the queries of the held-out commands.
TRACKS = ["Jazz Standards - Autumn Leaves", "Rock Music - Highway", "Miles Davis - So What",
          "The Beatles - Help", "Classical Music - Air"]


def music_dir(out: Path) -> Path:
    """A folder of short quiet tones named like real tracks, for `--music-dir`."""
    out.mkdir(exist_ok=True)
    t = np.arange(10 * SR) / SR
    for k, name in enumerate(TRACKS):
        tone = 0.05 * np.sin(2 * np.pi * (220 + 55 * k) * t).astype(np.float32)
        sf.write(out / f"{name}.wav", tone, SR, subtype="PCM_16")
    return out


@contextlib.contextmanager
def headless_mpv(tmp: Path):
    """A real mpv (no audio or video output) on an IPC socket in `tmp`; yields
    the socket's path and stops mpv afterwards."""
    sock = tmp / "mpv.sock"
    try:
        mpv = subprocess.Popen(["mpv", "--idle", "--ao=null", "--vo=null", "--no-config",
                                f"--input-ipc-server={sock}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        sys.exit("mpv is not installed (apt-get install mpv)")
    try:
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.1)
        else:
            sys.exit(f"mpv did not open its socket {sock} within 10 s")
        yield sock
    finally:
        mpv.kill()
        mpv.wait()


def run(bin_: Path, wav: Path, realtime: bool, data: Path, mpv_sock: Path | None) -> dict:
    player = ["--player", "dry-run"]
    if mpv_sock:
        player = ["--mpv-socket", str(mpv_sock), "--music-dir", str(music_dir(data.parent / "music"))]
    cmd = [str(bin_), "listen", "--input", str(wav), *player, "--data-dir", str(data)]
    if realtime:
        cmd.append("--realtime")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rss = []

    def sample():
        while p.poll() is None:
            r = rss_kb(p.pid)
            if r:
                rss.append((time.monotonic() - t0, r))
            time.sleep(1.0)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    events = []
    for line in p.stdout:
        ev = json.loads(line)
        ev["_wall"] = time.monotonic()
        events.append(ev)
        if len(events) % 500 == 0:
            t = events[-1]["t_ms"] / 1000
            print(f"[soak] {t / 60:.1f} min of audio, {len(events)} events, "
                  f"RSS {rss[-1][1] / 1024 if rss else 0:.0f} MB", file=sys.stderr)
    err = p.stderr.read()
    code = p.wait()
    th.join()
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        sys.exit(f"heyplayer failed ({code}): {err}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"events": events, "wall_s": wall, "cpu_s": cpu, "rss": rss, "t0": t0,
            "max_rss_mb": after.ru_maxrss / 1024}


def account(events: list) -> dict:
    count = {}
    for e in events:
        count[e["type"]] = count.get(e["type"], 0) + 1
    problems = []
    # Per wake: one ending (command / not_understood / wake_rejected); per
    # command: one action_result; per ending that kept something: one kept.
    open_wake = False
    pending_action = 0
    for e in events:
        t = e["type"]
        if t == "wake":
            if open_wake:
                problems.append(f"wake at {e['t_ms']} while the previous one had no ending")
            open_wake = True
        elif t in ("command", "not_understood", "wake_rejected"):
            if not open_wake:
                problems.append(f"{t} at {e['t_ms']} without a wake")
            open_wake = False
            if t == "command":
                pending_action += 1
        elif t == "action_result":
            pending_action -= 1
            if pending_action < 0:
                problems.append(f"action_result at {e['t_ms']} without a command")
    if pending_action:
        problems.append(f"{pending_action} command(s) without an action_result")
    kept = count.get("kept", 0)
    endings = count.get("command", 0) + count.get("not_understood", 0) + count.get("wake_rejected", 0)
    if kept != endings:
        problems.append(f"{kept} kept events for {endings} wake endings")
    if events[-1]["type"] != "audio_stop":
        problems.append("the last event is not audio_stop")
    return {"count": count, "problems": problems}


def rss_by_audio_minute(rss: list, events: list, t0: float, points: int = 25) -> list:
    """[audio minute, RSS MB] at about `points` moments while the audio flows."""
    walls = [e["_wall"] - t0 for e in events]
    out, k = [], 0
    for t, kb in rss[:: max(1, len(rss) // points)]:
        while k + 1 < len(walls) and walls[k + 1] <= t:
            k += 1
        if k < len(events) and walls[k] <= t and events[k]["type"] != "audio_stop":
            out.append([round(events[k]["t_ms"] / 60000, 1), round(kb / 1024)])
    return out


def latencies(events: list, kind: str = "action_result") -> list:
    """Seconds from the end of each command's speech to its `kind` event
    (`action_result` by default; 1x only)."""
    start = next(e["_wall"] for e in events if e["type"] == "audio_start")
    out, last_stop = [], None
    for e in events:
        if e["type"] == "voice_stopped":
            last_stop = e["t_ms"]
        elif e["type"] == kind and last_stop is not None:
            out.append(e["_wall"] - (start + last_stop / 1000))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=120.0)
    ap.add_argument("--idle", action="store_true", help="silence and non-wake speech only")
    ap.add_argument("--realtime", action="store_true", help="pace at 1x real time (takes as long as the audio)")
    ap.add_argument("--mpv", action="store_true", help="drive a real headless mpv (IPC) instead of dry-run")
    ap.add_argument("--bin", type=Path, default=ROOT / "target/release/heyplayer")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="run the daemon N times on the same audio and report the CPU time of each, "
                         "with the minimum and median (on a shared machine, other processes inflate "
                         "CPU time: the minimum is the least disturbed run)")
    args = ap.parse_args()
    if not args.bin.exists():
        sys.exit(f"{args.bin} is missing: run `cargo build --release`")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "soak.wav"
        print(f"[soak] building {args.minutes:g} min of {'idle' if args.idle else 'mixed'} audio", file=sys.stderr)
        held = build(args.minutes, args.idle, args.seed, wav)
        print(f"[soak] {held}", file=sys.stderr)
        with headless_mpv(Path(tmp)) if args.mpv else contextlib.nullcontext() as sock:
            r = run(args.bin, wav, args.realtime, Path(tmp) / "store", sock)
            cpu_runs = [r["cpu_s"]]
            for k in range(1, max(1, args.repeat)):
                print(f"[soak] run {k + 1} of {args.repeat}", file=sys.stderr)
                again = run(args.bin, wav, args.realtime, Path(tmp) / f"store{k}", sock)
                cpu_runs.append(again["cpu_s"])
                if account(again["events"])["count"] != account(r["events"])["count"]:
                    sys.exit("the runs gave different events: the daemon is not deterministic on this file")
    acc = account(r["events"])
    rss = r["rss"]
    # RSS once the models are loaded (the first sample after audio_start: the
    # daemon loads them before it opens the input) and at the end of the audio
    # (the last sample before audio_stop: after it the daemon frees its models
    # and shrinks).
    opened = next((e["_wall"] - r["t0"] for e in r["events"] if e["type"] == "audio_start"), 0)
    start = next((kb for t, kb in rss if t >= opened), rss[-1][1] if rss else 0)
    stop = next((e["_wall"] - r["t0"] for e in r["events"] if e["type"] == "audio_stop"), None)
    running = [kb for t, kb in rss if stop is None or t <= stop]
    end = running[-1] if running else 0
    drops = sum(e.get("dropped_ms", 0) for e in r["events"] if e["type"] == "frames_dropped")
    figures = {
        "audio_min": round(held["audio_s"] / 60, 2),
        "commands_inserted": held["commands"],
        "wall_s": round(r["wall_s"], 1),
        "speed_x_real_time": round(held["audio_s"] / r["wall_s"], 1),
        "cpu_s": round(r["cpu_s"], 1),
        "cpu_per_audio_percent_of_one_core": round(100 * r["cpu_s"] / held["audio_s"], 2),
        "cpu_s_runs": [round(c, 2) for c in cpu_runs],
        "cpu_per_audio_percent_min": round(100 * min(cpu_runs) / held["audio_s"], 2),
        "cpu_per_audio_percent_median": round(100 * sorted(cpu_runs)[len(cpu_runs) // 2] / held["audio_s"], 2),
        "rss_start_mb": round(start / 1024, 1),
        "rss_end_mb": round(end / 1024, 1),
        "rss_peak_mb": round(r["max_rss_mb"], 1),
        "rss_mb_by_audio_minute": rss_by_audio_minute(rss, r["events"], r["t0"]),
        "frames_dropped_ms": drops,
        "work_dropped": acc["count"].get("work_dropped", 0),
        "events": acc["count"],
        "problems": acc["problems"],
        "realtime": args.realtime,
        "player": "mpv" if args.mpv else "dry-run",
    }
    if args.realtime:
        lat = sorted(latencies(r["events"]))
        if lat:
            figures["latency_ms_p50"] = round(1000 * lat[len(lat) // 2])
            figures["latency_ms_p95"] = round(1000 * lat[min(len(lat) - 1, int(0.95 * len(lat)))])
            figures["latency_n"] = len(lat)
        figures["action_results_ok"] = sum(1 for e in r["events"] if e["type"] == "action_result" and e["ok"])
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()

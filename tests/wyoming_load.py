#!/usr/bin/env python3
"""Load check for `heyplayer wyoming` (issue 34): N clients stream "hey
player, <command>" clips at once, each at real time in 20 ms chunks, with the
real `wyoming` client. Prints one JSON object: per client, the events, how
far behind real time its sending fell (a server that cannot keep up slows the
sender through TCP), and the latency from audio-stop to transcript; and the
server's peak RSS (VmHWM) before and after.

Usage: wyoming_load.py URI SERVER_PID WAV [WAV...] [--clients 8]
"""
import argparse
import asyncio
import json
import time
import wave

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.info import Describe, Info
from wyoming.wake import Detect


def rss(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                k, v = line.split(":")
                out[k] = int(v.split()[0]) // 1024
    return out


async def one(uri, path, chunk_ms=20):
    with wave.open(path, "rb") as w:
        rate, width, ch = w.getframerate(), w.getsampwidth(), w.getnchannels()
        audio = w.readframes(w.getnframes())
    per = rate * chunk_ms // 1000 * width * ch
    c = AsyncClient.from_uri(uri)
    await c.connect()
    events = []

    async def read():
        while True:
            ev = await c.read_event()
            if ev is None or Info.is_type(ev.type):
                return
            events.append((ev.type, dict(ev.data), time.monotonic()))

    reader = asyncio.create_task(read())
    await c.write_event(Detect(names=["hey_player"]).event())
    await c.write_event(AudioStart(rate=rate, width=width, channels=ch).event())
    start = time.monotonic()
    n = 0
    for i in range(0, len(audio), per):
        await c.write_event(AudioChunk(rate=rate, width=width, channels=ch, audio=audio[i:i + per]).event())
        n += 1
        # Real time: chunk n is due at n * chunk_ms.
        delay = start + n * chunk_ms / 1000 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    audio_s = len(audio) / (rate * width * ch)
    behind = time.monotonic() - start - audio_s
    stop = time.monotonic()
    await c.write_event(AudioStop().event())
    await c.write_event(Describe().event())
    await asyncio.wait_for(reader, timeout=600)
    await c.disconnect()
    lat = [round(t - stop, 3) for (k, _, t) in events if k == "transcript"]
    return {
        "wav": path.rsplit("/", 1)[-1],
        "audio_s": round(audio_s, 2),
        "events": [k for (k, _, _) in events],
        "transcript": [d.get("text") for (k, d, _) in events if k == "transcript"],
        "intent": [d.get("name") for (k, d, _) in events if k == "intent"],
        "sending_behind_real_time_s": round(behind, 3),
        "audio_stop_to_transcript_s": lat,
    }


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("uri")
    p.add_argument("pid", type=int)
    p.add_argument("wavs", nargs="+")
    p.add_argument("--clients", type=int, default=8)
    a = p.parse_args()
    before = rss(a.pid)
    t = time.monotonic()
    wavs = [a.wavs[i % len(a.wavs)] for i in range(a.clients)]
    results = await asyncio.gather(*(one(a.uri, w) for w in wavs))
    print(json.dumps({
        "clients": a.clients,
        "wall_s": round(time.monotonic() - t, 2),
        "rss_mb_before": before,
        "rss_mb_after": rss(a.pid),
        "results": results,
    }, indent=1))


asyncio.run(main())

#!/usr/bin/env python3
"""A Wyoming client for the integration tests, built on the real `wyoming`
package (tools/pyproject.toml's `tests` extra): what Home Assistant's integration uses.

Usage: wyoming_client.py URI ACTION [ARGS]; prints each event received as one
JSON line {"type", "data", "t"} (t: seconds since the last audio-stop was
sent, or since the start). Actions:
  describe                      describe -> info
  recognize TEXT                recognize -> intent / not-recognized
  detect WAV [--chunk-ms N] [--realtime]
  transcribe WAV [--name MODEL] [--chunk-ms N] [--realtime]
                                the request, audio-start, the WAV in N ms
                                chunks, audio-stop; then describe as a
                                barrier: everything up to its info is printed
  garbage                       a line that is not JSON; prints the reply
  huge                          an audio-chunk announcing a 2 GiB payload
  hold                          audio-start, then waits for what the server says
  badformat                     wrong audio formats and an unknown event, then
                                describe on the same connection
  disconnect WAV                detect, half the audio, then closes at once
"""
import argparse
import asyncio
import json
import socket
import sys
import time
import wave
from urllib.parse import urlparse

from wyoming.asr import Transcribe
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.event import Event, async_read_event
from wyoming.info import Describe, Info
from wyoming.intent import Recognize
from wyoming.wake import Detect

T0 = time.monotonic()


def show(event, t0):
    data = dict(event.data)
    print(json.dumps({"type": event.type, "data": data, "t": round(time.monotonic() - t0, 3)}), flush=True)


async def until_info(client, t0):
    """Reads and prints events until `info` (the barrier) arrives."""
    while True:
        ev = await asyncio.wait_for(client.read_event(), timeout=300)
        if ev is None:
            print(json.dumps({"type": "closed"}), flush=True)
            return
        if Info.is_type(ev.type):
            # Parsing it checks every field the package expects.
            Info.from_event(ev)
            return
        show(ev, t0)


async def stream(client, request, path, chunk_ms, realtime, stop_after=None):
    with wave.open(path, "rb") as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        per_chunk = max(1, rate * chunk_ms // 1000)
        await client.write_event(request.event())
        await client.write_event(AudioStart(rate=rate, width=width, channels=channels).event())
        sent = 0
        total = w.getnframes()
        while True:
            frames = w.readframes(per_chunk)
            if not frames:
                break
            await client.write_event(
                AudioChunk(rate=rate, width=width, channels=channels, audio=frames).event()
            )
            sent += len(frames) // (width * channels)
            if stop_after is not None and sent >= total * stop_after:
                return None
            if realtime:
                await asyncio.sleep(chunk_ms / 1000)
    t0 = time.monotonic()
    await client.write_event(AudioStop().event())
    await client.write_event(Describe().event())
    return t0


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("uri")
    p.add_argument("action")
    p.add_argument("arg", nargs="?")
    p.add_argument("--chunk-ms", type=int, default=50)
    p.add_argument("--realtime", action="store_true")
    p.add_argument("--name")
    a = p.parse_args()

    if a.action in ("garbage", "huge"):
        u = urlparse(a.uri)
        reader, writer = await asyncio.open_connection(u.hostname, u.port)
        if a.action == "garbage":
            writer.write(b"this is not json\n")
        else:
            writer.write(
                json.dumps({"type": "audio-chunk", "payload_length": 2 << 30}).encode() + b"\n"
            )
            writer.write(b"\0" * 65536)
        await writer.drain()
        ev = await asyncio.wait_for(async_read_event(reader), timeout=30)
        if ev is not None:
            show(ev, T0)
        rest = await asyncio.wait_for(reader.read(), timeout=30)
        print(json.dumps({"type": "closed", "unread": len(rest)}), flush=True)
        writer.close()
        return

    client = AsyncClient.from_uri(a.uri)
    await client.connect()
    try:
        if a.action == "describe":
            await client.write_event(Describe().event())
            ev = await asyncio.wait_for(client.read_event(), timeout=30)
            Info.from_event(ev)
            show(ev, T0)
        elif a.action == "recognize":
            await client.write_event(Recognize(text=a.arg).event())
            show(await asyncio.wait_for(client.read_event(), timeout=30), T0)
        elif a.action in ("detect", "transcribe"):
            req = Detect(names=["hey_player"]) if a.action == "detect" else Transcribe(name=a.name, language="en")
            t0 = await stream(client, req, a.arg, a.chunk_ms, a.realtime)
            await until_info(client, t0)
        elif a.action == "hold":
            # A client in the middle of a stream, waiting: prints what the
            # server says when it stops.
            await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
            print(json.dumps({"type": "holding"}), flush=True)
            ev = await asyncio.wait_for(client.read_event(), timeout=120)
            if ev is not None:
                show(ev, T0)
            print(json.dumps({"type": "closed"}), flush=True)
        elif a.action == "badformat":
            # A format out of range, a chunk that contradicts audio-start,
            # an unknown event (dropped), then describe on the same connection.
            await client.write_event(AudioStart(rate=16000, width=7, channels=1).event())
            await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
            await client.write_event(AudioChunk(rate=8000, width=2, channels=1, audio=b"\0" * 320).event())
            await client.write_event(Event(type="no-such-event", data={"x": 1}))
            await client.write_event(AudioStop().event())
            await client.write_event(Describe().event())
            await until_info(client, T0)
        elif a.action == "disconnect":
            await stream(client, Detect(names=["hey_player"]), a.arg, a.chunk_ms, False, stop_after=0.5)
            # Abruptly: a reset, not a polite close.
            sock = client._writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        else:
            sys.exit(f"unknown action {a.action}")
    finally:
        await client.disconnect()


asyncio.run(main())

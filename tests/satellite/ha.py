# Home Assistant's side, as far as this test goes: connect to the satellite,
# ask it to run, print what it sends until run-pipeline (or a timeout).
import asyncio, json, sys, time
from wyoming.client import AsyncClient
from wyoming.satellite import RunSatellite
async def main():
    c = AsyncClient.from_uri(sys.argv[1]); await c.connect()
    await c.write_event(RunSatellite().event())
    t = time.monotonic()
    while time.monotonic() - t < 60:
        ev = await asyncio.wait_for(c.read_event(), timeout=60)
        if ev is None: print("closed"); return
        if ev.type != "audio-chunk": print(round(time.monotonic() - t, 2), ev.type, json.dumps(ev.data), flush=True)
        if ev.type == "run-pipeline": return
asyncio.run(main())

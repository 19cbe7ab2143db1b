# Paced "microphone" for tests/satellite/run.sh: the WAV after 1 s of
# silence, at real time in 20 ms chunks, repeated for ever.

import sys, time, wave
w = wave.open(sys.argv[1]); pcm = w.readframes(w.getnframes())
out = sys.stdout.buffer; step = 640; t = time.monotonic(); n = 0
time.sleep(1.0)
data = b"\0" * 32000 + pcm
while True:
    k = n % (len(data) // step + 200)
    chunk = data[k * step:(k + 1) * step] or b"\0" * step
    out.write(chunk); out.flush(); n += 1
    d = t + n * 0.02 - time.monotonic()
    if d > 0: time.sleep(d)

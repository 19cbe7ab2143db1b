#!/bin/sh
# Manual check (not in make test): wyoming-satellite with heyplayer as its wake
# service, fed a WAV instead of a microphone; ha.py plays Home Assistant's part
# (run-satellite, then waits for run-pipeline). wyoming-satellite 1.0.0 pins
# wyoming 1.4.1, so it gets a venv of its own.
#   sh tests/satellite/run.sh [WAV]
set -eu
WAV=${1:-tests/out/wake/pos/pos-000.wav}
V=${SAT_VENV:-/tmp/heyplayer-satellite-venv}
[ -x "$V/bin/python" ] || { python3 -m venv "$V"; "$V/bin/pip" install -q wyoming-satellite==1.0.0; }
BIN=${BIN:-target/debug/heyplayer}
D=$(mktemp -d)
"$BIN" --data-dir "$D" wyoming --no-verify --uri tcp://127.0.0.1:0 > "$D/out" 2> "$D/err" &
PID=$!
while [ ! -s "$D/out" ]; do sleep 0.5; done
URI=$(head -1 "$D/out")
"$V/bin/python" -m wyoming_satellite --name test --uri tcp://127.0.0.1:10799 \
  --mic-command "$V/bin/python tests/satellite/mic.py $WAV" \
  --wake-uri "$URI" --wake-word-name hey_player > "$D/satellite.log" 2>&1 &
SPID=$!
sleep 3
"$V/bin/python" tests/satellite/ha.py tcp://127.0.0.1:10799 || true
kill "$SPID"; kill -TERM "$PID"; wait "$PID"
"$BIN" --data-dir "$D" audit --kind session --json

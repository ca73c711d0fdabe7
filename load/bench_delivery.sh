#!/usr/bin/env bash
# The delivery benchmarks of docs/benchmarks.md (issues 12 and 13), one after another.
#
# Each run starts its own server(s) on 127.0.0.1 (load/bench_fanout.py --start-server),
# sends for SEND_SECS (60) and stops by itself; every result is one JSON file in OUT.
# Runs nothing else: start it on a quiet machine and leave it alone (~25 minutes).
#
#   bash load/bench_delivery.sh [OUT]          # default OUT: bench-results
#   SEND_SECS=10 ONLY="t5 t1a" bash load/bench_delivery.sh /tmp/smoke
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench-results}
SEND_SECS=${SEND_SECS:-60}
PY=${PY:-.venv/bin/python}
mkdir -p "$OUT"

run() {  # run NAME ARGS...: one bench_fanout run, its JSON in OUT/NAME.json
  local name=$1
  shift
  if [[ -n "${ONLY:-}" && " $ONLY " != *" $name "* ]]; then return; fi
  echo "== $name: $* ($(cut -d' ' -f1-3 /proc/loadavg))" >&2
  "$PY" load/bench_fanout.py --start-server --json --seconds $((SEND_SECS + 150)) "$@" \
    >"$OUT/$name.json" || true  # a failed target is a result too (its JSON says why)
}

# T5, the pipeline floor, with the default model.
run t5 --model default --viewers 10 --senders 1 --rate 5 --send-secs "$SEND_SECS"
# T1 on the way, and the same through Hypercorn's ASGI WebSocket (the path before).
run t1a --viewers 500 --senders 5 --rate 50 --send-secs "$SEND_SECS"
run t1a-asgi --viewers 500 --senders 5 --rate 50 --send-secs "$SEND_SECS" \
  --server-env CHAT_SOCKET=asgi
# T1, one-event frames; T2, batched; T3, twice T1's rate.
run t1 --viewers 1000 --senders 5 --rate 50 --send-secs "$SEND_SECS"
run t2 --viewers 1000 --senders 10 --rate 200 --batched --send-secs "$SEND_SECS"
run t3 --viewers 1000 --senders 10 --rate 100 --overload --send-secs "$SEND_SECS"
# One process against two, on the same storage and broker (PostgreSQL, Redis).
run p1 --shared --viewers 1000 --senders 5 --rate 50 --send-secs "$SEND_SECS"
run p2 --processes 2 --viewers 1000 --senders 5 --rate 50 --send-secs "$SEND_SECS"
run w2 --workers 2 --viewers 1000 --senders 5 --rate 50 --send-secs "$SEND_SECS"
# T4, memory per idle connection.
run t4 --memory 5000
echo "done: $OUT" >&2

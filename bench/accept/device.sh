#!/usr/bin/env bash
# Accept-model study, one shot, for a 16-CPU machine (bench/README.md "Accept-model study").
#
# Assumes: the repository copied WITH node_modules/ (node_modules/.bin/node is the pinned Node 24)
# and dist/ (`npm run build`) already present. Needs nothing else: no network, no npm; taskset is
# used when present (`command -v taskset`), otherwise nothing is pinned and the output says so.
#
# Runs: handoff and reuseport × workers 1, 2, 4, 8; proxy pinned to CPUs 0-7, the load processes
# (8 × 32 connections in flight, each also an origin shard) and the orchestrator to CPUs 8-15;
# 1 s warmup + 5 s window per run, 3 rounds with the model order alternating: 24 runs ≈ 2.5 min
# (153 s on a 16-vCPU Xeon VM).
# A hard bound (MAX_SECONDS) keeps the whole script under 5 minutes.
#
# Output, in "$OUT" (default bench/results): accept-<timestamp>.json, accept-latest.json and
# accept-device.log (machine facts + the console output).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

NODE=node_modules/.bin/node
OUT_DIR="${OUT:-bench/results}"
# whole-run bound: 24 runs × ~7.5 s ≈ 180 s measured; the rest is slack for a slow machine
MAX_SECONDS=280
# file descriptors: 2 per proxied connection on the proxy, 2 per connection on the load side
WANT_NOFILE=65536

mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/accept-device.log"
: > "$LOG"
say () { printf '%s\n' "$*" | tee -a "$LOG"; }

if [ ! -x "$NODE" ]; then say "missing $NODE: copy node_modules (npm ci) with the repo"; exit 2; fi
if [ ! -f dist/pool/index.js ]; then say "missing dist/pool/index.js: run npm run build before copying"; exit 2; fi

ulimit -n "$WANT_NOFILE" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

CPUS=$(nproc 2>/dev/null || echo 1)
say "# accept study on $(uname -srm), $CPUS CPUs, node $("$NODE" --version)"
say "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
say "# ulimit -n: $(ulimit -n); somaxconn: $(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo '?'); ip_local_port_range: $(tr '\t' ' ' < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo '?'); tcp_migrate_req: $(cat /proc/sys/net/ipv4/tcp_migrate_req 2>/dev/null || echo '?')"
say "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"

PIN=()
if command -v taskset >/dev/null 2>&1 && [ "$CPUS" -ge 16 ]; then
  PIN=(--proxy-cpus 0-7 --client-cpus 8-15)
  WORKERS=1,2,4,8
elif command -v taskset >/dev/null 2>&1; then
  say "# NOTE: $CPUS CPUs (< 16): run.ts splits them in half itself; workers 1,2,N"
  WORKERS=1,2,N
else
  say "# NOTE: taskset not found: nothing is pinned; proxy and load share all CPUs"
  PIN=(--no-pin)
  WORKERS=1,2,4,8
fi

timeout "$MAX_SECONDS" "$NODE" bench/accept/run.ts \
  --workers "$WORKERS" --clients 8 --concurrency 32 --duration 5 --warmup 1 --rounds 3 \
  ${PIN[@]+"${PIN[@]}"} --out "$OUT_DIR" 2>&1 | tee -a "$LOG"
rc=${PIPESTATUS[0]}
say "# exit $rc, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$rc"

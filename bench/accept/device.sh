#!/usr/bin/env bash
# Accept-model scaling study, one shot, for a 16-CPU machine (bench/README.md "Accept-model study").
#
# Assumes: the repository copied WITH node_modules/ (node_modules/.bin/node is the pinned Node 24)
# and dist/ (`npm run build`) already present. Needs nothing else: no network, no npm; taskset is
# used when present (`command -v taskset`), otherwise nothing is pinned and the output says so.
#
# Runs: handoff and reuseport × workers 1, 2, 4, 8, 16 (the powers of two up to the CPU count), one CPU
# per worker (run.ts --cpus-per-worker): the proxy on CPUs 0..W-1, the load processes (8 × 32
# connections in flight, each also an origin shard) and the orchestrator on the rest. At 16 workers
# on 16 CPUs nothing is left, so proxy and load share all 16 and the output marks that row "shared":
# its conns/s efficiency is a lower bound and its CPU efficiency (proxy µs/conn at 1 ÷ at 16) is the
# figure to compare. 1 s warmup + 5 s window per run, 3 rounds with the model order alternating:
# 30 runs ≈ 4 min. A hard bound (MAX_SECONDS) keeps the whole script under 7 minutes.
#
# Prints per run and at the end: conns/s, conns/s per worker, efficiency against linear (target
# ≥ 85 % for reuseport at 16), CPU efficiency, balance, listen-queue overflows (kernel TcpExt
# counters) and what limited the run (main thread, worker threads, the proxy's CPUs, the load side).
#
# Dry run on a small machine (proves the script, not the scaling):
#   WORKERS=1,2 ROUNDS=1 DURATION=2 bash bench/accept/device.sh
#
# Output, in "$OUT" (default bench/results): accept-<timestamp>.json, accept-latest.json and
# accept-device.log (machine facts + the console output).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

NODE=node_modules/.bin/node
OUT_DIR="${OUT:-bench/results}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5}"
# whole-run bound: 30 runs × ~8 s ≈ 240 s measured; the rest is slack for a slow machine
MAX_SECONDS="${MAX_SECONDS:-400}"
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
say "# accept scaling study on $(uname -srm), $CPUS CPUs, node $("$NODE" --version), git $(git rev-parse --short HEAD 2>/dev/null || echo 'n/a')"
say "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
say "# ulimit -n: $(ulimit -n); somaxconn: $(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo '?'); tcp_max_syn_backlog: $(cat /proc/sys/net/ipv4/tcp_max_syn_backlog 2>/dev/null || echo '?'); ip_local_port_range: $(tr '\t' ' ' < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo '?'); tcp_migrate_req: $(cat /proc/sys/net/ipv4/tcp_migrate_req 2>/dev/null || echo '?')"
say "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ -z "${WORKERS:-}" ]; then
  WORKERS=1
  for w in 2 4 8 16; do [ "$w" -le "$CPUS" ] && WORKERS="$WORKERS,$w"; done
fi
if command -v taskset >/dev/null 2>&1; then
  PIN=(--cpus-per-worker)
  [ "$CPUS" -lt 16 ] && say "# NOTE: $CPUS CPUs (< 16): workers $WORKERS only; the 16-worker point needs the 16-CPU machine"
else
  say "# NOTE: taskset not found: nothing is pinned; proxy and load share all CPUs (efficiency is a lower bound)"
  PIN=(--no-pin)
fi
say "# workers $WORKERS, rounds $ROUNDS, window ${DURATION} s"

timeout "$MAX_SECONDS" "$NODE" bench/accept/run.ts \
  --workers "$WORKERS" --clients 8 --concurrency 32 --duration "$DURATION" --warmup 1 --rounds "$ROUNDS" \
  "${PIN[@]}" --out "$OUT_DIR" 2>&1 | tee -a "$LOG"
rc=${PIPESTATUS[0]}
say "# exit $rc, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$rc"

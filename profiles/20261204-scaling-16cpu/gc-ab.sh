#!/usr/bin/env bash
# Device one-shot (16 CPUs): is the user-time growth per connection from 1 to 8 reuseport workers V8's GC?
# Variants of the proxy's Node flags, interleaved round by round: default, --max-semi-space-size=64 (fewer
# scavenges), --single-threaded-gc (no GC helper threads). One CPU per worker, load on the rest.
# Needs node_modules/.bin/node (Node 24) and dist/. Output: "$OUT"/gc-ab.log and one JSON per variant+round.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
OUT_DIR="${OUT:-bench/results}"
ulimit -n 20000 2>/dev/null || true
NODE=node_modules/.bin/node
VARIANTS=("" "--max-semi-space-size=64" "--single-threaded-gc")
for r in 1 2; do
  for i in 0 1 2; do
    v=${VARIANTS[$i]}
    echo "# round $r variant ${v:-default}" >> "$OUT_DIR/gc-ab.log"
    timeout 90 "$NODE" bench/accept/run.ts --models reuseport --workers 1,8 --clients 8 --concurrency 32 --duration "${DURATION:-5}" --warmup 1 \
      --rounds 1 --cpus-per-worker --proxy-node-args="$v" --out "/tmp/gc-ab-$i-$r" > "/tmp/gc-ab-$i-$r.log" 2>&1 || echo "# failed: $(tail -3 /tmp/gc-ab-$i-$r.log)" >> "$OUT_DIR/gc-ab.log"
    grep -A4 '^## scaling' "/tmp/gc-ab-$i-$r.log" >> "$OUT_DIR/gc-ab.log"
  done
done
"$NODE" -e '
const fs = require("fs")
const names = ["default", "--max-semi-space-size=64", "--single-threaded-gc"]
const rows = []
for (let i = 0; i < 3; i++) for (const r of [1, 2]) {
  const f = `/tmp/gc-ab-${i}-${r}/accept-latest.json`
  if (!fs.existsSync(f)) continue
  const j = JSON.parse(fs.readFileSync(f, "utf8"))
  for (const s of j.scaling) rows.push([names[i], r, s.workers, Math.round(s.connsPerSec), s.userUsPerConn.toFixed(1), s.sysUsPerConn.toFixed(1), (s.efficiency * 100).toFixed(0) + "%"])
}
console.log("variant | round | workers | conns/s | user us/conn | sys us/conn | efficiency")
for (const r of rows) console.log(r.join(" | "))
' | tee -a "$OUT_DIR/gc-ab.log"

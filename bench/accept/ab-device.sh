#!/usr/bin/env bash
# A/B of two compiled trees on the accept path, for a quiet many-core machine: the reuseport model at
# 1 and 4 workers, rounds alternating A-B / B-A, proxy on CPUs 0-7, load on 8-15 (same rig as
# device.sh). Prints processCpuUsPerConn per run and the ratio of medians B/A.
#
# Usage: bash bench/accept/ab-device.sh DIR_A DIR_B [ROUNDS]   (DIR_* are compiled trees, e.g. dist-base dist)
# Assumes node_modules/.bin/node and both trees are present; no network. Output under "$OUT".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
A=${1:?compiled tree A}; B=${2:?compiled tree B}; ROUNDS=${3:-4}
NODE=node_modules/.bin/node
OUT_DIR="${OUT:-bench/results}/ab"
mkdir -p "$OUT_DIR"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "# ab on $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), node $($NODE --version), load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then order="$A $B"; else order="$B $A"; fi
  for impl in $order; do
    timeout 90 "$NODE" bench/accept/run.ts --models reuseport --workers 1,4 --clients 8 --concurrency 32 \
      --duration 4 --warmup 1 --rounds 1 --proxy-cpus 0-7 --client-cpus 8-15 --impl "$impl" \
      --out "$OUT_DIR/$impl-$r" > "$OUT_DIR/$impl-$r.log" 2>&1 || echo "# run $impl $r failed: $(tail -3 "$OUT_DIR/$impl-$r.log")"
  done
done
"$NODE" -e '
const fs = require("fs"), path = require("path")
const [dir, A, B, rounds] = process.argv.slice(1)
const rows = {}
for (const impl of [A, B]) for (let r = 1; r <= Number(rounds); r++) {
  const f = path.join(dir, impl + "-" + r, "accept-latest.json")
  if (!fs.existsSync(f)) continue
  for (const run of JSON.parse(fs.readFileSync(f, "utf8")).runs) {
    const k = impl + " w" + run.workers
    ;(rows[k] ??= []).push({ us: run.processCpuUsPerConn, cps: run.connsPerSec, err: run.errorsTotal })
  }
}
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
for (const [k, v] of Object.entries(rows)) console.log(k.padEnd(16), "µs/conn", v.map((x) => x.us.toFixed(1)).join(" "), "| median", med(v.map((x) => x.us)).toFixed(1), "| conn/s median", med(v.map((x) => x.cps)).toFixed(0), "| errors", v.reduce((a, x) => a + x.err, 0))
for (const w of [1, 4]) {
  const a = rows[A + " w" + w], b = rows[B + " w" + w]
  if (a && b) console.log("ratio B/A (" + B + "/" + A + ") at " + w + " worker(s):", (med(b.map((x) => x.us)) / med(a.map((x) => x.us))).toFixed(3))
}
' "$OUT_DIR" "$A" "$B" "$ROUNDS" | tee "$OUT_DIR/summary.txt"

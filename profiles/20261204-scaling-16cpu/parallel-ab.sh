#!/usr/bin/env bash
# Device one-shot: is the growth of CPU per connection from 1 to 8 workers inside hellogate (state the
# workers of one process share: atomics, V8's platform threads, malloc) or in the machine (caches, memory,
# clock, the kernel, the hypervisor)? Runs one single-worker reuseport proxy ALONE (proxy on CPU 0, its
# own load process and origin on CPU 8), then EIGHT independent such rigs AT ONCE (proxy i on CPU i, its
# load on CPU 8+i; separate processes, ports and origins: nothing of hellogate is shared), 2 rounds.
# If the eight's µs/conn rise like the 8-worker process's did, the cause is the machine, not hellogate.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
OUT_DIR="${OUT:-bench/results}"
LOG="$OUT_DIR/parallel-ab.log"
ulimit -n 20000 2>/dev/null || true
NODE=node_modules/.bin/node
N="${N:-8}"
HALF=$(( $(nproc) / 2 ))
run_one () {
  timeout 60 "$NODE" bench/accept/run.ts --models reuseport --workers 1 --clients 1 --concurrency 64 --duration "${DURATION:-5}" \
    --warmup 1 --rounds 1 --proxy-cpus "$1" --client-cpus "$(( $1 + HALF ))" --out "/tmp/par-$2-$1" > "/tmp/par-$2-$1.log" 2>&1 \
    || echo "# failed $2 $1: $(tail -2 "/tmp/par-$2-$1.log")" >> "$LOG"
}
for r in 1 2; do
  run_one 0 "alone$r"
  for i in $(seq 0 $(( N - 1 ))); do run_one "$i" "par$r" & done
  wait
done
"$NODE" -e '
const fs = require("fs")
const [n] = process.argv.slice(1).map(Number)
const row = (f) => { const j = JSON.parse(fs.readFileSync(f, "utf8")); const x = j.runs[0]; return { cps: x.connsPerSec, cpu: x.processCpuUsPerConn, sys: x.sysUsPerConn, sirq: x.softirqUsPerConn } }
const fmt = (v) => v.toFixed(1)
console.log("round | rigs | conns/s per rig (median) | proxy us/conn | user | sys | softirq (per rig, medians)")
for (const r of [1, 2]) {
  for (const [tag, count] of [["alone" + r, 1], ["par" + r, n]]) {
    const rows = []
    for (let i = 0; i < count; i++) { const f = `/tmp/par-${tag}-${i}/accept-latest.json`; if (fs.existsSync(f)) rows.push(row(f)) }
    const med = (k) => { const s = rows.map((x) => x[k]).sort((a, b) => a - b); return s[s.length >> 1] ?? NaN }
    console.log([r, rows.length, Math.round(med("cps")), fmt(med("cpu")), fmt(med("cpu") - med("sys")), fmt(med("sys")), fmt(med("sirq"))].join(" | "))
  }
}
' "$N" | tee -a "$LOG"

#!/usr/bin/env bash
# Device one-shot: CPU topology (are the 16 vCPUs 8 cores × 2 threads?), clock, and, when CPU 0 has an
# SMT sibling, one reuseport worker on CPU 0 with the load processes on CPUs that include its sibling
# (busy sibling) or exclude it (idle sibling), 2 rounds alternating: does a busy sibling explain the
# user time per connection growing from 1 to 8 workers (the proxy on 0..7, load on 8..15)?
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
OUT_DIR="${OUT:-bench/results}"
LOG="$OUT_DIR/smt-ab.log"
ulimit -n 20000 2>/dev/null || true
NODE=node_modules/.bin/node
{ lscpu 2>/dev/null | grep -Ei 'model name|thread|core|socket|mhz|numa'; for c in 0 1 7 8 15; do echo "cpu$c siblings: $(cat /sys/devices/system/cpu/cpu$c/topology/thread_siblings_list 2>/dev/null)"; done; grep -m3 MHz /proc/cpuinfo; } | tee -a "$LOG"
sib=$(tr ',' '\n' < /sys/devices/system/cpu/cpu0/topology/thread_siblings_list 2>/dev/null | sed 's/-.*//' | grep -vx 0 | head -1)
if [ -z "$sib" ]; then echo "# CPU 0 has no SMT sibling: no A/B" | tee -a "$LOG"; exit 0; fi
others=$(seq 1 15 | grep -vx "$sib" | head -7 | paste -sd,)
withsib="$sib,$(seq 1 15 | grep -vx "$sib" | head -6 | paste -sd,)"
for r in 1 2; do
  for name in busy idle; do
    if [ "$name" = busy ]; then cl=$withsib; else cl=$others; fi
    timeout 60 "$NODE" bench/accept/run.ts --models reuseport --workers 1 --clients 8 --concurrency 32 --duration 5 --warmup 1 --rounds 1 \
      --proxy-cpus 0 --client-cpus "$cl" --out "/tmp/smt-$name-$r" > "/tmp/smt-$name-$r.log" 2>&1 || echo "# failed $name $r" >> "$LOG"
    echo "# round $r sibling $name (load on $cl): $(grep -A3 '^## scaling' /tmp/smt-$name-$r.log | tail -1)" | tee -a "$LOG"
  done
done

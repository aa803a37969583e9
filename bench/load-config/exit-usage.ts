/**
 * Preloaded (`--import`) into the hellogate process under test: at exit, writes its own resource usage
 * (process.resourceUsage: peak RSS of the whole process, every thread included, and user+system CPU)
 * as JSON to the file named by HG_BENCH_USAGE. Measured by the process itself, so it needs neither
 * /usr/bin/time nor /proc, and covers its whole life (the peak of a load happens before `serve` listens).
 */
import { writeFileSync } from 'node:fs'

const out = process.env.HG_BENCH_USAGE
if (out !== undefined && out !== '') {
  process.on('exit', () => {
    const u = process.resourceUsage()
    writeFileSync(out, JSON.stringify({ maxRssKiB: u.maxRSS, userMs: u.userCPUTime / 1000, systemMs: u.systemCPUTime / 1000 }))
  })
}

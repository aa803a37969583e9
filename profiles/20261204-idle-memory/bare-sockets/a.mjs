// Usage: node --expose-gc profiles/20261204-idle-memory/bare-sockets/a.mjs [N=5000] (needs npm run build for the native addon)
// A (measured): accepts each connection and opens one to B's origin, holds both: 2 sockets per connection, as hellogate
import net from 'node:net'
import { fork } from 'node:child_process'
import { getHeapStatistics } from 'node:v8'
import { createRequire } from 'node:module'
const addon = createRequire(import.meta.url)('../../../dist/native/splice.node')
const N = Number(process.argv[2] ?? 5000)
const held = []
let originPort = 0
const server = net.createServer({ allowHalfOpen: true }, (s) => {
  s.on('error', () => {})
  const o = net.connect({ port: originPort, host: '127.0.0.1', allowHalfOpen: true })
  o.on('error', () => {})
  o.setNoDelay(true); s.setNoDelay(true)
  held.push(s, o)
})
server.listen(0, '127.0.0.1', () => {
  const b = fork(new URL('./peer.mjs', import.meta.url), [String(server.address().port), String(N)])
  b.on('message', async (m) => {
    if (m.originPort) { originPort = m.originPort; await new Promise((resolve) => setTimeout(resolve, 200)); globalThis.gc(); globalThis.gc(); await new Promise((resolve) => setTimeout(resolve, 200)); globalThis.before = getHeapStatistics().used_heap_size; globalThis.mbefore = addon.mallocInUse(); b.send('go') }
    if (m.done) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      globalThis.gc(); globalThis.gc()
      const after = getHeapStatistics().used_heap_size; const mafter = addon.mallocInUse(); console.log('malloc per connection KiB', ((mafter - globalThis.mbefore) / (held.length / 2) / 1024).toFixed(2))
      console.log(`${held.length / 2} connections held: ${((after - globalThis.before) / (held.length / 2) / 1024).toFixed(2)} KiB of live heap per connection (two net.Sockets, allowHalfOpen, setNoDelay)`)
      b.kill(); process.exit(0)
    }
  })
})

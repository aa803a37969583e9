// B: an origin that accepts and holds, and a client that opens N connections to A and holds them
import net from 'node:net'
const [aPort, n] = process.argv.slice(2).map(Number)
const held = []
const origin = net.createServer((s) => { held.push(s); s.on('error', () => {}) })
origin.listen(0, '127.0.0.1', async () => {
  process.send({ originPort: origin.address().port })
  process.on('message', async (m) => {
    if (m !== 'go') return
    for (let i = 0; i < n; i++) await new Promise((resolve) => { const c = net.connect(aPort, '127.0.0.1', resolve); c.on('error', () => {}); held.push(c) })
    process.send({ done: true })
  })
})

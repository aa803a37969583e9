/**
 * A tiny authoritative DNS server over UDP on 127.0.0.1:0, for forward mode's tests: it answers A and AAAA
 * queries from a table (or NXDOMAIN, or not at all), and records every question it is asked. A real
 * component on a real socket: hellogate's c-ares resolver (forward.resolvers) talks to it as to any server.
 * RFC 1035 §4 message format; one question per query, answers with a name pointer to it.
 */
import dgram from 'node:dgram'
import net from 'node:net'

export interface DnsAnswer {
  a?: string[]
  aaaa?: string[]
  /** answer NXDOMAIN */
  nxdomain?: boolean
  /** never answer (the resolver times out) */
  silent?: boolean
}

export interface DnsServer {
  port: number
  /** `name type` of every question received, e.g. `ok.fwd.example A` */
  questions: string[]
  close: () => Promise<void>
}

const TYPE_A = 1
const TYPE_AAAA = 28

function ipv6Bytes (text: string): Buffer {
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, null]
  const words = (s: string): number[] => s === '' ? [] : s.split(':').map((w) => parseInt(w, 16))
  const h = words(head)
  const t = tail === null ? [] : words(tail)
  const all = tail === null ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]
  const out = Buffer.alloc(16)
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2))
  return out
}

export async function startDnsServer (table: Record<string, DnsAnswer>): Promise<DnsServer> {
  const socket = dgram.createSocket('udp4')
  const questions: string[] = []
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 12) return
    let o = 12
    const labels: string[] = []
    while (o < msg.length && msg[o]! !== 0) {
      const n = msg[o]!
      labels.push(msg.subarray(o + 1, o + 1 + n).toString('latin1'))
      o += 1 + n
    }
    const qEnd = o + 5 // zero byte, type, class
    if (qEnd > msg.length) return
    const qtype = msg.readUInt16BE(o + 1)
    const name = labels.join('.').toLowerCase()
    questions.push(name + ' ' + (qtype === TYPE_A ? 'A' : qtype === TYPE_AAAA ? 'AAAA' : String(qtype)))
    const entry = table[name]
    if (entry?.silent === true) return
    const answers: Buffer[] = []
    const addrs = qtype === TYPE_A ? entry?.a ?? [] : qtype === TYPE_AAAA ? entry?.aaaa ?? [] : []
    for (const addr of addrs) {
      const rdata = net.isIPv4(addr) ? Buffer.from(addr.split('.').map(Number)) : ipv6Bytes(addr)
      const rr = Buffer.alloc(12)
      rr.writeUInt16BE(0xc00c, 0) // pointer to the question's name
      rr.writeUInt16BE(qtype, 2)
      rr.writeUInt16BE(1, 4) // class IN
      rr.writeUInt32BE(5, 6) // TTL 5 s
      rr.writeUInt16BE(rdata.length, 10)
      answers.push(rr, rdata)
    }
    const header = Buffer.alloc(12)
    header.writeUInt16BE(msg.readUInt16BE(0), 0) // id
    const rcode = entry === undefined || entry.nxdomain === true ? 3 : 0
    header.writeUInt16BE(0x8180 | rcode, 2) // QR, RD, RA
    header.writeUInt16BE(1, 4) // one question
    header.writeUInt16BE(addrs.length, 6)
    socket.send(Buffer.concat([header, msg.subarray(12, qEnd), ...answers]), rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return {
    port: socket.address().port,
    questions,
    close: () => new Promise((resolve) => { socket.close(() => { resolve() }) }),
  }
}

/**
 * The data phase below JavaScript: a connection whose hello is written is handed to a small native
 * addon (src/native/splice.c, built into dist/native/splice.node by `npm run build`) that moves its bytes
 * socket → pipe → socket with splice(2) on the worker's own event loop, and calls back once when the
 * connection ends. No Buffer, no stream event and no user-space copy per chunk: the JS relay's per-chunk
 * cost (Readable.push → 'data', a 64 KiB allocation per read, GC) goes; accept, hello, connect and close
 * stay in Node.
 *
 * The origin leg below JavaScript too (`dialOrigin`, HELLOGATE_ORIGIN_DIAL): where the addon runs, an
 * origin given as an IP literal is connected by the addon itself; when its connect succeeds the client is
 * held (`holdClient`: reads stopped as below, what Node already read taken as early bytes) and attached
 * with the replay bytes (`attachOrigin`), and the addon relays from the first byte. Retries, connect
 * timeouts, PROXY headers, passive health and the access log stay in JS (connect.ts): they act on the
 * session, and on the addon's slot where they would act on an origin socket. A host name, or a client
 * handle without the private API, connects through Node as before.
 *
 * The client leg below JavaScript too (`acceptAtHandle`, `startIntake`, HELLOGATE_INTAKE): a reuseport TLS
 * listener's accepts are taken at the handle level (no net.Socket), the addon reads the client's first
 * bytes (one-shot, into `readBuf`; `onAddonIntake` copies them out for accept.ts), and `attachOrigin` hands
 * the intake slot's registration of the fd to the relay. Such a client is a bare TCP handle (`Session.
 * clientHandle`) until something needs a socket: `socketFromHandle` wraps it (the intake slot released
 * first), `destroyClient` closes it, `socketAddress`/`handlePeer`/`handleLocal` read its addresses.
 *
 * This is the ONE module that touches Node's private socket handles (`socket._handle.fd`,
 * `readStop()`, the handle's `reading` flag, and the stream's `_readableState.ended`; a listening
 * server's `_handle.onconnection`, a client TCP handle's fd, getpeername/getsockname, setNoDelay, close,
 * and `new net.Socket({ handle })`), behind a feature check (per connection, per listener, per accepted
 * handle); where anything is
 * missing the connection stays on the JS relay (pipe.ts), which is also the whole worker's relay when
 * the addon cannot be loaded, is switched off (HELLOGATE_RELAY=js), or the platform is not Linux.
 *
 * Contract of the hand-over (`trySplice`, after startRelay wrote the hello):
 *  - only when Node holds none of the connection's bytes: nothing queued for writing on either socket,
 *    nothing buffered for reading, no FIN seen yet (it would be lost), both handles open with an fd;
 *    otherwise the connection stays on the JS relay, correct either way;
 *  - Node's reads are stopped on both sockets and the handles' `reading` flag is left true, so that no
 *    later `read(0)` / resume from the stream machinery restarts them (net.Socket `_read` starts reads
 *    only when the flag is false); from then on JS never reads, writes or ends either socket;
 *  - the end callback (`onSpliceEnd`), or `stopSplice` for a close decided in JS (idle timeout, drain
 *    deadline), releases the connection in the addon BEFORE the sockets are destroyed, so the fds are
 *    never closed while the addon watches them.
 *
 * Limits: one slot per handed-over connection in the addon (a few dozen bytes), pipes only while a
 * direction has bytes in flight (at most one 64 KiB pipe per direction: backpressure).
 */
import { createRequire } from 'node:module'
import net from 'node:net'
import { constants as osConstants } from 'node:os'
import { Counter } from '../metrics/counters.ts'
import { Outcome } from '../metrics/outcomes.ts'
import type { RelayContext } from './context.ts'
import { clientHooks, kSession, setOutcome, type ClientHandle, type Session, type SessionSocket } from './session.ts'

/** The addon's interface (src/native/splice.c). */
interface SpliceAddon {
  init (counters: Float64Array, upIndex: number, downIndex: number,
    onEnd: (slot: number, bytesUp: number, bytesDown: number, errno: number) => void, scratch: Float64Array,
    onDial: (slot: number, errno: number) => void, onIntake: (slot: number, n: number) => void, readBuf: Uint8Array): void
  /** hand both fds over: a slot ≥ 0, or −errno when nothing was changed */
  start (clientFd: number, originFd: number): number
  /** open the origin leg in the addon (an IP literal): a slot ≥ 0 dialing, −EAFNOSUPPORT (not a literal), or −errno (failed at once) */
  dial?: (host: string, port: number) => number
  /** within onDial(slot, 0): write `bytes` to the origin and relay both ways; 0, or −errno (the slot stays live) */
  attach?: (slot: number, clientFd: number, bytes: Uint8Array, clientEof: boolean, intakeSlot: number) => number
  /** watch a handle-level client's fd for its first bytes (onIntake per read): a slot ≥ 0, or −errno */
  intake?: (clientFd: number) => number
  /** read an intake slot once more when readable, or (hangupOnly) report only its reset: 0, or −errno */
  rearm?: (slot: number, hangupOnly: boolean) => number
  /** stop without the callback; bytes in the scratch array; false when the slot is not live */
  stop (slot: number): boolean
  /** bytes moved both ways so far, −1 when the slot is not live */
  activity (slot: number): number
  /** [connections handed over, empty pipes pooled, pipes in use] */
  stats (): [number, number, number]
  /** bytes malloc holds for the whole process (glibc mallinfo2), −1 where unknown: the measurement hook's, not the relay's */
  mallocInUse (): number
}

/** Which relay the process runs, and why (the startup log line, pool/main.ts). */
export interface RelayChoice {
  readonly relay: 'splice' | 'js'
  readonly reason: string
}

/** HELLOGATE_RELAY: `js` forces the JavaScript relay; `auto` (or unset): splice when the addon loads. */
export const RELAY_ENV = 'HELLOGATE_RELAY'
/** Test hook: load the addon from this path instead of dist/native/splice.node. */
export const SPLICE_ADDON_ENV = 'HELLOGATE_SPLICE_ADDON'
/**
 * Bytes a connection relays in JS (hello included, both ways) before it is handed over. The hand-over
 * costs about six syscalls (2 readStop, 2 EPOLL_CTL_ADD, 2 DEL) and a callback; a TLS handshake and a
 * small request/response are 3–6 chunks that the JS relay moves for about that much, so handing them over
 * at once made a new TLS connection dearer (1.52× HAProxy against 1.26× for the JS relay in one
 * bench:peers run, profiles/20261204-ab-splice-after) while a bulk transfer crosses 16 KiB within its
 * first read or two and gets the per-KiB gain all the same.
 */
export const SPLICE_AFTER_BYTES = 16 * 1024
/** Override of SPLICE_AFTER_BYTES (a byte count; 0 = at once, after the hello), read at a worker's start. */
export const SPLICE_AFTER_ENV = 'HELLOGATE_SPLICE_AFTER'
/**
 * HELLOGATE_ORIGIN_DIAL: `js` opens every origin connection as a Node net.Socket (the data phase is handed
 * to the addon after SPLICE_AFTER_BYTES, as before); `auto` (or unset): where the splice relay runs, an
 * origin given as an IP literal is connected by the addon itself (dialOrigin), so that no origin
 * net.Socket, stream chunk or origin close runs in JavaScript.
 */
export const ORIGIN_DIAL_ENV = 'HELLOGATE_ORIGIN_DIAL'
/**
 * HELLOGATE_INTAKE: `js` accepts every client as a Node net.Socket; `auto` (or unset): where the addon
 * dials origins, a reuseport TLS listener without proxyProtocol accepts at the handle level and the addon
 * reads the hello (accept.ts handleNativeConnection), so that a connection relayed by the addon has no net.Socket at all.
 */
export const INTAKE_ENV = 'HELLOGATE_INTAKE'
/**
 * Bytes one intake read takes (the addon reads into this per-worker buffer, JS copies out what came).
 * One TLS record's worth: a ClientHello is one record in practice (1–2 KiB; ≈ 1.8 KiB with a post-quantum
 * key share), a larger one takes more reads up to maxHelloBytes, as it would through Node.
 */
export const INTAKE_READ_BYTES = 16 * 1024 + 5
/** the addon's answer to a host that is not an IP literal: connect through Node instead */
const EAFNOSUPPORT = osConstants.errno.EAFNOSUPPORT
/** the addon's "nothing was changed" answer to attach */
const EINVAL = osConstants.errno.EINVAL
/** Where `npm run build` puts the addon; src/relay and dist/relay are both two levels below the package root. */
const ADDON_URL = new URL('../../dist/native/splice.node', import.meta.url)

/** Node's private TCP handle, as far as this module uses it. */
interface TcpHandle {
  fd?: unknown
  reading?: unknown
  readStop?: unknown
  readStart?: unknown
}

let addon: SpliceAddon | null = null
/** the path `addon` came from, and the reason it did not load; a path is tried once per thread */
let addonPath = ''
let addonError = ''
/** this thread's addon is initialised with its counters: hand-overs happen */
let active = false
/** this thread's hand-over point in relayed bytes (SPLICE_AFTER_BYTES or SPLICE_AFTER_ENV) */
let spliceAfter = SPLICE_AFTER_BYTES
/** this thread's origin connects go through the addon where the target is an IP literal (dialOrigin) */
let dialing = false
/** what a finished native connect is handed to (connect.ts nativeDialDone, given to initSplice) */
let dialDone: DialDone = noDial
/** this thread's handle-level clients are read by the addon (startIntake) */
let intaking = false
/** what an intake read is handed to (accept.ts, given to initSplice) */
let intakeRead: IntakeRead = noIntake
/** the addon's intake reads land here; copied out before the next read */
const readBuf = new Uint8Array(INTAKE_READ_BYTES)
/** sessions by addon slot (this thread's) */
const bySlot: (Session | undefined)[] = []
/** stop() writes the connection's byte totals here */
const scratch = new Float64Array(2)

/**
 * Which relay runs on this thread, from the environment as it is now: the switch, the platform, then
 * whether the addon loads (a process starting several pools, as the tests do, may change the switch).
 */
export function chooseRelay (): RelayChoice {
  const mode = process.env[RELAY_ENV] ?? 'auto'
  if (mode === 'js') return { relay: 'js', reason: RELAY_ENV + '=js' }
  if (process.platform !== 'linux') return { relay: 'js', reason: 'splice(2) is Linux only (platform ' + process.platform + ')' }
  const path = loadAddon()
  const unknown = mode === 'auto' ? '' : '; ' + RELAY_ENV + '=' + mode + ' is neither js nor auto: read as auto'
  if (addon === null) return { relay: 'js', reason: 'native addon not loaded (' + addonError + ')' + unknown }
  return { relay: 'splice', reason: 'native addon loaded from ' + path + dialChoice().note + handOverPoint().note + unknown }
}

/** Whether the addon opens origin connections (ORIGIN_DIAL_ENV and the addon's build), and the startup line's words for it. */
function dialChoice (): { on: boolean, note: string } {
  const v = process.env[ORIGIN_DIAL_ENV] ?? 'auto'
  if (v === 'js') return { on: false, note: '; origin connects through Node (' + ORIGIN_DIAL_ENV + '=js)' }
  const unknown = v === 'auto' ? '' : ' (' + ORIGIN_DIAL_ENV + '=' + v + ' is neither js nor auto: read as auto)'
  if (typeof addon?.dial !== 'function' || typeof addon.attach !== 'function') return { on: false, note: '; origin connects through Node (this addon build cannot dial)' + unknown }
  return { on: true, note: '; origin connects to IP addresses in the addon' + unknown + intakeChoice().note }
}

/** Whether the addon reads handle-level clients (INTAKE_ENV and the addon's build; only where it dials), and the startup line's words. */
function intakeChoice (): { on: boolean, note: string } {
  const v = process.env[INTAKE_ENV] ?? 'auto'
  if (v === 'js') return { on: false, note: '; clients accepted as Node sockets (' + INTAKE_ENV + '=js)' }
  const unknown = v === 'auto' ? '' : ' (' + INTAKE_ENV + '=' + v + ' is neither js nor auto: read as auto)'
  if (typeof addon?.intake !== 'function' || typeof addon.rearm !== 'function') return { on: false, note: '; clients accepted as Node sockets (this addon build cannot read them)' + unknown }
  return { on: true, note: '; hellos read in the addon on reuseport TLS listeners' + unknown }
}

/** Load the addon from its path (SPLICE_ADDON_ENV or dist/native/splice.node) once per path; answers the path. */
function loadAddon (): string {
  const path = process.env[SPLICE_ADDON_ENV] ?? ADDON_URL.pathname
  if (path !== addonPath) {
    addonPath = path
    try {
      addon = createRequire(import.meta.url)(path) as SpliceAddon
      addonError = ''
    } catch (err) {
      addon = null
      addonError = (err as Error).message.split('\n')[0] ?? ''
    }
  }
  return path
}

/**
 * Bytes malloc holds for the whole process now (the addon's glibc mallinfo2), or null where the addon
 * does not load or glibc cannot tell. For the measurement hook (POST /debug/gc), whatever relay runs:
 * the native memory a connection holds (libuv handles, Node's socket wraps) is malloc'd, in no V8 heap.
 */
export function mallocInUseBytes (): number | null {
  if (process.platform !== 'linux') return null
  loadAddon()
  const bytes = addon?.mallocInUse?.() ?? -1
  return bytes >= 0 ? bytes : null
}

/** A finished native connect (errno 0: connected; within it the caller attaches the client or lets go). */
export type DialDone = (s: Session, errno: number) => void

/** One intake read of a handle-level client: `chunk` holds its n > 0 bytes (a copy); n = 0 is EOF, n < 0 −errno. */
export type IntakeRead = (s: Session, n: number, chunk: Buffer | null) => void

function noDial (): void {}

function noIntake (): void {}

/**
 * A worker's start: from now on its connections are handed to the addon, when it loaded and starts, and
 * its origin connects to IP literals are opened by the addon (dialOrigin), finishing in `onDial`.
 */
export function initSplice (ctx: RelayContext, onDial: DialDone, onIntake: IntakeRead = noIntake): RelayChoice {
  const c = chooseRelay()
  if (c.relay !== 'splice' || active) return c
  try {
    addon!.init(ctx.counters, Counter.BytesUp, Counter.BytesDown, onSpliceEnd, scratch, onAddonDial, onAddonIntake, readBuf)
  } catch (err) {
    // e.g. no epoll fd left: this worker relays in JS, and says so (the caller logs it)
    return { relay: 'js', reason: 'native addon did not start (' + (err as Error).message + ')' }
  }
  active = true
  spliceAfter = handOverPoint().bytes
  dialing = dialChoice().on
  dialDone = onDial
  intaking = dialing && intakeChoice().on && onIntake !== noIntake
  intakeRead = onIntake
  return c
}

/** The addon reads handle-level clients on this thread (worker.ts takes over its reuseport TLS listeners' accepts). */
export function intakeActive (): boolean {
  return intaking
}

/**
 * Watch a handle-level client (accept.ts handleNativeConnection) for its first bytes in the addon: true when the slot is live
 * (each read comes to the IntakeRead given to initSplice); false when the addon cannot take it (the caller
 * wraps the handle in a net.Socket and reads through Node).
 */
export function startIntake (s: Session, fd: number): boolean {
  if (!intaking) return false
  const r = addon!.intake!(fd)
  if (r < 0) return false
  s.intake = r
  bySlot[r] = s
  return true
}

/** The hello needs more bytes: the addon reads the client once more. False: it cannot (the caller wraps the handle). */
export function rearmIntake (s: Session): boolean {
  return s.intake >= 0 && addon!.rearm!(s.intake, false) === 0
}

/**
 * The hello is read and the origin is being connected: the addon reports a client reset (an IntakeRead
 * with −errno) but reads nothing, so the client's further bytes and FIN wait in the kernel for the relay.
 * False: it cannot (the caller wraps the handle, and Node watches the client as for any socket).
 */
export function watchIntakeHangup (s: Session): boolean {
  return s.intake >= 0 && addon!.rearm!(s.intake, true) === 0
}

/** Let go of the intake slot (before Node wraps or closes the handle). No-op when there is none. */
export function stopIntake (s: Session): void {
  const slot = s.intake
  if (slot < 0) return
  s.intake = -1
  bySlot[slot] = undefined
  addon!.stop(slot)
}

/** The addon's intake callback: copy the bytes out of the read buffer (reused by the next read). */
function onAddonIntake (slot: number, n: number): void {
  const s = bySlot[slot]
  if (s === undefined) return
  intakeRead(s, n, n > 0 ? Buffer.from(readBuf.subarray(0, n)) : null)
}

/**
 * Open the session's connect attempt (`originHost`, `originPort`) in the addon: true when it is in
 * flight there (`nativeOrigin`, finishing in the DialDone given to initSplice, also for a connect that
 * failed at once: one tick later, as Node reports it); false when the addon does not dial on this thread,
 * the target is not an IP literal, or the client socket lacks what the later attach needs — the caller
 * connects through Node then.
 */
export function dialOrigin (s: Session): boolean {
  // a handle-level client has no socket to check; its fd is the handle's (accept.ts handleNativeConnection)
  if (!dialing || (s.clientHandle === null && !usableHandle(handleOf(s.client)))) return false
  const r = addon!.dial!(s.originHost, s.originPort)
  if (r === -EAFNOSUPPORT) return false
  s.nativeOrigin = true
  if (r >= 0) {
    s.splice = r
    bySlot[r] = s
  } else {
    process.nextTick(dialFailedAtOnce, s, -r)
  }
  return true
}

function dialFailedAtOnce (s: Session, errno: number): void {
  // dropped meanwhile (the client went): nothing left to report
  if (s.nativeOrigin && s.splice < 0) dialDone(s, errno)
}

/** The addon's dial callback: a failed connect has already released its slot (and closed its fd). */
function onAddonDial (slot: number, errno: number): void {
  const s = bySlot[slot]
  if (s === undefined) return
  if (errno !== 0) {
    bySlot[slot] = undefined
    s.splice = -1
  }
  dialDone(s, errno)
}

/**
 * The origin the addon dialed is connected: stop Node reading the client (as trySplice does) and take
 * what Node already read into the session's early bytes (through the data listener, which still sees
 * the Connecting state). False when the client socket cannot be held (destroyed, or its handle lacks
 * the private API): the caller lets the origin go.
 */
export function holdClient (s: Session): boolean {
  // a handle-level client was never read by Node: nothing to stop, nothing buffered
  if (s._client === null) return s.clientHandle !== null
  const client = s.client
  const ch = handleOf(client)
  if (client.destroyed || !usableHandle(ch) || client.writableLength !== 0) return false
  client.pause()
  if (ch.reading === true && ch.readStop() !== 0) return false
  ch.reading = true
  // read() hands the buffered bytes to the 'data' listener (accept.ts → holdEarly) in one chunk
  if (client.readableLength > 0) client.read()
  return true
}

/** The client's FIN has been read by Node (it goes to the origin after the replayed bytes). */
export function clientFinRead (s: Session): boolean {
  // a handle-level client's FIN, if any, is still in the kernel: the relay reads it after the bytes
  if (s._client === null) return s.clientEnded
  return s.clientEnded || finRead(s.client) || s.client.readableEnded
}

/**
 * Within DialDone(s, 0), after holdClient: write `bytes` to the origin and relay both ways in the addon
 * from now on. 0, or the errno that stopped it (the slot is still live: stopSplice releases it).
 */
export function attachOrigin (s: Session, bytes: Uint8Array, clientEof: boolean): number {
  const fd = s._client === null ? s.clientHandle!.fd : (handleOf(s.client) as { fd: number }).fd
  // the intake slot's registration of the client fd is taken over (one MOD), the slot released
  const r = addon!.attach!(s.splice, fd, bytes, clientEof, s.intake)
  // anything but EINVAL: the addon released the intake slot (taken over, whether the write then failed or not)
  if (s.intake >= 0 && r !== -EINVAL) {
    bySlot[s.intake] = undefined
    s.intake = -1
  }
  if (r !== 0) return -r
  s.spliceSeen = 0
  s.ctx.counters[Counter.RelaySpliced]!++
  return 0
}

/** The hand-over point from SPLICE_AFTER_ENV (a byte count), else SPLICE_AFTER_BYTES; `note` says which. */
function handOverPoint (): { bytes: number, note: string } {
  const v = process.env[SPLICE_AFTER_ENV]
  if (v === undefined) return { bytes: SPLICE_AFTER_BYTES, note: '; hand-over after ' + SPLICE_AFTER_BYTES + ' bytes' }
  if (/^\d{1,10}$/.test(v)) return { bytes: Number(v), note: '; hand-over after ' + v + ' bytes (' + SPLICE_AFTER_ENV + ')' }
  return { bytes: SPLICE_AFTER_BYTES, note: '; ' + SPLICE_AFTER_ENV + '=' + v + ' is not a byte count: hand-over after ' + SPLICE_AFTER_BYTES + ' bytes' }
}

/**
 * True when this session should be handed over now: the addon runs on this thread, the session is on
 * the JS relay, and it has relayed at least the hand-over point (SPLICE_AFTER_BYTES). One compare per
 * chunk; trySplice then checks that Node holds none of the connection's bytes.
 */
export function spliceDue (s: Session): boolean {
  return active && s.splice < 0 && s.bytesUp + s.bytesDown >= spliceAfter
}

/** True where the handle has what the hand-over uses (the feature check: private API may change). */
function usableHandle (h: TcpHandle | null | undefined): h is TcpHandle & { fd: number, readStop: () => number } {
  return h != null && typeof h.fd === 'number' && h.fd >= 0 && typeof h.readStop === 'function' &&
    typeof h.readStart === 'function' && typeof h.reading === 'boolean'
}

/** The stream has read its FIN (`readableEnded` is only true once 'end' was emitted, a tick later). */
function finRead (socket: SessionSocket): boolean {
  return (socket as unknown as { _readableState?: { ended?: unknown } })._readableState?.ended === true
}

function handleOf (socket: SessionSocket): TcpHandle | null {
  return (socket as unknown as { _handle: TcpHandle | null })._handle
}

/**
 * Hand a relaying session's two sockets to the addon, when Node holds none of its bytes (module header).
 * False: the session stays on the JS relay (nothing was changed).
 */
export function trySplice (s: Session): boolean {
  if (!active) return false
  const client = s.client
  const origin = s.origin!
  if (client.writableLength !== 0 || origin.writableLength !== 0 || client.readableLength !== 0 ||
    origin.readableLength !== 0 || client.readableEnded || origin.readableEnded || s.clientEnded ||
    client.writableEnded || origin.writableEnded || client.destroyed || origin.destroyed) return false
  // a FIN Node has read but whose 'end' is still to be emitted: its listener would act on the socket
  if (finRead(client) || finRead(origin)) return false
  const ch = handleOf(client)
  const oh = handleOf(origin)
  if (!usableHandle(ch) || !usableHandle(oh)) return false
  if (ch.readStop() !== 0) return false
  if (oh.readStop() !== 0) {
    (ch.readStart as () => number)()
    return false
  }
  const slot = addon!.start(ch.fd, oh.fd)
  if (slot < 0) {
    // e.g. the fd still has a libuv watcher: read on in JS
    (ch.readStart as () => number)();
    (oh.readStart as () => number)()
    return false
  }
  // the streams stop flowing, and `reading` stays true: net.Socket's _read restarts reads only when it
  // is false, so nothing in the stream machinery touches the fds again (module header)
  ch.reading = true
  oh.reading = true
  client.pause()
  origin.pause()
  s.splice = slot
  s.spliceSeen = 0
  bySlot[slot] = s
  s.ctx.counters[Counter.RelaySpliced]!++
  return true
}

/**
 * The addon's one callback: the connection ended (both FINs passed on, or `errno` ≠ 0), its fds are no
 * longer watched. Take the byte totals, record an error, close both sockets.
 */
function onSpliceEnd (slot: number, bytesUp: number, bytesDown: number, errno: number): void {
  const s = bySlot[slot]
  if (s === undefined) return
  bySlot[slot] = undefined
  s.splice = -1
  s.bytesUp += bytesUp
  s.bytesDown += bytesDown
  if (errno !== 0) {
    setOutcome(s, Outcome.RelayError)
    if (s.detail === null) s.detail = errnoName(errno)
  }
  destroyClient(s)
  // an origin dialed by the addon is closed already; the client's 'close' accounts for it (connect.ts)
  s.origin?.destroy()
}

/** A close decided in JS: release the session in the addon first (module header). No-op when not handed over. */
export function stopSplice (s: Session): void {
  const slot = s.splice
  if (slot < 0) return
  s.splice = -1
  bySlot[slot] = undefined
  if (!addon!.stop(slot)) return
  s.bytesUp += scratch[0]!
  s.bytesDown += scratch[1]!
}

/**
 * For the idle sweep: whether a handed-over session moved bytes since the last look (then `lastActive`
 * is restamped with `now`). Asked only of sessions whose stamp says idle, so a busy one costs one call
 * per idle period, not one per chunk.
 */
export function splicedSinceLastLook (s: Session, now: number): boolean {
  const moved = addon!.activity(s.splice)
  if (moved === s.spliceSeen) return false
  s.spliceSeen = moved
  s.lastActive = now
  return true
}

/** The addon's counts on this thread (tests): connections handed over, pooled pipes, pipes in use. */
export function spliceStats (): [number, number, number] {
  return active ? addon!.stats() : [0, 0, 0]
}

let errnoNames: Map<number, string> | null = null

/** ECONNRESET for 104: the access log's reason, as the JS relay writes the socket error's code. */
export function errnoName (errno: number): string {
  if (errnoNames === null) {
    errnoNames = new Map()
    for (const [name, n] of Object.entries(osConstants.errno)) errnoNames.set(n, name)
  }
  return errnoNames.get(errno) ?? 'errno_' + String(errno)
}

/* ---- handle-level clients (accept.ts handleNativeConnection): Node's TCP handle without a net.Socket ---- */

/** Node's listening TCP handle, as far as the accept take-over uses it. */
interface ServerHandle {
  onconnection?: unknown
}

/** A client handle's methods this module calls (Node's TCPWrap). */
interface ClientHandleApi extends ClientHandle {
  getpeername: (out: PeerName) => number
  getsockname: (out: PeerName) => number
  setNoDelay: (on: boolean) => number
  close: (cb?: (this: ClientHandle) => void) => void
}

/** What getpeername/getsockname fill in. */
export interface PeerName {
  address?: string
  port?: number
  family?: string
}

/** A handle-level accept: `errno` < 0 is a failed accept (EMFILE…), else `handle` is the client's. */
export type HandleAccept = (errno: number, handle: ClientHandle | undefined) => void

/**
 * Take over a listening net.Server's accepts at the handle level: `onAccept` gets each client's TCP handle,
 * and no net.Socket is made (the server's 'connection' listener is not called; `server.close()` still stops
 * the listener). The feature check: false, and nothing changed, when the server has no handle with an
 * `onconnection` slot (the private API changed) — the caller keeps the net.Socket path.
 */
export function acceptAtHandle (server: net.Server, onAccept: HandleAccept): boolean {
  const h = (server as unknown as { _handle: ServerHandle | null })._handle
  if (h == null || typeof h.onconnection !== 'function') return false
  h.onconnection = onAccept
  return true
}

/** True where a handle from acceptAtHandle has what the intake path calls (else the caller wraps it at once). */
export function usableClientHandle (h: ClientHandle | undefined): h is ClientHandle {
  const api = h as Partial<ClientHandleApi> | undefined
  return api != null && typeof api.fd === 'number' && api.fd >= 0 && typeof api.getpeername === 'function' &&
    typeof api.getsockname === 'function' && typeof api.setNoDelay === 'function' && typeof api.close === 'function'
}

/** TCP_NODELAY on a handle-level client, as a listener with `noDelay` sets it on every accepted socket. */
export function handleNoDelay (h: ClientHandle): void {
  (h as ClientHandleApi).setNoDelay(true)
}

/** getpeername/getsockname answers for handle-level clients: one per thread, read before the next call */
const NAME: PeerName = {}

/** The client's address and port, in this module's scratch object (read it before the next handle call). */
export function handlePeer (h: ClientHandle): PeerName {
  clearName();
  (h as ClientHandleApi).getpeername(NAME)
  return NAME
}

/** The address and port the client connected to, in the same scratch object as handlePeer's. */
export function handleLocal (h: ClientHandle): PeerName {
  clearName();
  (h as ClientHandleApi).getsockname(NAME)
  return NAME
}

/** A failed call (a client already reset: ENOTCONN) fills nothing: never leave another client's address there. */
function clearName (): void {
  NAME.address = undefined
  NAME.port = undefined
  NAME.family = undefined
}

/** The client connection's own peer address (never one a PROXY header carried): a handle-level client's from its handle. */
export function socketAddress (s: Session): string | undefined {
  const h = s.clientHandle
  return h !== null ? handlePeer(h).address : s.client.remoteAddress
}

/**
 * Wrap a handle-level client in a net.Socket (accept.ts materializeClient): the intake slot, if any, is
 * released first, so that Node alone reads it from now on. Created paused; the caller resumes it.
 */
export function socketFromHandle (s: Session, h: ClientHandle): SessionSocket {
  stopIntake(s)
  return wrapHandle(h, true) as SessionSocket
}

/** A client handle as the net.Socket a listener would have made of it (`paused`: created paused, no read started). */
export function wrapHandle (h: ClientHandle, paused = false): net.Socket {
  return new net.Socket({ handle: h, allowHalfOpen: true, pauseOnCreate: paused, readable: true, writable: true } as unknown as net.SocketConstructorOpts)
}

/** Close a refused handle-level client that has no session (nothing read, nothing sent). */
export function closeHandle (h: ClientHandle): void {
  (h as ClientHandleApi).close()
}

/**
 * Destroy the session's client: its socket, or — a handle-level client — release the intake slot and
 * close the handle; its close ends the client's part of the session as a socket's 'close' does
 * (clientHooks.clientClosed, a tick later). Idempotent.
 */
export function destroyClient (s: Session): void {
  if (s._client !== null) {
    s._client.destroy()
    return
  }
  const h = s.clientHandle
  if (h === null) return
  stopIntake(s)
  s.clientHandle = null
  h[kSession] = s;
  (h as ClientHandleApi).close(onClientHandleClosed)
}

function onClientHandleClosed (this: ClientHandle): void {
  const s = this[kSession]!
  this[kSession] = undefined
  clientHooks.clientClosed(s, s.outcome !== null)
}

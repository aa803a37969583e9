/**
 * `QuicInitialDecoder`: one client flow's Initial datagrams in, its ClientHello (SNI and ALPN
 * offsets) out — the UDP counterpart of hello/'s `HelloAssembler`.
 *
 * Contract:
 *  - `push(dgram, start, end)` takes one UDP payload, dgram[start, end), never writes it (the relay
 *    forwards it byte for byte) and answers a `QuicStatus` for that datagram:
 *      NeedMore — valid; the hello needs more datagrams.
 *      Ok / NoSni — the hello is complete: `hello[0, info.handshakeLength)` is the handshake message,
 *        `info`'s offsets index `hello` (same rules and same parser as over TCP).
 *      TooSmall, Oversized, NotLongHeader, VersionNegotiation, UnknownVersion, NotInitial,
 *        HeaderMalformed, DecryptFailed — this datagram is dropped and leaves the flow as it was: a
 *        spoofed or broken datagram cannot poison a flow (keys, DCID and version are only adopted from a
 *        packet that authenticated).
 *      HelloMalformed, TooLarge, ProtocolError, CryptoConflict, ClientClosed — terminal: the flow is
 *        refused; `status` keeps it and later pushes return it without work.
 *  - Coalesced packets (RFC 9000 §12.2): every long-header packet in the datagram is walked by its
 *    Length; Initials with the flow's DCID are opened and read, 0-RTT and Handshake packets skipped, a
 *    short header or a byte without the long-header bit ends the walk (padding after the packets).
 *    Only the first packet's failure decides the datagram's status; later ones are skipped
 *    (`skippedPackets`), as §12.2 asks ("MUST attempt to process the remaining packets").
 *
 * Index rule (noUncheckedIndexedAccess): `dgram[i]!` only inside [start, end) as checked by the loop or
 * by parseLongHeader (which proved the header and the packet's Length fit); `aad`, `mask` and `dcid` are
 * sized here. dgram[start, end) must lie inside `dgram` (a caller's bug otherwise, as in hello/).
 *
 * Limits: the CRYPTO stream is capped at `maxHelloBytes` (hello/'s limit, same default as TCP);
 * MAX_INITIAL_DATAGRAMS datagrams per flow; datagrams above MAX_INITIAL_DATAGRAM_BYTES are refused before
 * any crypto. Per Initial packet: one header copy (≤ the header size) and node:crypto's decipher and
 * plaintext buffers (keys.ts); per flow: the reassembler (≤ 2 × maxHelloBytes) and one key set.
 */
import { DEFAULT_MAX_HELLO_BYTES, HelloInfo, HelloStatus, parseClientHello } from '../hello/index.ts'
import {
  LONG_HEADER_PROTECTED_BITS, LONG_RESERVED_BITS, MAX_CID_LEN, MAX_INITIAL_DATAGRAM_BYTES,
  MAX_INITIAL_DATAGRAMS, MIN_INITIAL_DATAGRAM_BYTES, MIN_ORIGINAL_DCID_LEN, AEAD_TAG_LEN, HP_SAMPLE_OFFSET,
  HEADER_FORM_LONG, PN_LENGTH_MASK,
} from './constants.ts'
import { readInitialFrames } from './frames.ts'
import { deriveInitialKeys, headerMask, openPayload, type InitialKeys } from './keys.ts'
import { LongHeader, decodePacketNumber, parseLongHeader } from './packet.ts'
import { CryptoReassembler } from './reassemble.ts'
import { QuicStatus } from './types.ts'

const EMPTY = new Uint8Array(0)

export class QuicInitialDecoder {
  /** the flow's status: NeedMore until a terminal status (Ok, NoSni or a refusal) */
  status: QuicStatus = QuicStatus.NeedMore
  /** the QUIC version of the flow (0 until an Initial authenticated) */
  version = 0
  /** the client's original Destination Connection ID: dcid[0, dcidLength) — the Initial keys' input */
  readonly dcid = new Uint8Array(MAX_CID_LEN)
  dcidLength = 0
  /** client Initial keys, derived from the first Initial that authenticated */
  keys: InitialKeys | null = null
  /** largest packet number opened so far (-1: none), for RFC 9000 A.3 recovery */
  largestPn = -1
  /** datagrams that carried at least one authenticated Initial */
  datagrams = 0
  /** Initial packets opened */
  packets = 0
  /** packets after the first of a datagram that were skipped (unreadable, other DCID, failed to open) */
  skippedPackets = 0
  /** the CRYPTO stream */
  readonly crypto: CryptoReassembler
  /** SNI / ALPN offsets into `hello` once the status is Ok or NoSni */
  readonly info = new HelloInfo()
  /** the handshake message bytes once complete (a view of the reassembler's buffer), else empty */
  hello: Uint8Array = EMPTY

  private readonly hdr = new LongHeader()
  /** header-protection mask: byte 0's bits + up to 4 packet-number bytes (RFC 9001 §5.4.1) */
  private readonly mask = new Uint8Array(5)

  /** `maxHelloBytes`: the cap on the CRYPTO stream (hello/'s limits.maxHelloBytes) */
  constructor (maxHelloBytes: number = DEFAULT_MAX_HELLO_BYTES) {
    this.crypto = new CryptoReassembler(maxHelloBytes)
  }

  push (dgram: Uint8Array, start: number, end: number): QuicStatus {
    if (this.status !== QuicStatus.NeedMore) return this.status
    const size = end - start
    if (size > MAX_INITIAL_DATAGRAM_BYTES) return QuicStatus.Oversized
    if (size <= 0) return QuicStatus.NotLongHeader // an empty datagram carries no packet at all
    const h = this.hdr
    let pos = start
    let opened = 0
    let first = true
    while (pos < end) {
      // RFC 9000 §12.2: a short-header packet (no Length) can only be last; a byte without the form
      // bit after the packets is padding some stacks add to the datagram
      if (!first && (dgram[pos]! & HEADER_FORM_LONG) === 0) break
      let st = parseLongHeader(dgram, pos, end, h)
      const delimited = st === QuicStatus.NeedMore
      if (delimited) {
        if (!h.initial) st = QuicStatus.NotInitial
        // RFC 9000 §14.1: "A server MUST discard an Initial packet that is carried in a UDP datagram
        // with a payload that is smaller than the smallest allowed maximum datagram size of 1200 bytes."
        else if (size < MIN_INITIAL_DATAGRAM_BYTES) st = QuicStatus.TooSmall
        else st = this.openInitial(dgram, first)
      }
      if (st !== QuicStatus.NeedMore) {
        if (first) return this.finishDatagram(opened, st)
        this.skippedPackets++
        // a packet we could delimit (0-RTT, Handshake, an Initial that failed to open or carries another
        // DCID) is stepped over; one we could not (a Retry, a broken header) ends the walk
        if (!delimited) break
        pos = h.end
        continue
      }
      opened++
      if (this.status !== QuicStatus.NeedMore) return this.status
      pos = h.end
      first = false
    }
    return this.finishDatagram(opened, QuicStatus.NeedMore)
  }

  /** after a datagram: count it, enforce the datagram cap, and parse the hello when complete */
  private finishDatagram (opened: number, st: QuicStatus): QuicStatus {
    if (opened === 0) return st
    if (this.status !== QuicStatus.NeedMore) return this.status
    this.datagrams++
    if (this.crypto.complete()) return this.parseHello()
    if (this.datagrams >= MAX_INITIAL_DATAGRAMS) return this.end(QuicStatus.TooLarge)
    return QuicStatus.NeedMore
  }

  private end (st: QuicStatus): QuicStatus {
    this.status = st
    return st
  }

  private parseHello (): QuicStatus {
    const c = this.crypto
    const hs = c.buf.subarray(0, c.total)
    switch (parseClientHello(hs, 0, hs.length, this.info)) {
      case HelloStatus.Ok:
        this.hello = hs
        return this.end(QuicStatus.Ok)
      case HelloStatus.NoSni:
        this.hello = hs
        return this.end(QuicStatus.NoSni)
      default:
        return this.end(QuicStatus.HelloMalformed)
    }
  }

  /**
   * Remove header protection from the Initial described by `hdr`, open it and read its frames.
   * Returns NeedMore when it was read (the flow's status says whether that ended the flow), or the
   * datagram-level status that made us drop it.
   */
  private openInitial (dgram: Uint8Array, first: boolean): QuicStatus {
    const h = this.hdr
    const dcidLen = h.dcidEnd - h.dcidStart
    let keys = this.keys
    if (keys !== null) {
      // RFC 9000 §7.2: "Until a packet is received from the server, the client MUST use the same
      // Destination Connection ID value on all packets in this connection." (nothing reached the
      // server yet: the flow is not routed). §12.2: packets with another DCID than the first are ignored.
      if (h.version !== this.version || !this.sameDcid(dgram, h.dcidStart, dcidLen)) return QuicStatus.HeaderMalformed
    } else {
      if (!first) return QuicStatus.HeaderMalformed // a later packet cannot start the flow
      // RFC 9000 §7.2: the client's first DCID "MUST be at least 8 bytes in length"
      if (dcidLen < MIN_ORIGINAL_DCID_LEN) return QuicStatus.HeaderMalformed
      keys = deriveInitialKeys(h.version, dgram.subarray(h.dcidStart, h.dcidEnd))
      if (keys === null) return QuicStatus.UnknownVersion
    }

    // RFC 9001 §5.4.2: sample = the 16 bytes starting 4 bytes after the Packet Number field's start
    const pnOffset = h.pnOffset
    const mask = this.mask
    headerMask(keys, dgram, pnOffset + HP_SAMPLE_OFFSET, mask)
    // RFC 9001 §5.4.1: long header: byte 0's low 4 bits are protected, then the packet number bytes
    const b0 = dgram[h.start]! ^ (mask[0]! & LONG_HEADER_PROTECTED_BITS)
    const pnLen = (b0 & PN_LENGTH_MASK) + 1
    const hdrLen = pnOffset + pnLen - h.start
    // the unprotected header is the AAD (RFC 9001 §5.3); copied, because the datagram stays untouched
    // (a fresh Uint8Array, not dgram.slice: Buffer#slice is a view and would write into the datagram)
    const aad = new Uint8Array(hdrLen)
    aad.set(dgram.subarray(h.start, h.start + hdrLen))
    aad[0] = b0
    let truncated = 0
    for (let i = 0; i < pnLen; i++) {
      const k = hdrLen - pnLen + i
      const b = aad[k]! ^ mask[1 + i]!
      aad[k] = b
      truncated = truncated * 256 + b
    }
    // RFC 9000 Appendix A.3
    const pn = decodePacketNumber(this.largestPn, truncated, pnLen * 8)
    const payloadStart = pnOffset + pnLen
    const tagStart = h.end - AEAD_TAG_LEN
    const pt = openPayload(keys, pn, aad, dgram.subarray(payloadStart, tagStart), dgram.subarray(tagStart, h.end))
    if (pt === null) return QuicStatus.DecryptFailed

    // authenticated: adopt the flow's version, DCID and keys
    if (this.keys === null) {
      this.keys = keys
      this.version = h.version
      this.dcid.set(dgram.subarray(h.dcidStart, h.dcidEnd))
      this.dcidLength = dcidLen
    }
    if (pn > this.largestPn) this.largestPn = pn
    this.packets++
    // RFC 9000 §17.2: "An endpoint MUST treat receipt of a packet that has a non-zero value for these
    // bits after removing both packet and header protection as a connection error of type PROTOCOL_VIOLATION."
    if ((b0 & LONG_RESERVED_BITS) !== 0) {
      this.end(QuicStatus.ProtocolError)
      return QuicStatus.NeedMore
    }
    const st = readInitialFrames(pt, 0, pt.length, this.crypto)
    if (st !== QuicStatus.NeedMore) this.end(st)
    return QuicStatus.NeedMore
  }

  private sameDcid (dgram: Uint8Array, at: number, len: number): boolean {
    if (len !== this.dcidLength) return false
    const d = this.dcid
    for (let i = 0; i < len; i++) {
      if (dgram[at + i]! !== d[i]!) return false
    }
    return true
  }
}

/**
 * quic-relay/ — QUIC (HTTP/3) passthrough in a worker: UDP listeners, the flow table, routing by the
 * SNI that quic/ decodes from the client's Initials, and the datagram relay. quic/ stays pure (bytes in,
 * statuses out); the sockets, timers and counters are here.
 *
 *   flow.ts    the fixed-shape Flow and its states
 *   relay.ts   QuicRelay (one per worker): listeners, admission, hold, route, relay, idle end
 */
export { QuicRelay, QuicListener, QUIC_RECV_BUFFER_BYTES, closeFlow } from './relay.ts'
export { Flow, FlowState } from './flow.ts'

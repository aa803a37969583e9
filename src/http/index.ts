/**
 * http/ — plain-HTTP listeners routed by `Host`. `head.ts` is the pure request-head reader (bytes in,
 * offsets and status codes out, no node:*, eslint keeps it so); `relay.ts` is the worker-side glue that
 * feeds it from a client socket, routes the Host through the same table and relay as TLS, and answers
 * 400 / 421 / 431 for what it refuses.
 */
export {
  HeadError, HeadStatus, headErrorName, HostKind, HttpHeadReader, INITIAL_HEAD_BYTES, MAX_HEAD_BYTES,
  RESPONSE_400, RESPONSE_421, RESPONSE_431,
} from './head.ts'

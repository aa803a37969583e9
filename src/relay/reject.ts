/**
 * Precomputed TLS alert records sent to a client we refuse (sniproxy tls_alert[]), one table from
 * outcome to bytes (rustls `From<InvalidMessage> for AlertDescription`).
 *
 * An alert is a 7-byte plaintext record: ContentType alert(21), legacy version 3.1, length 2,
 * AlertLevel fatal(2), AlertDescription (RFC 8446 §6, RFC 5246 §7.2). Record version 0x0301 is what
 * every client accepts before a ServerHello has fixed the version (RFC 8446 §5.1).
 */
import { Outcome } from '../metrics/outcomes.ts'

const ALERT_RECORD = 21 // ContentType.alert
const ALERT_FATAL = 2 // AlertLevel.fatal

/** RFC 8446 §6.2 AlertDescription values we use */
export const AlertDescription = {
  HandshakeFailure: 40, // handshake_failure
  IllegalParameter: 47, // illegal_parameter
  AccessDenied: 49, // access_denied
  DecodeError: 50, // decode_error
  InternalError: 80, // internal_error
  UnrecognizedName: 112, // unrecognized_name (RFC 6066 §3)
} as const
export type AlertDescription = typeof AlertDescription[keyof typeof AlertDescription]

function buildAlert (description: AlertDescription): Buffer {
  return Buffer.from([ALERT_RECORD, 0x03, 0x01, 0x00, 0x02, ALERT_FATAL, description])
}

/**
 * Alert to send, by outcome; outcomes missing here close without an alert:
 * not_tls (the peer does not speak TLS), too_large and timeouts (sending more to an abusive or silent
 * client buys nothing), origin failures (RST-like close, as HAProxy and nginx do).
 */
const ALERTS = new Map<Outcome, Buffer>([
  // RFC 6066 §3: "the server ... MAY ... send an unrecognized_name(112) alert"
  [Outcome.NoRoute, buildAlert(AlertDescription.UnrecognizedName)],
  [Outcome.NoSni, buildAlert(AlertDescription.UnrecognizedName)],
  // RFC 8446 §6.2: decode_error — "A message could not be decoded because some field was out of range
  // or the length of the message was incorrect"
  [Outcome.Malformed, buildAlert(AlertDescription.DecodeError)],
  // RFC 8446 §6.2: access_denied — "A valid certificate or PSK was received, but when access control was
  // applied, the sender decided not to proceed with negotiation"; the one alert that names a policy refusal
  [Outcome.Denied, buildAlert(AlertDescription.AccessDenied)],
])

/** The alert record for an outcome, or null to close silently. Returned buffers are shared: never mutate. */
export function alertFor (outcome: Outcome): Buffer | null {
  return ALERTS.get(outcome) ?? null
}

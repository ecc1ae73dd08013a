/**
 * Webhook signatures ([docs/PROTOCOL.md §HTTP]: "A webhook that the service calls carries an HMAC-SHA256
 * signature of its body in a header, with a shared secret"). The body carries its own
 * `sentAt` and delivery id, so the signature covers them too: a receiver rejects a body it
 * has seen (same id) or one sent long ago.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

/** `sha256=<hex HMAC-SHA256 of the raw body>` */
export const SIGNATURE_HEADER = 'X-Firecircle-Signature'
/** ISO 8601 time the attempt was made (also `sentAt` in the body). */
export const TIMESTAMP_HEADER = 'X-Firecircle-Timestamp'
/** The notification id, the same on every retry: receivers de-duplicate by it. */
export const DELIVERY_HEADER = 'X-Firecircle-Delivery'
/** The purpose: responsible, escalation, fire_centre, warning… */
export const EVENT_HEADER = 'X-Firecircle-Event'

export function sign(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/** Constant-time check of a signature header against the body (for receivers and tests). */
export function verifySignature(body: string | Buffer, secret: string, header: string | undefined): boolean {
  if (header === undefined) return false
  const expected = Buffer.from(sign(body, secret))
  const given = Buffer.from(header.trim())
  return given.length === expected.length && timingSafeEqual(given, expected)
}

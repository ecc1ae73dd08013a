/**
 * The hash chain of the audit log: each entry's hash is SHA-256 over the previous entry's hash
 * and the entry's canonical JSON (keys sorted at every depth, no spaces), so that a changed,
 * removed or inserted entry breaks every hash after it. The first entry's previous hash is 64
 * zeros.
 */
import { createHash } from 'node:crypto'
import type { AuditEntry, AuditRecord } from './types.ts'

export const GENESIS = '0'.repeat(64)

/** JSON with object keys sorted at every depth; `undefined` members left out. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value))
    return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`
  const obj = value as Record<string, unknown>
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`
}

/** What the hash covers: the entry without its hashes. */
export function hashOf(prevHash: string, e: AuditRecord & { seq: number }): string {
  const body = canonicalJson({
    seq: e.seq,
    at: e.at,
    actor: e.actor,
    action: e.action,
    subject: e.subject,
    details: e.details,
  })
  return createHash('sha256').update(prevHash).update(body).digest('hex')
}

export interface Verification {
  ok: boolean
  entries: number
  firstBroken?: { seq: number; reason: string; expectedHash?: string; storedHash: string }
}

/** Walk the entries in seq order and name the first whose link or hash does not hold. */
export function verifyChain(entries: Iterable<AuditEntry>): Verification {
  let prev = GENESIS
  let expectedSeq: number | undefined
  let n = 0
  for (const e of entries) {
    n++
    if (expectedSeq !== undefined && e.seq !== expectedSeq)
      return {
        ok: false,
        entries: n,
        firstBroken: {
          seq: e.seq,
          reason: `expected seq ${expectedSeq}: an entry is missing`,
          storedHash: e.hash,
        },
      }
    if (e.prevHash !== prev)
      return {
        ok: false,
        entries: n,
        firstBroken: { seq: e.seq, reason: 'prevHash is not the previous entry’s hash', storedHash: e.hash },
      }
    const h = hashOf(prev, e)
    if (h !== e.hash)
      return {
        ok: false,
        entries: n,
        firstBroken: {
          seq: e.seq,
          reason: 'the entry does not hash to its stored hash: it was changed',
          expectedHash: h,
          storedHash: e.hash,
        },
      }
    prev = e.hash
    expectedSeq = e.seq + 1
  }
  return { ok: true, entries: n }
}

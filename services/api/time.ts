/** Times in query strings: ms since the epoch or ISO 8601 with a zone. */
import { invalidInput } from '../shared/index.ts'

/** 9999-12-31T23:59:59.999Z */
const MAX_MS = 253_402_300_799_999
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i

/**
 * A time query parameter as ms: digits are ms since the epoch; otherwise ISO 8601. A date
 * alone means midnight UTC; a date and time must say its zone (`Z` or `+08:00`), since the
 * server's zone is no business of the caller's.
 */
export function parseTime(raw: string, name: string): number {
  const text = raw.trim()
  if (/^\d{1,16}$/.test(text)) {
    const ms = Number(text)
    if (ms > MAX_MS) throw invalidInput(`${name} ${text} ms is after the year 9999`)
    return ms
  }
  const m = ISO_8601.exec(text)
  if (m === null)
    throw invalidInput(`${name} must be ISO 8601 (2024-05-01T08:00:00Z) or ms since the epoch, not "${raw}"`)
  if (text.length > 10 && m[1] === undefined) {
    throw invalidInput(`${name} "${raw}" has no time zone: add Z or an offset such as +08:00`)
  }
  const ms = Date.parse(text.replace(' ', 'T'))
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_MS)
    throw invalidInput(`${name} "${raw}" is not a time this store holds`)
  return ms
}

/**
 * When a maintenance window is open (services/maintenance/windows.ts): wall-clock times in the
 * district's time zone, across daylight saving changes (America/New_York, Europe/Berlin) and
 * without them (Asia/Shanghai), past midnight, and on the last day of a short month.
 */
import { describe, expect, it } from 'vitest'
import { nextSpan, openSpan } from '../../services/maintenance/index.ts'

const at = (s: string) => Date.parse(s)
const span = (s: { from: number; until: number } | undefined) =>
  s === undefined ? undefined : [new Date(s.from).toISOString(), new Date(s.until).toISOString()]

describe('maintenance window occurrences', () => {
  it('Shanghai (no DST): Sunday 02:00 local is Saturday 18:00 UTC', () => {
    const w = { weekday: 7, start: '02:00', minutes: 60 }
    expect(span(openSpan(w, at('2026-11-28T18:30:00Z'), 'Asia/Shanghai'))).toEqual([
      '2026-11-28T18:00:00.000Z',
      '2026-11-28T19:00:00.000Z',
    ])
    expect(openSpan(w, at('2026-11-28T19:00:00Z'), 'Asia/Shanghai')).toBeUndefined()
    expect(openSpan(w, at('2026-11-28T17:59:59Z'), 'Asia/Shanghai')).toBeUndefined()
  })

  it('New York: the same local 09:00 is 14:00 UTC in winter and 13:00 UTC in summer', () => {
    const w = { weekday: 1, start: '09:00', minutes: 30 }
    expect(span(nextSpan(w, at('2026-03-01T00:00:00Z'), 'America/New_York'))?.[0]).toBe(
      '2026-03-02T14:00:00.000Z',
    )
    expect(span(nextSpan(w, at('2026-03-10T00:00:00Z'), 'America/New_York'))?.[0]).toBe(
      '2026-03-16T13:00:00.000Z',
    )
  })

  it('a window on the spring-forward night keeps its length; one across midnight is open after it', () => {
    // 2026-03-29 02:00 does not exist in Berlin: the window starts after the gap (03:00 CEST).
    const w = { weekday: 7, start: '02:30', minutes: 60 }
    const s = nextSpan(w, at('2026-03-28T12:00:00Z'), 'Europe/Berlin')!
    expect(s.until - s.from).toBe(3600_000)
    expect(new Date(s.from).toISOString()).toBe('2026-03-29T01:30:00.000Z')
    const night = { weekday: 6, start: '23:30', minutes: 90 }
    expect(openSpan(night, at('2026-11-28T16:30:00Z'), 'Asia/Shanghai')).toBeDefined() // Sun 00:30 local
    expect(openSpan(night, at('2026-11-28T17:00:00Z'), 'Asia/Shanghai')).toBeUndefined()
  })

  it('dayOfMonth 31 falls on the last day of a shorter month', () => {
    const w = { dayOfMonth: 31, start: '10:00', minutes: 60 }
    expect(span(nextSpan(w, at('2027-02-01T00:00:00Z'), 'Asia/Shanghai'))?.[0]).toBe(
      '2027-02-28T02:00:00.000Z',
    )
  })
})

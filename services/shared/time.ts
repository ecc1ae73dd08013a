/** Times as the service shows them: ISO 8601 in UTC (`2026-12-01T08:00:00.000Z`). */

/** The ISO 8601 form of ms since the epoch; `undefined` stays `undefined` (optional fields). */
export function iso(ms: number): string
export function iso(ms: number | undefined): string | undefined
export function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString()
}

/** A wall-clock date and time in a time zone (month 1–12, weekday 1 = Monday … 7 = Sunday). */
export interface LocalTime {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  weekday: number
}

const formats = new Map<string, Intl.DateTimeFormat>()
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 }

/** The wall-clock time at `ms` in the IANA `timeZone` (daylight saving time as Intl knows it). */
export function localTimeIn(ms: number, timeZone: string): LocalTime {
  let f = formats.get(timeZone)
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    })
    formats.set(timeZone, f)
  }
  const p: Record<string, string> = {}
  for (const x of f.formatToParts(ms)) p[x.type] = x.value
  return {
    year: Number(p.year),
    month: Number(p.month),
    day: Number(p.day),
    hour: Number(p.hour),
    minute: Number(p.minute),
    weekday: WEEKDAYS[p.weekday ?? ''] ?? 0,
  }
}

/** The zone's offset from UTC at `ms`, in ms (Shanghai: +8 h). */
function offsetAt(ms: number, timeZone: string): number {
  const t = localTimeIn(ms, timeZone)
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute)
  return asUtc - (ms - (((ms % 60_000) + 60_000) % 60_000))
}

/**
 * The instant a wall-clock time happens in `timeZone`. A time skipped by a spring-forward
 * change lands after the gap; one repeated in autumn is its first occurrence.
 */
export function msOfLocalTime(
  t: { year: number; month: number; day: number; hour: number; minute: number },
  timeZone: string,
): number {
  const guess = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute)
  const first = guess - offsetAt(guess, timeZone)
  const o2 = offsetAt(first, timeZone)
  if (guess - o2 === first) return first
  const second = guess - o2
  const s = localTimeIn(second, timeZone)
  // Inside a spring-forward gap neither matches: the instant after the gap (`first`).
  return s.hour === t.hour && s.minute === t.minute ? second : Math.max(first, second)
}

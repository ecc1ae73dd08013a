/**
 * Days and months in the district's time zone (FC_TIME_ZONE): a report's `date=YYYY-MM-DD` or
 * `month=YYYY-MM` is the span [from, to) between two local midnights, whatever the offset.
 */

/** The zone's offset from UTC at `at` (ms; east positive). */
function offsetAt(at: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(at))
  const n = (t: string) => Number(parts.find((p) => p.type === t)?.value)
  const local = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'))
  return local - Math.floor(at / 1000) * 1000
}

/** The instant of local midnight starting y-m-d (m 1-based; a day or month past the end rolls over). */
export function localMidnight(y: number, m: number, d: number, timeZone: string): number {
  const guess = Date.UTC(y, m - 1, d)
  const first = guess - offsetAt(guess, timeZone)
  return guess - offsetAt(first, timeZone)
}

export interface Period {
  from: number
  to: number
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const MONTH = /^(\d{4})-(\d{2})$/

/** `YYYY-MM-DD` as a local day, or an error naming what is wrong. */
export function dayOf(date: string, timeZone: string): Period | { error: string } {
  const m = DATE.exec(date)
  const bad = { error: `date ${JSON.stringify(date)} is not a calendar day (YYYY-MM-DD)` }
  if (m === null) return bad
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const check = new Date(Date.UTC(y, mo - 1, d))
  if (mo < 1 || mo > 12 || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return bad
  return { from: localMidnight(y, mo, d, timeZone), to: localMidnight(y, mo, d + 1, timeZone) }
}

/** `YYYY-MM` as a local month, or an error naming what is wrong. */
export function monthOf(month: string, timeZone: string): Period | { error: string } {
  const m = MONTH.exec(month)
  const mo = Number(m?.[2])
  if (m === null || mo < 1 || mo > 12)
    return { error: `month ${JSON.stringify(month)} is not a month (YYYY-MM)` }
  const y = Number(m[1])
  return { from: localMidnight(y, mo, 1, timeZone), to: localMidnight(y, mo + 1, 1, timeZone) }
}

/** The local date (YYYY-MM-DD) of an instant. */
export function localDate(at: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(at))
}

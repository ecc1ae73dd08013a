/**
 * The handling clocks of one incident as spans (a start, a stop, whether it still runs), and
 * the breaches they make: a clock past its limit is a breach when it happens — while it still
 * runs (not shown within 20 s is a breach at 20 s) — and its `tookS` is set once it stops.
 */
import { type ClockBreach, type Incident, isOpen, type LimitedClock } from '../alarms/index.ts'
import type { ClockLimits } from './types.ts'

export interface Span {
  clock: LimitedClock
  limitS: number
  start?: number
  stop?: number
  /** The clock may still stop (false: the incident went where the clock no longer applies). */
  running: boolean
}

export function spansOf(i: Incident, limits: ClockLimits, fireCentre: boolean): Span[] {
  const open = isOpen(i.status)
  const c = i.clocks ?? {}
  // The officer handled the alarm: acknowledged, or confirmed / declared false at once.
  const handled = i.acknowledgedAt ?? i.confirmedAt ?? i.falseAlarmAt
  const investigated = i.confirmedAt ?? i.falseAlarmAt
  const span = (
    clock: LimitedClock,
    limitS: number,
    start?: number,
    stop?: number,
    running = open,
  ): Span => ({
    clock,
    limitS,
    ...(start !== undefined ? { start } : {}),
    ...(stop !== undefined ? { stop } : {}),
    running,
  })
  return [
    span('shown', limits.shownS, i.openedAt, c.shown),
    span('acknowledged', limits.acknowledgeS, i.alarmAt, handled, i.status === 'alarm'),
    span('confirmed', limits.confirmS, i.acknowledgedAt, investigated, i.status === 'acknowledged'),
    span(
      'fire_centre_acked',
      limits.fireCentreS,
      fireCentre ? i.confirmedAt : undefined,
      c.fire_centre_acked,
      true,
    ),
    span('first_offer', limits.firstOfferS, i.alarmAt, c.first_offer),
    span('first_on_scene', limits.onSceneS, i.alarmAt, c.first_on_scene),
  ]
}

const seconds = (ms: number) => Math.round(ms) / 1000

/** The breaches as of `now`, the ones named now, and whether anything changed. */
export function breachesOf(
  i: Incident,
  spans: Span[],
  now: number,
): { breaches: ClockBreach[]; added: ClockBreach[]; changed: boolean } {
  const breaches = (i.breaches ?? []).map((b) => ({ ...b }))
  const added: ClockBreach[] = []
  let changed = false
  for (const s of spans) {
    if (s.start === undefined) continue
    const existing = breaches.find((b) => b.clock === s.clock)
    if (s.stop !== undefined) {
      const took = seconds(s.stop - s.start)
      if (took <= s.limitS) continue
      if (existing === undefined) {
        const b = { clock: s.clock, limitS: s.limitS, tookS: took, at: now, stopped: true }
        breaches.push(b)
        added.push(b)
        changed = true
      } else if (existing.tookS !== took || !existing.stopped) {
        existing.tookS = took
        existing.stopped = true
        changed = true
      }
    } else if (s.running && now - s.start >= s.limitS * 1000) {
      const took = seconds(now - s.start)
      if (existing === undefined) {
        const b = { clock: s.clock, limitS: s.limitS, tookS: took, at: now, stopped: false }
        breaches.push(b)
        added.push(b)
        changed = true
      }
    } else if (!s.running && existing !== undefined && !existing.stopped) {
      existing.stopped = true
      changed = true
    }
  }
  return { breaches, added, changed }
}

/** When the next running clock reaches its limit (undefined: none will). */
export function nextLimit(i: Incident, spans: Span[]): number | undefined {
  let next: number | undefined
  for (const s of spans) {
    if (s.start === undefined || s.stop !== undefined || !s.running) continue
    if (i.breaches?.some((b) => b.clock === s.clock)) continue
    const at = s.start + s.limitS * 1000
    if (next === undefined || at < next) next = at
  }
  return next
}

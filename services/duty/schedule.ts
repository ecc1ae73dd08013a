/**
 * Random duty checks (FC_DUTY_CHECKS_PER_DAY within FC_DUTY_CHECK_HOURS, in FC_TIME_ZONE):
 * each local day gets its times drawn at random inside the hours, each check to a community
 * drawn at random; the next day is drawn at its local midnight. All on the injected clock.
 * The draw is seeded by the day, and a check's id is its day and number: every node of a
 * cluster draws the same checks, and the first node to write one sends it.
 */
import type { Clock, Timer } from '../shared/index.ts'
import type { DutySettings } from './types.ts'

/** The time zone's offset from UTC at `ms`, in ms (local = UTC + offset). */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(ms)
  const n = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0)
  const local = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'))
  return local - Math.floor(ms / 1000) * 1000
}

/** The UTC instant of the local midnight that starts the day holding `ms`. */
export function localMidnight(ms: number, timeZone: string): number {
  const offset = zoneOffsetMs(ms, timeZone)
  const local = ms + offset
  return local - (((local % 86_400_000) + 86_400_000) % 86_400_000) - offset
}

/** A small seeded generator (mulberry32): the same numbers for the same seed on every node. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

export function armSchedule(deps: {
  clock: Clock
  settings: DutySettings
  /** Tests pass their own; by default seeded by the day. */
  random?: () => number
  communities: () => { id: string }[]
  send: (community: string, id: string) => void
}): () => void {
  const { clock, settings } = deps
  if (settings.checksPerDay <= 0) return () => {}
  const timers: Timer[] = []
  let stopped = false
  const fire = (pickAt: number, id: string) => {
    const all = [...deps.communities()].sort((x, y) => (x.id < y.id ? -1 : 1))
    if (all.length === 0 || stopped) return
    const pick = all[Math.min(all.length - 1, Math.floor(pickAt * all.length))]
    if (pick !== undefined) deps.send(pick.id, id)
  }
  const planDay = (midnight: number) => {
    if (stopped) return
    timers.length = 0
    const random = deps.random ?? seeded(Math.floor(midnight / 60_000))
    const local = new Date(midnight + zoneOffsetMs(midnight + 3600_000, settings.timeZone))
    const day = local.toISOString().slice(0, 10).replace(/-/g, '')
    const from = midnight + settings.hours.fromMin * 60_000
    const to = midnight + settings.hours.toMin * 60_000
    for (let i = 0; i < settings.checksPerDay; i++) {
      const at = from + Math.floor(random() * (to - from))
      const pickAt = random()
      const id = `dc-s${day}-${i + 1}`
      if (at > clock.now()) timers.push(clock.at(at, () => fire(pickAt, id)))
    }
    const next = localMidnight(midnight + 36 * 3600_000, settings.timeZone)
    timers.push(clock.at(next, () => planDay(next)))
  }
  planDay(localMidnight(clock.now(), settings.timeZone))
  return () => {
    stopped = true
    for (const t of timers) t.cancel()
  }
}

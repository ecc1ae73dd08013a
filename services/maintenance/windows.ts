/**
 * Scheduled maintenance windows ([docs/DOMAIN.md §Running a monitoring centre] "tests must not
 * become fires"): a building's weekly or monthly slot (the monthly walk test) during which its
 * devices — or only the listed ones — are in test mode. Times are wall-clock times in the
 * district's time zone (FC_TIME_ZONE), daylight saving time included; whether a window is open
 * is computed on the clock at every question, so it opens and ends by itself.
 */
import { randomBytes } from 'node:crypto'
import type { Building } from '../registry/index.ts'
import { type Clock, type Logger, localTimeIn, msOfLocalTime } from '../shared/index.ts'
import type { MaintenanceWindowRepository } from './repository.ts'

export const WINDOW_MAX_MINUTES = 480
const DAY_MS = 24 * 3600_000

/** A building's recurring slot: weekly (`weekday`, 1 = Monday … 7 = Sunday) or monthly (`dayOfMonth`). */
export interface MaintenanceWindow {
  id: string
  building: string
  community: string
  weekday?: number
  /** 1–31; in a shorter month, its last day. */
  dayOfMonth?: number
  /** Local `HH:MM`. */
  start: string
  minutes: number
  /** Only these devices of the building (all of them when absent). */
  devices?: string[]
  createdAt: number
  actor: string
}

export type WindowSchedule = Pick<MaintenanceWindow, 'weekday' | 'dayOfMonth' | 'start' | 'minutes'>

interface Span {
  from: number
  until: number
}

/** The calendar date `k` days after (y, m, d), with its ISO weekday. */
function dateAfter(y: number, m: number, d: number, k: number) {
  const t = new Date(Date.UTC(y, m - 1, d + k))
  return {
    year: t.getUTCFullYear(),
    month: t.getUTCMonth() + 1,
    day: t.getUTCDate(),
    weekday: t.getUTCDay() === 0 ? 7 : t.getUTCDay(),
  }
}

const daysIn = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate()

function fallsOn(w: WindowSchedule, date: ReturnType<typeof dateAfter>): boolean {
  if (w.weekday !== undefined) return date.weekday === w.weekday
  if (w.dayOfMonth !== undefined) return date.day === Math.min(w.dayOfMonth, daysIn(date.year, date.month))
  return false
}

/** The window's occurrences that begin on the local days from `fromDay` to `toDay` after today. */
function occurrences(
  w: WindowSchedule,
  now: number,
  timeZone: string,
  fromDay: number,
  toDay: number,
): Span[] {
  const today = localTimeIn(now, timeZone)
  const [hour, minute] = w.start.split(':').map(Number) as [number, number]
  const out: Span[] = []
  for (let k = fromDay; k <= toDay; k++) {
    const date = dateAfter(today.year, today.month, today.day, k)
    if (!fallsOn(w, date)) continue
    const from = msOfLocalTime({ ...date, hour, minute }, timeZone)
    out.push({ from, until: from + w.minutes * 60_000 })
  }
  return out
}

/** The occurrence open at `now`, if any (one that began the day before and runs past midnight too). */
export function openSpan(w: WindowSchedule, now: number, timeZone: string): Span | undefined {
  const back = -Math.ceil((w.minutes * 60_000) / DAY_MS)
  return occurrences(w, now, timeZone, back, 0).find((s) => s.from <= now && now < s.until)
}

/** The open occurrence, or else the next one (within two months). */
export function nextSpan(w: WindowSchedule, now: number, timeZone: string): Span | undefined {
  return openSpan(w, now, timeZone) ?? occurrences(w, now, timeZone, 0, 62).find((s) => s.from > now)
}

export interface MaintenanceWindows {
  start(): Promise<void>
  list(building: string): MaintenanceWindow[]
  add(
    building: Building,
    schedule: WindowSchedule & { devices?: string[] },
    actor: string,
  ): Promise<MaintenanceWindow>
  /** False when the building has no such window. */
  remove(building: Building, id: string): Promise<boolean>
  /** The end of the window the device is in now, if any. */
  openUntil(device: string, building: string): number | undefined
  readonly timeZone: string
}

export function createMaintenanceWindows(deps: {
  clock: Clock
  timeZone: string
  repository: MaintenanceWindowRepository
  logger: Logger
}): MaintenanceWindows {
  const { clock, timeZone, repository, logger } = deps
  const byBuilding = new Map<string, MaintenanceWindow[]>()
  const keep = (w: MaintenanceWindow) =>
    byBuilding.set(w.building, [...(byBuilding.get(w.building) ?? []), w])

  return {
    timeZone,
    async start() {
      byBuilding.clear()
      for (const w of await repository.all()) keep(w)
    },
    list: (building) => byBuilding.get(building) ?? [],
    async add(building, schedule, actor) {
      const now = clock.now()
      const w: MaintenanceWindow = {
        id: `mw-${now.toString(36)}-${randomBytes(3).toString('hex')}`,
        building: building.id,
        community: building.community,
        ...(schedule.weekday !== undefined ? { weekday: schedule.weekday } : {}),
        ...(schedule.dayOfMonth !== undefined ? { dayOfMonth: schedule.dayOfMonth } : {}),
        start: schedule.start,
        minutes: schedule.minutes,
        ...(schedule.devices !== undefined ? { devices: [...new Set(schedule.devices)] } : {}),
        createdAt: now,
        actor,
      }
      await repository.put(w)
      keep(w)
      logger.info({ building: w.building, window: w.id, actor }, 'maintenance window scheduled')
      return w
    },
    async remove(building, id) {
      const list = byBuilding.get(building.id) ?? []
      if (!list.some((w) => w.id === id)) return false
      await repository.remove(id, building.community)
      byBuilding.set(
        building.id,
        list.filter((w) => w.id !== id),
      )
      return true
    },
    openUntil(device, building) {
      let until: number | undefined
      const now = clock.now()
      for (const w of byBuilding.get(building) ?? []) {
        if (w.devices !== undefined && !w.devices.includes(device)) continue
        const s = openSpan(w, now, timeZone)
        if (s !== undefined && (until === undefined || s.until > until)) until = s.until
      }
      return until
    },
  }
}

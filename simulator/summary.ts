/**
 * The end-of-run summary, from the service's own state (GET /api/incidents and each alarm
 * incident's record) and what the simulated responders saw:
 *
 * - incidents opened during the run in the district's buildings, by status;
 * - alarms: those that reached `alarm`; false alarms cancelled by verification;
 * - time to first offer: alarm → the first offer, from the incident's `offers` (or
 *   `responders`) in the API when the service records them, else from the first offer a
 *   simulated app received;
 * - time to first on scene: alarm → the first simulated responder on scene, at real speed
 *   (the travel of a run with --speedup is scaled back);
 * - share within 5 minutes: of the alarms, those with a responder on scene within 300 s.
 *
 * `summarise` is pure; `collectIncidents` does the I/O.
 */
import type { Api } from './http.ts'
import { type Journey, realArrivalS } from './responders.ts'
import type { ScenarioResult } from './scenarios.ts'

export interface ServiceIncident {
  id: string
  status: string
  cause?: string
  building?: string
  openedAt: string
  alarmAt?: string
  closedAt?: string
  resolution?: string
  /** What the dispatch stage records, when it does; read defensively. */
  offers?: unknown
  responders?: unknown
}

export interface IncidentLine {
  id: string
  building?: string
  status: string
  resolution?: string
  alarm: boolean
  firstOfferS?: number
  firstOnSceneS?: number
  offersFrom?: 'service' | 'simulator'
}

export interface Summary {
  incidents: number
  byStatus: Record<string, number>
  alarms: number
  cancelledByVerification: number
  /** Median over alarms that had an offer, seconds. */
  timeToFirstOfferS?: number
  timeToFirstOnSceneS?: number
  /** Of the alarms, the share with a responder on scene within 300 s (undefined: no alarms). */
  shareWithin5Min?: number
  offers: number
  onScene: number
  lines: IncidentLine[]
}

const ms = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso))

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1]! + s[m]!) / 2
}

/** Offer times the service recorded for an incident (ms), whatever the field's exact shape. */
export function serviceOfferTimes(i: ServiceIncident): number[] {
  const list = Array.isArray(i.offers) ? i.offers : Array.isArray(i.responders) ? i.responders : []
  const out: number[] = []
  for (const x of list) {
    if (typeof x !== 'object' || x === null) continue
    const o = x as Record<string, unknown>
    const t = o['offeredAt'] ?? o['offered_at'] ?? o['at']
    const v = typeof t === 'string' ? Date.parse(t) : typeof t === 'number' ? t : Number.NaN
    if (Number.isFinite(v)) out.push(v)
  }
  return out
}

export function summarise(
  incidents: readonly ServiceIncident[],
  journeys: readonly Journey[],
  speedup = 1,
): Summary {
  const byStatus: Record<string, number> = {}
  const lines: IncidentLine[] = []
  for (const i of incidents) {
    byStatus[i.status] = (byStatus[i.status] ?? 0) + 1
    const alarmAt = ms(i.alarmAt)
    const line: IncidentLine = { id: i.id, status: i.status, alarm: alarmAt !== undefined }
    if (i.building !== undefined) line.building = i.building
    if (i.resolution !== undefined) line.resolution = i.resolution
    if (alarmAt !== undefined) {
      const mine = journeys.filter((j) => j.incident === i.id)
      const fromService = serviceOfferTimes(i)
      const offers = fromService.length > 0 ? fromService : mine.map((j) => j.offeredAt)
      if (offers.length > 0) {
        line.firstOfferS = Math.max(0, (Math.min(...offers) - alarmAt) / 1000)
        line.offersFrom = fromService.length > 0 ? 'service' : 'simulator'
      }
      const arrivals = mine.flatMap((j) => {
        const real = realArrivalS(j, speedup)
        return real === undefined ? [] : [(j.offeredAt - alarmAt) / 1000 + real]
      })
      if (arrivals.length > 0) line.firstOnSceneS = Math.max(0, Math.min(...arrivals))
    }
    lines.push(line)
  }
  const alarms = lines.filter((l) => l.alarm)
  const offerTimes = alarms.flatMap((l) => (l.firstOfferS === undefined ? [] : [l.firstOfferS]))
  const sceneTimes = alarms.flatMap((l) => (l.firstOnSceneS === undefined ? [] : [l.firstOnSceneS]))
  const s: Summary = {
    incidents: incidents.length,
    byStatus,
    alarms: alarms.length,
    cancelledByVerification: incidents.filter((i) => i.resolution === 'verification_cancelled').length,
    offers: journeys.length,
    onScene: journeys.filter((j) => j.state === 'on_scene').length,
    lines,
  }
  const tOffer = median(offerTimes)
  const tScene = median(sceneTimes)
  if (tOffer !== undefined) s.timeToFirstOfferS = tOffer
  if (tScene !== undefined) s.timeToFirstOnSceneS = tScene
  if (alarms.length > 0) s.shareWithin5Min = sceneTimes.filter((t) => t <= 300).length / alarms.length
  return s
}

/**
 * The incidents opened since `since` (ms) in `buildings`, as the service has them; alarm
 * incidents with their full record (offers, when the service keeps them).
 */
export async function collectIncidents(
  api: Api,
  since: number,
  buildings: ReadonlySet<string>,
): Promise<ServiceIncident[]> {
  const out: ServiceIncident[] = []
  for (let offset = 0; ; offset += 1000) {
    const page = await api.get<{ items: ServiceIncident[]; total: number }>(
      `/api/incidents?limit=1000&offset=${offset}`,
    )
    for (const i of page.items) {
      if (Date.parse(i.openedAt) < since - 1000) continue
      if (i.building === undefined || !buildings.has(i.building)) continue
      out.push(i)
    }
    if (page.items.length < 1000 || offset + 1000 >= page.total) break
  }
  const full = await Promise.all(
    out.map(async (i) =>
      i.alarmAt === undefined
        ? i
        : await api.get<ServiceIncident>(`/api/incidents/${encodeURIComponent(i.id)}`),
    ),
  )
  return full.sort((a, b) => Date.parse(a.openedAt) - Date.parse(b.openedAt))
}

const secs = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(1)} s`)

export function formatSummary(
  s: Summary,
  scenarios: readonly ScenarioResult[],
  notes: readonly string[] = [],
): string[] {
  const out: string[] = ['', 'summary']
  for (const r of scenarios) out.push(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.scenario.padEnd(13)} ${r.outcome}`)
  const statuses = Object.entries(s.byStatus)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ')
  out.push(
    `  incidents                    ${s.incidents}${statuses ? ` (${statuses})` : ''}`,
    `  alarms                       ${s.alarms}`,
    `  false alarms cancelled       ${s.cancelledByVerification} (by verification)`,
    `  offers received              ${s.offers}`,
    `  time to first offer          ${secs(s.timeToFirstOfferS)}${s.alarms > 1 && s.timeToFirstOfferS !== undefined ? ' (median over alarms)' : ''}`,
    `  time to first on scene       ${secs(s.timeToFirstOnSceneS)}${s.alarms > 1 && s.timeToFirstOnSceneS !== undefined ? ' (median over alarms)' : ''}`,
    `  on scene within 5 minutes    ${s.shareWithin5Min === undefined ? 'n/a (no alarms)' : `${Math.round(s.shareWithin5Min * 100)} % of ${s.alarms} alarm${s.alarms === 1 ? '' : 's'}`}`,
  )
  for (const l of s.lines) {
    out.push(
      `    ${l.id}  ${l.building ?? ''}  ${l.status}${l.resolution ? `/${l.resolution}` : ''}${
        l.alarm
          ? `  offer ${secs(l.firstOfferS)}${l.offersFrom ? ` (${l.offersFrom})` : ''}  on scene ${secs(l.firstOnSceneS)}`
          : ''
      }`,
    )
  }
  for (const n of notes) out.push(`  note: ${n}`)
  return out
}

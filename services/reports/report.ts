/**
 * The daily and monthly report of a scope: what happened to the incidents opened in the period
 * (outcome, class, false alarms by cause and site, handling clocks, the 5-minute outcome), the
 * work orders, the devices, duty checks and responders. Figures come from the stored records;
 * a period that is over is kept once made (./repository.ts), so it reads the same every time.
 */
import { INCIDENT_STATUSES, type Incident, type IncidentBook, isOpen } from '../alarms/index.ts'
import type { WorkOrder } from '../maintenance/index.ts'
import type { Registry } from '../registry/index.ts'
import { iso } from '../shared/index.ts'
import type { Period } from './period.ts'
import { spansOf } from './spans.ts'
import type { ClockFigures, ClockLimits, DutyChecksIn, Report, ReportClock, ReportScope } from './types.ts'

export interface ReportDeps {
  incidents: Pick<IncidentBook, 'list'>
  registry: Pick<Registry, 'communities' | 'allDevices' | 'allResponders'>
  liveness: { get(device: string): { online: boolean } | undefined }
  /** Work orders of a place (community or street; none: the district). */
  workOrders: (filter: { community?: string; street?: string }) => Promise<WorkOrder[]>
  /** The offers made for an incident and their states (dispatch). */
  offersOf: (incident: string) => Promise<{ state: string }[]>
  dutyChecksIn: DutyChecksIn
  limits: ClockLimits
  fireCentre: boolean
  timeZone: string
}

export const REPORT_CLOCKS: readonly ReportClock[] = [
  'shown',
  'acknowledged',
  'confirmed',
  'fire_centre_acked',
  'first_offer',
  'first_accept',
  'first_on_scene',
]

const ACCEPTED = new Set(['accepted', 'en_route', 'on_scene'])
const DONE = new Set(['done', 'verified'])

function placeFilter(scope: ReportScope): { community?: string; street?: string } {
  if (scope.kind === 'community') return { community: scope.id! }
  if (scope.kind === 'street') return { street: scope.id! }
  return {}
}

function inScope(scope: ReportScope, place: { community?: string; street?: string }): boolean {
  if (scope.kind === 'community') return place.community === scope.id
  if (scope.kind === 'street') return place.street === scope.id
  return true
}

const bump = (r: Record<string, number>, k: string) => {
  r[k] = (r[k] ?? 0) + 1
}

/** Nearest-rank percentile of sorted seconds. */
function percentile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!
}

function outcomeOf(i: Incident): string {
  if (isOpen(i.status)) return 'open'
  if (i.resolution === 'verification_cancelled') return 'verification_cancelled'
  if (i.falseAlarmAt !== undefined) return 'false_alarm'
  if (i.confirmedAt !== undefined) return 'fire'
  return 'unconfirmed'
}

function clockFigures(items: Incident[], deps: ReportDeps): Record<ReportClock, ClockFigures> {
  const took = new Map<ReportClock, number[]>(REPORT_CLOCKS.map((c) => [c, []]))
  const breaches = new Map<string, number>()
  const limitOf = new Map<ReportClock, number | null>([['first_accept', null]])
  for (const i of items) {
    for (const s of spansOf(i, deps.limits, deps.fireCentre)) {
      limitOf.set(s.clock, s.limitS)
      if (s.start !== undefined && s.stop !== undefined) took.get(s.clock)!.push((s.stop - s.start) / 1000)
    }
    const accept = i.clocks?.first_accept
    if (i.alarmAt !== undefined && accept !== undefined)
      took.get('first_accept')!.push((accept - i.alarmAt) / 1000)
    for (const b of i.breaches ?? []) breaches.set(b.clock, (breaches.get(b.clock) ?? 0) + 1)
  }
  const out = {} as Record<ReportClock, ClockFigures>
  for (const c of REPORT_CLOCKS) {
    const s = took.get(c)!.sort((a, b) => a - b)
    out[c] = {
      count: s.length,
      p50S: percentile(s, 0.5),
      p90S: percentile(s, 0.9),
      maxS: s.length ? s[s.length - 1]! : null,
      limitS: limitOf.get(c) ?? null,
      breaches: breaches.get(c) ?? 0,
    }
  }
  return out
}

function incidentFigures(items: Incident[]) {
  const byStatus: Record<string, number> = Object.fromEntries(INCIDENT_STATUSES.map((s) => [s, 0]))
  const byOutcome: Record<string, number> = {}
  const byClass: Record<string, number> = {}
  const falseAlarms = {
    total: 0,
    cancelledByVerification: 0,
    byCause: {} as Record<string, number>,
    bySite: {} as Record<string, number>,
  }
  const breaches = { total: 0, byClock: {} as Record<string, number> }
  for (const i of items) {
    bump(byStatus, i.status)
    const outcome = outcomeOf(i)
    bump(byOutcome, outcome)
    const first = i.devices[0]?.conditions[0] ?? i.cause
    bump(byClass, first)
    // A false alarm is an officer's call or a verification that cancelled (docs/DOMAIN.md).
    if (outcome === 'false_alarm' || outcome === 'verification_cancelled') {
      falseAlarms.total++
      if (outcome === 'verification_cancelled') falseAlarms.cancelledByVerification++
      bump(falseAlarms.byCause, first)
      bump(falseAlarms.bySite, i.building ?? 'unknown')
    }
    for (const b of i.breaches ?? []) {
      breaches.total++
      bump(breaches.byClock, b.clock)
    }
  }
  return { incidents: { total: items.length, byStatus, byOutcome, byClass }, falseAlarms, breaches }
}

/** Opened, verified, and overdue (its deadline fell in the period and it was not done by then). */
function workOrderFigures(orders: WorkOrder[], period: Period) {
  const within = (t: number) => t >= period.from && t < period.to
  let opened = 0
  let verified = 0
  let overdue = 0
  for (const o of orders) {
    if (within(o.openedAt)) opened++
    if (o.history.some((h) => h.status === 'verified' && within(h.at))) verified++
    if (within(o.due) && !o.history.some((h) => DONE.has(h.status) && h.at <= o.due)) overdue++
  }
  return { opened, verified, overdue }
}

function deviceFigures(deps: ReportDeps, scope: ReportScope) {
  const devices = { total: 0, offline: 0, neverSeen: 0 }
  for (const d of deps.registry.allDevices()) {
    if (!inScope(scope, d)) continue
    devices.total++
    const state = deps.liveness.get(d.id)
    if (state === undefined) devices.neverSeen++
    else if (!state.online) devices.offline++
  }
  return devices
}

async function responderFigures(deps: ReportDeps, scope: ReportScope, items: Incident[]) {
  let onDuty = 0
  for (const r of deps.registry.allResponders()) if (r.enabled && r.onDuty && inScope(scope, r)) onDuty++
  let offered = 0
  let accepted = 0
  for (const i of items) {
    const offers = await deps.offersOf(i.id)
    offered += offers.length
    accepted += offers.filter((o) => ACCEPTED.has(o.state)).length
  }
  return { onDuty, offered, accepted }
}

function fiveMinute(items: Incident[]) {
  const alarms = items.filter((i) => i.alarmAt !== undefined)
  const reached = alarms.filter((i) => {
    const at = i.clocks?.first_on_scene
    return at !== undefined && at - i.alarmAt! <= 300_000
  }).length
  return {
    alarms: alarms.length,
    reachedWithin300s: reached,
    share: alarms.length ? Math.round((reached / alarms.length) * 1000) / 1000 : null,
  }
}

export async function makeReport(
  deps: ReportDeps,
  what: { scope: string; parsed: ReportScope; period: Period; daily: boolean; label: string; now: number },
): Promise<Report> {
  const { parsed, period } = what
  const filter = placeFilter(parsed)
  const { items } = await deps.incidents.list(
    { ...filter, openedFrom: period.from, openedBefore: period.to },
    { limit: 1_000_000, offset: 0 },
  )
  items.sort((a, b) => a.openedAt - b.openedAt || a.id.localeCompare(b.id))
  const figures = incidentFigures(items)
  return {
    scope: what.scope,
    period: what.daily ? 'daily' : 'monthly',
    ...(what.daily ? { date: what.label } : { month: what.label }),
    timeZone: deps.timeZone,
    from: iso(period.from)!,
    to: iso(period.to)!,
    generatedAt: iso(what.now)!,
    final: what.now >= period.to,
    incidents: figures.incidents,
    falseAlarms: figures.falseAlarms,
    clocks: clockFigures(items, deps),
    breaches: figures.breaches,
    workOrders: workOrderFigures(await deps.workOrders(filter), period),
    devices: deviceFigures(deps, parsed),
    dutyChecks: await deps.dutyChecksIn(parsed, period.from, period.to),
    responders: await responderFigures(deps, parsed, items),
    fiveMinute: fiveMinute(items),
  }
}

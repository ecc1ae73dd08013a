/**
 * Incidents from alarm-level conditions: open one for the building or join the open one,
 * promote a verifying incident (coincidence, multi-criteria, the window's end), cancel the
 * verification when the candidate clears. Every event is emitted after the write.
 */
import client, { type Counter, type Registry as Metrics } from 'prom-client'
import type { DevicePlace } from '../intake/index.ts'
import type { Registry } from '../registry/index.ts'
import type { EventBus, Logger } from '../shared/index.ts'
import type { Spool } from '../spool/index.ts'
import type { AlarmEvents, IncidentChangeType } from './events.ts'
import type { Incident, IncidentBook, IncidentDevice, TimelineEntry } from './incidents.ts'
import { CONDITIONS, type ConditionChange, type ConditionType } from './types.ts'
import type { Verifications } from './verification.ts'

export interface IncidentFlowDeps {
  events: Pick<EventBus<AlarmEvents>, 'emit'>
  registry: Pick<Registry, 'device' | 'building'>
  incidents: Pick<IncidentBook, 'open' | 'update' | 'transition' | 'openForBuilding' | 'getOpen'>
  spool: Pick<Spool, 'append'>
  logger: Logger
  metrics: Metrics
  verifications: Pick<Verifications, 'schedule' | 'cancel' | 'recentCandidate'>
  /** The device's effective rules (thresholds, windows). */
  rulesOf(device: string): Record<string, number>
  /** Other alarm-level conditions active on the device (multi-criteria). */
  backingOf(device: string, type: ConditionType): ConditionType[]
}

export interface IncidentFlow {
  /** An alarm-level condition started: the incident it opened or joined. */
  raised(place: DevicePlace, c: ConditionChange, now: number): Promise<string>
  /** An alarm-level condition cleared: the open incident of its building, if any. */
  cleared(place: DevicePlace, c: ConditionChange, now: number): Promise<string | undefined>
  /** A verifying incident's window ended. */
  deadline(i: Incident): Promise<void>
  emit(change: IncidentChangeType, incident: Incident, entry: TimelineEntry): void
}

export function describe(c: ConditionChange): string {
  const v = c.value !== undefined ? ` ${round(c.value)}` : ''
  const t = c.threshold !== undefined ? ` (threshold ${round(c.threshold)})` : ''
  return `${c.type}${v}${t}`
}

function round(x: number): number {
  return Math.round(x * 100) / 100
}

function deviceEntry(i: Incident, place: DevicePlace, condition: ConditionType, at: number): void {
  let d: IncidentDevice | undefined = i.devices.find((x) => x.device === place.device)
  if (d === undefined) {
    d = { device: place.device, kind: place.kind, conditions: [], firstAt: at, lastAt: at }
    i.devices.push(d)
  }
  if (!d.conditions.includes(condition)) d.conditions.push(condition)
  d.lastAt = at
  if (condition !== 'gas') i.cause = 'fire'
}

/** A new incident for the building: verifying (smoke alone), or alarm (coincidence, backed, any other). */
async function openIncident(deps: IncidentFlowDeps, place: DevicePlace, c: ConditionChange, now: number) {
  const { registry, incidents, verifications } = deps
  const location = registry.device(place.device)?.location ??
    registry.building(place.building)?.location ?? [0, 0]
  const rules = deps.rulesOf(place.device)
  const spec = CONDITIONS[c.type]
  const backing = deps.backingOf(place.device, c.type)
  const backed = spec.needsVerification && backing.length > 0
  const base = {
    cause: c.type === 'gas' ? ('gas' as const) : ('fire' as const),
    building: place.building,
    community: place.community,
    street: place.street,
    location,
    openedAt: now,
    devices: [{ device: place.device, kind: place.kind, conditions: [c.type], firstAt: now, lastAt: now }],
  }
  const start = async (
    init: Parameters<IncidentBook['open']>[0],
    status: Incident['status'],
    reason: string,
  ) => {
    const entry: TimelineEntry = {
      at: now,
      type: 'opened',
      status,
      actor: `device:${place.device}`,
      reason,
      device: place.device,
      condition: c.type,
      ...(c.value !== undefined ? { value: c.value } : {}),
    }
    return { incident: await incidents.open(init, entry), entry }
  }
  if (spec.needsVerification && !backed) {
    const coincidenceMs = (rules['coincidence_s'] ?? 120) * 1000
    const other = verifications.recentCandidate(place, now, coincidenceMs)
    if (other !== undefined) {
      return start(
        { ...base, status: 'alarm', alarmAt: now },
        'alarm',
        `${describe(c)} on ${place.device}: second detector in the building within ${coincidenceMs / 1000} s of ${other.device} (coincidence)`,
      )
    }
    const windowS = Math.min(60, rules['verification_s'] ?? 30)
    const verification = {
      device: place.device,
      condition: c.type,
      startedAt: now,
      deadline: now + windowS * 1000,
    }
    const started = await start(
      { ...base, status: 'verifying', verification },
      'verifying',
      `${describe(c)} on ${place.device}: alarm candidate, verifying for ${windowS} s`,
    )
    verifications.schedule(started.incident)
    return started
  }
  const why = backed
    ? `${describe(c)} on ${place.device}, backed by ${backing.join(' and ')} (multi-criteria)`
    : `${describe(c)} on ${place.device}`
  return start({ ...base, status: 'alarm', alarmAt: now }, 'alarm', why)
}

export function createIncidentFlow(deps: IncidentFlowDeps): IncidentFlow {
  const { events, incidents, spool, logger, verifications } = deps
  const opened: Counter = new client.Counter({
    name: 'firecircle_incidents_opened_total',
    help: 'Incidents opened, by the status they opened in',
    labelNames: ['status'],
    registers: [deps.metrics],
  })
  const cancelled: Counter = new client.Counter({
    name: 'firecircle_verifications_cancelled_total',
    help: 'Smoke alarm candidates that cleared inside the verification window (not alarms)',
    registers: [deps.metrics],
  })
  const transitions: Counter = new client.Counter({
    name: 'firecircle_incident_transitions_total',
    help: 'Incident status changes, by new status and actor kind',
    labelNames: ['status', 'actor'],
    registers: [deps.metrics],
  })

  function emit(change: IncidentChangeType, incident: Incident, entry: TimelineEntry): void {
    // Fire first: the stages that act on the incident hear of it before the telemetry is spooled.
    events.emit('incident', { change, incident, entry })
    if (entry.type !== 'status' && entry.type !== 'opened') return
    transitions.inc({ status: entry.status, actor: entry.actor.split(':')[0] ?? entry.actor })
    spool
      .append([
        {
          measurement: 'incident_event',
          tags: {
            incident: incident.id,
            community: incident.community,
            street: incident.street,
            status: entry.status,
          },
          fields: {
            devices: incident.devices.length,
            seconds_since_opened: (entry.at - incident.openedAt) / 1000,
          },
          ints: ['devices'],
          ts: entry.at,
        },
      ])
      .catch((err: Error) =>
        logger.error({ incident: incident.id, err: err.message }, 'incident_event not spooled'),
      )
  }

  async function toAlarm(
    id: string,
    reason: string,
    at: number,
    extra: Partial<TimelineEntry> = {},
  ): Promise<void> {
    verifications.cancel(id)
    const t = await incidents.transition(id, 'alarm', { at, actor: 'engine', reason, ...extra }, (x) => {
      x.alarmAt = at
      delete x.verification
    })
    emit('status', t.incident, t.entry)
  }

  async function join(open: Incident, place: DevicePlace, c: ConditionChange, now: number): Promise<void> {
    const v = open.verification
    const promotes =
      open.status === 'verifying' && (v === undefined || v.device !== place.device || v.condition !== c.type)
    const entry: TimelineEntry = {
      at: now,
      type: 'device',
      status: open.status,
      actor: `device:${place.device}`,
      reason: `${describe(c)} on ${place.device} joins the incident`,
      device: place.device,
      condition: c.type,
      ...(c.value !== undefined ? { value: c.value } : {}),
    }
    const joined = await incidents.update(open.id, (i) => deviceEntry(i, place, c.type, now), [entry])
    emit('device', joined, entry)
    if (promotes) {
      const why =
        v !== undefined && v.device !== place.device
          ? `second detector ${place.device} (${c.type}) alarmed during verification of ${v.device} (coincidence)`
          : `${c.type} on ${place.device} backs the ${v?.condition ?? 'alarm'} candidate (multi-criteria)`
      await toAlarm(open.id, why, now, { device: place.device, condition: c.type })
    }
    if (CONDITIONS[c.type].needsVerification) verifications.recentCandidate(place, now, 0)
  }

  return {
    emit,
    async raised(place, c, now) {
      const open = incidents.openForBuilding(place.building)
      if (open !== undefined) {
        await join(open, place, c, now)
        return open.id
      }
      const { incident, entry } = await openIncident(deps, place, c, now)
      opened.inc({ status: incident.status })
      emit('opened', incident, entry)
      return incident.id
    },
    async cleared(place, c, now) {
      const open = incidents.openForBuilding(place.building)
      if (open === undefined) return undefined
      const v = open.verification
      if (open.status !== 'verifying' || v?.device !== place.device || v.condition !== c.type) return open.id
      verifications.cancel(open.id)
      const windowS = Math.round((v.deadline - v.startedAt) / 1000)
      const t = await incidents.transition(
        open.id,
        'resolved',
        {
          at: now,
          actor: 'engine',
          reason: `verification cancelled: ${describe(c)} cleared on ${place.device} ${Math.round((now - v.startedAt) / 1000)} s into the ${windowS} s window (not an alarm)`,
          device: place.device,
          condition: c.type,
          ...(c.value !== undefined ? { value: c.value } : {}),
        },
        (x) => {
          x.resolution = 'verification_cancelled'
          x.closedAt = now
          delete x.verification
        },
      )
      cancelled.inc()
      emit('status', t.incident, t.entry)
      return open.id
    },
    async deadline(i) {
      const v = i.verification
      if (v === undefined || incidents.getOpen(i.id)?.status !== 'verifying') return
      const windowS = Math.round((v.deadline - v.startedAt) / 1000)
      await toAlarm(
        i.id,
        `${v.condition} on ${v.device} persisted through the ${windowS} s verification window`,
        v.deadline,
        {
          device: v.device,
          condition: v.condition,
        },
      )
    },
  }
}

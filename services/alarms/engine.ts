/**
 * The alarm engine: readings and device events in, signals and incidents out.
 *
 * - Each reading is evaluated as it arrives (the intake hands it over before the spool and
 *   the store see it: fire first), by the pure per-device rules in rules.ts.
 * - An alarm-level condition opens an incident for its building or joins the open one. Smoke
 *   alone is verified: confirmed when it persists through the verification window, when a
 *   second detector in the building alarms within the coincidence window, or when another
 *   criterion (heat, CO) backs it; cancelled when it clears inside the window.
 * - Trouble (offline by last will or silence, low battery, fault, tamper) and supervisory
 *   signals are raised and restored per device.
 * - Incidents, their timelines, active device conditions and verification deadlines live in
 *   SQLite; after a restart timers resume from the stored deadlines.
 */
import type { Counter, Registry as Metrics } from 'prom-client'
import client from 'prom-client'
import { type DeviceKind, effectiveRules, KINDS } from '../../devices/catalogue.ts'
import type { DeviceEvent, DevicePlace, IntakeEvents, Reading } from '../intake/index.ts'
import type { DeviceLiveState, Liveness, LivenessEvents } from '../liveness/index.ts'
import type { Device, Registry } from '../registry/index.ts'
import type { Clock, EventBus, Logger, Timer } from '../shared/index.ts'
import { DomainError, notRegistered } from '../shared/index.ts'
import type { Spool } from '../spool/index.ts'
import type { SqliteDb } from '../state/index.ts'
import type { AlarmEvents, IncidentChangeType, SignalEvent } from './events.ts'
import {
  type Incident,
  type IncidentDevice,
  type IncidentStore,
  InvalidTransition,
  type TimelineEntry,
} from './incidents.ts'
import { OFFICER_ACTIONS, type OfficerAction } from './lifecycle.ts'
import { evaluateReading, newDetectorMemory } from './rules.ts'
import { createSilenceWatch } from './silence.ts'
import { CONDITIONS, type ConditionChange, type ConditionType, type DetectorMemory } from './types.ts'

export interface ActiveCondition {
  condition: ConditionType
  class: (typeof CONDITIONS)[ConditionType]['class']
  level: (typeof CONDITIONS)[ConditionType]['level']
  since: number
  value?: number
  threshold?: number
}

export interface AlarmEngine {
  /** Subscribe to the event stream, restore conditions and timers. */
  start(): void
  stop(): void
  /** A duty officer's action on an incident. Throws DomainError (404, 409). */
  act(id: string, action: OfficerAction, actor: string, reason?: string): Incident
  /** The device's active conditions (alarm, warning, supervisory, trouble). */
  conditions(device: string): ActiveCondition[]
}

export interface AlarmEngineOptions {
  clock: Clock
  events: EventBus<IntakeEvents & LivenessEvents & AlarmEvents>
  directory: Pick<Registry, 'device' | 'building' | 'allDevices'>
  liveness: Pick<Liveness, 'get' | 'silent'>
  incidents: IncidentStore
  /** State database: the active device conditions are kept in it. */
  db: SqliteDb
  /** Incident transitions go to the telemetry store (`incident_event`) through the spool. */
  spool: Pick<Spool, 'append'>
  logger: Logger
  metrics: Metrics
}

/** Conditions decided by device events or liveness rather than by readings. */
const EVENT_CONDITIONS: ReadonlySet<ConditionType> = new Set([
  'device_alarm',
  'manual',
  'fault',
  'tamper',
  'offline',
])

interface DeviceRuntime {
  memory: DetectorMemory
  rules: Record<string, number>
  thresholds: Record<string, number> | undefined
}

export function createAlarmEngine(opts: AlarmEngineOptions): AlarmEngine {
  const { clock, events, directory, liveness, incidents, db, spool, logger } = opts

  const putCondition = db.prepare<[string, string, number, number | null, number | null]>(
    'INSERT OR REPLACE INTO device_conditions (device, condition, since, value, threshold) VALUES (?, ?, ?, ?, ?)',
  )
  const dropCondition = db.prepare<[string, string]>(
    'DELETE FROM device_conditions WHERE device = ? AND condition = ?',
  )

  const signals: Counter = new client.Counter({
    name: 'firecircle_alarm_signals_total',
    help: 'Device conditions raised, by class and condition',
    labelNames: ['class', 'condition'],
    registers: [opts.metrics],
  })
  const opened: Counter = new client.Counter({
    name: 'firecircle_incidents_opened_total',
    help: 'Incidents opened, by the status they opened in',
    labelNames: ['status'],
    registers: [opts.metrics],
  })
  const cancelled: Counter = new client.Counter({
    name: 'firecircle_verifications_cancelled_total',
    help: 'Smoke alarm candidates that cleared inside the verification window (not alarms)',
    registers: [opts.metrics],
  })
  const transitions: Counter = new client.Counter({
    name: 'firecircle_incident_transitions_total',
    help: 'Incident status changes, by new status and actor kind',
    labelNames: ['status', 'actor'],
    registers: [opts.metrics],
  })

  /** Active conditions per device, as persisted. */
  const active = new Map<string, Map<ConditionType, ActiveCondition>>()
  const runtimes = new Map<string, DeviceRuntime>()
  const verificationTimers = new Map<string, Timer>()
  /** Recent smoke alarm candidates per building, for the coincidence window. */
  const candidates = new Map<string, { device: string; at: number }[]>()
  /** The engine's listeners on the bus, removed at stop(). */
  const owner = { stage: 'alarms' }

  const silence = createSilenceWatch({
    clock,
    allowanceMs: (id) => {
      const d = directory.device(id)
      return d === undefined || !d.enabled ? undefined : 3 * KINDS[d.kind].reportingIntervalS * 1000
    },
    lastSeen: (id) => liveness.get(id)?.lastSeen,
    onSilent: (id, _last, at) => liveness.silent(id, at),
  })

  function runtime(
    device: string,
    kind: DeviceKind,
    thresholds: Record<string, number> | undefined,
  ): DeviceRuntime {
    let rt = runtimes.get(device)
    if (rt === undefined) {
      const memory = newDetectorMemory(kind)
      // Conditions from readings that were active before a restart stay active until a
      // reading clears them.
      for (const c of active.get(device)?.keys() ?? []) if (!EVENT_CONDITIONS.has(c)) memory.active.add(c)
      rt = { memory, rules: effectiveRules(kind, thresholds), thresholds }
      runtimes.set(device, rt)
    } else if (rt.thresholds !== thresholds) {
      rt.rules = effectiveRules(kind, thresholds)
      rt.thresholds = thresholds
    }
    return rt
  }

  function rulesOf(device: string): Record<string, number> {
    const d = directory.device(device)
    if (d === undefined) return {}
    return runtime(device, d.kind, d.thresholds).rules
  }

  // --- incidents ---------------------------------------------------------------------------

  function emitIncident(change: IncidentChangeType, incident: Incident, entry: TimelineEntry): void {
    // Fire first: the stages that act on the incident hear of it before anything is written.
    events.emit('incident', { change, incident, entry })
    if (entry.type === 'status' || entry.type === 'opened') {
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

  function describe(c: ConditionChange): string {
    const v = c.value !== undefined ? ` ${round(c.value)}` : ''
    const t = c.threshold !== undefined ? ` (threshold ${round(c.threshold)})` : ''
    return `${c.type}${v}${t}`
  }

  function toAlarm(id: string, reason: string, at: number, extra: Partial<TimelineEntry> = {}): void {
    cancelVerification(id)
    const t = incidents.transition(id, 'alarm', { at, actor: 'engine', reason, ...extra }, (x) => {
      x.alarmAt = at
      delete x.verification
    })
    emitIncident('status', t.incident, t.entry)
  }

  function scheduleVerification(i: Incident): void {
    const v = i.verification
    if (v === undefined) return
    verificationTimers.get(i.id)?.cancel()
    verificationTimers.set(
      i.id,
      clock.at(v.deadline, () => {
        verificationTimers.delete(i.id)
        const now = incidents.get(i.id)
        if (now?.status !== 'verifying') return
        const windowS = Math.round((v.deadline - v.startedAt) / 1000)
        toAlarm(
          i.id,
          `${v.condition} on ${v.device} persisted through the ${windowS} s verification window`,
          v.deadline,
          {
            device: v.device,
            condition: v.condition,
          },
        )
      }),
    )
  }

  function cancelVerification(id: string): void {
    verificationTimers.get(id)?.cancel()
    verificationTimers.delete(id)
  }

  function recentCandidate(
    place: DevicePlace,
    now: number,
    windowMs: number,
  ): { device: string; at: number } | undefined {
    const list = (candidates.get(place.building) ?? []).filter((x) => now - x.at <= windowMs)
    const other = list.find((x) => x.device !== place.device)
    list.push({ device: place.device, at: now })
    candidates.set(place.building, list)
    return other
  }

  /**
   * Multi-criteria: other alarm-level conditions active on the same device (smoke backed by
   * heat or CO, CO backed by smoke or heat) confirm a candidate without waiting.
   */
  function backingOf(device: string, type: ConditionType): ConditionType[] {
    const out: ConditionType[] = []
    for (const c of runtimes.get(device)?.memory.active ?? []) {
      if (c !== type && CONDITIONS[c].level === 'alarm') out.push(c)
    }
    return out
  }

  function openIncident(
    place: DevicePlace,
    c: ConditionChange,
    now: number,
  ): { incident: Incident; entry: TimelineEntry } {
    const start = (init: Parameters<IncidentStore['open']>[0], e: TimelineEntry) => ({
      incident: incidents.open(init, e),
      entry: e,
    })
    const building = directory.building(place.building)
    const device = directory.device(place.device)
    const location = device?.location ?? building?.location ?? [0, 0]
    const rules = rulesOf(place.device)
    const spec = CONDITIONS[c.type]
    const backing = backingOf(place.device, c.type)
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
    const entry = (status: Incident['status'], reason: string): TimelineEntry => ({
      at: now,
      type: 'opened',
      status,
      actor: `device:${place.device}`,
      reason,
      device: place.device,
      condition: c.type,
      ...(c.value !== undefined ? { value: c.value } : {}),
    })

    if (spec.needsVerification && !backed) {
      const coincidenceMs = (rules['coincidence_s'] ?? 120) * 1000
      const other = recentCandidate(place, now, coincidenceMs)
      if (other !== undefined) {
        return start(
          { ...base, status: 'alarm', alarmAt: now },
          entry(
            'alarm',
            `${describe(c)} on ${place.device}: second detector in the building within ${coincidenceMs / 1000} s of ${other.device} (coincidence)`,
          ),
        )
      }
      const windowS = Math.min(60, rules['verification_s'] ?? 30)
      const started = start(
        {
          ...base,
          status: 'verifying',
          verification: {
            device: place.device,
            condition: c.type,
            startedAt: now,
            deadline: now + windowS * 1000,
          },
        },
        entry('verifying', `${describe(c)} on ${place.device}: alarm candidate, verifying for ${windowS} s`),
      )
      scheduleVerification(started.incident)
      return started
    }
    const why = backed
      ? `${describe(c)} on ${place.device}, backed by ${backing.join(' and ')} (multi-criteria)`
      : `${describe(c)} on ${place.device}`
    return start({ ...base, status: 'alarm', alarmAt: now }, entry('alarm', why))
  }

  function onAlarmCondition(place: DevicePlace, c: ConditionChange, now: number): string {
    const open = incidents.openForBuilding(place.building)
    if (open !== undefined) {
      const v = open.verification
      const promotes =
        open.status === 'verifying' &&
        (v === undefined || v.device !== place.device || v.condition !== c.type)
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
      const joined = incidents.update(open.id, (i) => deviceEntry(i, place, c.type, now), [entry])
      emitIncident('device', joined, entry)
      if (promotes) {
        const why =
          v !== undefined && v.device !== place.device
            ? `second detector ${place.device} (${c.type}) alarmed during verification of ${v.device} (coincidence)`
            : `${c.type} on ${place.device} backs the ${v?.condition ?? 'alarm'} candidate (multi-criteria)`
        toAlarm(open.id, why, now, { device: place.device, condition: c.type })
      }
      if (CONDITIONS[c.type].needsVerification) recentCandidate(place, now, 0)
      return open.id
    }
    const { incident, entry } = openIncident(place, c, now)
    opened.inc({ status: incident.status })
    emitIncident('opened', incident, entry)
    return incident.id
  }

  function onAlarmConditionCleared(place: DevicePlace, c: ConditionChange, now: number): string | undefined {
    const open = incidents.openForBuilding(place.building)
    if (open === undefined) return undefined
    const v = open.verification
    if (
      open.status === 'verifying' &&
      v !== undefined &&
      v.device === place.device &&
      v.condition === c.type
    ) {
      cancelVerification(open.id)
      const windowS = Math.round((v.deadline - v.startedAt) / 1000)
      const t = incidents.transition(
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
      emitIncident('status', t.incident, t.entry)
    }
    return open.id
  }

  // --- conditions --------------------------------------------------------------------------

  function apply(place: DevicePlace, c: ConditionChange): void {
    const now = clock.now()
    const spec = CONDITIONS[c.type]
    let conds = active.get(place.device)
    if (c.active) {
      if (conds?.has(c.type)) return
      if (conds === undefined) {
        conds = new Map()
        active.set(place.device, conds)
      }
      const a: ActiveCondition = { condition: c.type, class: spec.class, level: spec.level, since: now }
      if (c.value !== undefined) a.value = c.value
      if (c.threshold !== undefined) a.threshold = c.threshold
      conds.set(c.type, a)
      putCondition.run(place.device, c.type, now, c.value ?? null, c.threshold ?? null)
      signals.inc({ class: spec.class, condition: c.type })
    } else {
      if (!conds?.has(c.type)) return
      conds.delete(c.type)
      dropCondition.run(place.device, c.type)
    }
    let incident: string | undefined
    if (spec.level === 'alarm') {
      incident = c.active ? onAlarmCondition(place, c, now) : onAlarmConditionCleared(place, c, now)
    }
    const signal: SignalEvent = {
      device: place.device,
      kind: place.kind,
      building: place.building,
      community: place.community,
      street: place.street,
      condition: c.type,
      class: spec.class,
      level: spec.level,
      active: c.active,
      at: now,
    }
    if (c.value !== undefined) signal.value = c.value
    if (c.threshold !== undefined) signal.threshold = c.threshold
    if (incident !== undefined) signal.incident = incident
    events.emit('signal', signal)
  }

  function placeOf(d: Device): DevicePlace {
    return { device: d.id, kind: d.kind, building: d.building, community: d.community, street: d.street }
  }

  const onReading = (r: Reading): void => {
    if (!silence.watching(r.device)) silence.watch(r.device, r.receivedAt)
    const d = directory.device(r.device)
    const rt = runtime(r.device, r.kind, d?.thresholds)
    const changes = evaluateReading(rt.memory, r, rt.rules)
    for (let k = 0; k < changes.length; k++) apply(r, changes[k]!)
  }

  const onDeviceEvent = (e: DeviceEvent): void => {
    if (!silence.watching(e.device)) silence.watch(e.device, e.receivedAt)
    const change = (type: ConditionType, on: boolean) => apply(e, { type, active: on, ts: e.ts })
    const raises: Partial<Record<DeviceEvent['type'], ConditionType>> = {
      alarm: 'device_alarm',
      manual: 'manual',
      fault: 'fault',
      tamper: 'tamper',
    }
    const raised = raises[e.type]
    if (raised !== undefined) change(raised, true)
    else if (e.type === 'restore')
      for (const t of ['device_alarm', 'manual', 'fault', 'tamper'] as const) change(t, false)
    // `test` events are stored (device_event) and change no condition.
  }

  const onDeviceState = (s: DeviceLiveState): void => {
    const d = directory.device(s.device)
    if (d === undefined) return
    apply(placeOf(d), { type: 'offline', active: !s.online, ts: s.since ?? clock.now() })
    if (s.online && !silence.watching(s.device)) silence.watch(s.device, s.lastSeen ?? clock.now())
  }

  function load(): void {
    const rows = db
      .prepare<
        [],
        {
          device: string
          condition: ConditionType
          since: number
          value: number | null
          threshold: number | null
        }
      >('SELECT device, condition, since, value, threshold FROM device_conditions')
      .all()
    for (const r of rows) {
      if (!(r.condition in CONDITIONS)) continue
      const spec = CONDITIONS[r.condition]
      let m = active.get(r.device)
      if (m === undefined) {
        m = new Map()
        active.set(r.device, m)
      }
      const a: ActiveCondition = {
        condition: r.condition,
        class: spec.class,
        level: spec.level,
        since: r.since,
      }
      if (r.value !== null) a.value = r.value
      if (r.threshold !== null) a.threshold = r.threshold
      m.set(r.condition, a)
    }
    for (const i of incidents.openIncidents()) {
      if (i.status === 'verifying') scheduleVerification(i)
    }
  }

  return {
    start() {
      load()
      const startedAt = clock.now()
      // Supervise every registered device; each gets a full allowance from now, so a
      // restart does not declare the district offline before its devices reconnect.
      for (const d of [...directory.allDevices()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
        if (!d.enabled || active.get(d.id)?.has('offline')) continue
        silence.watch(d.id, Math.max(startedAt, liveness.get(d.id)?.lastSeen ?? 0))
      }
      events.on(owner, 'reading', onReading)
      events.on(owner, 'device.event', onDeviceEvent)
      events.on(owner, 'device.state', onDeviceState)
      logger.info({ open: incidents.openIncidents().length }, 'alarm engine started')
    },
    stop() {
      events.removeListeners(owner)
      for (const t of verificationTimers.values()) t.cancel()
      verificationTimers.clear()
      silence.stop()
    },
    act(id, action, actor, reason) {
      const to = OFFICER_ACTIONS[action]
      const i = incidents.get(id)
      if (i === undefined) throw notRegistered(`incident ${id} does not exist`)
      const now = clock.now()
      const text = reason?.trim() || `${action} by ${actor}`
      try {
        const next = incidents.transition(id, to, { at: now, actor, reason: text }, (x) => {
          if (to === 'acknowledged') x.acknowledgedAt = now
          if (to === 'confirmed') x.confirmedAt = now
          if (to === 'false_alarm') {
            x.falseAlarmAt = now
            x.resolution = 'false_alarm'
          }
          if (to === 'resolved') {
            x.closedAt = now
            x.resolution ??= 'resolved'
          }
          if (x.alarmAt === undefined && (to === 'acknowledged' || to === 'confirmed')) x.alarmAt = now
          delete x.verification
        })
        cancelVerification(id)
        emitIncident('status', next.incident, next.entry)
        return next.incident
      } catch (err) {
        if (err instanceof InvalidTransition) {
          const verb = {
            acknowledge: 'acknowledged',
            confirm: 'confirmed',
            'false-alarm': 'marked a false alarm',
            resolve: 'resolved',
          }[action]
          throw new DomainError(
            'incident_transition_refused',
            `incident ${id} is ${err.from}: it cannot be ${verb}`,
          )
        }
        throw err
      }
    },
    conditions(device) {
      return [...(active.get(device)?.values() ?? [])]
    },
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100
}

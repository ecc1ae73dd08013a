/**
 * The alarm engine: readings and device events in, signals and incidents out.
 *
 * - Each reading is evaluated as it arrives (the intake hands it over before the spool and
 *   the store see it: fire first), by the pure per-device rules in rules.ts.
 * - An alarm-level condition opens an incident for its building or joins the open one
 *   (./incident-flow.ts). Smoke alone is verified (./verification.ts): confirmed when it
 *   persists through the verification window, when a second detector in the building alarms
 *   within the coincidence window, or when another criterion (heat, CO) backs it; cancelled
 *   when it clears inside the window.
 * - Trouble (offline by last will or silence, low battery, fault, tamper) and supervisory
 *   signals are raised and restored per device (./conditions.ts).
 * - Incidents, their timelines, active device conditions and verification deadlines are kept
 *   through the repository; after a restart timers resume from the stored deadlines.
 *
 * Reactions (bus events, timers, officer actions) run one after another through a serial
 * queue, so that an asynchronous write never lets two of them interleave.
 */
import type { Counter, Registry as Metrics } from 'prom-client'
import client from 'prom-client'
import { type DeviceKind, effectiveRules, KINDS } from '../../devices/catalogue.ts'
import type { DeviceEvent, DevicePlace, IntakeEvents, Reading } from '../intake/index.ts'
import type { DeviceLiveState, Liveness, LivenessEvents } from '../liveness/index.ts'
import type { Device, Registry } from '../registry/index.ts'
import type { Clock, EventBus, Logger } from '../shared/index.ts'
import { createQuietLog, createSerialQueue } from '../shared/index.ts'
import type { Spool } from '../spool/index.ts'
import { createOfficerActions } from './actions.ts'
import { type ActiveCondition, createDeviceConditions, type DeviceConditions } from './conditions.ts'
import type { AlarmEvents, SignalEvent } from './events.ts'
import { createIncidentFlow } from './incident-flow.ts'
import type { Incident, IncidentBook, TimelineEntry } from './incidents.ts'
import type { OfficerAction } from './lifecycle.ts'
import type { ConditionRepository } from './repository.ts'
import { evaluateReading, newDetectorMemory } from './rules.ts'
import { createSilenceWatch, type SilenceWatch } from './silence.ts'
import { CONDITIONS, type ConditionChange, type ConditionType, type DetectorMemory } from './types.ts'
import { createVerifications } from './verification.ts'

export type { ActiveCondition } from './conditions.ts'

export interface AlarmEngine {
  /**
   * Restore conditions and timers, supervise the devices, subscribe to the event stream. After
   * a stop() it starts afresh (in a cluster, on a changed set of partitions, after the book's
   * reload): what it keeps in memory is then exactly what it loads now.
   */
  start(): Promise<void>
  /** Unsubscribe and cancel every timer; the conditions stay stored. */
  stop(): void
  /** A duty officer's action on an incident. Rejects with DomainError (not_registered, incident_transition_refused). */
  act(id: string, action: OfficerAction, actor: string, reason?: string): Promise<Incident>
  /** The device's active conditions (alarm, warning, supervisory, trouble). */
  conditions(device: string): ActiveCondition[]
  /** Resolves when every reaction queued so far has been processed. */
  flushed(): Promise<void>
}

export interface AlarmEngineDeps {
  clock: Clock
  events: EventBus<IntakeEvents & LivenessEvents & AlarmEvents>
  registry: Pick<Registry, 'device' | 'building' | 'listDevices' | 'allDevices'> &
    Partial<Pick<Registry, 'devicesLoading'>>
  liveness: Pick<Liveness, 'get' | 'silent'>
  incidents: IncidentBook
  /** The active device conditions. */
  repository: ConditionRepository
  /** Incident transitions go to the telemetry store (`incident_event`) through the spool. */
  spool: Pick<Spool, 'append'>
  logger: Logger
  metrics: Metrics
  /**
   * In a cluster: the communities whose work this node owns now. Silence is supervised, and
   * readings, device events and device states are evaluated, only for devices of those
   * communities (the others reach their owner). Without it every device is this engine's.
   */
  scope?: { owns(community: string): boolean }
  /**
   * Test mode (services/maintenance): a device, or its building, whose raised conditions are
   * tests — emitted as `test.signal` and not acted on. Being offline is never a test.
   */
  testMode?: { inTest(device: string, building: string): boolean }
  /**
   * Link supervision by kind (FC_SUPERVISION_GATEWAY_S, FC_SUPERVISION_UITD_S): a gateway or a
   * UITD silent this long is offline even when 3 × its reporting interval is longer.
   */
  supervision?: { gatewayMs: number; uitdMs: number }
}

/** Conditions decided by device events or liveness rather than by readings. */
const EVENT_CONDITIONS: ReadonlySet<ConditionType> = new Set([
  'device_alarm',
  'manual',
  'fault',
  'tamper',
  'device_supervisory',
  'disabled',
  'offline',
  'link_lost',
])

const RAISES: Partial<Record<DeviceEvent['type'], ConditionType>> = {
  alarm: 'device_alarm',
  manual: 'manual',
  fault: 'fault',
  tamper: 'tamper',
  supervisory: 'device_supervisory',
  disabled: 'disabled',
}

interface DeviceRuntime {
  memory: DetectorMemory
  rules: Record<string, number>
  thresholds: Record<string, number> | undefined
}

function placeOf(d: Device): DevicePlace {
  return { device: d.id, kind: d.kind, building: d.building, community: d.community, street: d.street }
}

function signalOf(
  place: DevicePlace,
  c: ConditionChange,
  at: number,
  incident: string | undefined,
): SignalEvent {
  const spec = CONDITIONS[c.type]
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
    at,
  }
  if (c.value !== undefined) signal.value = c.value
  if (c.threshold !== undefined) signal.threshold = c.threshold
  if (incident !== undefined) signal.incident = incident
  return signal
}

/** The conditions a device event raises or restores; `test` events are stored (device_event) and change none. */
function changesOf(e: DeviceEvent): ConditionChange[] {
  const raised = RAISES[e.type]
  if (raised !== undefined) return [{ type: raised, active: true, ts: e.ts }]
  if (e.type !== 'restore') return []
  return (['device_alarm', 'manual', 'fault', 'tamper', 'device_supervisory', 'disabled'] as const).map(
    (type) => ({
      type,
      active: false,
      ts: e.ts,
    }),
  )
}

/**
 * Supervise every registered device; each gets a full allowance from `startedAt`, so a
 * restart does not declare the district offline before its devices reconnect.
 */
async function superviseAll(
  deps: {
    registry: Pick<Registry, 'allDevices'>
    liveness: Pick<Liveness, 'get'>
    conditions: Pick<DeviceConditions, 'has'>
    silence: Pick<SilenceWatch, 'watch'>
    owns: (community: string) => boolean
  },
  startedAt: number,
): Promise<number> {
  // From the registry's memory, not by pages of the repository: LIMIT/OFFSET pages cost
  // O(n²) (a million devices took 16 s at start, bench/million.ts). The loop yields every
  // 10,000 devices so that the start does not hold the event loop for the whole walk.
  let n = 0
  for (const d of deps.registry.allDevices()) {
    if (++n % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve))
    if (!d.enabled || !deps.owns(d.community) || deps.conditions.has(d.id, 'offline')) continue
    deps.silence.watch(d.id, Math.max(startedAt, deps.liveness.get(d.id)?.lastSeen ?? 0))
  }
  return n
}

/**
 * Supervise from this start: at once when the registry has every device in memory; on a
 * restart whose registry still reads them in the background (a million take seconds), once it
 * has — with the same full allowance from `startedAt` (minutes ahead), while readings and
 * device states are heard meanwhile (`later` says how many were supervised then).
 */
async function superviseFromStart(
  deps: Parameters<typeof superviseAll>[0] & { registry: Partial<Pick<Registry, 'devicesLoading'>> },
  startedAt: number,
  later: { supervised(n: number): void; failed(err: Error): void },
): Promise<void> {
  const loading = deps.registry.devicesLoading?.()
  if (loading === undefined) {
    await superviseAll(deps, startedAt)
    return
  }
  void loading.then(() => superviseAll(deps, startedAt)).then(later.supervised, later.failed)
}

/**
 * Offline by silence after 3 × the kind's reporting interval. A watch that was stopped stays
 * stopped: each start() supervises with a new one.
 */
function silenceWatchOf(
  deps: Pick<AlarmEngineDeps, 'clock' | 'registry' | 'liveness' | 'supervision'>,
): SilenceWatch {
  const { registry, liveness } = deps
  return createSilenceWatch({
    clock: deps.clock,
    allowanceMs: (id) => {
      const d = registry.device(id)
      // A UITD beats every heartbeatS of its own (docs/PROTOCOL.md "Fire panels").
      if (d === undefined || !d.enabled) return undefined
      const allowance = 3 * (d.heartbeatS ?? KINDS[d.kind].reportingIntervalS) * 1000
      const most =
        d.kind === 'gateway'
          ? deps.supervision?.gatewayMs
          : d.kind === 'uitd'
            ? deps.supervision?.uitdMs
            : undefined
      return most === undefined ? allowance : Math.min(allowance, most)
    },
    lastSeen: (id) => liveness.get(id)?.lastSeen,
    onSilent: (id, _last, at) => liveness.silent(id, at),
  })
}

/**
 * A condition raised by a device in test mode (being offline is never a test): emitted as
 * `test.signal` before it is stored, so it opens no incident, dispatches nobody, calls no 119
 * and alerts no one.
 */
function isTest(deps: Pick<AlarmEngineDeps, 'testMode'>, place: DevicePlace, c: ConditionChange): boolean {
  return c.active && c.type !== 'offline' && deps.testMode?.inTest(place.device, place.building) === true
}

/** A device's rule memory and rules, made at its first reading and kept while its thresholds stay. */
function runtimeOf(
  runtimes: Map<string, DeviceRuntime>,
  conditions: Pick<DeviceConditions, 'types'>,
  device: string,
  kind: DeviceKind,
  thresholds: Record<string, number> | undefined,
): DeviceRuntime {
  let rt = runtimes.get(device)
  if (rt === undefined) {
    const memory = newDetectorMemory(kind)
    // Conditions from readings that were active before a restart stay active until a
    // reading clears them.
    for (const c of conditions.types(device)) if (!EVENT_CONDITIONS.has(c)) memory.active.add(c)
    rt = { memory, rules: effectiveRules(kind, thresholds), thresholds }
    runtimes.set(device, rt)
  } else if (rt.thresholds !== thresholds) {
    rt.rules = effectiveRules(kind, thresholds)
    rt.thresholds = thresholds
  }
  return rt
}

/**
 * The devices whose readings a gateway carries: a gateway that misses its supervision (offline
 * by its last will or by silence) takes their link with it — `link_lost` trouble on each.
 */
async function behindGateway(registry: Pick<Registry, 'listDevices'>, gateway: string): Promise<Device[]> {
  return (await registry.listDevices({ gateway }, { limit: 10_000, offset: 0 })).items
}

/** Whether a community's devices are this engine's: all of them outside a cluster. */
function ownsOf(scope: AlarmEngineDeps['scope']): (community: string) => boolean {
  return scope === undefined ? () => true : (community) => scope.owns(community)
}

function signalCounter(metrics: Metrics): Counter {
  return new client.Counter({
    name: 'firecircle_alarm_signals_total',
    help: 'Device conditions raised, by class and condition',
    labelNames: ['class', 'condition'],
    registers: [metrics],
  })
}

/** One line per kind of failure and window (a full disk fails every message alike), with a count. */
function failureLog(logger: Logger, clock: Clock) {
  const quietLog = createQuietLog(logger, clock)
  return (what: string) => (err: Error) =>
    quietLog.log('error', `${what}:${err.message}`, { err: err.message }, `${what} failed`)
}

/**
 * Keep a condition change; when the state store cannot (a full disk), a fire still reaches the
 * officers: the alarm goes out from memory, marked unstored, and the failure propagates, so the
 * message is not acknowledged and its resend is kept once the store takes writes again.
 */
async function keptOrShown(
  events: Pick<EventBus<AlarmEvents>, 'emit'>,
  place: DevicePlace,
  c: ConditionChange,
  now: number,
  keep: () => Promise<void>,
): Promise<void> {
  try {
    await keep()
  } catch (err) {
    if (c.active && CONDITIONS[c.type].level === 'alarm')
      events.emit('signal', { ...signalOf(place, c, now, undefined), stored: false })
    throw err
  }
}

/** An operation at a device (a panel reset, silenced, self-tested): in its building's open incident. */
async function recordOperation(
  incidents: IncidentBook,
  flow: Pick<ReturnType<typeof createIncidentFlow>, 'emit'>,
  e: DeviceEvent,
): Promise<void> {
  const open = incidents.openForBuilding(e.building)
  if (open === undefined) return
  const entry: TimelineEntry = {
    at: e.ts,
    type: 'operation',
    status: open.status,
    actor: `device:${e.device}`,
    reason: e.detail ?? 'an operation at the device',
    device: e.device,
  }
  const incident = await incidents.update(open.id, () => {}, [entry])
  flow.emit('operation', incident, entry)
}

export function createAlarmEngine(deps: AlarmEngineDeps): AlarmEngine {
  const { clock, events, registry, liveness, incidents, spool, logger } = deps
  const queue = createSerialQueue()
  const signals = signalCounter(deps.metrics)
  const conditions = createDeviceConditions(deps.repository)
  const runtimes = new Map<string, DeviceRuntime>()
  /** The engine's listeners on the bus, removed at stop(). */
  const owner = { stage: 'alarms' }
  const fail = failureLog(logger, clock)

  const owns = ownsOf(deps.scope)

  const newSilenceWatch = () => silenceWatchOf(deps)
  let silence = newSilenceWatch()

  const runtime = (device: string, kind: DeviceKind, thresholds: Record<string, number> | undefined) =>
    runtimeOf(runtimes, conditions, device, kind, thresholds)

  const verifications = createVerifications({
    clock,
    onDeadline: (i) => void queue.run(() => flow.deadline(i)).catch(fail('verification deadline')),
  })
  const flow = createIncidentFlow({
    events,
    registry,
    incidents,
    spool,
    logger,
    metrics: deps.metrics,
    verifications,
    rulesOf(device) {
      const d = registry.device(device)
      return d === undefined ? {} : runtime(device, d.kind, d.thresholds).rules
    },
    /**
     * Multi-criteria: other alarm-level conditions active on the same device (smoke backed by
     * heat or CO, CO backed by smoke or heat) confirm a candidate without waiting.
     */
    backingOf(device, type) {
      const out: ConditionType[] = []
      for (const c of runtimes.get(device)?.memory.active ?? [])
        if (c !== type && CONDITIONS[c].level === 'alarm') out.push(c)
      return out
    },
  })
  const act = createOfficerActions({ clock, incidents, verifications, emit: flow.emit })

  const apply = (place: DevicePlace, c: ConditionChange): Promise<void> => {
    const now = clock.now()
    return keptOrShown(events, place, c, now, () => keep(place, c, now))
  }

  async function keep(place: DevicePlace, c: ConditionChange, now: number): Promise<void> {
    const spec = CONDITIONS[c.type]
    if (isTest(deps, place, c)) return void events.emit('test.signal', signalOf(place, c, now, undefined))
    let incident: string | undefined
    if (c.active) {
      if (conditions.has(place.device, c.type)) return
      // An alarm's incident is written before its condition. A node that dies between the two
      // leaves the condition to be raised again from the intake log by the node that takes its
      // communities over; the other order would leave a kept alarm condition with no incident,
      // which that node takes for handled — a fire lost at a failover.
      if (spec.level === 'alarm') incident = await flow.raised(place, c, now)
      if (!(await conditions.raise(place.device, c.type, now, c.value, c.threshold))) return
      signals.inc({ class: spec.class, condition: c.type })
    } else {
      if (!(await conditions.clear(place.device, c.type))) return
      if (spec.level === 'alarm') incident = await flow.cleared(place, c, now)
    }
    events.emit('signal', signalOf(place, c, now, incident))
  }

  async function applyAll(place: DevicePlace, changes: ConditionChange[]): Promise<void> {
    for (const c of changes) await apply(place, c)
  }

  function evaluate(r: Reading): ConditionChange[] {
    const rt = runtime(r.device, r.kind, registry.device(r.device)?.thresholds)
    return evaluateReading(rt.memory, r, rt.rules)
  }

  const onReading = (r: Reading): void => {
    if (!owns(r.community)) return
    if (!silence.watching(r.device)) silence.watch(r.device, r.receivedAt)
    // Readings that change nothing (nearly all) are evaluated at once when nothing is queued,
    // with no task, promise or closure made for them.
    if (queue.size() === 0) {
      const changes = evaluate(r)
      if (changes.length > 0) queue.run(() => applyAll(r, changes)).catch(fail('reading'))
      return
    }
    queue.run(() => applyAll(r, evaluate(r))).catch(fail('reading'))
  }

  const onDeviceEvent = (e: DeviceEvent): void => {
    if (!owns(e.community)) return
    if (!silence.watching(e.device)) silence.watch(e.device, e.receivedAt)
    if (e.type === 'operation')
      return void queue.run(() => recordOperation(incidents, flow, e)).catch(fail('operation'))
    const changes = changesOf(e)
    if (changes.length > 0) queue.run(() => applyAll(e, changes)).catch(fail('device event'))
  }

  const onDeviceState = (s: DeviceLiveState): void => {
    const d = registry.device(s.device)
    if (d === undefined || !owns(d.community)) return
    queue
      .run(async () => {
        await apply(placeOf(d), { type: 'offline', active: !s.online, ts: s.since ?? clock.now() })
        if (d.kind === 'gateway' || d.kind === 'uitd')
          for (const x of await behindGateway(registry, d.id))
            await apply(placeOf(x), { type: 'link_lost', active: !s.online, ts: s.since ?? clock.now() })
        if (s.online && !silence.watching(s.device)) silence.watch(s.device, s.lastSeen ?? clock.now())
      })
      .catch(fail('device state'))
  }

  return {
    async start() {
      // Behind any reaction still running from before a stop(), so that none of them changes
      // memory after it was loaded.
      await queue.run(async () => {
        await conditions.load()
        runtimes.clear()
        silence.stop()
        silence = newSilenceWatch()
        for (const i of incidents.openIncidents()) if (i.status === 'verifying') verifications.schedule(i)
        await superviseFromStart({ registry, liveness, conditions, silence, owns }, clock.now(), {
          supervised: (n) => logger.info({ devices: n }, 'alarm engine: every device supervised'),
          failed: fail('supervision'),
        })
      })
      events.on(owner, 'reading', onReading)
      events.on(owner, 'device.event', onDeviceEvent)
      events.on(owner, 'device.state', onDeviceState)
      logger.info({ open: incidents.openIncidents().length }, 'alarm engine started')
    },
    stop() {
      events.removeListeners(owner)
      verifications.stop()
      silence.stop()
    },
    act: (id, action, actor, reason) => queue.run(() => act(id, action, actor, reason)),
    conditions: (device) => conditions.list(device),
    flushed: () => queue.idle(),
  }
}

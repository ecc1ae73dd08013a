/**
 * The handling clocks, filled by the flows they measure: a console's first render (POST
 * /api/incidents/{id}/shown), linkage's 119 call and its acknowledgement, dispatch's first
 * offer, acceptance and arrival — heard on the bus, kept on the incident through the alarm
 * stage's book (its repository), and checked against their limits on the injected clock.
 * A breach is named on the incident when it happens, counted per community
 * (`firecircle_clock_breaches_total{community,clock}`) and told on the stream.
 */
import client from 'prom-client'
import type { AlarmEvents, ClockStamp, Incident, IncidentBook } from '../alarms/index.ts'
import type { DispatchEvents } from '../dispatch/index.ts'
import type { LinkageEvents } from '../linkage/index.ts'
import type { Clock, EventBus, Logger, Timer } from '../shared/index.ts'
import { breachesOf, nextLimit, spansOf } from './spans.ts'
import type { ClockLimits, ReportsEvents } from './types.ts'

export interface HandlingClocksDeps {
  clock: Clock
  events: EventBus<AlarmEvents & DispatchEvents & LinkageEvents & ReportsEvents>
  incidents: Pick<IncidentBook, 'get' | 'getOpen' | 'update' | 'openIncidents'>
  limits: ClockLimits
  /** FC_FIRE_CENTRE_URL is set: a confirmed fire's 119 call is on a clock. */
  fireCentre: boolean
  logger: Logger
  metrics?: client.Registry
}

export interface HandlingClocks {
  start(): void
  stop(): void
  /** A console rendered the incident: the first call wins. */
  shown(id: string): Promise<Incident | undefined>
  /** Resolves when every change asked for so far is written. */
  idle(): Promise<void>
}

export function createHandlingClocks(deps: HandlingClocksDeps): HandlingClocks {
  const { clock, events, incidents, limits, logger } = deps
  const timers = new Map<string, { at: number; timer: Timer }>()
  const owner = { stage: 'reports' }
  const pending = new Set<Promise<unknown>>()
  let running = false
  const breachesTotal = new client.Counter({
    name: 'firecircle_clock_breaches_total',
    help: 'Handling clocks that ran past their limits, by community and clock',
    labelNames: ['community', 'clock'] as const,
    registers: deps.metrics ? [deps.metrics] : [],
  })

  function arm(i: Incident): void {
    const at = nextLimit(i, spansOf(i, limits, deps.fireCentre))
    const armed = timers.get(i.id)
    if (armed !== undefined && armed.at === at) return
    armed?.timer.cancel()
    timers.delete(i.id)
    if (at === undefined || !running) return
    // A limit already passed (the clock moved on while this was written) is named at once.
    if (at <= clock.now()) {
      queueMicrotask(() => track(refresh(i.id)))
      return
    }
    timers.set(i.id, { at, timer: clock.at(at, () => track(refresh(i.id))) })
  }

  /** Stamp a clock (once) and name the breaches due now; written only when something changed. */
  async function refresh(id: string, stamp?: ClockStamp, at?: number): Promise<Incident | undefined> {
    const now = clock.now()
    const before = incidents.getOpen(id) ?? (await incidents.get(id))
    if (before === undefined) return undefined
    const stamps = stamp !== undefined && before.clocks?.[stamp] === undefined
    const check = (i: Incident) => {
      if (stamps) i.clocks = { ...i.clocks, [stamp]: at ?? now }
      return breachesOf(i, spansOf(i, limits, deps.fireCentre), now)
    }
    if (!stamps && !check(structuredClone(before)).changed) {
      arm(before)
      return before
    }
    let added: { clock: string }[] = []
    const next = await incidents.update(
      id,
      (i) => {
        const r = check(i)
        i.breaches = r.breaches
        added = r.added
      },
      [],
    )
    for (const b of added) breachesTotal.inc({ community: next.community, clock: b.clock })
    if (added.length > 0) logger.warn({ incident: id, breaches: added }, 'handling clock breached')
    arm(next)
    events.emit('incident.clocks', { incident: next, at: now })
    return next
  }

  function track<T>(p: Promise<T>): Promise<T> {
    const watched = p.catch((err: unknown) => {
      logger.error({ err: (err as Error).message }, 'handling clock not recorded')
      return undefined
    })
    pending.add(watched)
    void watched.finally(() => pending.delete(watched))
    return p
  }

  return {
    start() {
      if (running) return
      running = true
      events.on(owner, 'incident', (e) => {
        if (e.change !== 'device') track(refresh(e.incident.id))
      })
      events.on(owner, 'dispatch.offer', (e) => {
        if (e.change === 'offered') track(refresh(e.offer.incident, 'first_offer', e.at))
      })
      events.on(owner, 'dispatch.reply', (e) => {
        if (e.answer === 'accept') track(refresh(e.offer.incident, 'first_accept', e.at))
        if (e.answer === 'on_scene') track(refresh(e.offer.incident, 'first_on_scene', e.at))
      })
      events.on(owner, 'linkage.fire_centre', (e) => {
        track(refresh(e.incident, e.step === 'sent' ? 'fire_centre_sent' : 'fire_centre_acked', e.at))
      })
      // Limits passed while the service was down are named now; the others are armed.
      for (const i of incidents.openIncidents()) track(refresh(i.id))
    },
    stop() {
      running = false
      events.removeListeners(owner)
      for (const t of timers.values()) t.timer.cancel()
      timers.clear()
    },
    shown: (id) => track(refresh(id, 'shown')),
    async idle() {
      while (pending.size > 0) await Promise.all([...pending])
    },
  }
}

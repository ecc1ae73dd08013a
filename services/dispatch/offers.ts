/**
 * Dispatch ([docs/DOMAIN.md §Linked alerts] 1): when an incident reaches alarm, the responders
 * inside the 5-minute fire circle are offered it, nearest ETA first, by the policy per
 * responder type (./policy.ts); they accept or decline on `rsp/{id}/reply` (or an officer
 * answers for them over HTTP); with no acceptance in time the circle widens and the incident
 * escalates.
 *
 * - Offers go out on `rsp/{id}/offer` at QoS 1: `{"incident", "location": [lon, lat], "eta_s",
 *   "building"?: {id, name}}`, in ETA order.
 * - An offer unanswered for `offerTimeoutMs` (30 s) expires (`no_answer`). A decline or an
 *   expiry of a type the policy limits (the nearest three grid staff, volunteers) moves on to
 *   the next nearest of that type inside the circle (GoodSAM).
 * - With no acceptance `widenAfterMs` (60 s) after the alarm the circle widens to the next
 *   limit (450 s, then 600 s after another 60 s): the newly reachable responders are offered
 *   by the same policy and a `dispatch.escalation` event goes out.
 * - An accepting responder is busy on the incident until it is resolved or a false alarm;
 *   then everything still pending is withdrawn and every timer of the incident stops.
 * - Every offer, reply, expiry and widening is in the incident's timeline; every dispatch step
 *   writes an `incident_event` point (`responders_inside`, `eta_first_s`) through the spool.
 * - Offers and each incident's step and deadline are in SQLite (./store.ts): after a restart
 *   the timers resume from the stored deadlines, busy responders stay busy, and an alarm that
 *   came while dispatch was stopped is dispatched.
 *
 * The listener on the bus only queues (a microtask): the alarm engine's call returns before
 * dispatch does any I/O, and dispatch then runs before anything else waiting on the loop.
 */
import type { Registry as Metrics } from 'prom-client'
import client from 'prom-client'
import type { Static } from 'typebox'
import type { AlarmEvents, Incident, IncidentEvent, IncidentStore, TimelineEntry } from '../alarms/index.ts'
import type { IntakeEvents, ResponderReply } from '../intake/index.ts'
import type { Registry, ResponderType } from '../registry/index.ts'
import type { Clock, EventBus, Logger, Timer } from '../shared/index.ts'
import { DomainError, iso } from '../shared/index.ts'
import type { Spool } from '../spool/index.ts'
import type { SqliteDb } from '../state/index.ts'
import { tenth } from './circle.ts'
import { etaSeconds, haversineM, withinLimit } from './eta.ts'
import {
  answerOffer,
  type Candidate,
  chooseResponders,
  dispatchPolicy,
  dispatchTimings,
  nearestCount,
} from './policy.ts'
import type { ResponderIndex } from './responder-index.ts'
import { createDispatchStore, type DispatchStore, type KpiCounts } from './store.ts'
import type { DispatchEvents } from './types.ts'
import {
  type Answer,
  COMMITTED,
  type DispatchPolicy,
  type DispatchRecord,
  type DispatchTimings,
  type OfferRecord,
  type TypeRule,
} from './types.ts'
import type { OfferOut } from './views.ts'

/** The broker's publish, as the composition root hands it over. */
export type Publish = (topic: string, payload: Buffer | string, qos: 0 | 1) => Promise<void>

/** Incident statuses in which dispatch runs: an alarm not yet closed. */
const DISPATCHING: ReadonlySet<Incident['status']> = new Set(['alarm', 'acknowledged', 'confirmed'])

export type RefusalReason =
  | 'unknown_incident'
  | 'unknown_responder'
  | 'not_offered'
  | 'out_of_order'
  | 'incident_closed'
  | 'busy_elsewhere'

/** A reply that changed nothing, with the reason (a 404 or a 409 over HTTP). */
export class ReplyRefused extends DomainError {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(
      reason === 'unknown_incident' || reason === 'unknown_responder' ? 'not_registered' : 'reply_refused',
      message,
    )
    this.name = 'ReplyRefused'
  }
}

export interface ReplyResult {
  offer: OfferRecord
  /** The same answer again (an MQTT redelivery, a double tap): taken, nothing changed. */
  repeated: boolean
}

export type OfferView = Static<typeof OfferOut>

export interface DispatcherDeps {
  clock: Clock
  events: EventBus<AlarmEvents & IntakeEvents & DispatchEvents>
  incidents: Pick<IncidentStore, 'get' | 'update' | 'openIncidents'>
  index: ResponderIndex
  registry: Pick<Registry, 'building' | 'responder' | 'respondersOfBuilding'>
  publish: Publish
  /** The state database: offers and each incident's widening step live in it. */
  db: SqliteDb
  /** `incident_event` points per dispatch step go to the telemetry store through it. */
  spool?: Pick<Spool, 'append'>
  logger: Logger
  metrics?: Metrics
  /** Rules per responder type over docs/PROTOCOL.md's default policy. */
  policy?: Partial<Record<ResponderType, TypeRule>>
  timings?: Partial<DispatchTimings>
}

export interface Dispatcher {
  /** Resume timers and busy responders from the store, dispatch alarms missed, listen. */
  start(): void
  /** Stop listening and disarm timers (their deadlines stay stored for the next start). */
  stop(): void
  /** A responder's answer. Throws ReplyRefused (nothing changed) with the reason. */
  reply(
    incident: string,
    responder: string,
    answer: Answer,
    actor: string,
    channel: 'mqtt' | 'http',
  ): ReplyResult
  offers(incident: string): OfferRecord[]
  /** The offers as GET /api/incidents/{id} shows them. */
  offersView(incident: string): OfferView[]
  record(incident: string): DispatchRecord | undefined
  /** The circle's current limit for the incident, seconds (the first limit before dispatch). */
  limitS(incident: string): number
  /** The 5-minute KPI over incidents whose alarm fell in [from, to]. */
  kpi(filter: { from: number; to: number; community?: string; street?: string }): KpiCounts
  readonly policy: DispatchPolicy
  readonly timings: DispatchTimings
  /** Resolves when queued work has run (tests). */
  flushed(): Promise<void>
}

const key = (incident: string, responder: string) => `${incident}\u0000${responder}`

/** How long an offer waits for the one before it to be taken by the broker (ETA order). */
const PUBLISH_ORDER_WAIT_MS = 1000
const pause = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref()
  })

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { clock, events, incidents, index, registry, logger } = deps
  const policy = dispatchPolicy(deps.policy)
  const timings = dispatchTimings(deps.timings)
  const store: DispatchStore = createDispatchStore(deps.db)
  const firstLimit = timings.limitsS[0]!

  const counter = (name: string, help: string, labelNames: string[]) =>
    deps.metrics ? new client.Counter({ name, help, labelNames, registers: [deps.metrics] }) : undefined
  const offered = counter(
    'firecircle_dispatch_offers_total',
    'Offers made to responders, by responder type',
    ['type'],
  )
  const expired = counter('firecircle_dispatch_offers_expired_total', 'Offers unanswered in time', ['type'])
  const replies = counter('firecircle_dispatch_replies_total', 'Replies taken, by answer and channel', [
    'answer',
    'channel',
  ])
  const refused = counter(
    'firecircle_dispatch_replies_refused_total',
    'Replies refused (nothing changed), by reason and channel',
    ['reason', 'channel'],
  )
  const escalations = counter(
    'firecircle_dispatch_escalations_total',
    'Fire circles widened because nobody accepted in time, by the new limit',
    ['limit_s'],
  )

  const wideningTimers = new Map<string, Timer>()
  const expiryTimers = new Map<string, Timer>()
  let running = false
  let queued = 0
  /** Offers are published one after the other, in the order they were made (nearest first). */
  let publishing: Promise<void> = Promise.resolve()

  // ---- helpers --------------------------------------------------------------------------

  function timeline(i: Incident, entries: TimelineEntry[]): void {
    if (entries.length === 0) return
    try {
      incidents.update(i.id, () => {}, entries)
    } catch (err) {
      logger.error({ incident: i.id, err }, 'dispatch timeline entries not written')
    }
  }

  const entry = (
    i: Incident,
    type: 'offer' | 'reply' | 'escalation',
    at: number,
    reason: string,
    extra: { actor?: string; responder?: string } = {},
  ): TimelineEntry => ({
    at,
    type,
    status: i.status,
    actor: extra.actor ?? 'dispatch',
    reason,
    ...(extra.responder !== undefined ? { responder: extra.responder } : {}),
  })

  const describe = (o: OfferRecord) =>
    `${o.type} ${o.responder} (${o.mode}, ${Math.round(o.distance_m)} m, ETA ${tenth(o.eta_s)} s${o.inside ? '' : `, outside the ${o.limitS} s circle`})`

  function point(i: Incident, rec: DispatchRecord, inside: number, etaFirst: number | undefined, n: number) {
    deps.spool
      ?.append([
        {
          measurement: 'incident_event',
          tags: { incident: i.id, community: i.community, street: i.street, status: i.status },
          fields: {
            responders_inside: inside,
            ...(etaFirst !== undefined ? { eta_first_s: tenth(etaFirst) } : {}),
            offers: n,
            dispatch_step: rec.step,
            limit_s: rec.limitS,
          },
          ints: ['responders_inside', 'offers', 'dispatch_step'],
          ts: clock.now(),
        },
      ])
      .catch((err: Error) =>
        logger.error({ incident: i.id, err: err.message }, 'dispatch incident_event not spooled'),
      )
  }

  /**
   * Who could be offered the incident now within `limitS`: on duty, free, not offered it yet;
   * plus (for `building` rules) the responders assigned to its building wherever they are.
   */
  function candidates(i: Incident, limitS: number, exclude: ReadonlySet<string>, types?: ResponderType[]) {
    const [lon, lat] = i.location
    const inside = index.within(lon, lat, limitS, {
      onDuty: true,
      busy: false,
      ...(types !== undefined ? { types } : {}),
      where: (r) => !exclude.has(r.id),
    })
    const out: Candidate[] = inside.map((r) => ({
      id: r.id,
      type: r.type,
      mode: r.mode,
      eta_s: r.eta_s,
      distance_m: r.distance_m,
      inside: true,
      ...(r.building !== undefined ? { building: r.building } : {}),
    }))
    if (i.building !== undefined) {
      const found = new Set(out.map((c) => c.id))
      for (const type of Object.keys(policy) as ResponderType[]) {
        if (policy[type].select !== 'building' || (types !== undefined && !types.includes(type))) continue
        for (const r of registry.respondersOfBuilding(i.building)) {
          if (r.type !== type || !r.enabled || exclude.has(r.id) || found.has(r.id)) continue
          const st = index.get(r.id)
          if (st === undefined || !st.onDuty || st.busy) continue
          // A guard with no position yet is taken to be at the building guarded.
          const at = st.located ? [st.lon, st.lat] : (registry.building(i.building)?.location ?? i.location)
          const d = haversineM(lon, lat, at[0]!, at[1]!)
          const eta = etaSeconds(d, st.mode, index.params)
          out.push({
            id: r.id,
            type: r.type,
            mode: st.mode,
            eta_s: eta,
            distance_m: d,
            building: i.building,
            inside: withinLimit(eta, limitS),
          })
        }
      }
    }
    return out
  }

  const offeredIds = (incident: string) => new Set(store.offers(incident).map((o) => o.responder))

  function armExpiry(o: OfferRecord): void {
    const k = key(o.incident, o.responder)
    expiryTimers.get(k)?.cancel()
    expiryTimers.set(
      k,
      clock.at(o.expiresAt, () => {
        expiryTimers.delete(k)
        guarded(() => expire(o.incident, o.responder), o.incident)
      }),
    )
  }

  function cancelExpiry(incident: string, responder: string): void {
    const k = key(incident, responder)
    expiryTimers.get(k)?.cancel()
    expiryTimers.delete(k)
  }

  function armWidening(rec: DispatchRecord): void {
    wideningTimers.get(rec.incident)?.cancel()
    wideningTimers.delete(rec.incident)
    if (rec.deadline === undefined || rec.state !== 'active') return
    wideningTimers.set(
      rec.incident,
      clock.at(rec.deadline, () => {
        wideningTimers.delete(rec.incident)
        guarded(() => widen(rec.incident), rec.incident)
      }),
    )
  }

  /** Run dispatch work; a failure is logged, never thrown into the clock or the bus. */
  function guarded(fn: () => void, incident?: string): void {
    try {
      fn()
    } catch (err) {
      logger.error({ incident, err }, 'dispatch step failed')
    }
  }

  /** Make the offers: store them, write the timeline, arm expiries, publish nearest first. */
  function makeOffers(
    i: Incident,
    rec: DispatchRecord,
    chosen: readonly Candidate[],
    record = false,
  ): OfferRecord[] {
    const now = clock.now()
    const list: OfferRecord[] = chosen.map((c) => ({
      incident: i.id,
      responder: c.id,
      type: c.type,
      mode: c.mode,
      eta_s: c.eta_s,
      distance_m: c.distance_m,
      inside: c.inside,
      state: 'offered',
      round: rec.step,
      limitS: rec.limitS,
      offeredAt: now,
      expiresAt: now + timings.offerTimeoutMs,
    }))
    if (list.length === 0) {
      if (record) store.save([], rec)
      return list
    }
    store.save(list, record ? rec : undefined)
    timeline(
      i,
      list.map((o) => entry(i, 'offer', now, `offered to ${describe(o)}`, { responder: o.responder })),
    )
    const b = i.building !== undefined ? registry.building(i.building) : undefined
    for (const o of list) {
      armExpiry(o)
      offered?.inc({ type: o.type })
      events.emit('dispatch.offer', {
        change: 'offered',
        offer: o,
        community: i.community,
        street: i.street,
        at: now,
      })
      const payload = JSON.stringify({
        incident: i.id,
        location: i.location,
        eta_s: tenth(o.eta_s),
        ...(b !== undefined ? { building: { id: b.id, name: b.name } } : {}),
      })
      const topic = `rsp/${o.responder}/offer`
      // In order, but a publish that never completes holds the next one back 1 s at most.
      publishing = Promise.race([publishing, pause(PUBLISH_ORDER_WAIT_MS)])
        .then(() => deps.publish(topic, payload, 1))
        .catch((err: Error) =>
          logger.warn({ incident: i.id, responder: o.responder, err: err.message }, 'offer not published'),
        )
    }
    logger.info(
      { incident: i.id, step: rec.step, limit_s: rec.limitS, offers: list.length },
      'incident offered',
    )
    return list
  }

  // ---- the steps --------------------------------------------------------------------------

  /** The incident reached alarm: offer it inside the first circle and arm the widening. */
  function begin(i: Incident): void {
    const now = clock.now()
    const rec: DispatchRecord = {
      incident: i.id,
      community: i.community,
      street: i.street,
      alarmAt: i.alarmAt ?? now,
      startedAt: now,
      step: 0,
      limitS: firstLimit,
      state: 'active',
      ...(timings.limitsS.length > 1 ? { deadline: now + timings.widenAfterMs } : {}),
    }
    const found = candidates(i, rec.limitS, new Set())
    const chosen = chooseResponders(found, policy, i.building !== undefined ? { building: i.building } : {})
    makeOffers(i, rec, chosen, true)
    armWidening(rec)
    const inside = found.filter((c) => c.inside)
    point(i, rec, inside.length, inside[0]?.eta_s, chosen.length)
  }

  /** Nobody accepted in time: the circle widens to the next limit; the newly reachable are offered. */
  function widen(id: string): void {
    const rec = store.record(id)
    const i = incidents.get(id)
    if (rec === undefined || rec.state !== 'active' || i === undefined) return
    if (!DISPATCHING.has(i.status)) {
      close(i, rec)
      return
    }
    if (store.offers(id).some((o) => COMMITTED.has(o.state))) {
      // An acceptance that was not seen as covering (cannot normally happen): stop widening.
      const covered: DispatchRecord = { ...rec, state: 'covered' }
      delete covered.deadline
      store.putRecord(covered)
      return
    }
    const next = rec.step + 1
    const limit = timings.limitsS[next]
    if (limit === undefined) return
    const now = clock.now()
    const fromS = rec.limitS
    const widened: DispatchRecord = { ...rec, step: next, limitS: limit }
    delete widened.deadline
    if (next + 1 < timings.limitsS.length) widened.deadline = (rec.deadline ?? now) + timings.widenAfterMs
    const exclude = offeredIds(id)
    const found = candidates(i, limit, exclude)
    const chosen = chooseResponders(found, policy, i.building !== undefined ? { building: i.building } : {})
    store.putRecord(widened)
    const waited = Math.round((now - rec.startedAt) / 1000)
    timeline(i, [
      entry(
        i,
        'escalation',
        now,
        `no responder accepted within ${waited} s: the circle widens from ${fromS} s to ${limit} s (${limit / 60} min); ${chosen.length} more responder${chosen.length === 1 ? '' : 's'} offered`,
      ),
    ])
    escalations?.inc({ limit_s: String(limit) })
    events.emit('dispatch.escalation', {
      incident: id,
      community: i.community,
      street: i.street,
      ...(i.building !== undefined ? { building: i.building } : {}),
      step: next,
      fromS,
      limitS: limit,
      offered: chosen.map((c) => c.id),
      at: now,
    })
    logger.warn({ incident: id, from_s: fromS, limit_s: limit }, 'nobody accepted: fire circle widened')
    makeOffers(i, widened, chosen)
    armWidening(widened)
    const all = index.within(i.location[0], i.location[1], limit, { onDuty: true, busy: false })
    point(i, widened, all.length, all[0]?.eta_s, chosen.length)
  }

  /** The next nearest of a limited type after a decline or an expiry (GoodSAM). */
  function moveOn(i: Incident, type: ResponderType): void {
    if (nearestCount(policy, type) === undefined) return
    const rec = store.record(i.id)
    if (rec === undefined || rec.state === 'closed' || !DISPATCHING.has(i.status)) return
    const found = candidates(i, rec.limitS, offeredIds(i.id), [type]).filter((c) => c.inside)
    const chosen = chooseResponders(found, policy, { quota: { [type]: 1 } })
    makeOffers(i, rec, chosen)
  }

  function expire(incident: string, responder: string): void {
    const o = store.offer(incident, responder)
    const i = incidents.get(incident)
    if (o === undefined || o.state !== 'offered' || i === undefined) return
    const now = clock.now()
    const next: OfferRecord = { ...o, state: 'no_answer', answeredAt: now }
    store.save([next])
    timeline(i, [
      entry(
        i,
        'offer',
        now,
        `offer to ${o.type} ${o.responder} unanswered after ${Math.round((now - o.offeredAt) / 1000)} s: no answer`,
        { responder },
      ),
    ])
    expired?.inc({ type: o.type })
    events.emit('dispatch.offer', {
      change: 'expired',
      offer: next,
      community: i.community,
      street: i.street,
      at: now,
    })
    moveOn(i, o.type)
  }

  /** The incident left alarm (resolved, false alarm): release, withdraw, stop the timers. */
  function close(i: Incident | undefined, rec: DispatchRecord): void {
    const now = clock.now()
    wideningTimers.get(rec.incident)?.cancel()
    wideningTimers.delete(rec.incident)
    const offers = store.offers(rec.incident)
    const withdrawn: OfferRecord[] = []
    const released: string[] = []
    for (const o of offers) {
      cancelExpiry(o.incident, o.responder)
      if (o.state === 'offered') withdrawn.push({ ...o, state: 'withdrawn', answeredAt: now })
      if (COMMITTED.has(o.state) && index.get(o.responder)?.incident === rec.incident) {
        index.setBusy(o.responder, undefined)
        released.push(o.responder)
      }
    }
    const closed: DispatchRecord = { ...rec, state: 'closed', closedAt: now }
    delete closed.deadline
    store.save(withdrawn, closed)
    if (i !== undefined && (withdrawn.length > 0 || released.length > 0)) {
      const parts = []
      if (withdrawn.length > 0)
        parts.push(`offers withdrawn from ${withdrawn.map((o) => o.responder).join(', ')}`)
      if (released.length > 0) parts.push(`released ${released.join(', ')}`)
      timeline(i, [entry(i, 'offer', now, `dispatch stopped (incident ${i.status}): ${parts.join('; ')}`)])
    }
    for (const o of withdrawn) {
      events.emit('dispatch.offer', {
        change: 'withdrawn',
        offer: o,
        community: rec.community,
        street: rec.street,
        at: now,
      })
    }
    logger.info({ incident: rec.incident, released: released.length }, 'dispatch stopped')
  }

  /** Bring dispatch in line with the incident's status. */
  function reconcile(id: string): void {
    const i = incidents.get(id)
    if (i === undefined) return
    const rec = store.record(id)
    if (DISPATCHING.has(i.status)) {
      if (rec === undefined) begin(i)
    } else if (rec !== undefined && rec.state !== 'closed') close(i, rec)
  }

  // ---- replies ----------------------------------------------------------------------------

  function reply(
    incident: string,
    responder: string,
    answer: Answer,
    actor: string,
    channel: 'mqtt' | 'http',
  ): ReplyResult {
    const refuse = (reason: RefusalReason, message: string): never => {
      refused?.inc({ reason, channel })
      throw new ReplyRefused(reason, message)
    }
    const i = incidents.get(incident)
    if (i === undefined) return refuse('unknown_incident', `incident ${incident} does not exist`)
    const o = store.offer(incident, responder)
    if (o === undefined) {
      if (registry.responder(responder) === undefined)
        return refuse('unknown_responder', `responder ${responder} is not registered`)
      return refuse('not_offered', `responder ${responder} was never offered incident ${incident}`)
    }
    const outcome = answerOffer(o.state, answer)
    if (!outcome.ok) return refuse('out_of_order', `${answer} from ${responder} refused: ${outcome.message}`)
    if (outcome.repeated) return { offer: o, repeated: true }
    if (!DISPATCHING.has(i.status))
      return refuse(
        'incident_closed',
        `incident ${incident} is ${i.status}: ${answer} from ${responder} refused`,
      )
    const st = index.get(responder)
    if (answer === 'accept' && st?.busy === true && st.incident !== incident)
      return refuse(
        'busy_elsewhere',
        `responder ${responder} is committed to incident ${st.incident}: decline it first`,
      )

    const now = clock.now()
    const next: OfferRecord = { ...o, state: outcome.to }
    if (answer === 'accept' || answer === 'decline') next.answeredAt = now
    if (answer === 'en_route') next.enRouteAt = now
    if (answer === 'on_scene') next.onSceneAt = now
    const wasCommitted = COMMITTED.has(o.state)

    let rec = store.record(incident)
    if (rec !== undefined) {
      if (answer === 'accept' && rec.state === 'active') {
        rec = { ...rec, state: 'covered' }
        delete rec.deadline
      }
      if (answer === 'on_scene' && rec.firstOnSceneAt === undefined) rec = { ...rec, firstOnSceneAt: now }
    }
    store.save([next], rec)
    cancelExpiry(incident, responder)
    if (answer === 'accept') {
      index.setBusy(responder, incident)
      wideningTimers.get(incident)?.cancel()
      wideningTimers.delete(incident)
    }
    const late = answer === 'accept' && o.state === 'no_answer' ? ' (after the offer expired)' : ''
    const standDown =
      answer === 'decline' && wasCommitted ? ` (stands down from ${o.state.replace('_', ' ')})` : ''
    const onSceneAfter =
      answer === 'on_scene' && rec !== undefined
        ? `, ${Math.round((now - rec.alarmAt) / 1000)} s after the alarm`
        : ''
    const via = channel === 'http' ? ` (by ${actor} over HTTP)` : ''
    timeline(i, [
      entry(i, 'reply', now, `${responder}: ${answer}${late}${standDown}${onSceneAfter}${via}`, {
        actor: channel === 'mqtt' ? `responder:${responder}` : actor,
        responder,
      }),
    ])
    replies?.inc({ answer, channel })
    events.emit('dispatch.reply', {
      answer,
      offer: next,
      actor: channel === 'mqtt' ? `responder:${responder}` : actor,
      community: i.community,
      street: i.street,
      at: now,
    })

    if (answer === 'decline') {
      if (wasCommitted) {
        if (st?.incident === incident) index.setBusy(responder, undefined)
        // The last committed responder stood down: the widening resumes.
        if (
          rec !== undefined &&
          rec.state === 'covered' &&
          !store.offers(incident).some((x) => COMMITTED.has(x.state))
        ) {
          const resumed: DispatchRecord = { ...rec, state: 'active' }
          if (rec.step + 1 < timings.limitsS.length) resumed.deadline = now + timings.widenAfterMs
          store.putRecord(resumed)
          armWidening(resumed)
        }
      }
      // An expired offer already moved on when it expired.
      if (o.state !== 'no_answer') moveOn(i, o.type)
    }
    return { offer: next, repeated: false }
  }

  const onReply = (r: ResponderReply): void => {
    queue(() => {
      try {
        reply(r.incident, r.responder, r.answer, `responder:${r.responder}`, 'mqtt')
      } catch (err) {
        if (!(err instanceof ReplyRefused)) throw err
        logger.warn(
          { responder: r.responder, incident: r.incident, answer: r.answer, reason: err.reason },
          `reply refused: ${err.message}`,
        )
      }
    })
  }

  const onIncident = (e: IncidentEvent): void => {
    if (e.change === 'verification' || e.change === 'device') return
    const id = e.incident.id
    queue(() => reconcile(id))
  }

  function queue(fn: () => void): void {
    if (!running) return
    queued++
    queueMicrotask(() => {
      queued--
      if (running) guarded(fn)
    })
  }

  // ---- start, stop ------------------------------------------------------------------------

  function resume(): void {
    for (const rec of store.openRecords()) {
      const i = incidents.get(rec.incident)
      if (i === undefined || !DISPATCHING.has(i.status)) {
        close(i, rec)
        continue
      }
      for (const o of store.offers(rec.incident)) {
        if (o.state === 'offered') armExpiry(o)
        if (COMMITTED.has(o.state)) index.setBusy(o.responder, rec.incident)
      }
      armWidening(rec)
    }
    // Alarms that came while dispatch was not running.
    for (const i of incidents.openIncidents()) {
      if (DISPATCHING.has(i.status) && store.record(i.id) === undefined) begin(i)
    }
  }

  const offerView = (o: OfferRecord): OfferView => {
    const name = registry.responder(o.responder)?.name
    return {
      responder: o.responder,
      ...(name !== undefined ? { name } : {}),
      type: o.type,
      mode: o.mode,
      eta_s: tenth(o.eta_s),
      distance_m: tenth(o.distance_m),
      inside: o.inside,
      state: o.state,
      round: o.round,
      limit_s: o.limitS,
      offeredAt: iso(o.offeredAt),
      expiresAt: iso(o.expiresAt),
      ...(o.answeredAt !== undefined ? { answeredAt: iso(o.answeredAt) } : {}),
      ...(o.enRouteAt !== undefined ? { enRouteAt: iso(o.enRouteAt) } : {}),
      ...(o.onSceneAt !== undefined ? { onSceneAt: iso(o.onSceneAt) } : {}),
    }
  }

  const owner = { stage: 'dispatch' }
  return {
    policy,
    timings,
    start() {
      if (running) return
      running = true
      guarded(resume)
      events.on(owner, 'incident', onIncident)
      events.on(owner, 'responder.reply', onReply)
      logger.info({ open: store.openRecords().length }, 'dispatch started')
    },
    stop() {
      if (!running) return
      running = false
      events.removeListeners(owner)
      for (const t of wideningTimers.values()) t.cancel()
      for (const t of expiryTimers.values()) t.cancel()
      wideningTimers.clear()
      expiryTimers.clear()
    },
    reply,
    offers: (incident) => store.offers(incident),
    offersView: (incident) => store.offers(incident).map(offerView),
    record: (incident) => store.record(incident),
    limitS: (incident) => store.record(incident)?.limitS ?? firstLimit,
    kpi: (filter) => store.kpi(filter, firstLimit * 1000),
    async flushed() {
      while (queued > 0) await new Promise<void>((r) => setImmediate(r))
      await publishing
    },
  }
}

/**
 * Dispatch ([docs/DOMAIN.md §Linked alerts] 1): when an incident reaches alarm, the responders
 * inside the 5-minute fire circle are offered it, nearest ETA first, by the policy per
 * responder type (./policy.ts); they accept or decline on `rsp/{id}/reply` (or an officer
 * answers for them over HTTP); with no acceptance in time the circle widens and the incident
 * escalates. The steps, one file each: offering (./offering.ts), expiry (./expiry.ts),
 * widening (./widening.ts), closing (./closing.ts), replies (./reply.ts), the resume at start
 * (./resume.ts); what is kept, through ./repository.ts, is held in memory by ./state.ts.
 *
 * - Offers go out on `rsp/{id}/offer` at QoS 1: `{"incident", "location": [lon, lat], "eta_s",
 *   "building"?: {id, name}}`, in ETA order.
 * - Every offer, reply, expiry and widening is in the incident's timeline; every dispatch step
 *   writes an `incident_event` point (`responders_inside`, `eta_first_s`) through the spool.
 * - After a restart the timers resume from the stored deadlines, busy responders stay busy,
 *   and an alarm that came while dispatch was stopped is dispatched.
 *
 * Every reaction (to the bus, to a timer, to a reply over HTTP) runs through one serial queue:
 * each stores its change before it changes memory and emits, and no two interleave across an
 * `await`. The listener on the bus only queues: the alarm engine's call returns before
 * dispatch does any I/O.
 */
import type { Registry as Metrics } from 'prom-client'
import type { AlarmEvents, Incident, IncidentBook, IncidentEvent } from '../alarms/index.ts'
import type { Publish } from '../broker/index.ts'
import type { IntakeEvents, ResponderReply } from '../intake/index.ts'
import type { Registry, ResponderType } from '../registry/index.ts'
import type { Clock, EventBus, Logger } from '../shared/index.ts'
import { createSerialQueue } from '../shared/index.ts'
import type { Spool } from '../spool/index.ts'
import { createClosing } from './closing.ts'
import { dispatchCounters } from './counters.ts'
import { createExpiry } from './expiry.ts'
import { createJournal } from './journal.ts'
import { createOffering } from './offering.ts'
import { dispatchPolicy, dispatchTimings } from './policy.ts'
import { type Chances, createProbabilityModel, type TypePrior } from './probability.ts'
import { type Channel, createReplyHandling, ReplyRefused, type ReplyResult } from './reply.ts'
import type { DispatchRepository, KpiCounts, KpiFilter, PredictedCounts } from './repository.ts'
import type { ResponderIndex } from './responder-index.ts'
import { createResume } from './resume.ts'
import { createDispatchState } from './state.ts'
import { createDispatchTimers } from './timers.ts'
import type {
  Answer,
  DispatchEvents,
  DispatchPolicy,
  DispatchRecord,
  DispatchTimings,
  OfferPolicy,
  OfferRecord,
  TypeRule,
} from './types.ts'
import { createIncidentUpdates } from './updates.ts'
import { type OfferView, offerView } from './views.ts'
import { createWidening } from './widening.ts'

export interface DispatcherDeps {
  clock: Clock
  events: EventBus<AlarmEvents & IntakeEvents & DispatchEvents>
  incidents: Pick<IncidentBook, 'getOpen' | 'get' | 'update' | 'openIncidents'>
  index: ResponderIndex
  registry: Pick<Registry, 'building' | 'device' | 'responder' | 'respondersOfBuilding'>
  publish: Publish
  /** Offers and each incident's widening step and deadline. */
  repository: DispatchRepository
  /** `incident_event` points per dispatch step go to the telemetry store through it. */
  spool?: Pick<Spool, 'append'>
  logger: Logger
  metrics?: Metrics
  /** Rules per responder type over docs/PROTOCOL.md's default policy. */
  policy?: Partial<Record<ResponderType, TypeRule>>
  timings?: Partial<DispatchTimings>
  /** FC_OFFER_POLICY: `fixed` (default) or `probability` (./probability.ts). */
  offerPolicy?: OfferPolicy
  /** FC_OFFER_TARGET_P: the probability policy's target, 0 < p < 1 (default 0.99). */
  targetP?: number
  /** The probability policy's defaults per type before any history (default DEFAULT_PRIORS). */
  priors?: Readonly<Record<ResponderType, TypePrior>>
}

export interface Dispatcher {
  /**
   * Load the open dispatch stored (replacing what memory held), resume timers and busy
   * responders, dispatch alarms missed, listen. Also after a stop(), in the same process.
   */
  start(): Promise<void>
  /** Stop listening, let the step under way finish, disarm timers (their deadlines stay stored). */
  stop(): Promise<void>
  /** A responder's answer. Rejects with ReplyRefused (nothing changed) with the reason. */
  reply(
    incident: string,
    responder: string,
    answer: Answer,
    actor: string,
    channel: Channel,
  ): Promise<ReplyResult>
  /** The incident's offers, open (from memory) or closed (from the repository). */
  offers(incident: string): Promise<OfferRecord[]>
  /** The offers as GET /api/incidents/{id} shows them. */
  offersView(incident: string): Promise<OfferView[]>
  /** The incident's dispatch record, open or closed. */
  record(incident: string): Promise<DispatchRecord | undefined>
  /** The circle's current (or, closed, last) limit for the incident, seconds (the first limit before dispatch). */
  limitS(incident: string): Promise<number>
  /** The 5-minute KPI over incidents whose alarm fell in [from, to]. */
  kpi(filter: KpiFilter): Promise<KpiCounts>
  /** The probability policy's predicted P against the observed share, over the same incidents. */
  predicted(filter: KpiFilter): Promise<PredictedCounts>
  readonly policy: DispatchPolicy
  /** FC_OFFER_POLICY. */
  readonly offerPolicy: OfferPolicy
  /** The probability policy's model and target (none with the fixed policy). */
  readonly chances: Chances | undefined
  readonly timings: DispatchTimings
  /** Resolves when queued work has run and its offers were handed to the broker (tests). */
  flushed(): Promise<void>
}

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { clock, events, incidents, index, registry, logger } = deps
  const policy = dispatchPolicy(deps.policy)
  const timings = dispatchTimings(deps.timings)
  const firstLimit = timings.limitsS[0]!
  const state = createDispatchState(deps.repository)
  const counters = dispatchCounters(deps.metrics)
  const journal = createJournal({ incidents, spool: deps.spool, logger })
  const work = createSerialQueue()
  let running = false

  /** Queue a step while running; a failure is logged, never thrown into the clock or the bus. */
  function enqueue(step: () => Promise<void>, incident?: string): void {
    if (!running) return
    work
      .run(async () => {
        if (running) await step()
      })
      .catch((err: unknown) => logger.error({ incident, err }, 'dispatch step failed'))
  }

  /** An open incident from memory; a closed one from the book. */
  const incident = async (id: string): Promise<Incident | undefined> =>
    incidents.getOpen(id) ?? incidents.get(id)

  const timers = createDispatchTimers({
    clock,
    due: {
      expiry: (i, r, at) => enqueue(() => expire(i, r, at), i),
      widening: (i, at) => enqueue(() => widen(i, at), i),
    },
  })
  const offerPolicy = deps.offerPolicy ?? 'fixed'
  const targetP = deps.targetP ?? 0.99
  if (!(targetP > 0 && targetP < 1))
    throw new RangeError(`dispatch: targetP must be in (0, 1), not ${targetP}`)
  const chances: Chances | undefined =
    offerPolicy === 'probability'
      ? { model: createProbabilityModel(deps.priors), target: targetP }
      : undefined
  const model = chances?.model
  const steps = {
    ...{ events, index, state, timers, journal, counters, logger, policy, timings, incident },
    ...(chances !== undefined ? { chances } : {}),
    ...(model !== undefined ? { model } : {}),
  }
  const offering = createOffering({ ...steps, registry, publish: deps.publish })
  const closing = createClosing({ ...steps, offering })
  const widen = createWidening({ ...steps, offering, close: closing.close })
  const expire = createExpiry({ ...steps, offering })
  const handleReply = createReplyHandling({ ...steps, clock, registry, offering })
  const tellResponders = createIncidentUpdates({ state, publish: deps.publish, logger })
  const resume = createResume({ ...steps, incidents, offering, closing })

  const reply: Dispatcher['reply'] = (i, r, answer, actor, channel) =>
    work.run(() => handleReply(i, r, answer, actor, channel))

  const onReply = (r: ResponderReply): void => {
    if (!running) return
    reply(r.incident, r.responder, r.answer, `responder:${r.responder}`, 'mqtt').catch((err: unknown) => {
      if (!(err instanceof ReplyRefused)) {
        logger.error({ incident: r.incident, err }, 'dispatch step failed')
        return
      }
      logger.warn(
        { responder: r.responder, incident: r.incident, answer: r.answer, reason: err.reason },
        `reply refused: ${err.message}`,
      )
    })
  }

  const onIncident = (e: IncidentEvent): void => {
    if (e.change === 'verification' || e.change === 'device' || e.change === 'operation') return
    const id = e.incident.id
    enqueue(async () => {
      const now = clock.now()
      await closing.reconcile(id, now)
      const i = await incident(id)
      if (i !== undefined) await tellResponders(i, now)
    }, id)
  }

  const owner = { stage: 'dispatch' }
  return {
    policy,
    timings,
    offerPolicy,
    chances,
    async start() {
      if (running) return
      running = true
      // Loaded and resumed first: what the bus brings meanwhile is queued behind it.
      const loaded = work.run(async () => {
        await state.load()
        if (model !== undefined) model.load(await deps.repository.histories())
        await resume(clock.now())
      })
      events.on(owner, 'incident', onIncident)
      events.on(owner, 'responder.reply', onReply)
      try {
        await loaded
      } catch (err) {
        logger.error({ err }, 'dispatch step failed')
      }
      logger.info({ open: state.openRecords().length }, 'dispatch started')
    },
    async stop() {
      if (!running) return
      running = false
      events.removeListeners(owner)
      timers.cancelAll()
      await work.idle()
      // A step under way at the stop may have armed a timer.
      timers.cancelAll()
    },
    reply,
    offers: (i) => state.offersOf(i),
    offersView: async (i) => (await state.offersOf(i)).map((o) => offerView(o, registry)),
    record: (i) => state.recordOf(i),
    limitS: async (i) => (await state.recordOf(i))?.limitS ?? firstLimit,
    kpi: (filter) => state.kpi(filter, firstLimit * 1000),
    predicted: (filter) => deps.repository.predicted(filter, firstLimit * 1000),
    async flushed() {
      await work.idle()
      await offering.published()
    },
  }
}

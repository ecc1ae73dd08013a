/**
 * A responder's answer to an offer ([docs/PROTOCOL.md §rsp/{id}/reply]), from the app over
 * MQTT or given by an officer over HTTP: accept, decline, en route, on scene, in that order.
 * An accepting responder is busy on the incident and the widening stops; the last committed
 * responder standing down resumes it; a decline moves on to the next nearest of a limited
 * type. A reply that would change nothing is refused with its reason (`ReplyRefused`).
 */
import type { Incident } from '../alarms/index.ts'
import type { Registry } from '../registry/index.ts'
import type { Clock, EventBus } from '../shared/index.ts'
import { DomainError } from '../shared/index.ts'
import { partitionMoved } from '../state/index.ts'
import type { DispatchCounters } from './counters.ts'
import { type Journal, timelineEntry } from './journal.ts'
import { DISPATCHING, type Offering } from './offering.ts'
import { answerOffer } from './policy.ts'
import type { ProbabilityModel } from './probability.ts'
import type { ResponderIndex } from './responder-index.ts'
import type { DispatchState } from './state.ts'
import type { DispatchTimers } from './timers.ts'
import {
  type Answer,
  COMMITTED,
  type DispatchEvents,
  type DispatchRecord,
  type DispatchTimings,
  type OfferRecord,
} from './types.ts'

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

export type Channel = 'mqtt' | 'http'

export interface ReplyDeps {
  clock: Pick<Clock, 'now'>
  events: Pick<EventBus<DispatchEvents>, 'emit'>
  index: Pick<ResponderIndex, 'get' | 'setBusy'>
  registry: Pick<Registry, 'responder'>
  state: Pick<DispatchState, 'offer' | 'offers' | 'offersOf' | 'record' | 'save'>
  timers: Pick<DispatchTimers, 'cancelExpiry' | 'cancelWidening' | 'armWidening'>
  offering: Pick<Offering, 'moveOn'>
  journal: Journal
  counters: Pick<DispatchCounters, 'replies' | 'refused'>
  timings: DispatchTimings
  /** FC_OFFER_POLICY=probability: the history learns of each accept and decline. */
  model?: Pick<ProbabilityModel, 'observe' | 'lateAccept'>
  /** The incident, open or closed. */
  incident(id: string): Promise<Incident | undefined>
}

/** What a reply changes: the offer, and the record (covered, first on scene). */
interface Change {
  i: Incident
  before: OfferRecord
  offer: OfferRecord
  rec: DispatchRecord | undefined
  /** The responder's state in the index before the reply. */
  wasBusyOn: string | undefined
}

export type HandleReply = (
  incident: string,
  responder: string,
  answer: Answer,
  actor: string,
  channel: Channel,
) => Promise<ReplyResult>

export function createReplyHandling(deps: ReplyDeps): HandleReply {
  const { clock, events, index, state, timers, journal, timings } = deps

  /** The reply's checks, in order; a refusal changes nothing. The change when taken. */
  async function decide(
    incident: string,
    responder: string,
    answer: Answer,
    channel: Channel,
    now: number,
  ): Promise<Change | ReplyResult> {
    const refuse = (reason: RefusalReason, message: string): never => {
      deps.counters.refused?.inc({ reason, channel })
      throw new ReplyRefused(reason, message)
    }
    const i = await deps.incident(incident)
    if (i === undefined) return refuse('unknown_incident', `incident ${incident} does not exist`)
    // A closed incident's offers are not in memory: read from the repository, so that a late
    // reply to it is refused for what it is (or taken as a repeat), not as never offered.
    const held = state.record(incident) !== undefined
    const o = held
      ? state.offer(incident, responder)
      : (await state.offersOf(incident)).find((x) => x.responder === responder)
    if (o === undefined) {
      if (deps.registry.responder(responder) === undefined)
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
    // Open but not in this node's working set: another node dispatches it (a cluster).
    if (!held) throw partitionMoved(i.community)
    const st = index.get(responder)
    if (answer === 'accept' && st?.busy === true && st.incident !== incident)
      return refuse(
        'busy_elsewhere',
        `responder ${responder} is committed to incident ${st.incident}: decline it first`,
      )

    const next: OfferRecord = { ...o, state: outcome.to }
    if (answer === 'accept' || answer === 'decline') next.answeredAt = now
    if (answer === 'en_route') next.enRouteAt = now
    if (answer === 'on_scene') next.onSceneAt = now
    let rec = state.record(incident)
    if (rec !== undefined) {
      if (answer === 'accept' && rec.state === 'active') {
        rec = { ...rec, state: 'covered' }
        delete rec.deadline
      }
      if (answer === 'on_scene' && rec.firstOnSceneAt === undefined) rec = { ...rec, firstOnSceneAt: now }
    }
    return { i, before: o, offer: next, rec, wasBusyOn: st?.incident }
  }

  function reason(c: Change, answer: Answer, actor: string, channel: Channel, now: number): string {
    const o = c.before
    const late = answer === 'accept' && o.state === 'no_answer' ? ' (after the offer expired)' : ''
    const standDown =
      answer === 'decline' && COMMITTED.has(o.state) ? ` (stands down from ${o.state.replace('_', ' ')})` : ''
    const onSceneAfter =
      answer === 'on_scene' && c.rec !== undefined
        ? `, ${Math.round((now - c.rec.alarmAt) / 1000)} s after the alarm`
        : ''
    const via = channel === 'http' ? ` (by ${actor} over HTTP)` : ''
    return `${o.responder}: ${answer}${late}${standDown}${onSceneAfter}${via}`
  }

  /** A decline: a committed responder stands down (the widening resumes when nobody is left); move on. */
  async function afterDecline(c: Change, now: number): Promise<void> {
    const { i, before: o, rec } = c
    if (COMMITTED.has(o.state)) {
      if (c.wasBusyOn === i.id) index.setBusy(o.responder, undefined)
      if (
        rec !== undefined &&
        rec.state === 'covered' &&
        !state.offers(i.id).some((x) => COMMITTED.has(x.state))
      ) {
        const resumed: DispatchRecord = { ...rec, state: 'active' }
        if (rec.step + 1 < timings.limitsS.length) resumed.deadline = now + timings.widenAfterMs
        await state.save([], resumed)
        timers.armWidening(resumed)
      }
    }
    // An expired offer already moved on when it expired.
    if (o.state !== 'no_answer') await deps.offering.moveOn(i, o.type, now)
  }

  /** The responder's history: an answer to a pending offer, or a late accept of an expired one. */
  function learn(c: Change, answer: Answer, now: number): void {
    const o = c.before
    const lagS = (now - o.offeredAt) / 1000
    if (answer === 'accept' && o.state === 'offered') deps.model?.observe(o.responder, o.type, true, lagS)
    else if (answer === 'accept' && o.state === 'no_answer') deps.model?.lateAccept(o.responder, o.type, lagS)
    else if (answer === 'decline' && o.state === 'offered') deps.model?.observe(o.responder, o.type, false, 0)
  }

  return async function reply(incident, responder, answer, actor, channel) {
    const now = clock.now()
    const c = await decide(incident, responder, answer, channel, now)
    if (!('i' in c)) return c
    await state.save([c.offer], c.rec)
    learn(c, answer, now)
    timers.cancelExpiry(incident, responder)
    if (answer === 'accept') {
      index.setBusy(responder, incident)
      timers.cancelWidening(incident)
    }
    const by = channel === 'mqtt' ? `responder:${responder}` : actor
    await journal.timeline(c.i, [
      timelineEntry(c.i, 'reply', now, reason(c, answer, actor, channel, now), { actor: by, responder }),
    ])
    deps.counters.replies?.inc({ answer, channel })
    events.emit('dispatch.reply', {
      answer,
      offer: c.offer,
      actor: by,
      community: c.i.community,
      street: c.i.street,
      at: now,
    })
    if (answer === 'decline') await afterDecline(c, now)
    return { offer: c.offer, repeated: false }
  }
}

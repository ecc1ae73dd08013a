/**
 * An offer unanswered for `offerTimeoutMs` (30 s) expires (`no_answer`); an expiry of a type
 * the policy limits moves on to the next nearest of that type inside the circle (GoodSAM).
 */
import type { Incident } from '../alarms/index.ts'
import type { EventBus } from '../shared/index.ts'
import type { DispatchCounters } from './counters.ts'
import { type Journal, timelineEntry } from './journal.ts'
import type { Offering } from './offering.ts'
import type { ProbabilityModel } from './probability.ts'
import type { DispatchState } from './state.ts'
import type { DispatchEvents, OfferRecord } from './types.ts'

export interface ExpiryDeps {
  events: Pick<EventBus<DispatchEvents>, 'emit'>
  state: Pick<DispatchState, 'offer' | 'save'>
  offering: Pick<Offering, 'moveOn'>
  journal: Journal
  counters: Pick<DispatchCounters, 'expired'>
  /** FC_OFFER_POLICY=probability: the history learns of each expiry. */
  model?: Pick<ProbabilityModel, 'observe'>
  /** The incident, open or closed. */
  incident(id: string): Promise<Incident | undefined>
}

export function createExpiry(
  deps: ExpiryDeps,
): (incident: string, responder: string, at: number) => Promise<void> {
  const { events, state, journal } = deps
  return async function expire(incident, responder, now) {
    const o = state.offer(incident, responder)
    if (o === undefined || o.state !== 'offered') return
    const i = await deps.incident(incident)
    if (i === undefined) return
    const next: OfferRecord = { ...o, state: 'no_answer', answeredAt: now }
    await state.save([next])
    deps.model?.observe(o.responder, o.type, false, 0)
    await journal.timeline(i, [
      timelineEntry(
        i,
        'offer',
        now,
        `offer to ${o.type} ${o.responder} unanswered after ${Math.round((now - o.offeredAt) / 1000)} s: no answer`,
        { responder },
      ),
    ])
    deps.counters.expired?.inc({ type: o.type })
    events.emit('dispatch.offer', {
      change: 'expired',
      offer: next,
      community: i.community,
      street: i.street,
      at: now,
    })
    await deps.offering.moveOn(i, o.type, now)
  }
}

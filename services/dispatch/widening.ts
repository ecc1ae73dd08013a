/**
 * The widening circle ([docs/DOMAIN.md §Linked alerts] 1): with no acceptance `widenAfterMs`
 * after the alarm the circle widens to the next limit (450 s, then 600 s after another 60 s);
 * the newly reachable responders are offered by the same policy and a `dispatch.escalation`
 * event goes out.
 */
import type { Incident } from '../alarms/index.ts'
import type { EventBus, Logger } from '../shared/index.ts'
import type { DispatchCounters } from './counters.ts'
import { type Journal, timelineEntry } from './journal.ts'
import { DISPATCHING, type Offering } from './offering.ts'
import { chooseResponders } from './policy.ts'
import { type Chances, pickByChance } from './probability.ts'
import type { ResponderIndex } from './responder-index.ts'
import type { DispatchState } from './state.ts'
import type { DispatchTimers } from './timers.ts'
import {
  COMMITTED,
  type DispatchEvents,
  type DispatchPolicy,
  type DispatchRecord,
  type DispatchTimings,
} from './types.ts'

export interface WideningDeps {
  events: Pick<EventBus<DispatchEvents>, 'emit'>
  index: Pick<ResponderIndex, 'within'>
  state: Pick<DispatchState, 'record' | 'offers' | 'save'>
  timers: Pick<DispatchTimers, 'armWidening'>
  offering: Pick<Offering, 'candidates' | 'makeOffers' | 'offeredIds'>
  journal: Journal
  counters: Pick<DispatchCounters, 'escalations'>
  logger: Logger
  policy: DispatchPolicy
  timings: DispatchTimings
  /** FC_OFFER_POLICY=probability: the model and the target; none: the fixed policy. */
  chances?: Chances
  /** The incident, open or closed. */
  incident(id: string): Promise<Incident | undefined>
  /** Dispatch of an incident that left alarm stops (./closing.ts). */
  close(i: Incident | undefined, rec: DispatchRecord, at: number): Promise<void>
}

/** Nobody accepted in time: the circle widens to the next limit; the newly reachable are offered. */
export function createWidening(deps: WideningDeps): (id: string, at: number) => Promise<void> {
  const { events, index, state, timers, offering, journal, logger, policy, timings } = deps

  function escalate(
    i: Incident,
    rec: DispatchRecord,
    widened: DispatchRecord,
    offered: string[],
    now: number,
  ) {
    deps.counters.escalations?.inc({ limit_s: String(widened.limitS) })
    events.emit('dispatch.escalation', {
      incident: i.id,
      community: i.community,
      street: i.street,
      ...(i.building !== undefined ? { building: i.building } : {}),
      step: widened.step,
      fromS: rec.limitS,
      limitS: widened.limitS,
      offered,
      at: now,
    })
    logger.warn(
      { incident: i.id, from_s: rec.limitS, limit_s: widened.limitS },
      'nobody accepted: fire circle widened',
    )
  }

  return async function widen(id, now) {
    const rec = state.record(id)
    if (rec === undefined || rec.state !== 'active') return
    const i = await deps.incident(id)
    if (i === undefined) return
    if (!DISPATCHING.has(i.status)) return deps.close(i, rec, now)
    if (state.offers(id).some((o) => COMMITTED.has(o.state))) {
      // An acceptance that was not seen as covering (cannot normally happen): stop widening.
      const covered: DispatchRecord = { ...rec, state: 'covered' }
      delete covered.deadline
      return state.save([], covered)
    }
    const next = rec.step + 1
    const limit = timings.limitsS[next]
    if (limit === undefined) return
    const widened: DispatchRecord = { ...rec, step: next, limitS: limit }
    delete widened.deadline
    if (next + 1 < timings.limitsS.length) widened.deadline = (rec.deadline ?? now) + timings.widenAfterMs
    const found = await offering.candidates(i, limit, offering.offeredIds(id))
    const building = i.building !== undefined ? { building: i.building } : {}
    const choice =
      deps.chances === undefined
        ? undefined
        : pickByChance(deps.chances, found, policy, { ...building, ...widened, now }, state.offers(id))
    const chosen = choice?.chosen ?? chooseResponders(found, policy, building)
    await state.save([], widened)
    const waited = Math.round((now - rec.startedAt) / 1000)
    await journal.timeline(i, [
      timelineEntry(
        i,
        'escalation',
        now,
        `no responder accepted within ${waited} s: the circle widens from ${rec.limitS} s to ${limit} s (${limit / 60} min); ${chosen.length} more responder${chosen.length === 1 ? '' : 's'} offered`,
      ),
    ])
    escalate(
      i,
      rec,
      widened,
      chosen.map((c) => c.id),
      now,
    )
    await offering.makeOffers(i, widened, chosen, now, false, choice?.p)
    timers.armWidening(widened)
    const all = index.within(i.location[0], i.location[1], limit, { onDuty: true, busy: false })
    journal.point(i, widened, now, { inside: all.length, etaFirst: all[0]?.eta_s, offers: chosen.length })
  }
}

/**
 * Offering ([docs/DOMAIN.md §Linked alerts] 1): who is a candidate inside the circle, and
 * making the offers (stored, in the timeline, expiries armed, published nearest ETA first on
 * `rsp/{id}/offer` at QoS 1). The first round when an incident reaches alarm (`begin`), and
 * the next nearest of a limited type after a decline or an expiry (`moveOn`, GoodSAM).
 */
import type { Incident } from '../alarms/index.ts'
import type { Publish } from '../broker/index.ts'
import type { Registry, ResponderType } from '../registry/index.ts'
import type { EventBus, Logger } from '../shared/index.ts'
import { tenth } from './circle.ts'
import type { DispatchCounters } from './counters.ts'
import { etaSeconds, haversineM, withinLimit } from './eta.ts'
import { describeOffer, type Journal, timelineEntry } from './journal.ts'
import { type Candidate, chooseResponders, nearestCount } from './policy.ts'
import { type Chances, liveChance, pickByChance } from './probability.ts'
import { type ResponderIndex, roadEta } from './responder-index.ts'
import type { DispatchState } from './state.ts'
import type { DispatchTimers } from './timers.ts'
import type { DispatchEvents, DispatchPolicy, DispatchRecord, DispatchTimings, OfferRecord } from './types.ts'

/** Incident statuses in which dispatch runs: an alarm not yet closed. */
export const DISPATCHING: ReadonlySet<Incident['status']> = new Set(['alarm', 'acknowledged', 'confirmed'])

/** How long an offer waits for the one before it to be taken by the broker (ETA order). */
const PUBLISH_ORDER_WAIT_MS = 1000
const pause = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref()
  })

export interface OfferingDeps {
  events: Pick<EventBus<DispatchEvents>, 'emit'>
  index: Pick<ResponderIndex, 'within' | 'get' | 'params' | 'roads'>
  registry: Pick<Registry, 'building' | 'device' | 'respondersOfBuilding'>
  publish: Publish
  state: Pick<DispatchState, 'save' | 'offers' | 'record'>
  timers: Pick<DispatchTimers, 'armExpiry' | 'armWidening'>
  journal: Journal
  counters: Pick<DispatchCounters, 'offered'>
  logger: Logger
  policy: DispatchPolicy
  timings: DispatchTimings
  /** FC_OFFER_POLICY=probability: the model and the target; none: the fixed policy. */
  chances?: Chances
}

export interface Offering {
  /**
   * Who could be offered the incident now within `limitS`: on duty, free, not offered it yet;
   * plus (for `building` rules) the responders assigned to its building wherever they are.
   */
  candidates(
    i: Incident,
    limitS: number,
    exclude: ReadonlySet<string>,
    types?: ResponderType[],
  ): Promise<Candidate[]>
  /** Store the offers (with the record when given), write the timeline, arm expiries, publish. */
  makeOffers(
    i: Incident,
    rec: DispatchRecord,
    chosen: readonly Candidate[],
    at: number,
    withRecord?: boolean,
    probability?: number,
  ): Promise<void>
  /** The incident reached alarm: offer it inside the first circle and arm the widening. */
  begin(i: Incident, at: number): Promise<void>
  /**
   * The next nearest of a limited type after a decline or an expiry (GoodSAM); with the
   * probability policy, the likeliest others until the open offers' P is back at the target.
   */
  moveOn(i: Incident, type: ResponderType, at: number): Promise<void>
  /** Those offered the incident already. */
  offeredIds(incident: string): Set<string>
  /** Resolves when every offer made so far has been handed to the broker (or given up on). */
  published(): Promise<void>
}

/** docs/PROTOCOL.md: an offer's building is `{id, name, floor?, address?}` (floor: the first alarming device's). */
function offerBuilding(
  registry: Pick<Registry, 'device'>,
  i: Incident,
  building: { id: string; name: string; address?: string } | undefined,
) {
  if (building === undefined) return undefined
  let floor: number | undefined
  for (const d of i.devices) {
    floor = registry.device(d.device)?.floor
    if (floor !== undefined) break
  }
  return {
    id: building.id,
    name: building.name,
    ...(floor !== undefined ? { floor } : {}),
    ...(building.address !== undefined ? { address: building.address } : {}),
  }
}

/** The responders assigned to the incident's building (for `building` rules), wherever they are. */
async function buildingCandidates(
  deps: Pick<OfferingDeps, 'index' | 'registry' | 'policy'>,
  i: Incident & { building: string },
  limitS: number,
  exclude: ReadonlySet<string>,
  found: ReadonlySet<string>,
  types?: ResponderType[],
): Promise<Candidate[]> {
  const { index, registry, policy } = deps
  const [lon, lat] = i.location
  const out: Candidate[] = []
  for (const type of Object.keys(policy) as ResponderType[]) {
    if (policy[type].select !== 'building' || (types !== undefined && !types.includes(type))) continue
    // From the registry's memory: no database read while a fire is being dispatched.
    for (const r of registry.respondersOfBuilding(i.building)) {
      if (r.type !== type || !r.enabled || exclude.has(r.id) || found.has(r.id)) continue
      const st = index.get(r.id)
      if (st === undefined || !st.onDuty || st.busy) continue
      // A guard with no position yet is taken to be at the building guarded.
      const at = st.located ? [st.lon, st.lat] : (registry.building(i.building)?.location ?? i.location)
      const d = haversineM(lon, lat, at[0]!, at[1]!)
      // Along roads when there are; a guard the roads do not reach keeps the straight-line estimate, outside.
      const road =
        index.roads === undefined
          ? undefined
          : roadEta(index.roads, index.params, st.mode, [at[0]!, at[1]!], [lon, lat])
      const eta = road?.eta_s ?? etaSeconds(d, st.mode, index.params)
      out.push({
        id: r.id,
        type: r.type,
        mode: st.mode,
        eta_s: eta,
        distance_m: d,
        ...(road !== undefined ? { road_m: road.road_m } : {}),
        building: i.building,
        inside: (index.roads === undefined || road !== undefined) && withinLimit(eta, limitS),
      })
    }
  }
  return out
}

/** The first round's offers: by the rules per type, or by probability. */
function firstChoice(
  found: readonly Candidate[],
  policy: DispatchPolicy,
  i: Incident,
  rec: DispatchRecord,
  now: number,
  chances: Chances | undefined,
): { chosen: Candidate[]; p?: number } {
  const building = i.building !== undefined ? { building: i.building } : {}
  if (chances === undefined) return { chosen: chooseResponders(found, policy, building) }
  return pickByChance(chances, found, policy, { ...building, ...rec, now }, [])
}

/** The probability policy after a decline or an expiry: offer more while the open offers fall short. */
async function topUp(
  ctx: Pick<OfferingDeps, 'state' | 'policy'> & Pick<Offering, 'candidates' | 'makeOffers' | 'offeredIds'>,
  i: Incident,
  now: number,
  chances: Chances,
): Promise<void> {
  const rec = ctx.state.record(i.id)
  if (rec === undefined || rec.state !== 'active' || !DISPATCHING.has(i.status)) return
  const live = ctx.state.offers(i.id)
  if (liveChance(live, chances.model, rec.alarmAt, rec.limitS, now) >= chances.target) return
  const found = (await ctx.candidates(i, rec.limitS, ctx.offeredIds(i.id))).filter((c) => c.inside)
  const building = i.building !== undefined ? { building: i.building } : {}
  const choice = pickByChance(chances, found, ctx.policy, { ...building, ...rec, now }, live)
  await ctx.makeOffers(i, rec, choice.chosen, now, false, choice.p)
}

export function createOffering(deps: OfferingDeps): Offering {
  const { events, index, registry, state, timers, journal, logger, policy, timings } = deps
  /** Offers are published one after the other, in the order they were made (nearest first). */
  let publishing: Promise<void> = Promise.resolve()

  async function candidates(
    i: Incident,
    limitS: number,
    exclude: ReadonlySet<string>,
    types?: ResponderType[],
  ): Promise<Candidate[]> {
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
      ...(r.road_m !== undefined ? { road_m: r.road_m } : {}),
      inside: true,
      ...(r.building !== undefined ? { building: r.building } : {}),
    }))
    if (i.building === undefined) return out
    const found = new Set(out.map((c) => c.id))
    const b = i as Incident & { building: string }
    return [...out, ...(await buildingCandidates(deps, b, limitS, exclude, found, types))]
  }

  function publishOffer(i: Incident, o: OfferRecord, building: { id: string; name: string } | undefined) {
    const b = offerBuilding(registry, i, building)
    const payload = JSON.stringify({
      incident: i.id,
      location: i.location,
      eta_s: tenth(o.eta_s),
      ...(b !== undefined ? { building: b } : {}),
    })
    const topic = `rsp/${o.responder}/offer`
    // In order, but a publish that never completes holds the next one back 1 s at most.
    publishing = Promise.race([publishing, pause(PUBLISH_ORDER_WAIT_MS)])
      .then(() => deps.publish(topic, payload, 1))
      .catch((err: Error) =>
        logger.warn({ incident: i.id, responder: o.responder, err: err.message }, 'offer not published'),
      )
  }

  async function makeOffers(
    i: Incident,
    rec: DispatchRecord,
    chosen: readonly Candidate[],
    now: number,
    withRecord = false,
    probability?: number,
  ): Promise<void> {
    const list: OfferRecord[] = chosen.map((c) => ({
      incident: i.id,
      responder: c.id,
      type: c.type,
      mode: c.mode,
      eta_s: c.eta_s,
      distance_m: c.distance_m,
      ...(c.road_m !== undefined ? { road_m: c.road_m } : {}),
      inside: c.inside,
      state: 'offered',
      round: rec.step,
      limitS: rec.limitS,
      offeredAt: now,
      expiresAt: now + timings.offerTimeoutMs,
      ...(probability !== undefined ? { probability } : {}),
    }))
    await state.save(list, withRecord ? rec : undefined)
    if (list.length === 0) return
    await journal.timeline(
      i,
      list.map((o) =>
        timelineEntry(i, 'offer', now, `offered to ${describeOffer(o)}`, { responder: o.responder }),
      ),
    )
    const b = i.building !== undefined ? registry.building(i.building) : undefined
    for (const o of list) {
      timers.armExpiry(o)
      deps.counters.offered?.inc({ type: o.type })
      events.emit('dispatch.offer', {
        change: 'offered',
        offer: o,
        community: i.community,
        street: i.street,
        at: now,
      })
      publishOffer(i, o, b)
    }
    logger.info(
      {
        incident: i.id,
        step: rec.step,
        limit_s: rec.limitS,
        offers: list.length,
        ...(probability !== undefined ? { p: probability } : {}),
      },
      'incident offered',
    )
  }

  const offeredIds = (incident: string) => new Set(state.offers(incident).map((o) => o.responder))

  return {
    candidates,
    makeOffers,
    offeredIds,
    async begin(i, now) {
      const rec: DispatchRecord = {
        incident: i.id,
        community: i.community,
        street: i.street,
        alarmAt: i.alarmAt ?? now,
        startedAt: now,
        step: 0,
        limitS: timings.limitsS[0]!,
        state: 'active',
        ...(timings.limitsS.length > 1 ? { deadline: now + timings.widenAfterMs } : {}),
      }
      const found = await candidates(i, rec.limitS, new Set())
      const { chosen, p } = firstChoice(found, policy, i, rec, now, deps.chances)
      await makeOffers(i, rec, chosen, now, true, p)
      timers.armWidening(rec)
      const inside = found.filter((c) => c.inside)
      journal.point(i, rec, now, { inside: inside.length, etaFirst: inside[0]?.eta_s, offers: chosen.length })
    },
    async moveOn(i, type, now) {
      if (deps.chances !== undefined)
        return topUp({ state, policy, candidates, makeOffers, offeredIds }, i, now, deps.chances)
      if (nearestCount(policy, type) === undefined) return
      const rec = state.record(i.id)
      if (rec === undefined || rec.state === 'closed' || !DISPATCHING.has(i.status)) return
      const found = (await candidates(i, rec.limitS, offeredIds(i.id), [type])).filter((c) => c.inside)
      const chosen = chooseResponders(found, policy, { quota: { [type]: 1 } })
      await makeOffers(i, rec, chosen, now)
    },
    published: () => publishing,
  }
}

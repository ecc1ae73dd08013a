/**
 * Offers chosen by probability (FC_OFFER_POLICY=probability), pure: the on-scene chance of one
 * responder, the smallest set reaching the target on a crowd whose answer is worked out by hand,
 * what the policy's rules force in whatever the target, and the history moving the rates.
 */
import { describe, expect, it } from 'vitest'
import type { Candidate } from '../../services/dispatch/policy.ts'
import { DEFAULT_POLICY } from '../../services/dispatch/policy.ts'
import {
  chooseByProbability,
  createProbabilityModel,
  liveChance,
  onSceneChance,
  RESPONDER_STRENGTH,
  TYPE_STRENGTH,
  type TypePrior,
} from '../../services/dispatch/probability.ts'
import type { OfferRecord } from '../../services/dispatch/types.ts'

/** A lag whose half-life is 10 s: F(10) = 1/2, F(20) = 3/4, F(30) = 7/8. */
const HALF_10 = 10 / Math.LN2
const PRIORS: Record<Candidate['type'], TypePrior> = {
  micro_station: { accept: 0.8, lagS: HALF_10 },
  fire_station: { accept: 0.9, lagS: HALF_10 },
  grid_staff: { accept: 0.6, lagS: HALF_10 },
  security_guard: { accept: 0.7, lagS: HALF_10 },
  volunteer: { accept: 0.4, lagS: HALF_10 },
}

const c = (
  id: string,
  type: Candidate['type'],
  eta_s: number,
  extra: Partial<Candidate> = {},
): Candidate => ({
  id,
  type,
  mode: 'foot',
  eta_s,
  distance_m: eta_s,
  inside: eta_s <= 300,
  ...extra,
})

/**
 * Horizon 300 s, offered at the alarm. By hand (q = p · F(300 − eta)):
 * ms-1 0.8 · F(10) = 0.4 (forced: every micro station member inside); guard-b outside at 400 s,
 * forced (the building's guard), q = 0; g-2 0.6 · F(200) ≈ 0.6; g-1 0.6 · F(20) = 0.45;
 * v-1 0.4 · F(250) ≈ 0.4; g-out outside: never.
 * Forced: P = 0.4. + g-2: 1 − 0.6·0.4 = 0.76. + g-1: 1 − 0.24·0.55 = 0.868. + v-1: 1 − 0.132·0.6 = 0.9208.
 */
const crowd: Candidate[] = [
  c('v-1', 'volunteer', 50),
  c('g-2', 'grid_staff', 100),
  c('g-1', 'grid_staff', 280),
  c('ms-1', 'micro_station', 290, { mode: 'motor' }),
  c('g-out', 'grid_staff', 320),
  c('guard-b', 'security_guard', 400, { building: 'b-1' }),
]
const at = { building: 'b-1', horizonS: 300, elapsedS: 0 }

describe('the on-scene chance of one responder', () => {
  it('is p · F(horizon − elapsed − eta), 0 past the horizon, and less for an offer already waiting', () => {
    expect(onSceneChance(0.8, HALF_10, 290, 300, 0)).toBeCloseTo(0.4, 12)
    expect(onSceneChance(0.6, HALF_10, 270, 300, 10)).toBeCloseTo(0.45, 12)
    expect(onSceneChance(0.8, HALF_10, 300, 300, 0)).toBe(0)
    expect(onSceneChance(0.8, HALF_10, 400, 300, 0)).toBe(0)
    // Unanswered for 10 s (F(10) = 1/2), with 30 s left (F(30) = 7/8): 0.8 · (7/8 − 1/2) / (1 − 0.4) = 0.5.
    expect(onSceneChance(0.8, HALF_10, 270, 300, 0, 10)).toBeCloseTo(0.5, 12)
    // Waited past the time left: nothing.
    expect(onSceneChance(0.8, HALF_10, 270, 300, 0, 40)).toBe(0)
  })
})

describe('the smallest set reaching the target', () => {
  const model = createProbabilityModel(PRIORS)
  const ids = (target: number) => chooseByProbability(crowd, DEFAULT_POLICY, model, { ...at, target })

  it('takes the forced ones, then the likeliest others until P ≥ target, offered nearest ETA first', () => {
    const r = ids(0.85)
    expect(r.chosen.map((x) => x.id)).toEqual(['g-2', 'g-1', 'ms-1', 'guard-b'])
    expect(r.p).toBeCloseTo(0.868, 5)
    expect(r.forced).toBe(2)
    expect(ids(0.7).chosen.map((x) => x.id)).toEqual(['g-2', 'ms-1', 'guard-b'])
    expect(ids(0.7).p).toBeCloseTo(0.76, 5)
    expect(ids(0.9).chosen.map((x) => x.id)).toEqual(['v-1', 'g-2', 'g-1', 'ms-1', 'guard-b'])
    expect(ids(0.9).p).toBeCloseTo(0.9208, 5)
  })

  it('keeps the forced ones whatever the target, and offers nobody outside but the building’s own', () => {
    const r = ids(0.01)
    expect(r.chosen.map((x) => x.id)).toEqual(['ms-1', 'guard-b'])
    expect(r.p).toBeCloseTo(0.4, 12)
    // A target out of reach: everyone inside, and the P it could reach.
    const all = ids(0.99)
    expect(all.chosen.map((x) => x.id)).toEqual(['v-1', 'g-2', 'g-1', 'ms-1', 'guard-b'])
    expect(all.p).toBeLessThan(0.99)
  })

  it('counts the offers already open: with P 0.76 open, one more (g-1 at most) is enough for 0.85', () => {
    const rest = crowd.filter((x) => x.id !== 'g-2' && x.id !== 'ms-1' && x.id !== 'guard-b')
    const r = chooseByProbability(rest, DEFAULT_POLICY, model, { ...at, target: 0.85, liveP: 0.76 })
    // g-1 (0.45) before v-1 (≈ 0.4): 1 − 0.24 · 0.55 = 0.868 ≥ 0.85, v-1 not needed.
    expect(r.chosen.map((x) => x.id)).toEqual(['g-1'])
    expect(r.p).toBeCloseTo(0.868, 5)
  })
})

describe('the open offers’ chance', () => {
  const model = createProbabilityModel(PRIORS)
  const offer = (responder: string, type: OfferRecord['type'], eta_s: number, state: OfferRecord['state']) =>
    ({
      incident: 'i',
      responder,
      type,
      mode: 'foot',
      eta_s,
      distance_m: eta_s,
      inside: true,
      state,
      round: 0,
      limitS: 300,
      offeredAt: 0,
      expiresAt: 30_000,
    }) satisfies OfferRecord
  it('drops as offers are declined or wait unanswered, and is 1 once someone accepted', () => {
    const open = [offer('ms-1', 'micro_station', 290, 'offered'), offer('g-1', 'grid_staff', 280, 'offered')]
    // At the alarm: 1 − 0.6 · 0.55 = 0.67.
    expect(liveChance(open, model, 0, 300, 0)).toBeCloseTo(0.67, 12)
    // g-1 declined: only ms-1's 0.4 is left.
    expect(liveChance([open[0]!, { ...open[1]!, state: 'declined' }], model, 0, 300, 0)).toBeCloseTo(0.4, 12)
    // 5 s on, both unanswered: each is worth less.
    expect(liveChance(open, model, 0, 300, 5000)).toBeLessThan(0.67)
    expect(liveChance([{ ...open[0]!, state: 'accepted' }], model, 0, 300, 0)).toBe(1)
  })
})

describe('the history', () => {
  it('moves a responder’s acceptance and lag from its type’s, and the type’s from the default', () => {
    const model = createProbabilityModel(PRIORS)
    expect(model.acceptance('g-1', 'grid_staff')).toBeCloseTo(0.6, 12)
    for (let k = 0; k < 5; k++) model.observe('g-1', 'grid_staff', false, 0)
    // The type: (0.6 · 20 + 0) / 25 = 0.48; g-1: (0.48 · 5 + 0) / 10 = 0.24; a new grid staff: 0.48.
    const type = (0.6 * TYPE_STRENGTH) / (TYPE_STRENGTH + 5)
    expect(model.acceptance('g-new', 'grid_staff')).toBeCloseTo(type, 12)
    expect(model.acceptance('g-1', 'grid_staff')).toBeCloseTo(
      (type * RESPONDER_STRENGTH) / (RESPONDER_STRENGTH + 5),
      12,
    )
    model.observe('g-2', 'grid_staff', true, 40)
    const typeLag = (HALF_10 * TYPE_STRENGTH + 40) / (TYPE_STRENGTH + 1)
    expect(model.lagMeanS('g-2', 'grid_staff')).toBeCloseTo(
      (typeLag * RESPONDER_STRENGTH + 40) / (RESPONDER_STRENGTH + 1),
      12,
    )
    // A late accept of an expired offer: an acceptance, not another offer.
    model.observe('v-1', 'volunteer', false, 0)
    model.lateAccept('v-1', 'volunteer', 50)
    expect(model.history('v-1')).toEqual({
      responder: 'v-1',
      type: 'volunteer',
      offers: 1,
      accepts: 1,
      lagSumS: 50,
    })
    // Loaded afresh (a start): what was stored, nothing else.
    model.load([{ responder: 'g-9', type: 'grid_staff', offers: 10, accepts: 10, lagSumS: 100 }])
    expect(model.history('g-1')).toBeUndefined()
    expect(model.acceptance('g-9', 'grid_staff')).toBeGreaterThan(0.6)
  })
})

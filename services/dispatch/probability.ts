/**
 * Offers chosen by probability (issue #18 item 5, `FC_OFFER_POLICY=probability`), pure.
 *
 * Each responder is modelled by two figures learnt from its history (its past offers):
 * - the chance it accepts an offer: a Beta posterior per responder whose prior is its type's
 *   pooled rate, itself a Beta posterior over every responder of the type around a default
 *   (`DEFAULT_PRIORS`, a guess until history says otherwise);
 * - its reply lag once it accepts: exponential with a mean pooled the same way.
 *
 * A responder offered at `elapsed` seconds after the alarm, with ETA `eta`, is on scene within
 * the horizon H (the circle's limit, after the alarm) when it accepts and replies within
 * `H − elapsed − eta`: q = p · F(H − elapsed − eta), F the lag's distribution. An offer that has
 * waited w seconds unanswered is worth less: q = p · (F(h) − F(w)) / (1 − p · F(w)). Responders
 * are taken as independent: P(someone on scene ≤ H) = 1 − Π (1 − q).
 *
 * The set offered: what the policy's `all` and `building` rules force (docs/PROTOCOL.md: every
 * micro fire station member and professional crew inside, the building's own guards), then the
 * other candidates inside, the likeliest first (ties by ETA, then id), until P ≥ the target —
 * the smallest set that reaches it, since under independence the likeliest first needs the fewest.
 */
import type { ResponderType } from '../registry/index.ts'
import type { Candidate } from './policy.ts'
import type { DispatchPolicy, OfferRecord } from './types.ts'

/** A responder type's default: acceptance chance and mean reply lag (s) of those who accept. */
export interface TypePrior {
  accept: number
  lagS: number
}

/**
 * Defaults before any history: guesses in line with docs/DOMAIN.md (micro stations and crews on
 * duty to answer, grid staff and guards with other work, volunteers least bound), not fitted to
 * any scenario. History replaces them: `TYPE_STRENGTH` offers of a type weigh as much as the default.
 */
export const DEFAULT_PRIORS: Readonly<Record<ResponderType, TypePrior>> = Object.freeze({
  micro_station: { accept: 0.8, lagS: 20 },
  fire_station: { accept: 0.9, lagS: 30 },
  grid_staff: { accept: 0.6, lagS: 30 },
  security_guard: { accept: 0.7, lagS: 20 },
  volunteer: { accept: 0.4, lagS: 45 },
})

/** Pseudo-offers the default weighs within a type, and a type's rate within one responder's. */
export const TYPE_STRENGTH = 20
export const RESPONDER_STRENGTH = 5

/** One responder's answered offers: how many, how many accepted, the sum of their reply lags (s). */
export interface ResponderHistory {
  responder: string
  type: ResponderType
  /** Accepted, declined or expired. */
  offers: number
  accepts: number
  lagSumS: number
}

export interface ProbabilityModel {
  /** The chance `responder` (of `type`) accepts an offer, 0–1. */
  acceptance(responder: string, type: ResponderType): number
  /** The mean reply lag of `responder` when it accepts, s. */
  lagMeanS(responder: string, type: ResponderType): number
  /** Replace the history (at start). */
  load(histories: readonly ResponderHistory[]): void
  /** An offer was answered or expired: `accepted` with its lag, or not. */
  observe(responder: string, type: ResponderType, accepted: boolean, lagS: number): void
  /** An offer observed as expired was accepted after all (late): an acceptance, not a new offer. */
  lateAccept(responder: string, type: ResponderType, lagS: number): void
  /** The history held (tests, the bench). */
  history(responder: string): ResponderHistory | undefined
}

export function createProbabilityModel(
  priors: Readonly<Record<ResponderType, TypePrior>> = DEFAULT_PRIORS,
): ProbabilityModel {
  const byResponder = new Map<string, ResponderHistory>()
  const byType = new Map<ResponderType, { offers: number; accepts: number; lagSumS: number }>()
  const typeOf = (t: ResponderType) => {
    let h = byType.get(t)
    if (h === undefined) {
      h = { offers: 0, accepts: 0, lagSumS: 0 }
      byType.set(t, h)
    }
    return h
  }
  const typeAccept = (t: ResponderType) => {
    const h = typeOf(t)
    return (priors[t].accept * TYPE_STRENGTH + h.accepts) / (TYPE_STRENGTH + h.offers)
  }
  const typeLag = (t: ResponderType) => {
    const h = typeOf(t)
    return (priors[t].lagS * TYPE_STRENGTH + h.lagSumS) / (TYPE_STRENGTH + h.accepts)
  }
  function add(h: ResponderHistory): void {
    const r = byResponder.get(h.responder) ?? { ...h, offers: 0, accepts: 0, lagSumS: 0 }
    r.offers += h.offers
    r.accepts += h.accepts
    r.lagSumS += h.lagSumS
    byResponder.set(h.responder, r)
    const t = typeOf(h.type)
    t.offers += h.offers
    t.accepts += h.accepts
    t.lagSumS += h.lagSumS
  }
  return {
    acceptance(responder, type) {
      const h = byResponder.get(responder)
      const prior = typeAccept(type)
      if (h === undefined) return prior
      return (prior * RESPONDER_STRENGTH + h.accepts) / (RESPONDER_STRENGTH + h.offers)
    },
    lagMeanS(responder, type) {
      const h = byResponder.get(responder)
      const prior = typeLag(type)
      if (h === undefined) return prior
      return (prior * RESPONDER_STRENGTH + h.lagSumS) / (RESPONDER_STRENGTH + h.accepts)
    },
    load(histories) {
      byResponder.clear()
      byType.clear()
      for (const h of histories) add(h)
    },
    observe(responder, type, accepted, lagS) {
      add({
        responder,
        type,
        offers: 1,
        accepts: accepted ? 1 : 0,
        lagSumS: accepted ? Math.max(0, lagS) : 0,
      })
    },
    lateAccept(responder, type, lagS) {
      add({ responder, type, offers: 0, accepts: 1, lagSumS: Math.max(0, lagS) })
    },
    history: (responder) => {
      const h = byResponder.get(responder)
      return h === undefined ? undefined : { ...h }
    },
  }
}

/** The lag's distribution: exponential with mean `m` (the chance a reply came within `t` s). */
const lagCdf = (t: number, m: number) => (t <= 0 ? 0 : 1 - Math.exp(-t / Math.max(m, 1e-9)))

/**
 * The chance one responder is on scene within `horizonS` after the alarm: offered `elapsedS`
 * after it, with `etaS` to travel, unanswered for `waitedS` already.
 */
export function onSceneChance(
  p: number,
  lagMeanS: number,
  etaS: number,
  horizonS: number,
  elapsedS: number,
  waitedS = 0,
): number {
  const h = horizonS - elapsedS - etaS
  const fh = lagCdf(h, lagMeanS)
  if (waitedS <= 0) return p * fh
  const fw = lagCdf(waitedS, lagMeanS)
  if (h <= waitedS) return 0
  return (p * (fh - fw)) / (1 - p * fw)
}

/** 1 − Π (1 − q). */
export const anyOf = (qs: readonly number[]): number => 1 - qs.reduce((acc, q) => acc * (1 - q), 1)

/** The on-scene chance of the offers still open (offered, or committed and coming). */
export function liveChance(
  offers: readonly OfferRecord[],
  model: Pick<ProbabilityModel, 'acceptance' | 'lagMeanS'>,
  alarmAt: number,
  horizonS: number,
  now: number,
): number {
  const qs: number[] = []
  for (const o of offers) {
    if (o.state === 'offered') {
      const elapsed = (o.offeredAt - alarmAt) / 1000
      const waited = (now - o.offeredAt) / 1000
      qs.push(
        onSceneChance(
          model.acceptance(o.responder, o.type),
          model.lagMeanS(o.responder, o.type),
          o.eta_s,
          horizonS,
          elapsed,
          waited,
        ),
      )
    } else if (o.state === 'accepted' || o.state === 'en_route' || o.state === 'on_scene') {
      qs.push(1)
    }
  }
  return anyOf(qs)
}

export interface ProbabilityChoice {
  /** The candidates to offer, nearest ETA first. */
  chosen: Candidate[]
  /** P(someone on scene within the horizon) with them and the live offers. */
  p: number
  /** How many of them the policy's `all` / `building` rules forced. */
  forced: number
}

export interface ProbabilityOptions {
  /** The incident's building (for `building` rules). */
  building?: string
  target: number
  horizonS: number
  /** Seconds since the alarm, now. */
  elapsedS: number
  /** P of the offers already open (none: 0). */
  liveP?: number
}

/**
 * The forced candidates (`all` types inside, the building's `building` types wherever they
 * are), then the likeliest of the others inside until P ≥ target. `none` types never.
 */
export function chooseByProbability(
  candidates: readonly Candidate[],
  policy: DispatchPolicy,
  model: Pick<ProbabilityModel, 'acceptance' | 'lagMeanS'>,
  opts: ProbabilityOptions,
): ProbabilityChoice {
  const seen = new Set<string>()
  const forced: Candidate[] = []
  const optional: { c: Candidate; q: number }[] = []
  let miss = 1 - (opts.liveP ?? 0)
  const chance = (c: Candidate) =>
    onSceneChance(
      model.acceptance(c.id, c.type),
      model.lagMeanS(c.id, c.type),
      c.eta_s,
      opts.horizonS,
      opts.elapsedS,
    )
  for (const c of candidates) {
    if (seen.has(c.id)) continue
    const rule = policy[c.type]
    const isForced =
      (rule.select === 'all' && c.inside) ||
      (rule.select === 'building' && opts.building !== undefined && c.building === opts.building)
    if (isForced) {
      seen.add(c.id)
      forced.push(c)
      miss *= 1 - chance(c)
    } else if (rule.select !== 'none' && c.inside) {
      seen.add(c.id)
      optional.push({ c, q: chance(c) })
    }
  }
  optional.sort((a, b) => b.q - a.q || a.c.eta_s - b.c.eta_s || (a.c.id < b.c.id ? -1 : 1))
  const extra: Candidate[] = []
  for (const { c, q } of optional) {
    if (1 - miss >= opts.target || q <= 0) break
    extra.push(c)
    miss *= 1 - q
  }
  const chosen = [...forced, ...extra].sort(
    (a, b) => a.eta_s - b.eta_s || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  )
  return { chosen, p: 1 - miss, forced: forced.length }
}

/** The probability policy at work in a dispatcher: the model and FC_OFFER_TARGET_P. */
export interface Chances {
  model: ProbabilityModel
  target: number
}

/**
 * The choice for an incident whose dispatch is at `rec`'s step: the horizon is the step's limit
 * after the alarm, the offers already open (`live`) count with what they are still worth now.
 */
export function pickByChance(
  chances: Chances,
  candidates: readonly Candidate[],
  policy: DispatchPolicy,
  at: { building?: string; alarmAt: number; limitS: number; now: number },
  live: readonly OfferRecord[],
): ProbabilityChoice {
  const { model, target } = chances
  const liveP = liveChance(live, model, at.alarmAt, at.limitS, at.now)
  return chooseByProbability(candidates, policy, model, {
    ...(at.building !== undefined ? { building: at.building } : {}),
    target,
    horizonS: at.limitS,
    elapsedS: Math.max(0, (at.now - at.alarmAt) / 1000),
    liveP,
  })
}

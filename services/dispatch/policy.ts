/**
 * The dispatch decisions, pure: whom to offer an incident (the policy per responder type,
 * [docs/PROTOCOL.md §Default dispatch policy]) and which answers a responder may give in which
 * state. The dispatcher (./offers.ts) does the I/O around them.
 */
import { RESPONDER_TYPES, type ResponderType, type TravelMode } from '../registry/index.ts'
import type { Answer, DispatchPolicy, DispatchTimings, OfferState, TypeRule } from './types.ts'

/**
 * Every micro fire station member and professional crew inside the circle; the nearest three
 * grid staff and volunteers by ETA; the building's own security guards always.
 */
export const DEFAULT_POLICY: DispatchPolicy = Object.freeze({
  micro_station: { select: 'all' },
  fire_station: { select: 'all' },
  grid_staff: { select: 'nearest', count: 3 },
  volunteer: { select: 'nearest', count: 3 },
  security_guard: { select: 'building' },
})

export const DEFAULT_TIMINGS: DispatchTimings = Object.freeze({
  offerTimeoutMs: 30_000,
  widenAfterMs: 60_000,
  limitsS: Object.freeze([300, 450, 600]),
})

/** DEFAULT_POLICY with some types' rules replaced; throws RangeError naming a wrong rule. */
export function dispatchPolicy(input: Partial<Record<ResponderType, TypeRule>> = {}): DispatchPolicy {
  const out = { ...DEFAULT_POLICY }
  for (const [type, rule] of Object.entries(input) as [string, TypeRule | undefined][]) {
    if (!(RESPONDER_TYPES as readonly string[]).includes(type))
      throw new RangeError(
        `dispatch policy: "${type}" is not a responder type (${RESPONDER_TYPES.join(', ')})`,
      )
    if (rule === undefined) continue
    if (rule.select === 'nearest' && !(Number.isInteger(rule.count) && rule.count >= 1))
      throw new RangeError(
        `dispatch policy: ${type} nearest count must be a whole number ≥ 1, not ${rule.count}`,
      )
    if (!['all', 'nearest', 'building', 'none'].includes(rule.select))
      throw new RangeError(`dispatch policy: ${type} select must be all, nearest, building or none`)
    out[type as ResponderType] = rule
  }
  return Object.freeze(out)
}

/** DEFAULT_TIMINGS with overrides; throws RangeError naming a wrong value. */
export function dispatchTimings(input: Partial<DispatchTimings> = {}): DispatchTimings {
  const t = { ...DEFAULT_TIMINGS, ...input }
  for (const key of ['offerTimeoutMs', 'widenAfterMs'] as const) {
    if (!(Number.isFinite(t[key]) && t[key] > 0))
      throw new RangeError(`dispatch timings: ${key} must be > 0 ms, not ${t[key]}`)
  }
  if (t.limitsS.length === 0) throw new RangeError('dispatch timings: limitsS must name at least one limit')
  for (let k = 0; k < t.limitsS.length; k++) {
    const s = t.limitsS[k]!
    if (!(Number.isFinite(s) && s > 0 && (k === 0 || s > t.limitsS[k - 1]!)))
      throw new RangeError(
        `dispatch timings: limitsS must be positive and increasing, not [${t.limitsS.join(', ')}]`,
      )
  }
  return Object.freeze({ ...t, limitsS: Object.freeze([...t.limitsS]) })
}

/** A responder who could be offered the incident, with its ETA to it. */
export interface Candidate {
  id: string
  type: ResponderType
  mode: TravelMode
  eta_s: number
  distance_m: number
  /** With a road network: the route's length. */
  road_m?: number
  /** The building the responder is assigned to (security guards). */
  building?: string
  /** ETA within the circle's current limit. */
  inside: boolean
}

export interface ChooseOptions {
  /** The incident's building (for `building` rules). */
  building?: string
  /** How many of a `nearest` type to take now, instead of the rule's count (0: none). */
  quota?: Partial<Record<ResponderType, number>>
}

const byEtaThenId = (a: Candidate, b: Candidate) =>
  a.eta_s - b.eta_s || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/**
 * The candidates to offer, nearest ETA first (ties by id): `all` types inside the circle,
 * the nearest `count` (or `quota`) of `nearest` types inside it, and the responders of
 * `building` types assigned to the incident's building whether inside or not. A candidate
 * listed twice counts once.
 */
export function chooseResponders(
  candidates: readonly Candidate[],
  policy: DispatchPolicy,
  opts: ChooseOptions = {},
): Candidate[] {
  const seen = new Set<string>()
  const taken: Partial<Record<ResponderType, number>> = {}
  const out: Candidate[] = []
  for (const c of [...candidates].sort(byEtaThenId)) {
    if (seen.has(c.id)) continue
    const rule = policy[c.type]
    let take = false
    switch (rule.select) {
      case 'all':
        take = c.inside
        break
      case 'nearest': {
        const limit = opts.quota?.[c.type] ?? rule.count
        take = c.inside && (taken[c.type] ?? 0) < limit
        break
      }
      case 'building':
        take = opts.building !== undefined && c.building === opts.building
        break
      case 'none':
        break
    }
    if (!take) continue
    seen.add(c.id)
    taken[c.type] = (taken[c.type] ?? 0) + 1
    out.push(c)
  }
  return out
}

/** The rule's `nearest` count, or undefined when the type is not limited. */
export function nearestCount(policy: DispatchPolicy, type: ResponderType): number | undefined {
  const rule = policy[type]
  return rule.select === 'nearest' ? rule.count : undefined
}

export type AnswerOutcome = { ok: true; to: OfferState; repeated: boolean } | { ok: false; message: string }

/**
 * What an answer does to an offer in `state`. The order is accept → en_route → on_scene,
 * on_scene directly after accept allowed. A late accept (after the offer expired unanswered)
 * is taken: someone is coming. A decline after accepting stands the responder down (until on
 * scene). The same answer again is a repeat (MQTT QoS 1 delivers at least once): taken, no
 * change. Anything else is out of order.
 */
export function answerOffer(state: OfferState, answer: Answer): AnswerOutcome {
  const to = ANSWER_TO[answer]
  if (state === to) return { ok: true, to, repeated: true }
  if (state === 'withdrawn') return { ok: false, message: 'the offer was withdrawn when the incident closed' }
  if (ALLOWED[answer].includes(state)) return { ok: true, to, repeated: false }
  if (answer === 'accept' && (state === 'en_route' || state === 'on_scene'))
    return { ok: true, to: state, repeated: true }
  return { ok: false, message: WHY[answer](state) }
}

const ANSWER_TO: Record<Answer, OfferState> = {
  accept: 'accepted',
  decline: 'declined',
  en_route: 'en_route',
  on_scene: 'on_scene',
}

const ALLOWED: Record<Answer, readonly OfferState[]> = {
  accept: ['offered', 'no_answer'],
  decline: ['offered', 'no_answer', 'accepted', 'en_route'],
  en_route: ['accepted'],
  on_scene: ['accepted', 'en_route'],
}

const WHY: Record<Answer, (state: OfferState) => string> = {
  accept: (s) => `the offer was ${s}: it cannot be accepted now`,
  decline: (s) => `the responder is ${s.replace('_', ' ')}: it cannot decline now`,
  en_route: (s) =>
    s === 'on_scene' ? 'the responder is already on scene' : `en_route needs an accepted offer, not ${s}`,
  on_scene: (s) => `on_scene needs an accepted offer, not ${s}`,
}

/**
 * What the dispatch stage offers, records and tells other stages: offers and their states,
 * the dispatch policy per responder type, and the events it puts on the bus.
 */
import type { ResponderType, TravelMode } from '../registry/index.ts'

/**
 * A responder's state on one incident (docs/DOMAIN.md): offered → accepted / declined / no answer
 * → en route → on scene. `withdrawn`: still unanswered when the incident was closed.
 */
export const OFFER_STATES = [
  'offered',
  'accepted',
  'declined',
  'no_answer',
  'en_route',
  'on_scene',
  'withdrawn',
] as const
export type OfferState = (typeof OFFER_STATES)[number]

/** A responder committed to the incident (busy on it). */
export const COMMITTED: ReadonlySet<OfferState> = new Set(['accepted', 'en_route', 'on_scene'])

/** What a responder app (or an officer on its behalf) answers (docs/PROTOCOL.md `rsp/{id}/reply`). */
export const ANSWERS = ['accept', 'decline', 'en_route', 'on_scene'] as const
export type Answer = (typeof ANSWERS)[number]

/**
 * How responders of one type are chosen for an incident:
 * - `all`: every one inside the circle;
 * - `nearest`: the `count` nearest by ETA inside the circle; a decline or an unanswered offer
 *   moves on to the next nearest of the type (GoodSAM), and each widening offers the next
 *   `count`;
 * - `building`: those assigned to the incident's building, wherever they are (with their ETA);
 * - `none`: never offered.
 */
export type TypeRule =
  | { select: 'all' }
  | { select: 'nearest'; count: number }
  | { select: 'building' }
  | { select: 'none' }

export type DispatchPolicy = Readonly<Record<ResponderType, TypeRule>>

/**
 * FC_OFFER_POLICY: `fixed` offers by the rules per type (docs/PROTOCOL.md's default policy);
 * `probability` keeps the rules' `all` and `building` types and adds the likeliest others until
 * P(someone on scene ≤ the limit) ≥ FC_OFFER_TARGET_P (./probability.ts).
 */
export type OfferPolicy = 'fixed' | 'probability'

/** The timers of dispatch ([docs/DOMAIN.md §Linked alerts] 1; issue 4). */
export interface DispatchTimings {
  /** An offer unanswered this long expires (no answer). Default 30 s. */
  offerTimeoutMs: number
  /** With no acceptance this long after the alarm (then after each widening) the circle widens. Default 60 s. */
  widenAfterMs: number
  /** The circle's time limit at each step, seconds: default 300 (5 min), 450 (7.5 min), 600 (10 min). */
  limitsS: readonly number[]
}

/** One offer of an incident to a responder, as stored. Times in ms since the epoch. */
export interface OfferRecord {
  incident: string
  responder: string
  type: ResponderType
  mode: TravelMode
  /** ETA and straight-line distance when offered. */
  eta_s: number
  distance_m: number
  /** With a road network: the route's length when offered (docs/PROTOCOL.md §Roads). */
  road_m?: number
  /** Whether the responder was inside the circle when offered (a building's guard may not be). */
  inside: boolean
  state: OfferState
  /** The widening step at which it was offered (0: the 5-minute circle) and that step's limit. */
  round: number
  limitS: number
  offeredAt: number
  /** When an unanswered offer expires. */
  expiresAt: number
  /** Accepted, declined or expired. */
  answeredAt?: number
  enRouteAt?: number
  onSceneAt?: number
  /**
   * With FC_OFFER_POLICY=probability: P(someone on scene within the circle's limit after the
   * alarm) that the offers open once this one was sent were predicted to give (0–1).
   */
  probability?: number
}

/** Dispatch of one incident, as stored: the widening step and its deadline. */
export interface DispatchRecord {
  incident: string
  community: string
  street: string
  /** When the incident reached alarm (for the 5-minute KPI) and when dispatch began. */
  alarmAt: number
  startedAt: number
  step: number
  limitS: number
  /** When the circle widens next if still nobody has accepted; none when covered, at the last step or closed. */
  deadline?: number
  /** active: offering; covered: a responder accepted; closed: the incident left alarm. */
  state: 'active' | 'covered' | 'closed'
  firstOnSceneAt?: number
  closedAt?: number
}

// ---- events on the bus

/** A community's coverage fell below the warning share, or came back (`dispatch.coverage`). */
export interface CoverageChange {
  community: string
  street: string
  state: 'below' | 'restored'
  share: number
  buildings: number
  covered: number
  /** FC_COVERAGE_WARNING_SHARE. */
  threshold: number
  at: number
}

/** An offer was made, expired or withdrawn (`offer.state` says which). */
export interface DispatchOfferEvent {
  change: 'offered' | 'expired' | 'withdrawn'
  offer: OfferRecord
  community: string
  street: string
  at: number
}

/** A responder answered an offer and the answer was taken. */
export interface DispatchReplyEvent {
  answer: Answer
  offer: OfferRecord
  /** `responder:<id>` over MQTT, `officer:<id>` or `administrator` over HTTP. */
  actor: string
  community: string
  street: string
  at: number
}

/** Nobody accepted in time: the circle widened. */
export interface DispatchEscalation {
  incident: string
  community: string
  street: string
  building?: string
  /** 1 for the first widening. */
  step: number
  fromS: number
  limitS: number
  /** Responders offered at this step. */
  offered: string[]
  at: number
}

/** What dispatch tells the other stages. */
export interface DispatchEvents {
  /** Dispatch offered an incident to a responder, or an offer expired or was withdrawn. */
  'dispatch.offer': [DispatchOfferEvent]
  /** A responder's answer to an offer was taken (accept, decline, en route, on scene). */
  'dispatch.reply': [DispatchReplyEvent]
  /** Nobody accepted in time: the fire circle widened (7.5 min, then 10 min). */
  'dispatch.escalation': [DispatchEscalation]
  /** A community's coverage fell below FC_COVERAGE_WARNING_SHARE, or came back above it. */
  'dispatch.coverage': [CoverageChange]
}

/**
 * Dispatch's rows (`dispatch_offers`, `dispatch_incidents`), the same columns in SQLite and in
 * PostgreSQL, and their mapping to and from the records. PostgreSQL hands BIGINT columns back
 * as strings (node-postgres keeps 64-bit integers exact), so every number read goes through
 * `Number`: the times are ms since the epoch, well inside a double's exact range.
 */
import type { ResponderType, TravelMode } from '../registry/index.ts'
import type { DispatchRecord, OfferRecord, OfferState } from './types.ts'

/** A number as SQLite returns it, or a BIGINT as node-postgres does. */
type Num = number | string

export interface OfferRow {
  incident: string
  responder: string
  type: string
  mode: string
  eta_s: number
  distance_m: number
  road_m: number | null
  inside: number
  state: string
  round: number
  radius_s: number
  offered_at: number
  expires_at: number
  answered_at: number | null
  en_route_at: number | null
  on_scene_at: number | null
  probability: number | null
}

export interface RecordRow {
  incident: string
  community: string
  street: string
  alarm_at: number
  started_at: number
  step: number
  limit_s: number
  deadline: number | null
  state: string
  first_on_scene_at: number | null
  closed_at: number | null
}

/** A row as read: numbers may be strings. */
export type Read<T> = {
  [K in keyof T]: T[K] extends number ? Num : T[K] extends number | null ? Num | null : T[K]
}

/** The columns in the order of OFFER_COLUMNS / RECORD_COLUMNS (for positional parameters). */
export const OFFER_COLUMNS = [
  'incident',
  'responder',
  'type',
  'mode',
  'eta_s',
  'distance_m',
  'road_m',
  'inside',
  'state',
  'round',
  'radius_s',
  'offered_at',
  'expires_at',
  'answered_at',
  'en_route_at',
  'on_scene_at',
  'probability',
] as const satisfies readonly (keyof OfferRow)[]

export const RECORD_COLUMNS = [
  'incident',
  'community',
  'street',
  'alarm_at',
  'started_at',
  'step',
  'limit_s',
  'deadline',
  'state',
  'first_on_scene_at',
  'closed_at',
] as const satisfies readonly (keyof RecordRow)[]

export function offerOf(r: Read<OfferRow>): OfferRecord {
  const o: OfferRecord = {
    incident: r.incident,
    responder: r.responder,
    type: r.type as ResponderType,
    mode: r.mode as TravelMode,
    eta_s: Number(r.eta_s),
    distance_m: Number(r.distance_m),
    inside: Number(r.inside) === 1,
    state: r.state as OfferState,
    round: Number(r.round),
    limitS: Number(r.radius_s),
    offeredAt: Number(r.offered_at),
    expiresAt: Number(r.expires_at),
  }
  if (r.road_m !== null && r.road_m !== undefined) o.road_m = Number(r.road_m)
  if (r.answered_at !== null) o.answeredAt = Number(r.answered_at)
  if (r.en_route_at !== null) o.enRouteAt = Number(r.en_route_at)
  if (r.on_scene_at !== null) o.onSceneAt = Number(r.on_scene_at)
  if (r.probability !== null && r.probability !== undefined) o.probability = Number(r.probability)
  return o
}

export function recordOf(r: Read<RecordRow>): DispatchRecord {
  const d: DispatchRecord = {
    incident: r.incident,
    community: r.community,
    street: r.street,
    alarmAt: Number(r.alarm_at),
    startedAt: Number(r.started_at),
    step: Number(r.step),
    limitS: Number(r.limit_s),
    state: r.state as DispatchRecord['state'],
  }
  if (r.deadline !== null) d.deadline = Number(r.deadline)
  if (r.first_on_scene_at !== null) d.firstOnSceneAt = Number(r.first_on_scene_at)
  if (r.closed_at !== null) d.closedAt = Number(r.closed_at)
  return d
}

export const offerRow = (o: OfferRecord): OfferRow => ({
  incident: o.incident,
  responder: o.responder,
  type: o.type,
  mode: o.mode,
  eta_s: o.eta_s,
  distance_m: o.distance_m,
  road_m: o.road_m ?? null,
  inside: o.inside ? 1 : 0,
  state: o.state,
  round: o.round,
  radius_s: o.limitS,
  offered_at: o.offeredAt,
  expires_at: o.expiresAt,
  answered_at: o.answeredAt ?? null,
  en_route_at: o.enRouteAt ?? null,
  on_scene_at: o.onSceneAt ?? null,
  probability: o.probability ?? null,
})

export const recordRow = (r: DispatchRecord): RecordRow => ({
  incident: r.incident,
  community: r.community,
  street: r.street,
  alarm_at: r.alarmAt,
  started_at: r.startedAt,
  step: r.step,
  limit_s: r.limitS,
  deadline: r.deadline ?? null,
  state: r.state,
  first_on_scene_at: r.firstOnSceneAt ?? null,
  closed_at: r.closedAt ?? null,
})

/** Per responder: answered offers, accepted ones and their reply lags (ms), the same SQL in SQLite and PostgreSQL. */
export const HISTORY_SQL = `SELECT responder, type,
    SUM(CASE WHEN state IN ('accepted', 'en_route', 'on_scene', 'declined', 'no_answer') THEN 1 ELSE 0 END) AS offers,
    SUM(CASE WHEN state IN ('accepted', 'en_route', 'on_scene') THEN 1 ELSE 0 END) AS accepts,
    SUM(CASE WHEN state IN ('accepted', 'en_route', 'on_scene') AND answered_at IS NOT NULL
      THEN answered_at - offered_at ELSE 0 END) AS lag_ms
  FROM dispatch_offers GROUP BY responder, type`

export interface HistoryRow {
  responder: string
  type: string
  offers: Num
  accepts: Num
  lag_ms: Num | null
}

export const historyOf = (r: HistoryRow) => ({
  responder: r.responder,
  type: r.type as ResponderType,
  offers: Number(r.offers),
  accepts: Number(r.accepts),
  lagSumS: Number(r.lag_ms ?? 0) / 1000,
})

/**
 * The predicted probability of an incident: the one its first offers (made when dispatch began)
 * were sent at. `where` filters dispatch_incidents as `d`; the limit is the first parameter.
 */
export const predictedSql = (where: string, limit: string) => `SELECT COUNT(*) AS incidents, AVG(p) AS mean_p,
    COALESCE(SUM(CASE WHEN first_on_scene_at - alarm_at <= ${limit} THEN 1 ELSE 0 END), 0) AS within_limit
  FROM (SELECT d.alarm_at, d.first_on_scene_at,
      (SELECT MAX(o.probability) FROM dispatch_offers o
        WHERE o.incident = d.incident AND o.offered_at = d.started_at) AS p
    FROM dispatch_incidents d WHERE ${where}) x
  WHERE p IS NOT NULL`

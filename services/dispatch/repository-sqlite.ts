/**
 * Dispatch in SQLite (the state database's `dispatch_offers` and `dispatch_incidents`,
 * services/state/migrations/state): the only file of the stage that speaks SQL. With
 * better-sqlite3 every call does its work at once and returns a settled promise.
 */
import type { ResponderType, TravelMode } from '../registry/index.ts'
import type { SqliteDb } from '../state/index.ts'
import type { DispatchRepository } from './repository.ts'
import type { DispatchRecord, OfferRecord, OfferState } from './types.ts'

interface OfferRow {
  incident: string
  responder: string
  type: string
  mode: string
  eta_s: number
  distance_m: number
  inside: number
  state: string
  round: number
  radius_s: number
  offered_at: number
  expires_at: number
  answered_at: number | null
  en_route_at: number | null
  on_scene_at: number | null
}

interface RecordRow {
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

function offerOf(r: OfferRow): OfferRecord {
  const o: OfferRecord = {
    incident: r.incident,
    responder: r.responder,
    type: r.type as ResponderType,
    mode: r.mode as TravelMode,
    eta_s: r.eta_s,
    distance_m: r.distance_m,
    inside: r.inside === 1,
    state: r.state as OfferState,
    round: r.round,
    limitS: r.radius_s,
    offeredAt: r.offered_at,
    expiresAt: r.expires_at,
  }
  if (r.answered_at !== null) o.answeredAt = r.answered_at
  if (r.en_route_at !== null) o.enRouteAt = r.en_route_at
  if (r.on_scene_at !== null) o.onSceneAt = r.on_scene_at
  return o
}

function recordOf(r: RecordRow): DispatchRecord {
  const d: DispatchRecord = {
    incident: r.incident,
    community: r.community,
    street: r.street,
    alarmAt: r.alarm_at,
    startedAt: r.started_at,
    step: r.step,
    limitS: r.limit_s,
    state: r.state as DispatchRecord['state'],
  }
  if (r.deadline !== null) d.deadline = r.deadline
  if (r.first_on_scene_at !== null) d.firstOnSceneAt = r.first_on_scene_at
  if (r.closed_at !== null) d.closedAt = r.closed_at
  return d
}

export function createSqliteDispatchRepository(db: SqliteDb): DispatchRepository {
  const putOffer = db.prepare<[OfferRow]>(
    `INSERT OR REPLACE INTO dispatch_offers (incident, responder, type, mode, eta_s, distance_m, inside, state,
       round, radius_s, offered_at, expires_at, answered_at, en_route_at, on_scene_at)
     VALUES (@incident, @responder, @type, @mode, @eta_s, @distance_m, @inside, @state,
       @round, @radius_s, @offered_at, @expires_at, @answered_at, @en_route_at, @on_scene_at)`,
  )
  const putRec = db.prepare<[RecordRow]>(
    `INSERT OR REPLACE INTO dispatch_incidents (incident, community, street, alarm_at, started_at, step, limit_s,
       deadline, state, first_on_scene_at, closed_at)
     VALUES (@incident, @community, @street, @alarm_at, @started_at, @step, @limit_s,
       @deadline, @state, @first_on_scene_at, @closed_at)`,
  )
  const allOffers = db.prepare<[], OfferRow>(
    'SELECT * FROM dispatch_offers ORDER BY incident, round, eta_s, responder',
  )
  const allRecs = db.prepare<[], RecordRow>('SELECT * FROM dispatch_incidents ORDER BY started_at, incident')

  const row = (o: OfferRecord): OfferRow => ({
    incident: o.incident,
    responder: o.responder,
    type: o.type,
    mode: o.mode,
    eta_s: o.eta_s,
    distance_m: o.distance_m,
    inside: o.inside ? 1 : 0,
    state: o.state,
    round: o.round,
    radius_s: o.limitS,
    offered_at: o.offeredAt,
    expires_at: o.expiresAt,
    answered_at: o.answeredAt ?? null,
    en_route_at: o.enRouteAt ?? null,
    on_scene_at: o.onSceneAt ?? null,
  })
  const recRow = (r: DispatchRecord): RecordRow => ({
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

  const saveTx = db.transaction((offers: readonly OfferRecord[], record: DispatchRecord | undefined) => {
    for (const o of offers) putOffer.run(row(o))
    if (record !== undefined) putRec.run(recRow(record))
  })

  return {
    records: async () => allRecs.all().map(recordOf),
    offers: async () => allOffers.all().map(offerOf),
    save: async (offers, record) => saveTx(offers, record),
    async kpi(filter, limitMs) {
      const where = ['alarm_at >= ?', 'alarm_at <= ?']
      const args: (string | number)[] = [filter.from, filter.to]
      if (filter.community !== undefined) {
        where.push('community = ?')
        args.push(filter.community)
      }
      if (filter.street !== undefined) {
        where.push('street = ?')
        args.push(filter.street)
      }
      const r = db
        .prepare(
          `SELECT COUNT(*) AS incidents,
             COUNT(first_on_scene_at) AS on_scene,
             COALESCE(SUM(CASE WHEN first_on_scene_at - alarm_at <= ? THEN 1 ELSE 0 END), 0) AS within_limit
           FROM dispatch_incidents WHERE ${where.join(' AND ')}`,
        )
        .get(limitMs, ...args) as { incidents: number; on_scene: number; within_limit: number }
      return { incidents: r.incidents, withResponderOnScene: r.on_scene, withinLimit: r.within_limit }
    },
  }
}

/**
 * Dispatch in SQLite (the state database's `dispatch_offers` and `dispatch_incidents`,
 * services/state/migrations/state): with better-sqlite3 every call does its work at once and
 * returns a settled promise. The embedded node owns every community: nothing is fenced or
 * scoped.
 */
import type { SqliteDb } from '../state/index.ts'
import type { DispatchRepository } from './repository.ts'
import {
  HISTORY_SQL,
  type HistoryRow,
  historyOf,
  type OfferRow,
  offerOf,
  offerRow,
  predictedSql,
  type RecordRow,
  recordOf,
  recordRow,
} from './rows.ts'
import type { DispatchRecord, OfferRecord } from './types.ts'

export function createSqliteDispatchRepository(db: SqliteDb): DispatchRepository {
  const putOffer = db.prepare<[OfferRow]>(
    `INSERT OR REPLACE INTO dispatch_offers (incident, responder, type, mode, eta_s, distance_m, road_m, inside, state,
       round, radius_s, offered_at, expires_at, answered_at, en_route_at, on_scene_at, probability)
     VALUES (@incident, @responder, @type, @mode, @eta_s, @distance_m, @road_m, @inside, @state,
       @round, @radius_s, @offered_at, @expires_at, @answered_at, @en_route_at, @on_scene_at, @probability)`,
  )
  const putRec = db.prepare<[RecordRow]>(
    `INSERT OR REPLACE INTO dispatch_incidents (incident, community, street, alarm_at, started_at, step, limit_s,
       deadline, state, first_on_scene_at, closed_at)
     VALUES (@incident, @community, @street, @alarm_at, @started_at, @step, @limit_s,
       @deadline, @state, @first_on_scene_at, @closed_at)`,
  )
  // The partial index dispatch_incidents_open (state != 'closed') serves both.
  const openRecs = db.prepare<[], RecordRow>(
    "SELECT * FROM dispatch_incidents WHERE state != 'closed' ORDER BY started_at, incident",
  )
  const openOffers = db.prepare<[], OfferRow>(
    `SELECT o.* FROM dispatch_offers o
     WHERE o.incident IN (SELECT incident FROM dispatch_incidents WHERE state != 'closed')
     ORDER BY o.incident, o.round, o.eta_s, o.responder`,
  )
  const oneRec = db.prepare<[string], RecordRow>('SELECT * FROM dispatch_incidents WHERE incident = ?')
  const offersOf = db.prepare<[string], OfferRow>(
    'SELECT * FROM dispatch_offers WHERE incident = ? ORDER BY round, eta_s, responder',
  )

  const saveTx = db.transaction((offers: readonly OfferRecord[], record: DispatchRecord | undefined) => {
    for (const o of offers) putOffer.run(offerRow(o))
    if (record !== undefined) putRec.run(recordRow(record))
  })
  // One snapshot for both: a record and its offers are read together.
  const openTx = db.transaction(() => ({
    records: openRecs.all().map(recordOf),
    offers: openOffers.all().map(offerOf),
  }))

  const histories = db.prepare<[], HistoryRow>(HISTORY_SQL)

  function filtered(filter: Parameters<DispatchRepository['kpi']>[0], prefix = '') {
    const where = [`${prefix}alarm_at >= ?`, `${prefix}alarm_at <= ?`]
    const args: (string | number)[] = [filter.from, filter.to]
    if (filter.community !== undefined) {
      where.push(`${prefix}community = ?`)
      args.push(filter.community)
    }
    if (filter.street !== undefined) {
      where.push(`${prefix}street = ?`)
      args.push(filter.street)
    }
    return { where: where.join(' AND '), args }
  }

  return {
    histories: async () => histories.all().map(historyOf),
    async predicted(filter, limitMs) {
      const { where, args } = filtered(filter, 'd.')
      const r = db.prepare(predictedSql(where, '?')).get(limitMs, ...args) as {
        incidents: number
        mean_p: number | null
        within_limit: number
      }
      return { incidents: r.incidents, meanP: r.mean_p, withinLimit: r.within_limit }
    },
    open: async () => openTx(),
    async record(incident) {
      const r = oneRec.get(incident)
      return r === undefined ? undefined : recordOf(r)
    },
    offersOf: async (incident) => offersOf.all(incident).map(offerOf),
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

/**
 * Dispatch in PostgreSQL (a cluster's database, services/state/migrations/postgres): the same
 * rows as SQLite. The partition of a row is its incident's community (`dispatch_incidents.
 * community`, or `incidents.community` for offers saved before their record). With a fence,
 * every save first holds the partitions it writes in its own transaction, so a node whose
 * lease moved changes nothing, and the load at start takes only the owned communities'
 * open dispatch. Reads by incident and the KPI are not scoped: any node answers them.
 */
import type { PartitionFence, PgClient, PgDatabase } from '../state/index.ts'
import type { DispatchRepository, KpiCounts } from './repository.ts'
import {
  HISTORY_SQL,
  type HistoryRow,
  historyOf,
  OFFER_COLUMNS,
  type OfferRow,
  offerOf,
  offerRow,
  predictedSql,
  RECORD_COLUMNS,
  type Read,
  type RecordRow,
  recordOf,
  recordRow,
} from './rows.ts'
import type { DispatchRecord, OfferRecord } from './types.ts'

/** `($1, …, $n), (…)`: positional parameters for `rows` rows of `width` columns. */
function valuesList(rows: number, width: number): string {
  const out: string[] = []
  for (let r = 0; r < rows; r++) {
    const ps = Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`)
    out.push(`(${ps.join(', ')})`)
  }
  return out.join(', ')
}

const updateAll = (cols: readonly string[], key: readonly string[]) =>
  cols
    .filter((c) => !key.includes(c))
    .map((c) => `${c} = EXCLUDED.${c}`)
    .join(', ')

const PUT_RECORD = `INSERT INTO dispatch_incidents (${RECORD_COLUMNS.join(', ')}) VALUES ${valuesList(1, RECORD_COLUMNS.length)}
  ON CONFLICT (incident) DO UPDATE SET ${updateAll(RECORD_COLUMNS, ['incident'])}`

const putOffers = (n: number) =>
  `INSERT INTO dispatch_offers (${OFFER_COLUMNS.join(', ')}) VALUES ${valuesList(n, OFFER_COLUMNS.length)}
   ON CONFLICT (incident, responder) DO UPDATE SET ${updateAll(OFFER_COLUMNS, ['incident', 'responder'])}`

/** Responder ids compare byte by byte, as in memory, whatever the database's collation. */
const OFFER_ORDER = 'o.incident COLLATE "C", o.round, o.eta_s, o.responder COLLATE "C"'

export function createPostgresDispatchRepository(db: PgDatabase, fence?: PartitionFence): DispatchRepository {
  /** The communities of the incidents written, held in a fixed order (no deadlock between saves). */
  async function holdPartitions(
    c: PgClient,
    offers: readonly OfferRecord[],
    record: DispatchRecord | undefined,
  ): Promise<void> {
    if (fence === undefined) return
    const partitions = new Set<string>()
    if (record !== undefined) partitions.add(record.community)
    const others = [...new Set(offers.map((o) => o.incident))].filter((i) => i !== record?.incident)
    if (others.length > 0) {
      const found = await c.query<{ incident: string; community: string }>(
        `SELECT d.incident, d.community FROM dispatch_incidents d WHERE d.incident = ANY($1)
         UNION ALL
         SELECT i.id, i.community FROM incidents i
         WHERE i.id = ANY($1) AND NOT EXISTS (SELECT 1 FROM dispatch_incidents d WHERE d.incident = i.id)`,
        [others],
      )
      const known = new Map(found.rows.map((r) => [r.incident, r.community]))
      for (const i of others) {
        const p = known.get(i)
        // Without its community the write cannot be fenced: refused rather than written blind.
        if (p === undefined) throw new Error(`offers of incident ${i}: no community known to fence them by`)
        partitions.add(p)
      }
    }
    for (const p of [...partitions].sort()) await fence.hold(c, p)
  }

  return {
    async histories() {
      const r = await db.query<HistoryRow>(HISTORY_SQL)
      return r.rows.map(historyOf)
    },
    async predicted(filter, limitMs) {
      const where = ['d.alarm_at >= $2', 'd.alarm_at <= $3']
      const args: (string | number)[] = [limitMs, filter.from, filter.to]
      if (filter.community !== undefined) {
        args.push(filter.community)
        where.push(`d.community = $${args.length}`)
      }
      if (filter.street !== undefined) {
        args.push(filter.street)
        where.push(`d.street = $${args.length}`)
      }
      const r = await db.query<{ incidents: string; mean_p: string | null; within_limit: string }>(
        predictedSql(where.join(' AND '), '$1::double precision'),
        args,
      )
      const k = r.rows[0]!
      return {
        incidents: Number(k.incidents),
        meanP: k.mean_p === null ? null : Number(k.mean_p),
        withinLimit: Number(k.within_limit),
      }
    },
    async open() {
      return db.tx(async (c) => {
        // One snapshot for both queries: a record and its offers are read together.
        await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY')
        const scoped = fence !== undefined
        const args = scoped ? [[...fence.owned()]] : []
        const recs = await c.query<Read<RecordRow>>(
          `SELECT * FROM dispatch_incidents WHERE state <> 'closed'${scoped ? ' AND community = ANY($1)' : ''}
           ORDER BY started_at, incident COLLATE "C"`,
          args,
        )
        const offers = await c.query<Read<OfferRow>>(
          `SELECT o.* FROM dispatch_offers o JOIN dispatch_incidents d ON d.incident = o.incident
           WHERE d.state <> 'closed'${scoped ? ' AND d.community = ANY($1)' : ''}
           ORDER BY ${OFFER_ORDER}`,
          args,
        )
        return { records: recs.rows.map(recordOf), offers: offers.rows.map(offerOf) }
      })
    },
    async record(incident) {
      const r = await db.query<Read<RecordRow>>('SELECT * FROM dispatch_incidents WHERE incident = $1', [
        incident,
      ])
      const row = r.rows[0]
      return row === undefined ? undefined : recordOf(row)
    },
    async offersOf(incident) {
      const r = await db.query<Read<OfferRow>>(
        `SELECT o.* FROM dispatch_offers o WHERE o.incident = $1 ORDER BY ${OFFER_ORDER}`,
        [incident],
      )
      return r.rows.map(offerOf)
    },
    async save(offers, record) {
      if (offers.length === 0 && record === undefined) return
      await db.tx(async (c) => {
        await holdPartitions(c, offers, record)
        if (offers.length > 0) {
          const values = offers.flatMap((o) => {
            const row = offerRow(o)
            return OFFER_COLUMNS.map((k) => row[k])
          })
          await c.query(putOffers(offers.length), values)
        }
        if (record !== undefined) {
          const row = recordRow(record)
          await c.query(
            PUT_RECORD,
            RECORD_COLUMNS.map((k) => row[k]),
          )
        }
      })
    },
    async kpi(filter, limitMs): Promise<KpiCounts> {
      const where = ['alarm_at >= $2', 'alarm_at <= $3']
      const args: (string | number)[] = [limitMs, filter.from, filter.to]
      if (filter.community !== undefined) {
        args.push(filter.community)
        where.push(`community = $${args.length}`)
      }
      if (filter.street !== undefined) {
        args.push(filter.street)
        where.push(`street = $${args.length}`)
      }
      const r = await db.query<{ incidents: string; on_scene: string; within_limit: string }>(
        `SELECT COUNT(*) AS incidents,
           COUNT(first_on_scene_at) AS on_scene,
           COUNT(*) FILTER (WHERE first_on_scene_at - alarm_at <= $1::double precision) AS within_limit
         FROM dispatch_incidents WHERE ${where.join(' AND ')}`,
        args,
      )
      const k = r.rows[0]!
      return {
        incidents: Number(k.incidents),
        withResponderOnScene: Number(k.on_scene),
        withinLimit: Number(k.within_limit),
      }
    },
  }
}

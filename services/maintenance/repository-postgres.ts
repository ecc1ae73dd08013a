/**
 * The maintenance stage's repository in a cluster's PostgreSQL database (tables in
 * services/state/migrations/postgres/004_maintenance.sql, the rows of the SQLite one).
 *
 * With a fence, the state is partitioned by community like linkage's: every write holds the
 * order's (or the test mode's, or the false alarm's) community in its transaction, so that a
 * node whose lease has moved changes nothing. What the stage loads at start (`active()`, the
 * test modes) is only the owned partitions' rows; the other reads answer for every partition.
 */
import type { PartitionFence, PgClient, PgDatabase } from '../state/index.ts'
import type { MaintenanceRepository } from './repository.ts'
import {
  type MaintenanceWindowRow,
  ORDER_COLUMNS,
  orderOf,
  type TestModeRow,
  testModeOf,
  valuesOf,
  WINDOW_COLUMNS,
  type WorkOrderRow,
  whereOf,
  windowOf,
  windowValues,
} from './rows.ts'

export function createPostgresMaintenanceRepository(
  db: PgDatabase,
  fence?: PartitionFence,
): MaintenanceRepository {
  /** One transaction that first holds `community` (with a fence). */
  const write = <T>(community: string, fn: (c: PgClient) => Promise<T>): Promise<T> =>
    db.tx(async (c) => {
      if (fence !== undefined) await fence.hold(c, community)
      return fn(c)
    })
  /** ` AND community = ANY(...)` for the owned partitions, or nothing without a fence. */
  const owned = (param: number): { sql: string; values: unknown[] } =>
    fence === undefined
      ? { sql: '', values: [] }
      : { sql: ` AND community = ANY($${param}::text[])`, values: [[...fence.owned()]] }

  return {
    orders: {
      async active() {
        const o = owned(1)
        const r = await db.query<WorkOrderRow>(
          `SELECT * FROM work_orders WHERE status <> 'verified'${o.sql} ORDER BY opened_at`,
          o.values,
        )
        return r.rows.map(orderOf)
      },
      async get(id) {
        const r = await db.query<WorkOrderRow>('SELECT * FROM work_orders WHERE id = $1', [id])
        return r.rows[0] === undefined ? undefined : orderOf(r.rows[0])
      },
      async list(filter, page) {
        const w = whereOf(filter, (i) => `$${i}`)
        const n = w.values.length
        const total = await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM work_orders ${w.sql}`,
          w.values,
        )
        const rows = await db.query<WorkOrderRow>(
          `SELECT * FROM work_orders ${w.sql} ORDER BY opened_at DESC, id LIMIT $${n + 1} OFFSET $${n + 2}`,
          [...w.values, page.limit, page.offset],
        )
        return { items: rows.rows.map(orderOf), total: Number(total.rows[0]?.n ?? 0) }
      },
      insert: (order, photo) =>
        write(order.community, async (c) => {
          await c.query(
            `INSERT INTO work_orders (${ORDER_COLUMNS.join(', ')}) VALUES (${ORDER_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
            valuesOf(order),
          )
          if (photo !== undefined)
            await c.query(
              'INSERT INTO work_order_photos (work_order, content_type, data) VALUES ($1, $2, $3)',
              [order.id, photo.type, photo.data],
            )
        }),
      update: (order) =>
        write(order.community, async (c) => {
          const [id, ...rest] = valuesOf(order)
          await c.query(
            `UPDATE work_orders SET ${ORDER_COLUMNS.slice(1)
              .map((col, i) => `${col} = $${i + 1}`)
              .join(', ')} WHERE id = $${ORDER_COLUMNS.length}`,
            [...rest, id],
          )
        }),
      async photo(id) {
        const r = await db.query<{ content_type: string; data: Buffer }>(
          'SELECT content_type, data FROM work_order_photos WHERE work_order = $1',
          [id],
        )
        const row = r.rows[0]
        return row === undefined ? undefined : { type: row.content_type, data: row.data }
      },
    },
    falseAlarms: {
      add: (incident, building, community, at) =>
        write(community, async (c) => {
          const r = await c.query(
            `INSERT INTO maintenance_false_alarms (incident, building, community, at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (incident) DO NOTHING`,
            [incident, building, community, at],
          )
          return (r.rowCount ?? 0) > 0
        }),
      async countSince(building, since) {
        const r = await db.query<{ n: string }>(
          'SELECT count(*) AS n FROM maintenance_false_alarms WHERE building = $1 AND at >= $2',
          [building, since],
        )
        return Number(r.rows[0]?.n ?? 0)
      },
    },
    testModes: {
      async all() {
        const o = owned(1)
        const r = await db.query<TestModeRow>(
          `SELECT * FROM test_modes WHERE true${o.sql} ORDER BY target`,
          o.values,
        )
        return r.rows.map(testModeOf)
      },
      put: (m) =>
        write(m.community, async (c) => {
          await c.query(
            `INSERT INTO test_modes (target, community, until_at, started_at, actor) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (target) DO UPDATE SET community = excluded.community, until_at = excluded.until_at,
               started_at = excluded.started_at, actor = excluded.actor`,
            [m.target, m.community, m.until, m.startedAt, m.actor],
          )
        }),
      async lastTests() {
        const o = owned(1)
        const r = await db.query<{ device: string; at: string; signal: string }>(
          `SELECT device, at, signal FROM device_tests WHERE true${o.sql} ORDER BY device`,
          o.values,
        )
        return r.rows.map((x) => ({ device: x.device, at: Number(x.at), signal: x.signal }))
      },
      putLastTest: (device, community, at, signal) =>
        write(community, async (c) => {
          await c.query(
            `INSERT INTO device_tests (device, community, at, signal) VALUES ($1, $2, $3, $4)
             ON CONFLICT (device) DO UPDATE SET community = excluded.community, at = excluded.at, signal = excluded.signal`,
            [device, community, at, signal],
          )
        }),
      remove: (target, community) =>
        write(community, async (c) => {
          await c.query('DELETE FROM test_modes WHERE target = $1', [target])
        }),
    },
    windows: windowsRepository(db, write, owned),
  }
}

/** The maintenance windows' table (007_maintenance_windows.sql), partitioned like the test modes. */
function windowsRepository(
  db: PgDatabase,
  write: <T>(community: string, fn: (c: PgClient) => Promise<T>) => Promise<T>,
  owned: (param: number) => { sql: string; values: unknown[] },
): MaintenanceRepository['windows'] {
  return {
    async all() {
      const o = owned(1)
      const r = await db.query<MaintenanceWindowRow>(
        `SELECT * FROM maintenance_windows WHERE true${o.sql} ORDER BY building, created_at, id`,
        o.values,
      )
      return r.rows.map(windowOf)
    },
    put: (w) =>
      write(w.community, async (c) => {
        await c.query(
          `INSERT INTO maintenance_windows (${WINDOW_COLUMNS.join(', ')}) VALUES (${WINDOW_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
          windowValues(w),
        )
      }),
    remove: (id, community) =>
      write(community, async (c) => {
        await c.query('DELETE FROM maintenance_windows WHERE id = $1', [id])
      }),
  }
}

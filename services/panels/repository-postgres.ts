/**
 * The panels stage's repository in a cluster's PostgreSQL database
 * (services/state/migrations/postgres/008_panels_operations.sql): append only, written by the
 * node the UITD is connected to, read by any.
 */
import type { PgDatabase } from '../state/index.ts'
import type { PanelOperation, PanelsRepository } from './repository.ts'

export function createPostgresPanelsRepository(db: PgDatabase): PanelsRepository {
  return {
    async addOperations(ops) {
      if (ops.length === 0) return
      await db.query(
        `INSERT INTO panel_operations (device, at, data)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])`,
        [ops.map((o) => o.device), ops.map((o) => o.at), ops.map((o) => JSON.stringify(o))],
      )
    },
    async operations(device, p) {
      const total = await db.query<{ n: string }>(
        'SELECT count(*) AS n FROM panel_operations WHERE device = $1',
        [device],
      )
      const rows = await db.query<{ data: string }>(
        'SELECT data FROM panel_operations WHERE device = $1 ORDER BY at DESC, seq DESC LIMIT $2 OFFSET $3',
        [device, p.limit, p.offset],
      )
      return {
        items: rows.rows.map((r) => JSON.parse(r.data) as PanelOperation),
        total: Number(total.rows[0]?.n ?? 0),
      }
    },
  }
}

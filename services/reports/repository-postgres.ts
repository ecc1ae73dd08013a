/** The reports' repository in a cluster's PostgreSQL (table in migrations/postgres/006_reports.sql). */
import type { PgDatabase } from '../state/index.ts'
import type { ReportRepository } from './repository.ts'
import type { Report } from './types.ts'

export function createPostgresReportRepository(db: PgDatabase): ReportRepository {
  return {
    async get(scope, period) {
      const r = await db.query<{ data: string }>(
        'SELECT data FROM report_snapshots WHERE scope = $1 AND period = $2',
        [scope, period],
      )
      const row = r.rows[0]
      return row ? (JSON.parse(row.data) as Report) : undefined
    },
    async put(scope, period, madeAt, report) {
      await db.query(
        'INSERT INTO report_snapshots (scope, period, made_at, data) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
        [scope, period, madeAt, JSON.stringify(report)],
      )
    },
  }
}

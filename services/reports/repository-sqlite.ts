/** The reports' repository in SQLite (table in migrations/state/006_reports.sql). */
import type { SqliteDb } from '../state/index.ts'
import type { ReportRepository } from './repository.ts'
import type { Report } from './types.ts'

export function createSqliteReportRepository(db: SqliteDb): ReportRepository {
  const select = db.prepare<[string, string], { data: string }>(
    'SELECT data FROM report_snapshots WHERE scope = ? AND period = ?',
  )
  const insert = db.prepare<[string, string, number, string]>(
    'INSERT OR IGNORE INTO report_snapshots (scope, period, made_at, data) VALUES (?, ?, ?, ?)',
  )
  return {
    async get(scope, period) {
      const row = select.get(scope, period)
      return row ? (JSON.parse(row.data) as Report) : undefined
    },
    async put(scope, period, madeAt, report) {
      insert.run(scope, period, madeAt, JSON.stringify(report))
    },
  }
}

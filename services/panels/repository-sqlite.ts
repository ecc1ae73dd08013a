/** The panels stage's repository in the state database (services/state/migrations/state/008_panels_operations.sql). */
import type { SqliteDb } from '../state/index.ts'
import type { PanelOperation, PanelsRepository } from './repository.ts'

export function createSqlitePanelsRepository(db: SqliteDb): PanelsRepository {
  const insert = db.prepare('INSERT INTO panel_operations (device, at, data) VALUES (?, ?, ?)')
  const addAll = db.transaction((ops: readonly PanelOperation[]) => {
    for (const o of ops) insert.run(o.device, o.at, JSON.stringify(o))
  })
  const count = db.prepare<[string], { n: number }>(
    'SELECT count(*) AS n FROM panel_operations WHERE device = ?',
  )
  const page = db.prepare<[string, number, number], { data: string }>(
    'SELECT data FROM panel_operations WHERE device = ? ORDER BY at DESC, seq DESC LIMIT ? OFFSET ?',
  )
  return {
    async addOperations(ops) {
      if (ops.length > 0) addAll(ops)
    },
    async operations(device, p) {
      const total = count.get(device)?.n ?? 0
      const items = page.all(device, p.limit, p.offset).map((r) => JSON.parse(r.data) as PanelOperation)
      return { items, total }
    },
  }
}

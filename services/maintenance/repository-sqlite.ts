/**
 * The maintenance stage's repository in the state database (tables in
 * services/state/migrations/state/004_maintenance.sql). better-sqlite3 works synchronously:
 * every method has done its work when it returns its (settled) promise.
 */
import { type SqliteDb, settled } from '../state/index.ts'
import type { MaintenanceRepository, Photo } from './repository.ts'
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

export function createSqliteMaintenanceRepository(db: SqliteDb): MaintenanceRepository {
  const insertOrder = db.prepare(
    `INSERT INTO work_orders (${ORDER_COLUMNS.join(', ')}) VALUES (${ORDER_COLUMNS.map(() => '?').join(', ')})`,
  )
  const updateOrder = db.prepare(
    `UPDATE work_orders SET ${ORDER_COLUMNS.slice(1)
      .map((c) => `${c} = ?`)
      .join(', ')} WHERE id = ?`,
  )
  const insertPhoto = db.prepare(
    'INSERT INTO work_order_photos (work_order, content_type, data) VALUES (?, ?, ?)',
  )
  const getOrder = db.prepare<[string], WorkOrderRow>('SELECT * FROM work_orders WHERE id = ?')
  const active = db.prepare<[], WorkOrderRow>(
    "SELECT * FROM work_orders WHERE status <> 'verified' ORDER BY opened_at",
  )
  const photo = db.prepare<[string], { content_type: string; data: Buffer }>(
    'SELECT content_type, data FROM work_order_photos WHERE work_order = ?',
  )
  const addFalse = db.prepare(
    'INSERT OR IGNORE INTO maintenance_false_alarms (incident, building, community, at) VALUES (?, ?, ?, ?)',
  )
  const countFalse = db.prepare<[string, number], { n: number }>(
    'SELECT count(*) AS n FROM maintenance_false_alarms WHERE building = ? AND at >= ?',
  )
  const allModes = db.prepare<[], TestModeRow>('SELECT * FROM test_modes ORDER BY target')
  const putMode = db.prepare(
    'INSERT OR REPLACE INTO test_modes (target, community, until_at, started_at, actor) VALUES (?, ?, ?, ?, ?)',
  )
  const removeMode = db.prepare('DELETE FROM test_modes WHERE target = ?')
  const lastTests = db.prepare<[], { device: string; at: number; signal: string }>(
    'SELECT device, at, signal FROM device_tests ORDER BY device',
  )
  const putTest = db.prepare(
    'INSERT OR REPLACE INTO device_tests (device, community, at, signal) VALUES (?, ?, ?, ?)',
  )
  const allWindows = db.prepare<[], MaintenanceWindowRow>(
    'SELECT * FROM maintenance_windows ORDER BY building, created_at, id',
  )
  const putWindow = db.prepare(
    `INSERT OR REPLACE INTO maintenance_windows (${WINDOW_COLUMNS.join(', ')}) VALUES (${WINDOW_COLUMNS.map(() => '?').join(', ')})`,
  )
  const removeWindow = db.prepare('DELETE FROM maintenance_windows WHERE id = ?')
  const insertWithPhoto = db.transaction((values: unknown[], id: string, p: Photo | undefined) => {
    insertOrder.run(...values)
    if (p !== undefined) insertPhoto.run(id, p.type, p.data)
  })

  return {
    orders: {
      active: () => settled(() => active.all().map(orderOf)),
      get: (id) =>
        settled(() => {
          const r = getOrder.get(id)
          return r === undefined ? undefined : orderOf(r)
        }),
      list: (filter, page) =>
        settled(() => {
          const w = whereOf(filter, () => '?')
          const total = (
            db.prepare(`SELECT count(*) AS n FROM work_orders ${w.sql}`).get(...w.values) as { n: number }
          ).n
          const rows = db
            .prepare(`SELECT * FROM work_orders ${w.sql} ORDER BY opened_at DESC, id LIMIT ? OFFSET ?`)
            .all(...w.values, page.limit, page.offset) as WorkOrderRow[]
          return { items: rows.map(orderOf), total }
        }),
      insert: (order, p) => settled(() => insertWithPhoto(valuesOf(order), order.id, p)),
      update: (order) =>
        settled(() => {
          const [id, ...rest] = valuesOf(order)
          updateOrder.run(...rest, id)
        }),
      photo: (id) =>
        settled(() => {
          const r = photo.get(id)
          return r === undefined ? undefined : { type: r.content_type, data: r.data }
        }),
    },
    falseAlarms: {
      add: (incident, building, community, at) =>
        settled(() => addFalse.run(incident, building, community, at).changes > 0),
      countSince: (building, since) => settled(() => countFalse.get(building, since)?.n ?? 0),
    },
    testModes: {
      all: () => settled(() => allModes.all().map(testModeOf)),
      put: (m) => settled(() => void putMode.run(m.target, m.community, m.until, m.startedAt, m.actor)),
      remove: (target) => settled(() => void removeMode.run(target)),
      lastTests: () => settled(() => lastTests.all()),
      putLastTest: (device, community, at, signal) =>
        settled(() => void putTest.run(device, community, at, signal)),
    },
    windows: {
      all: () => settled(() => allWindows.all().map(windowOf)),
      put: (w) => settled(() => void putWindow.run(...windowValues(w))),
      remove: (id) => settled(() => void removeWindow.run(id)),
    },
  }
}

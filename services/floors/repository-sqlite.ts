/**
 * The floors stage's repository in the state database (tables in
 * services/state/migrations/state/011_floors.sql). better-sqlite3 works synchronously: every
 * method has done its work when it returns its (settled) promise.
 */
import { placeholders, type SqliteDb, settled } from '../state/index.ts'
import type { FloorsRepository } from './repository.ts'
import {
  PLACEMENT_COLUMNS,
  PLAN_COLUMNS,
  PLAN_META,
  type PlacementRow,
  type PlanRow,
  placementOf,
  placementValues,
  planOf,
  planValues,
} from './rows.ts'
import type { PlanType } from './types.ts'

export function createSqliteFloorsRepository(db: SqliteDb): FloorsRepository {
  const putPlan = db.prepare(
    `INSERT OR REPLACE INTO floor_plans (${PLAN_COLUMNS.join(', ')}) VALUES (${placeholders(PLAN_COLUMNS.length)})`,
  )
  const listPlans = db.prepare<[string], PlanRow>(
    `SELECT ${PLAN_META} FROM floor_plans WHERE building = ? ORDER BY floor`,
  )
  const image = db.prepare<[string, number], { content_type: string; data: Buffer }>(
    'SELECT content_type, data FROM floor_plans WHERE building = ? AND floor = ?',
  )
  const removePlan = db.prepare('DELETE FROM floor_plans WHERE building = ? AND floor = ?')
  const putPlacement = db.prepare(
    `INSERT OR REPLACE INTO device_placements (${PLACEMENT_COLUMNS.join(', ')}) VALUES (${placeholders(PLACEMENT_COLUMNS.length)})`,
  )
  const ofBuilding = db.prepare<[string], PlacementRow>(
    'SELECT * FROM device_placements WHERE building = ? ORDER BY floor, device',
  )
  const getPlacement = db.prepare<[string], PlacementRow>('SELECT * FROM device_placements WHERE device = ?')
  const removePlacement = db.prepare('DELETE FROM device_placements WHERE device = ?')

  return {
    plans: {
      put: (p, data) => settled(() => void putPlan.run(...planValues(p, data))),
      list: (building) => settled(() => listPlans.all(building).map(planOf)),
      image: (building, floor) =>
        settled(() => {
          const r = image.get(building, floor)
          return r === undefined ? undefined : { type: r.content_type as PlanType, data: r.data }
        }),
      remove: (building, floor) => settled(() => removePlan.run(building, floor).changes > 0),
    },
    placements: {
      put: (p) => settled(() => void putPlacement.run(...placementValues(p))),
      ofBuilding: (building) => settled(() => ofBuilding.all(building).map(placementOf)),
      get: (device) =>
        settled(() => {
          const r = getPlacement.get(device)
          return r === undefined ? undefined : placementOf(r)
        }),
      remove: (device) => settled(() => removePlacement.run(device).changes > 0),
    },
  }
}

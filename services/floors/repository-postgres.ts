/**
 * The floors stage's repository in a cluster's PostgreSQL database (tables in
 * services/state/migrations/postgres/011_floors.sql, the rows of the SQLite one). Not
 * partitioned: no node keeps floors in memory, every node reads the same rows (the requests are
 * still answered by the node that runs the building's community, as its other requests are).
 */
import type { PgDatabase } from '../state/index.ts'
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

const params = (n: number) => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ')
const updates = (columns: string[], keys: number) =>
  columns
    .slice(keys)
    .map((c) => `${c} = excluded.${c}`)
    .join(', ')

export function createPostgresFloorsRepository(db: PgDatabase): FloorsRepository {
  return {
    plans: {
      async put(p, data) {
        await db.query(
          `INSERT INTO floor_plans (${PLAN_COLUMNS.join(', ')}) VALUES (${params(PLAN_COLUMNS.length)})
           ON CONFLICT (building, floor) DO UPDATE SET ${updates(PLAN_COLUMNS, 2)}`,
          planValues(p, data),
        )
      },
      async list(building) {
        const r = await db.query<PlanRow>(
          `SELECT ${PLAN_META} FROM floor_plans WHERE building = $1 ORDER BY floor`,
          [building],
        )
        return r.rows.map(planOf)
      },
      async image(building, floor) {
        const r = await db.query<{ content_type: string; data: Buffer }>(
          'SELECT content_type, data FROM floor_plans WHERE building = $1 AND floor = $2',
          [building, floor],
        )
        const row = r.rows[0]
        return row === undefined ? undefined : { type: row.content_type as PlanType, data: row.data }
      },
      async remove(building, floor) {
        const r = await db.query('DELETE FROM floor_plans WHERE building = $1 AND floor = $2', [
          building,
          floor,
        ])
        return (r.rowCount ?? 0) > 0
      },
    },
    placements: {
      async put(p) {
        await db.query(
          `INSERT INTO device_placements (${PLACEMENT_COLUMNS.join(', ')}) VALUES (${params(PLACEMENT_COLUMNS.length)})
           ON CONFLICT (device) DO UPDATE SET ${updates(PLACEMENT_COLUMNS, 1)}`,
          placementValues(p),
        )
      },
      async ofBuilding(building) {
        const r = await db.query<PlacementRow>(
          'SELECT * FROM device_placements WHERE building = $1 ORDER BY floor, device',
          [building],
        )
        return r.rows.map(placementOf)
      },
      async get(device) {
        const r = await db.query<PlacementRow>('SELECT * FROM device_placements WHERE device = $1', [device])
        return r.rows[0] === undefined ? undefined : placementOf(r.rows[0])
      },
      async remove(device) {
        const r = await db.query('DELETE FROM device_placements WHERE device = $1', [device])
        return (r.rowCount ?? 0) > 0
      },
    },
  }
}

/**
 * The floors stage (docs/PROTOCOL.md §Floor plans): a building's floors with their plan images
 * (PNG or SVG, checked by their bytes, bounded in size and number: ./image.ts) and where each
 * device sits on its floor's plan (./stage.ts), behind a repository (./repository.ts); their
 * routes (./routes.ts).
 */
export { planImageOf } from './image.ts'
export type { FloorsRepository } from './repository.ts'
export { createPostgresFloorsRepository } from './repository-postgres.ts'
export { createSqliteFloorsRepository } from './repository-sqlite.ts'
export { type FloorsRoutesDeps, registerFloorsRoutes } from './routes.ts'
export { createFloors, type Floors, type FloorsDeps, type FloorView } from './stage.ts'
export {
  FLOOR_MAX,
  FLOOR_MIN,
  FLOOR_PLAN_MAX_BYTES,
  FLOOR_PLANS_PER_BUILDING,
  type FloorPlan,
  PLAN_TYPES,
  type Placement,
  type PlanImage,
  type PlanType,
} from './types.ts'

/**
 * Floor plans (docs/PROTOCOL.md §Floor plans): a building's floors, each with at most one plan
 * image, and where a device sits on its floor's plan.
 */

/** The image types a plan may be, decided by the bytes (./image.ts), never by what a client claims. */
export const PLAN_TYPES = ['image/png', 'image/svg+xml'] as const
export type PlanType = (typeof PLAN_TYPES)[number]

/** At most this many bytes per plan image (5 MiB). */
export const FLOOR_PLAN_MAX_BYTES = 5 * 1024 * 1024
/** At most this many plans per building (every floor of a tall tower fits; the storage is bounded). */
export const FLOOR_PLANS_PER_BUILDING = 64
/** Floors as the registry takes them (services/registry/checks.ts): -20 … 300. */
export const FLOOR_MIN = -20
export const FLOOR_MAX = 300

/** A checked plan image. */
export interface PlanImage {
  type: PlanType
  data: Buffer
  /** Pixels (PNG) or the viewBox's units (SVG), when known. */
  width?: number
  height?: number
}

/** A floor's plan without its bytes. */
export interface FloorPlan {
  building: string
  floor: number
  community: string
  type: PlanType
  bytes: number
  width?: number
  height?: number
  updatedAt: number
  /** `administrator` or `officer:<id>`. */
  actor: string
}

/** Where a device sits on its floor's plan: x, y fractions 0..1 of the plan from its top left. */
export interface Placement {
  device: string
  building: string
  community: string
  floor: number
  x: number
  y: number
  updatedAt: number
  actor: string
}

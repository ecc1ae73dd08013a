/** The floors tables' rows (services/state/migrations/<schema>/011_floors.sql) and their values. */
import type { FloorPlan, Placement, PlanType } from './types.ts'

export const PLAN_META = 'building, floor, community, content_type, bytes, width, height, updated_at, actor'
export const PLAN_COLUMNS = [...PLAN_META.split(', '), 'data']
export const PLACEMENT_COLUMNS = ['device', 'building', 'community', 'floor', 'x', 'y', 'updated_at', 'actor']

export interface PlanRow {
  building: string
  floor: number
  community: string
  content_type: string
  bytes: number
  width: number | null
  height: number | null
  updated_at: number | string
  actor: string
}

export interface PlacementRow {
  device: string
  building: string
  community: string
  floor: number
  x: number
  y: number
  updated_at: number | string
  actor: string
}

export function planOf(r: PlanRow): FloorPlan {
  return {
    building: r.building,
    floor: Number(r.floor),
    community: r.community,
    type: r.content_type as PlanType,
    bytes: Number(r.bytes),
    ...(r.width !== null && r.height !== null ? { width: Number(r.width), height: Number(r.height) } : {}),
    updatedAt: Number(r.updated_at),
    actor: r.actor,
  }
}

export function planValues(p: FloorPlan, data: Buffer): unknown[] {
  return [
    p.building,
    p.floor,
    p.community,
    p.type,
    p.bytes,
    p.width ?? null,
    p.height ?? null,
    p.updatedAt,
    p.actor,
    data,
  ]
}

export function placementOf(r: PlacementRow): Placement {
  return {
    device: r.device,
    building: r.building,
    community: r.community,
    floor: Number(r.floor),
    x: Number(r.x),
    y: Number(r.y),
    updatedAt: Number(r.updated_at),
    actor: r.actor,
  }
}

export function placementValues(p: Placement): unknown[] {
  return [p.device, p.building, p.community, p.floor, p.x, p.y, p.updatedAt, p.actor]
}

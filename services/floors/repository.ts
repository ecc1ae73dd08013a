/**
 * What the floors stage keeps: plan images with their meta, and device placements. Asynchronous,
 * so that a cluster's PostgreSQL can sit behind it; nothing is cached in a node's memory, so
 * every node reads the same floors.
 */
import type { FloorPlan, Placement, PlanType } from './types.ts'

export interface FloorsRepository {
  plans: {
    /** Insert or replace the floor's plan. */
    put(plan: FloorPlan, data: Buffer): Promise<void>
    /** The building's plans (no bytes), by floor. */
    list(building: string): Promise<FloorPlan[]>
    /** The image of one floor's plan. */
    image(building: string, floor: number): Promise<{ type: PlanType; data: Buffer } | undefined>
    /** False when there was none. */
    remove(building: string, floor: number): Promise<boolean>
  }
  placements: {
    /** Insert or replace the device's placement. */
    put(placement: Placement): Promise<void>
    /** The building's placements, by floor and device. */
    ofBuilding(building: string): Promise<Placement[]>
    get(device: string): Promise<Placement | undefined>
    /** False when there was none. */
    remove(device: string): Promise<boolean>
  }
}

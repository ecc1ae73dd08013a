/**
 * The floors stage: a building's floors with their plans and where its devices sit on them. A
 * placement names the floor; the device's registered floor (services/registry) becomes that
 * floor, so the floor an offer or an incident names and the plan it is drawn on are the same. A
 * placement is shown only while the device is still registered on its floor (a device moved to
 * another floor by PATCH /api/devices/{id} is unplaced until it is placed again).
 */
import type { Building, Device, Registry } from '../registry/index.ts'
import { DomainError, notRegistered } from '../shared/index.ts'
import type { FloorsRepository } from './repository.ts'
import {
  FLOOR_PLAN_MAX_BYTES,
  FLOOR_PLANS_PER_BUILDING,
  type FloorPlan,
  type Placement,
  type PlanImage,
  type PlanType,
} from './types.ts'

export interface FloorsDeps {
  repository: FloorsRepository
  registry: Pick<Registry, 'building' | 'device' | 'devicesOfBuilding' | 'updateDevice'>
  clock: { now(): number }
  settings?: { maxBytes?: number; plansPerBuilding?: number }
}

/** One floor of a building: its plan (when uploaded) and its devices, each placed or not. */
export interface FloorView {
  floor: number
  plan?: FloorPlan
  devices: { device: Device; placement?: Placement }[]
}

export interface Floors {
  readonly maxBytes: number
  readonly plansPerBuilding: number
  putPlan(building: Building, floor: number, image: PlanImage, actor: string): Promise<FloorPlan>
  plan(building: string, floor: number): Promise<{ type: PlanType; data: Buffer } | undefined>
  removePlan(building: Building, floor: number): Promise<boolean>
  /** Every floor with a plan, a device or both, lowest first; and the devices with no floor. */
  floorsOf(building: Building): Promise<{ floors: FloorView[]; unplaced: Device[] }>
  place(device: Device, at: { floor: number; x: number; y: number }, actor: string): Promise<Placement>
  unplace(device: Device): Promise<boolean>
}

export function createFloors(deps: FloorsDeps): Floors {
  const { repository, registry, clock } = deps
  const maxBytes = deps.settings?.maxBytes ?? FLOOR_PLAN_MAX_BYTES
  const plansPerBuilding = deps.settings?.plansPerBuilding ?? FLOOR_PLANS_PER_BUILDING

  return {
    maxBytes,
    plansPerBuilding,
    async putPlan(building, floor, image, actor) {
      const plans = await repository.plans.list(building.id)
      if (plans.length >= plansPerBuilding && !plans.some((p) => p.floor === floor))
        throw new DomainError(
          'state_conflict',
          `building ${building.id} has ${plans.length} floor plans, the most it may have; delete one first`,
        )
      const plan: FloorPlan = {
        building: building.id,
        floor,
        community: building.community,
        type: image.type,
        bytes: image.data.length,
        ...(image.width !== undefined && image.height !== undefined
          ? { width: image.width, height: image.height }
          : {}),
        updatedAt: clock.now(),
        actor,
      }
      await repository.plans.put(plan, image.data)
      return plan
    },
    plan: (building, floor) => repository.plans.image(building, floor),
    removePlan: (building, floor) => repository.plans.remove(building.id, floor),
    async floorsOf(building) {
      const [plans, placements] = await Promise.all([
        repository.plans.list(building.id),
        repository.placements.ofBuilding(building.id),
      ])
      const byFloor = new Map<number, FloorView>()
      const floorOf = (n: number): FloorView => {
        let f = byFloor.get(n)
        if (f === undefined) {
          f = { floor: n, devices: [] }
          byFloor.set(n, f)
        }
        return f
      }
      for (const p of plans) floorOf(p.floor).plan = p
      const placed = new Map(placements.map((p) => [p.device, p]))
      const unplaced: Device[] = []
      const devices = [...registry.devicesOfBuilding(building.id)].sort((a, b) => a.id.localeCompare(b.id))
      for (const d of devices) {
        if (d.floor === undefined) {
          unplaced.push(d)
          continue
        }
        const p = placed.get(d.id)
        floorOf(d.floor).devices.push({
          device: d,
          ...(p !== undefined && p.floor === d.floor ? { placement: p } : {}),
        })
      }
      return { floors: [...byFloor.values()].sort((a, b) => a.floor - b.floor), unplaced }
    },
    async place(device, at, actor) {
      const building = registry.building(device.building)
      if (building === undefined) throw notRegistered(`building ${device.building} is not registered`)
      const plans = await repository.plans.list(building.id)
      if (!plans.some((p) => p.floor === at.floor))
        throw new DomainError(
          'state_conflict',
          `floor ${at.floor} of building ${building.id} has no plan: upload the plan first`,
        )
      if (device.floor !== at.floor) await registry.updateDevice(device.id, { floor: at.floor })
      const placement: Placement = {
        device: device.id,
        building: building.id,
        community: building.community,
        floor: at.floor,
        x: at.x,
        y: at.y,
        updatedAt: clock.now(),
        actor,
      }
      await repository.placements.put(placement)
      return placement
    },
    unplace: (device) => repository.placements.remove(device.id),
  }
}

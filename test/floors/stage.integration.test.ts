/**
 * The floors stage over SQLite: the number of plans per building is bounded (a floor replaced
 * still fits), and a placement follows the device's registered floor.
 */
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createFloors, createSqliteFloorsRepository, planImageOf } from '../../services/floors/index.ts'
import type { Building, Device } from '../../services/registry/index.ts'
import { openStateDatabase } from '../../services/state/index.ts'
import { PLAN_SVG, planPng } from '../support/plans.ts'
import { tempDir } from '../support/tmp.ts'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

const building: Building = {
  id: 'b-1',
  name: 'Tower',
  location: [113.86, 22.57],
  community: 'c-1',
  street: 's-1',
  responsible: { name: 'Chen' },
  createdAt: 0,
}

function world() {
  const tmp = tempDir('firecircle-floors-stage-')
  const db = openStateDatabase(path.join(tmp.dir, 'state.db'))
  cleanups.push(() => {
    db.close()
    tmp.cleanup()
  })
  const devices = new Map<string, Device>()
  const device = (id: string, floor?: number): Device => {
    const d: Device = {
      id,
      kind: 'smoke',
      building: 'b-1',
      community: 'c-1',
      street: 's-1',
      enabled: true,
      createdAt: 0,
      ...(floor !== undefined ? { floor } : {}),
    }
    devices.set(id, d)
    return d
  }
  const floors = createFloors({
    repository: createSqliteFloorsRepository(db),
    registry: {
      building: (id) => (id === 'b-1' ? building : undefined),
      device: (id) => devices.get(id),
      devicesOfBuilding: () => [...devices.values()],
      async updateDevice(id, patch) {
        const d = {
          ...(devices.get(id) as Device),
          ...(typeof patch.floor === 'number' ? { floor: patch.floor } : {}),
        }
        devices.set(id, d)
        return d
      },
    },
    clock: { now: () => 1000 },
    settings: { plansPerBuilding: 2 },
  })
  return { floors, device }
}

describe('the floors stage', () => {
  it('bounds the plans per building; replacing a floor’s plan still fits', async () => {
    const { floors } = world()
    await floors.putPlan(building, 1, planImageOf(planPng(10, 10)), 'administrator')
    await floors.putPlan(building, 2, planImageOf(Buffer.from(PLAN_SVG)), 'administrator')
    await floors.putPlan(building, 2, planImageOf(planPng(20, 20)), 'administrator')
    await expect(floors.putPlan(building, 3, planImageOf(planPng()), 'administrator')).rejects.toMatchObject({
      code: 'state_conflict',
    })
    await floors.removePlan(building, 1)
    await floors.putPlan(building, 3, planImageOf(planPng()), 'administrator')
    expect((await floors.floorsOf(building)).floors.map((f) => [f.floor, f.plan?.width])).toEqual([
      [2, 20],
      [3, 400],
    ])
  })

  it('lists devices by their registered floor, placed only while they stay on it, the unfloored apart', async () => {
    const { floors, device } = world()
    await floors.putPlan(building, 2, planImageOf(planPng()), 'officer:o-1')
    const a = device('d-a')
    device('d-b', 2)
    device('d-c', 5)
    await floors.place(a, { floor: 2, x: 0.5, y: 0.25 }, 'officer:o-1')
    const view = await floors.floorsOf(building)
    expect(view.unplaced).toEqual([])
    expect(
      view.floors.map((f) => [
        f.floor,
        f.plan !== undefined,
        f.devices.map((d) => [d.device.id, d.placement?.x]),
      ]),
    ).toEqual([
      [
        2,
        true,
        [
          ['d-a', 0.5],
          ['d-b', undefined],
        ],
      ],
      [5, false, [['d-c', undefined]]],
    ])
    device('d-a') // its floor cleared in the registry: unplaced again
    expect((await floors.floorsOf(building)).unplaced.map((d) => d.id)).toEqual(['d-a'])
  })
})

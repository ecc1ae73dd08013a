/**
 * The registry's SQLite repository on its own: what is written is read back the same (optional
 * fields as absent, not null), a taken id is an insert that did not happen, the paged id
 * queries filter by equality and page in id order, and hashes are kept apart from records.
 */
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Building,
  type Community,
  createSqliteRegistryRepository,
  type Device,
  type Officer,
  type RegistryRepository,
  type Responder,
} from '../../services/registry/index.ts'
import { openStateDatabase, type SqliteDb } from '../../services/state/index.ts'
import { tempDir } from '../support/tmp.ts'

const T0 = Date.parse('2025-03-01T08:00:00.000Z')

const community: Community = {
  id: 'c1',
  name: 'C one',
  street: 's1',
  geometry: {
    type: 'Polygon',
    coordinates: [
      [
        [113.8, 22.5],
        [113.82, 22.5],
        [113.82, 22.52],
        [113.8, 22.52],
        [113.8, 22.5],
      ],
    ],
  },
  createdAt: T0,
}
const building = (id: string): Building => ({
  id,
  name: `building ${id}`,
  location: [113.81, 22.51],
  community: 'c1',
  street: 's1',
  responsible: { name: 'owner', phone: '+86 755 0000', webhook: 'https://example.test/hook' },
  createdAt: T0,
})
const bare = (id: string, b: string, kind: Device['kind'] = 'smoke'): Device => ({
  id,
  kind,
  building: b,
  community: 'c1',
  street: 's1',
  enabled: true,
  createdAt: T0,
})

describe('createSqliteRegistryRepository', () => {
  const tmp = tempDir('firecircle-registry-repo-')
  let db: SqliteDb
  let repo: RegistryRepository

  beforeAll(() => {
    db = openStateDatabase(path.join(tmp.dir, 'state.db'))
    repo = createSqliteRegistryRepository(db)
  })
  afterAll(() => {
    db.close()
    tmp.cleanup()
  })

  it('starts empty', async () => {
    expect(await repo.load()).toEqual({
      streets: [],
      communities: [],
      buildings: [],
      devices: [],
      responders: [],
      officers: [],
    })
    expect(await repo.adminTokenHash()).toBeUndefined()
  })

  it('reads back what it stored; a taken id is not stored again', async () => {
    expect(await repo.insertCommunity(community)).toBe(true)
    expect(await repo.insertCommunity({ ...community, name: 'again' })).toBe(false)
    expect(await repo.insertBuilding(building('b1'))).toBe(true)
    expect(await repo.insertBuilding(building('b2'))).toBe(true)
    expect(await repo.insertBuilding(building('b1'))).toBe(false)
    const gateway = bare('gw-1', 'b1', 'gateway')
    const full: Device = {
      ...bare('heat-1', 'b1', 'heat'),
      location: [113.811, 22.511],
      floor: -2,
      gateway: 'gw-1',
      thresholds: { temperature: 60 },
    }
    expect(await repo.insertDevice(gateway, 'hash-gw')).toBe(true)
    expect(await repo.insertDevice(full, 'hash-heat')).toBe(true)
    expect(await repo.insertDevice(bare('smoke-1', 'b2'), 'hash-smoke')).toBe(true)
    expect(await repo.insertDevice(bare('smoke-1', 'b1'), 'other')).toBe(false)
    const guard: Responder = {
      id: 'guard-1',
      name: 'Guard',
      type: 'security_guard',
      mode: 'foot',
      onDuty: true,
      building: 'b1',
      community: 'c1',
      street: 's1',
      enabled: true,
      createdAt: T0,
    }
    const volunteer: Responder = {
      id: 'vol-1',
      name: 'Volunteer',
      type: 'volunteer',
      mode: 'bicycle',
      onDuty: false,
      enabled: true,
      createdAt: T0,
    }
    expect(await repo.insertResponder(guard, 'hash-guard')).toBe(true)
    expect(await repo.insertResponder(volunteer, 'hash-vol')).toBe(true)
    expect(await repo.insertResponder(volunteer, 'hash-vol')).toBe(false)
    const officer: Officer = { id: 'o1', name: 'Officer', scope: 'street:s1', createdAt: T0 }
    expect(await repo.insertOfficer(officer, 'hash-o1')).toBe(true)
    expect(await repo.insertOfficer(officer, 'hash-o1')).toBe(false)

    const loaded = await repo.load()
    expect(loaded.streets).toEqual(['s1'])
    expect(loaded.communities).toEqual([community])
    expect(loaded.buildings).toEqual([building('b1'), building('b2')])
    expect(loaded.devices).toEqual([gateway, full, bare('smoke-1', 'b2')])
    expect(loaded.responders).toEqual([guard, volunteer])
    expect(loaded.officers).toEqual([officer])
  })

  it('updates what may change, and clears optional fields to absent', async () => {
    const heat = (await repo.load()).devices.find((d) => d.id === 'heat-1') as Device
    const { location: _l, floor: _f, thresholds: _t, ...rest } = heat
    const cleared: Device = { ...rest, enabled: false }
    await repo.updateDevice(cleared, T0 + 1000)
    expect((await repo.load()).devices.find((d) => d.id === 'heat-1')).toEqual(cleared)

    const vol = (await repo.load()).responders.find((r) => r.id === 'vol-1') as Responder
    const moved: Responder = {
      ...vol,
      mode: 'motor',
      onDuty: true,
      location: [113.815, 22.515],
      community: 'c1',
      street: 's1',
    }
    await repo.updateResponder(moved, T0 + 1000)
    expect((await repo.load()).responders.find((r) => r.id === 'vol-1')).toEqual(moved)
  })

  it('keeps the hashes apart, one at a time', async () => {
    expect(await repo.secretHash('device', 'heat-1')).toBe('hash-heat')
    expect(await repo.secretHash('device', 'gw-1')).toBe('hash-gw')
    expect(await repo.secretHash('responder', 'guard-1')).toBe('hash-guard')
    expect(await repo.secretHash('device', 'guard-1')).toBeUndefined()
    expect(await repo.secretHash('responder', 'heat-1')).toBeUndefined()
    expect(await repo.secretHash('device', 'nobody')).toBeUndefined()
    expect(await repo.officerTokenHash('o1')).toBe('hash-o1')
    expect(await repo.officerTokenHash('o2')).toBeUndefined()
    await repo.storeAdminTokenHash('admin-1', T0)
    await repo.storeAdminTokenHash('admin-2', T0 + 1)
    expect(await repo.adminTokenHash()).toBe('admin-2')
  })

  it('pages ids in id order, filtered by equality, with the total of the filter', async () => {
    const page = { limit: 2, offset: 0 }
    expect(await repo.deviceIds({}, page)).toEqual({ ids: ['gw-1', 'heat-1'], total: 3 })
    expect(await repo.deviceIds({}, { limit: 2, offset: 2 })).toEqual({ ids: ['smoke-1'], total: 3 })
    expect(await repo.deviceIds({ building: 'b1' }, { limit: 10, offset: 0 })).toEqual({
      ids: ['gw-1', 'heat-1'],
      total: 2,
    })
    expect(await repo.deviceIds({ building: 'b1', kind: 'heat' }, page)).toEqual({
      ids: ['heat-1'],
      total: 1,
    })
    expect(await repo.deviceIds({ gateway: 'gw-1' }, page)).toEqual({ ids: ['heat-1'], total: 1 })
    expect(await repo.deviceIds({ street: 'elsewhere' }, page)).toEqual({ ids: [], total: 0 })
    expect(await repo.buildingIds({ community: 'c1' }, { limit: 1, offset: 1 })).toEqual({
      ids: ['b2'],
      total: 2,
    })
    expect(await repo.responderIds({ building: 'b1', type: 'security_guard' }, page)).toEqual({
      ids: ['guard-1'],
      total: 1,
    })
    expect(await repo.responderIds({ community: 'c1' }, page)).toEqual({
      ids: ['guard-1', 'vol-1'],
      total: 2,
    })
    // Only the filter's own keys reach the SQL: anything else on the object is ignored.
    const extra = { street: 's1', limit: 1 } as unknown as { street: string }
    expect((await repo.buildingIds(extra, page)).total).toBe(2)
  })
})

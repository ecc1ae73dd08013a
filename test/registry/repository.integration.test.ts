/**
 * The registry's repositories, SQLite and PostgreSQL, held to one contract: what is written is
 * read back the same (optional fields as absent, not null), a taken id is an insert that did
 * not happen (and changes nothing), one record reads as the load shows it, the paged id
 * queries filter by equality and page in byte order of ids, and hashes are kept apart from
 * records. Then, for PostgreSQL only: pages in byte order also where the database's own
 * collation is a language's, and two nodes registering one id as a device and as a responder
 * at once: one wins. (A Bao'an-sized district: ./district-load.integration.test.ts.)
 */
import path from 'node:path'
import pgClient from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Building,
  type Community,
  createPostgresRegistryRepository,
  createSqliteRegistryRepository,
  type Device,
  type Officer,
  type RegistryRepository,
  type Responder,
} from '../../services/registry/index.ts'
import { openPostgres, openStateDatabase, type PgDatabase } from '../../services/state/index.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
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

/** A repository on a new empty database, and how to close it. */
interface Opened {
  repo: RegistryRepository
  close(): Promise<void>
}

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

function openSqlite(): Opened {
  const tmp = tempDir('firecircle-registry-repo-')
  const db = openStateDatabase(path.join(tmp.dir, 'state.db'))
  return {
    repo: createSqliteRegistryRepository(db),
    async close() {
      db.close()
      tmp.cleanup()
    },
  }
}
async function openPg(): Promise<Opened> {
  const db = await pg.database()
  return { repo: createPostgresRegistryRepository(db), close: () => db.close() }
}

const BACKENDS: { name: string; open(): Opened | Promise<Opened> }[] = [
  { name: 'SQLite', open: openSqlite },
  { name: 'PostgreSQL', open: openPg },
]

describe.each(BACKENDS)('the registry repository on $name', (backend) => {
  let opened: Opened
  let repo: RegistryRepository

  beforeAll(async () => {
    opened = await backend.open()
    repo = opened.repo
  })
  afterAll(async () => {
    await opened?.close()
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

  it('reads one record as the load shows it; an id not stored is undefined', async () => {
    const loaded = await repo.load()
    for (const c of loaded.communities) expect(await repo.community(c.id)).toEqual(c)
    for (const b of loaded.buildings) expect(await repo.building(b.id)).toEqual(b)
    for (const d of loaded.devices) expect(await repo.device(d.id)).toEqual(d)
    for (const r of loaded.responders) expect(await repo.responder(r.id)).toEqual(r)
    for (const o of loaded.officers) expect(await repo.officer(o.id)).toEqual(o)
    expect(await repo.hasStreet('s1')).toBe(true)
    expect(await repo.hasStreet('S1')).toBe(false)
    expect(await repo.community('c2')).toBeUndefined()
    expect(await repo.building('b9')).toBeUndefined()
    // One id space per table: a responder's id is no device, and the other way round.
    expect(await repo.device('guard-1')).toBeUndefined()
    expect(await repo.responder('heat-1')).toBeUndefined()
    expect(await repo.officer('o2')).toBeUndefined()
  })

  it('a taken community id changes nothing, not even the street it would have added', async () => {
    expect(await repo.insertCommunity({ ...community, street: 's-new', createdAt: T0 + 5 })).toBe(false)
    expect(await repo.hasStreet('s-new')).toBe(false)
    expect((await repo.load()).streets).toEqual(['s1'])
    expect(await repo.community('c1')).toEqual(community)
  })

  it('devices and responders share one space of ids: one kind’s id is taken for the other', async () => {
    const guardAsDevice = bare('guard-1', 'b1')
    expect(await repo.insertDevice(guardAsDevice, 'h')).toBe(false)
    const heatAsResponder: Responder = {
      id: 'heat-1',
      name: 'Not a detector',
      type: 'volunteer',
      mode: 'foot',
      onDuty: true,
      enabled: true,
      createdAt: T0,
    }
    expect(await repo.insertResponder(heatAsResponder, 'h')).toBe(false)
    expect(await repo.device('guard-1')).toBeUndefined()
    expect((await repo.responder('heat-1')) ?? null).toBeNull()
    expect(await repo.secretHash('device', 'guard-1')).toBeUndefined()
  })

  it('an insert refused for another reason than a taken id rejects, and stores nothing', async () => {
    await expect(repo.insertDevice(bare('orphan-1', 'no-such-building'), 'h')).rejects.toThrow()
    await expect(repo.insertBuilding({ ...building('b9'), community: 'no-such-community' })).rejects.toThrow()
    expect(await repo.device('orphan-1')).toBeUndefined()
    expect(await repo.building('b9')).toBeUndefined()
  })

  it('pages ids in byte order (SQLite’s BINARY): capitals first, “-” before “_”, ASCII before é', async () => {
    expect(await repo.insertBuilding(building('b3'))).toBe(true)
    const ids = ['det-a', 'Det-B', 'det-\u00e9', 'det_1', 'det-B', 'det-1', 'Det-a', 'det-z']
    for (const id of ids) expect(await repo.insertDevice(bare(id, 'b3'), `h-${id}`)).toBe(true)
    const expected = ['Det-B', 'Det-a', 'det-1', 'det-B', 'det-a', 'det-z', 'det-\u00e9', 'det_1']
    expect(await repo.deviceIds({ building: 'b3' }, { limit: 10, offset: 0 })).toEqual({
      ids: expected,
      total: 8,
    })
    expect(await repo.deviceIds({ building: 'b3' }, { limit: 3, offset: 4 })).toEqual({
      ids: expected.slice(4, 7),
      total: 8,
    })
    const loadedIds = (await repo.load()).devices.filter((d) => d.building === 'b3').map((d) => d.id)
    expect([...loadedIds].sort()).toEqual(expected)
  })
})

describe('the registry repository on PostgreSQL, where it differs from SQLite', () => {
  it('pages in byte order also in a database whose own collation is a language’s (ICU en-US)', async () => {
    const name = `fc_icu_${process.pid}`
    const admin = new pgClient.Client({
      host: '127.0.0.1',
      port: pg.server.port,
      user: 'postgres',
      database: 'postgres',
    })
    await admin.connect()
    try {
      await admin.query(
        `CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`,
      )
    } finally {
      await admin.end()
    }
    const db: PgDatabase = await openPostgres(`postgres://postgres@127.0.0.1:${pg.server.port}/${name}`)
    try {
      // The language's order puts small letters before capitals and skips punctuation: the
      // database itself disagrees with SQLite, so the repository must not leave it the choice.
      const own = await db.query<{ id: string }>(
        "SELECT id FROM (VALUES ('Smoke-a'), ('smoke-a'), ('smoke_1'), ('smoke-B')) v(id) ORDER BY id",
      )
      expect(own.rows.map((r) => r.id)).not.toEqual(['Smoke-a', 'smoke-B', 'smoke-a', 'smoke_1'])
      const repo = createPostgresRegistryRepository(db)
      expect(await repo.insertCommunity(community)).toBe(true)
      expect(await repo.insertBuilding(building('b1'))).toBe(true)
      for (const id of ['smoke-a', 'smoke_1', 'Smoke-a', 'smoke-B'])
        expect(await repo.insertDevice(bare(id, 'b1'), 'h')).toBe(true)
      expect((await repo.deviceIds({}, { limit: 10, offset: 0 })).ids).toEqual([
        'Smoke-a',
        'smoke-B',
        'smoke-a',
        'smoke_1',
      ])
      expect((await repo.load()).devices.map((d) => d.id)).toEqual([
        'Smoke-a',
        'smoke-B',
        'smoke-a',
        'smoke_1',
      ])
    } finally {
      await db.close()
    }
  })

  it('one id registered at once as a device and as a responder, by two nodes: one wins, every time', async () => {
    const db = await pg.database()
    const other = await openPostgres(db.url)
    try {
      const nodeA = createPostgresRegistryRepository(db)
      const nodeB = createPostgresRegistryRepository(other)
      expect(await nodeA.insertCommunity(community)).toBe(true)
      expect(await nodeA.insertBuilding(building('b1'))).toBe(true)
      const ids = Array.from({ length: 20 }, (_, i) => `x-${i}`)
      const outcomes = await Promise.all(
        ids.map(async (id) => {
          const responder: Responder = {
            id,
            name: 'X',
            type: 'volunteer',
            mode: 'foot',
            onDuty: true,
            enabled: true,
            createdAt: T0,
          }
          const [asDevice, asResponder] = await Promise.all([
            nodeA.insertDevice(bare(id, 'b1'), 'h'),
            nodeB.insertResponder(responder, 'h'),
          ])
          const stored = [(await nodeA.device(id)) !== undefined, (await nodeB.responder(id)) !== undefined]
          return { won: [asDevice, asResponder], stored }
        }),
      )
      for (const o of outcomes) {
        expect(o.won.filter(Boolean)).toHaveLength(1)
        expect(o.stored).toEqual(o.won)
      }
    } finally {
      await other.close()
      await db.close()
    }
  })
})

/**
 * A Bao'an-sized district (the simulator's, 10,000 devices) stored through each repository
 * loads from PostgreSQL as it loads from SQLite, field for field and in byte order of ids.
 * Correctness only: how fast is a benchmark's question, not a test's.
 */
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Building,
  type Community,
  createPostgresRegistryRepository,
  createSqliteRegistryRepository,
  type Device,
  type RegistryRepository,
  type Responder,
} from '../../services/registry/index.ts'
import {
  openStateDatabase,
  type PgClient,
  type PgDatabase,
  type SqliteDb,
} from '../../services/state/index.ts'
import { generateDistrict } from '../../simulator/district.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
import { tempDir } from '../support/tmp.ts'

const T0 = Date.parse('2025-03-01T08:00:00.000Z')

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

/** A Bao’an-like district (the simulator's generator) as the registry's records. */
function districtRecords() {
  const d = generateDistrict({ seed: 'registry-load', devices: 10_000, responders: 2_000 })
  const streetOf = new Map(d.communities.map((c) => [c.id, c.street]))
  const communities: Community[] = d.communities.map((c) => ({
    id: c.id,
    name: c.name,
    street: c.street,
    geometry: c.feature.geometry,
    createdAt: T0,
  }))
  const buildings: Building[] = d.buildings.map((b) => ({
    id: b.id,
    name: b.name,
    location: b.location,
    community: b.community,
    street: streetOf.get(b.community) as string,
    responsible: b.responsible,
    createdAt: T0 + 1,
  }))
  const devices: Device[] = d.devices.map((x, i) => ({
    id: x.id,
    kind: x.kind,
    building: x.building,
    community: x.community,
    street: streetOf.get(x.community) as string,
    location: x.location,
    floor: x.floor,
    ...(x.gateway === undefined ? {} : { gateway: x.gateway }),
    ...(i % 7 === 0 && x.kind === 'heat' ? { thresholds: { temperature: 57.5 } } : {}),
    enabled: true,
    createdAt: T0 + 2 + i,
  }))
  const responders: Responder[] = d.responders.map((r, i) => ({
    id: r.id,
    name: r.name,
    type: r.type,
    mode: r.mode,
    onDuty: r.onDuty,
    location: r.location,
    ...(r.building === undefined ? {} : { building: r.building }),
    community: r.community,
    street: streetOf.get(r.community) as string,
    enabled: true,
    createdAt: T0 + 3 + i,
  }))
  return { communities, buildings, devices, responders }
}

/** Stores each of `items` through a repository: how, is each database's (below). */
type StoreEach = <T>(items: T[], store: (repo: RegistryRepository, x: T) => Promise<boolean>) => Promise<void>

/** SQLite: one after another, between one BEGIN and COMMIT. */
function sqliteStore(db: SqliteDb): StoreEach {
  const repo = createSqliteRegistryRepository(db)
  return async (items, store) => {
    db.exec('BEGIN')
    let refused = 0
    for (const x of items) if (!(await store(repo, x))) refused++
    db.exec('COMMIT')
    expect(refused).toBe(0)
  }
}

/**
 * PostgreSQL: the items split over a few connections, each storing its share one at a time
 * in one transaction (the repository's own transactions running inside it), committed
 * together before the next kind of record (a device's building must be stored). Nothing here
 * is refused: a failure fails its transaction, and the test.
 */
function postgresStore(db: PgDatabase, lanes = 3): StoreEach {
  const onClient = (client: PgClient): PgDatabase => ({
    pool: db.pool,
    query: (text, values) => client.query(text, values),
    tx: (fn) => fn(client),
    close: async () => {},
  })
  return async (items, store) => {
    const refused = await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        const client = await db.pool.connect()
        try {
          const repo = createPostgresRegistryRepository(onClient(client))
          await client.query('BEGIN')
          let n = 0
          for (let k = lane; k < items.length; k += lanes)
            if (!(await store(repo, items[k] as (typeof items)[number]))) n++
          await client.query('COMMIT')
          return n
        } finally {
          client.release()
        }
      }),
    )
    expect(refused).toEqual(refused.map(() => 0))
  }
}

async function storeDistrict(each: StoreEach, r: ReturnType<typeof districtRecords>) {
  await each(r.communities, (repo, c) => repo.insertCommunity(c))
  await each(r.buildings, (repo, b) => repo.insertBuilding(b))
  // Gateways before the devices they carry (a device's gateway must be stored).
  const gateways = r.devices.filter((d) => d.kind === 'gateway')
  await each(gateways, (repo, d) => repo.insertDevice(d, `h-${d.id}`))
  const others = r.devices.filter((d) => d.kind !== 'gateway')
  await each(others, (repo, d) => repo.insertDevice(d, `h-${d.id}`))
  await each(r.responders, (repo, x) => repo.insertResponder(x, `h-${x.id}`))
  // Some disabled, to see the flag come back from each database.
  const disabled = r.devices.filter((_, i) => i % 97 === 0).map((d) => ({ ...d, enabled: false }))
  await each(disabled, async (repo, d) => {
    await repo.updateDevice(d, T0 + 99)
    return true
  })
}

describe('a district-sized registry', () => {
  // About ten seconds alone on two cores: the timeout leaves room for a machine busy with other files.
  it('a Bao’an-sized district (10,000 devices) loads from PostgreSQL as it loads from SQLite', async () => {
    const records = districtRecords()
    const tmp = tempDir('firecircle-registry-district-')
    const sqliteDb = openStateDatabase(path.join(tmp.dir, 'state.db'))
    const db = await pg.database()
    try {
      await storeDistrict(sqliteStore(sqliteDb), records)
      await storeDistrict(postgresStore(db), records)
      const [a, b] = await Promise.all([
        createSqliteRegistryRepository(sqliteDb).load(),
        createPostgresRegistryRepository(db).load(),
      ])
      const byId = <T extends { id: string }>(xs: T[]) => [...xs].sort((x, y) => (x.id < y.id ? -1 : 1))
      expect(b.devices).toHaveLength(records.devices.length)
      expect(b.responders).toHaveLength(records.responders.length)
      expect(b.devices.filter((d) => !d.enabled).length).toBeGreaterThan(50)
      expect(b.devices.filter((d) => d.gateway !== undefined).length).toBeGreaterThan(0)
      expect(b.devices.filter((d) => d.thresholds !== undefined).length).toBeGreaterThan(0)
      expect(b.streets).toEqual([...a.streets].sort())
      expect(b.communities).toEqual(byId(a.communities))
      expect(b.buildings).toEqual(byId(a.buildings))
      expect(b.devices).toEqual(byId(a.devices))
      expect(b.responders).toEqual(byId(a.responders))
      // And what both read back is what was stored, field for field.
      const disabled = records.devices.map((d, i) => (i % 97 === 0 ? { ...d, enabled: false } : d))
      expect(b.devices).toEqual(byId(disabled))
      expect(b.responders).toEqual(byId(records.responders))
    } finally {
      sqliteDb.close()
      tmp.cleanup()
      await db.close()
    }
  }, 60_000)
})

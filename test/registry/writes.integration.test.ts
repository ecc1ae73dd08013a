/**
 * Registry writes: the repository first, memory only when the write succeeded, and one write
 * after another, so that two writes never decide on the same state across an `await` — on
 * SQLite (the embedded node) and on PostgreSQL (a cluster's).
 */
import path from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createEventBus } from '../../services/events/index.ts'
import {
  createPostgresRegistryRepository,
  createRegistry,
  createSqliteRegistryRepository,
  type Registry,
  type RegistryRepository,
} from '../../services/registry/index.ts'
import { createManualClock } from '../../services/shared/clock.ts'
import { createLogger } from '../../services/shared/log.ts'
import { openStateDatabase } from '../../services/state/index.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
import { tempDir } from '../support/tmp.ts'

const square = [
  [
    [113.8, 22.5],
    [113.82, 22.5],
    [113.82, 22.52],
    [113.8, 22.52],
    [113.8, 22.5],
  ],
]

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

/** A repository on a new empty database, and how to close it. */
interface Opened {
  repo: RegistryRepository
  close(): Promise<void>
}
const BACKENDS: { name: string; open(): Promise<Opened> }[] = [
  {
    name: 'SQLite',
    async open() {
      const tmp = tempDir('firecircle-registry-writes-')
      const db = openStateDatabase(path.join(tmp.dir, 'state.db'))
      return {
        repo: createSqliteRegistryRepository(db),
        async close() {
          db.close()
          tmp.cleanup()
        },
      }
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const db = await pg.database()
      return { repo: createPostgresRegistryRepository(db), close: () => db.close() }
    },
  },
]

describe.each(BACKENDS)('registry writes on $name', (backend) => {
  let opened: Opened
  let repository: RegistryRepository
  let failInserts = false
  let registry: Registry

  beforeEach(async () => {
    opened = await backend.open()
    const stored = opened.repo
    failInserts = false
    repository = {
      ...stored,
      insertDevice: (d, h) =>
        failInserts ? Promise.reject(new Error('disk full')) : stored.insertDevice(d, h),
    }
    registry = await createRegistry({
      repository,
      clock: createManualClock(Date.parse('2025-03-01T08:00:00Z')),
      logger: createLogger('silent'),
      events: createEventBus(),
    })
    await registry.addCommunity({
      id: 'c1',
      name: 'C one',
      street: 's1',
      geometry: { type: 'Polygon', coordinates: square },
    })
    await registry.addBuilding({
      id: 'b1',
      name: 'B one',
      location: [113.81, 22.51],
      responsible: { name: 'owner' },
    })
  })
  afterEach(async () => {
    await opened.close()
  })

  it('a write the repository refuses changes nothing in memory', async () => {
    failInserts = true
    await expect(registry.addDevice({ id: 'smoke-1', kind: 'smoke', building: 'b1' })).rejects.toThrow(
      'disk full',
    )
    expect(registry.device('smoke-1')).toBeUndefined()
    expect(registry.devicesOfBuilding('b1')).toEqual([])
    failInserts = false
    await registry.addDevice({ id: 'smoke-1', kind: 'smoke', building: 'b1' })
    expect(registry.device('smoke-1')?.building).toBe('b1')
  })

  it('one id, registered at once as a device and as a responder: one wins', async () => {
    const results = await Promise.allSettled([
      registry.addDevice({ id: 'x-1', kind: 'smoke', building: 'b1' }),
      registry.addResponder({ id: 'x-1', name: 'X', type: 'volunteer', mode: 'foot', onDuty: true }),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected'])
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'already_registered' })
    expect(registry.responder('x-1')).toBeUndefined()
  })

  it('two changes of one device at once both hold', async () => {
    await registry.addDevice({ id: 'smoke-1', kind: 'smoke', building: 'b1' })
    await Promise.all([
      registry.updateDevice('smoke-1', { floor: 3 }),
      registry.updateDevice('smoke-1', { location: [113.811, 22.511] }),
    ])
    expect(registry.device('smoke-1')).toMatchObject({ floor: 3, location: [113.811, 22.511] })
    const again = await createRegistry({
      repository,
      clock: createManualClock(0),
      logger: createLogger('silent'),
      events: createEventBus(),
    })
    expect(again.device('smoke-1')).toEqual(registry.device('smoke-1'))
  })

  it('lists page from the repository, records from memory', async () => {
    for (const id of ['d-3', 'd-1', 'd-2']) await registry.addDevice({ id, kind: 'smoke', building: 'b1' })
    const p = await registry.listDevices({ building: 'b1' }, { limit: 2, offset: 1 })
    expect(p).toMatchObject({ total: 3, limit: 2, offset: 1 })
    expect(p.items.map((d) => d.id)).toEqual(['d-2', 'd-3'])
    expect(p.items[0]).toBe(registry.device('d-2'))
  })
})

/**
 * A device's links (a UITD's address and heartbeat, a LoRaWAN detector's DevEUI) in both
 * registry repositories: read back by the load and by id, absent (not null) on other devices,
 * and a taken address is an insert that did not happen and changed nothing.
 */
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createPostgresRegistryRepository,
  createSqliteRegistryRepository,
  type Device,
  type RegistryRepository,
} from '../../services/registry/index.ts'
import { openStateDatabase } from '../../services/state/index.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
import { tempDir } from '../support/tmp.ts'

const T0 = Date.parse('2026-12-01T02:00:00.000Z')
const place = { building: 'b1', community: 'c1', street: 's1', enabled: true, createdAt: T0 }
const panel: Device = { id: 'panel-1', kind: 'uitd', ...place, address: '000000123456', heartbeatS: 20 }
const lora: Device = { id: 'lora-1', kind: 'smoke', ...place, devEui: '0101010101010101' }
const plain: Device = { id: 'smoke-1', kind: 'smoke', ...place }

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

interface Opened {
  repo: RegistryRepository
  close(): Promise<void>
}
const BACKENDS: { name: string; open(): Opened | Promise<Opened> }[] = [
  {
    name: 'SQLite',
    open() {
      const tmp = tempDir('firecircle-links-')
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

describe.each(BACKENDS)('device links on $name', (backend) => {
  let opened: Opened
  let repo: RegistryRepository
  beforeAll(async () => {
    opened = await backend.open()
    repo = opened.repo
    await repo.insertCommunity({
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
            [113.8, 22.5],
          ],
        ],
      },
      createdAt: T0,
    })
    await repo.insertBuilding({
      id: 'b1',
      name: 'b one',
      location: [113.81, 22.51],
      community: 'c1',
      street: 's1',
      responsible: { name: 'owner' },
      createdAt: T0,
    })
  })
  afterAll(async () => {
    await opened?.close()
  })

  it('reads back a UITD’s address and heartbeat and a detector’s DevEUI; nothing on the others', async () => {
    expect(await repo.insertDevice(panel, 'h1')).toBe(true)
    expect(await repo.insertDevice(lora, 'h2')).toBe(true)
    expect(await repo.insertDevice(plain, 'h3')).toBe(true)
    const loaded = (await repo.load()).devices
    expect(loaded.find((d) => d.id === 'panel-1')).toEqual(panel)
    expect(loaded.find((d) => d.id === 'lora-1')).toEqual(lora)
    expect(loaded.find((d) => d.id === 'smoke-1')).toEqual(plain)
    expect(await repo.device('panel-1')).toEqual(panel)
  })

  it('does not store a second device with a taken address, nor any part of it', async () => {
    const again: Device = { ...panel, id: 'panel-2' }
    const stored = await repo.insertDevice(again, 'h4').catch(() => false)
    expect(stored).toBe(false)
    expect(await repo.device('panel-2')).toBeUndefined()
    expect((await repo.load()).devices.map((d) => d.id).sort()).toEqual(['lora-1', 'panel-1', 'smoke-1'])
  })
})

/**
 * A restart with more devices than one slice (services/registry/device-table.ts): the registry
 * is there before every device is in memory — the rest are read in the background — and no
 * answer is wrong meanwhile: a device not yet read authenticates and is found, its id is
 * taken, a building lists all its devices, and a device registered during the load stays.
 */
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEventBus } from '../../services/events/index.ts'
import {
  createRegistry,
  createSqliteRegistryRepository,
  type DeviceInput,
  type Registry,
} from '../../services/registry/index.ts'
import { createManualClock } from '../../services/shared/clock.ts'
import { createLogger } from '../../services/shared/log.ts'
import { openStateDatabase, type SqliteDb } from '../../services/state/index.ts'
import { tempDir } from '../support/tmp.ts'

const T0 = Date.parse('2025-03-01T08:00:00.000Z')
const DEVICES = 25_000
const square = (lon: number) => [
  [
    [lon, 22.5],
    [lon + 0.02, 22.5],
    [lon + 0.02, 22.52],
    [lon, 22.52],
    [lon, 22.5],
  ],
]

describe('a restart with 25,000 devices (more than one slice)', () => {
  const tmp = tempDir('firecircle-registry-restart-load-')
  const file = path.join(tmp.dir, 'state.db')
  let db: SqliteDb
  const secrets = new Map<string, string>()
  const open = (d: SqliteDb): Promise<Registry> =>
    createRegistry({
      repository: createSqliteRegistryRepository(d),
      clock: createManualClock(T0),
      logger: createLogger('silent'),
      events: createEventBus(),
    })

  beforeAll(async () => {
    db = openStateDatabase(file)
    const first = await open(db)
    await first.addCommunity({
      id: 'xixiang-01',
      name: 'Xixiang 1',
      street: 'xixiang',
      geometry: { type: 'Polygon', coordinates: square(113.8) },
    })
    for (const b of ['bld-0', 'bld-1'])
      await first.addBuilding({ id: b, name: b, location: [113.81, 22.51], responsible: { name: 'Owner' } })
    const inputs: DeviceInput[] = Array.from({ length: DEVICES }, (_, i) => ({
      id: `dev-${i}`,
      kind: i % 2 === 0 ? 'smoke' : 'heat',
      building: `bld-${i % 2}`,
      floor: i % 30,
    }))
    for (const r of await first.addDevices(inputs)) if ('device' in r) secrets.set(r.device.id, r.secret)
    // The last rows: a fire panel's transmission device with its link, thresholds on a detector.
    const uitd = await first.addDevice({
      id: 'panel-1',
      kind: 'uitd',
      building: 'bld-0',
      address: '0a0b0c0d0e0f',
      heartbeatS: 60,
    })
    secrets.set('panel-1', uitd.secret)
    await first.addDevice({
      id: 'heat-tuned',
      kind: 'heat',
      building: 'bld-1',
      thresholds: { fixed_temperature: 70 },
    })
    db.close()
    db = openStateDatabase(file)
  }, 120_000)

  afterAll(() => {
    db?.close()
    tmp.cleanup()
  })

  it('answers for every device while the rest are still being read, then has them all', async () => {
    const again = await open(db)
    const loading = again.devicesLoading()
    // Ready with the first slice in memory, the others still in the database.
    expect(loading).toBeDefined()

    // A device of the last slice connects: found, its secret checks, its link and thresholds are there.
    expect(await again.checkSecret('panel-1', secrets.get('panel-1') as string)).toEqual({
      ok: true,
      kind: 'device',
    })
    expect(again.device('panel-1')).toMatchObject({ kind: 'uitd', address: '0a0b0c0d0e0f', heartbeatS: 60 })
    expect(again.device('heat-tuned')?.thresholds).toEqual({ fixed_temperature: 70 })
    const last = `dev-${DEVICES - 1}`
    expect(await again.checkSecret(last, secrets.get(last) as string)).toEqual({ ok: true, kind: 'device' })
    expect(await again.checkSecret(last, 'not-its-secret-at-all')).toEqual({
      ok: false,
      reason: 'wrong_secret',
    })
    expect(await again.checkSecret('dev-unknown', 'whatever-it-is')).toEqual({ ok: false, reason: 'unknown' })
    expect(again.device('dev-unknown')).toBeUndefined()

    // Its id is taken; a new device registered during the load stays registered.
    await expect(
      again.addDevice({ id: `dev-${DEVICES - 2}`, kind: 'smoke', building: 'bld-1' }),
    ).rejects.toThrow(/already registered/)
    const late = await again.addDevice({ id: 'late-1', kind: 'smoke', building: 'bld-1', floor: 3 })
    expect(again.device('late-1')).toEqual(late.device)

    await loading
    expect(again.devicesLoading()).toBeUndefined()
    const all = [...again.allDevices()]
    expect(all).toHaveLength(DEVICES + 3)
    expect(new Set(all.map((d) => d.id)).size).toBe(DEVICES + 3)
    expect(again.devicesOfBuilding('bld-1')).toHaveLength(DEVICES / 2 + 2)
    expect(again.device('late-1')).toEqual(late.device)
    expect(again.device('dev-0')).toMatchObject({ kind: 'smoke', building: 'bld-0', floor: 0, enabled: true })
  }, 60_000)

  it('a building asked for during the load lists all its devices (the rest read first)', async () => {
    const again = await open(db)
    expect(again.devicesLoading()).toBeDefined()
    expect(again.devicesOfBuilding('bld-0')).toHaveLength(DEVICES / 2 + 1)
    expect(again.devicesLoading()).toBeUndefined()
    expect([...again.allDevices()]).toHaveLength(DEVICES + 3)
  }, 60_000)
})

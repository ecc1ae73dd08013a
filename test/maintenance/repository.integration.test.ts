/**
 * The maintenance repositories, SQLite and PostgreSQL, on one contract: work orders (with their
 * history and a photo), false alarms counted once per incident, test modes — read back as written,
 * across a reopening. Then what only a cluster's partitioned PostgreSQL does: loads scoped to the
 * communities owned, a write under a lost lease refused and changing nothing.
 */
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createPostgresMaintenanceRepository,
  createSqliteMaintenanceRepository,
  type MaintenanceRepository,
  type WorkOrder,
} from '../../services/maintenance/index.ts'
import {
  openPostgres,
  openStateDatabase,
  type PgDatabase,
  type SqliteDb,
} from '../../services/state/index.ts'
import { leaseFence, seedPartitions } from '../linkage/lease-fence.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
import { tempDir } from '../support/tmp.ts'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

interface Opened {
  repo: MaintenanceRepository
  reopen(): Promise<MaintenanceRepository>
}

function openSqlite(): Opened {
  const tmp = tempDir('firecircle-maintenance-repo-')
  const file = path.join(tmp.dir, 'state.db')
  let db: SqliteDb = openStateDatabase(file)
  cleanups.push(() => {
    db.close()
    tmp.cleanup()
  })
  return {
    repo: createSqliteMaintenanceRepository(db),
    async reopen() {
      db.close()
      db = openStateDatabase(file)
      return createSqliteMaintenanceRepository(db)
    },
  }
}

async function openPg(): Promise<Opened> {
  const db = await pg.database()
  return {
    repo: createPostgresMaintenanceRepository(db),
    async reopen() {
      await db.close()
      const again = await openPostgres(db.url)
      cleanups.push(() => again.close())
      return createPostgresMaintenanceRepository(again)
    },
  }
}

const T = Date.UTC(2026, 11, 2, 1, 0, 0)

function order(id: string, over: Partial<WorkOrder> = {}): WorkOrder {
  return {
    id,
    kind: 'trouble',
    status: 'open',
    building: 'shop-12',
    community: 'xinan-01',
    street: 'xinan',
    device: 'shop-smoke',
    condition: 'low_battery',
    reason: 'low battery',
    openedAt: T,
    due: T + 4 * 3600_000,
    escalations: 0,
    history: [{ at: T, status: 'open', actor: 'engine', note: 'low battery' }],
    updatedAt: T,
    ...over,
  }
}

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0, 255])

describe.each([
  ['SQLite', openSqlite],
  ['PostgreSQL', openPg],
] as const)('the %s maintenance repository', (_name, open) => {
  it('keeps orders with their history and photo, false alarms once per incident, and test modes', async () => {
    const s = await open()
    const repo = s.repo
    await repo.orders.insert(order('wo-1'))
    const hazard = order('wo-2', {
      kind: 'hazard',
      building: 'factory-7',
      community: 'xixiang-01',
      street: 'xixiang',
      reason: 'exit blocked',
      openedAt: T + 10,
      photoType: 'image/jpeg',
    })
    delete hazard.device
    delete hazard.condition
    await repo.orders.insert(hazard, { type: 'image/jpeg', data: JPEG })
    const moved: WorkOrder = {
      ...order('wo-1'),
      status: 'verified',
      assignee: 'Nanshan Fire Maintenance Co.',
      clearedAt: T + 5,
      escalations: 1,
      history: [
        { at: T, status: 'open', actor: 'engine', note: 'low battery' },
        { at: T + 65, status: 'verified', actor: 'device' },
      ],
      updatedAt: T + 65,
    }
    await repo.orders.update(moved)
    expect(await repo.falseAlarms.add('inc-1', 'shop-12', 'xinan-01', T)).toBe(true)
    expect(await repo.falseAlarms.add('inc-1', 'shop-12', 'xinan-01', T)).toBe(false)
    expect(await repo.falseAlarms.add('inc-2', 'shop-12', 'xinan-01', T + 100)).toBe(true)
    await repo.testModes.put({
      target: 'device:shop-smoke',
      community: 'xinan-01',
      until: T + 60_000,
      startedAt: T,
      actor: 'o1',
    })
    await repo.testModes.put({
      target: 'building:factory-7',
      community: 'xixiang-01',
      until: T + 9,
      startedAt: T,
      actor: 'o2',
    })
    await repo.testModes.remove('building:factory-7', 'xixiang-01')
    await repo.testModes.putLastTest('shop-smoke', 'xinan-01', T, 'smoke')
    await repo.testModes.putLastTest('shop-smoke', 'xinan-01', T + 7, 'test')
    await repo.testModes.putLastTest('f7-heat', 'xixiang-01', T + 3, 'heat_fixed')

    const again = await s.reopen()
    expect(await again.orders.get('wo-1')).toEqual(moved)
    expect(await again.orders.get('wo-2')).toEqual(hazard)
    expect(await again.orders.get('wo-3')).toBeUndefined()
    expect((await again.orders.active()).map((o) => o.id)).toEqual(['wo-2'])
    expect(await again.orders.photo('wo-2')).toEqual({ type: 'image/jpeg', data: JPEG })
    expect(await again.orders.photo('wo-1')).toBeUndefined()
    const page = { limit: 10, offset: 0 }
    expect((await again.orders.list({}, page)).items.map((o) => o.id)).toEqual(['wo-2', 'wo-1'])
    expect(await again.orders.list({ community: 'xinan-01' }, page)).toEqual({ items: [moved], total: 1 })
    expect((await again.orders.list({ kind: 'hazard', status: 'open' }, page)).total).toBe(1)
    expect((await again.orders.list({ street: 'xinan', status: 'open' }, page)).total).toBe(0)
    expect((await again.orders.list({}, { limit: 1, offset: 1 })).items.map((o) => o.id)).toEqual(['wo-1'])
    expect(await again.falseAlarms.countSince('shop-12', T)).toBe(2)
    expect(await again.falseAlarms.countSince('shop-12', T + 1)).toBe(1)
    expect(await again.falseAlarms.countSince('factory-7', 0)).toBe(0)
    expect(await again.testModes.lastTests()).toEqual([
      { device: 'f7-heat', at: T + 3, signal: 'heat_fixed' },
      { device: 'shop-smoke', at: T + 7, signal: 'test' },
    ])
    expect(await again.testModes.all()).toEqual([
      { target: 'device:shop-smoke', community: 'xinan-01', until: T + 60_000, startedAt: T, actor: 'o1' },
    ])
  })
  it('keeps maintenance windows, weekly and monthly, with or without a device list', async () => {
    const s = await open()
    const weekly = {
      id: 'mw-1',
      building: 'factory-7',
      community: 'xixiang-01',
      weekday: 7,
      start: '10:01',
      minutes: 30,
      devices: ['f7-heat-a'],
      createdAt: T,
      actor: 'officer:o1',
    }
    const monthly = {
      id: 'mw-2',
      building: 'factory-7',
      community: 'xixiang-01',
      dayOfMonth: 31,
      start: '09:00',
      minutes: 480,
      createdAt: T + 1,
      actor: 'administrator',
    }
    await s.repo.windows.put(weekly)
    await s.repo.windows.put(monthly)
    expect(await s.repo.windows.all()).toEqual([weekly, monthly])
    await s.repo.windows.remove('mw-1', 'xixiang-01')
    expect(await s.repo.windows.all()).toEqual([monthly])
  })
})

describe('the partitioned PostgreSQL maintenance repository', () => {
  async function partitioned(db: PgDatabase) {
    await seedPartitions(db, [
      { community: 'xixiang-01', street: 'xixiang', building: 'factory-7', devices: [] },
      { community: 'xinan-01', street: 'xinan', building: 'shop-12', devices: [] },
    ])
    let now = T
    const fence = leaseFence(db, 'node-a', () => now)
    return { fence, repo: createPostgresMaintenanceRepository(db, fence), later: (ms: number) => (now += ms) }
  }

  it('loads only the owned communities and refuses a write under a lost lease, changing nothing', async () => {
    const db = await pg.database()
    cleanups.push(() => db.close())
    const { fence, repo, later } = await partitioned(db)
    const refused = (p: Promise<unknown>) => expect(p).rejects.toMatchObject({ code: 'partition_moved' })
    await fence.acquire(['xixiang-01', 'xinan-01'], T + 60_000)
    await repo.orders.insert(order('wo-n'))
    await repo.orders.insert(
      order('wo-x', { building: 'factory-7', community: 'xixiang-01', street: 'xixiang' }),
    )
    await repo.testModes.put({
      target: 'device:a',
      community: 'xinan-01',
      until: T + 1,
      startedAt: T,
      actor: 'o',
    })
    await repo.testModes.put({
      target: 'device:b',
      community: 'xixiang-01',
      until: T + 1,
      startedAt: T,
      actor: 'o',
    })

    await repo.testModes.putLastTest('a', 'xinan-01', T, 'test')
    await repo.testModes.putLastTest('b', 'xixiang-01', T, 'test')
    fence.release(['xinan-01'])
    expect((await repo.testModes.lastTests()).map((t) => t.device)).toEqual(['b'])
    await refused(repo.testModes.putLastTest('a', 'xinan-01', T + 1, 'smoke'))
    expect((await repo.orders.active()).map((o) => o.id)).toEqual(['wo-x'])
    expect((await repo.testModes.all()).map((m) => m.target)).toEqual(['device:b'])
    // Reads of one order answer for every partition.
    expect((await repo.orders.get('wo-n'))?.id).toBe('wo-n')

    await refused(repo.orders.update({ ...order('wo-n'), status: 'done' }))
    await refused(repo.orders.insert(order('wo-n2')))
    await refused(repo.falseAlarms.add('inc-9', 'shop-12', 'xinan-01', T))
    await refused(repo.testModes.remove('device:a', 'xinan-01'))
    // The lease of xixiang-01 runs out on the clock: refused too.
    later(61_000)
    await refused(repo.orders.update({ ...order('wo-x', { community: 'xixiang-01' }), status: 'done' }))
    expect((await repo.orders.get('wo-n'))?.status).toBe('open')
    expect((await repo.orders.get('wo-x'))?.status).toBe('open')
    expect(await repo.orders.get('wo-n2')).toBeUndefined()
    expect(await repo.falseAlarms.countSince('shop-12', 0)).toBe(0)
  })
})

/**
 * The floors repositories, SQLite and PostgreSQL, on one contract: a plan's meta and bytes read
 * back as written (replaced on a second upload, removed), placements by building and floor —
 * across a reopening.
 */
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createPostgresFloorsRepository,
  createSqliteFloorsRepository,
  type FloorPlan,
  type FloorsRepository,
  type Placement,
} from '../../services/floors/index.ts'
import { openPostgres, openStateDatabase, type SqliteDb } from '../../services/state/index.ts'
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
  repo: FloorsRepository
  reopen(): Promise<FloorsRepository>
}

function openSqlite(): Opened {
  const tmp = tempDir('firecircle-floors-repo-')
  const file = path.join(tmp.dir, 'state.db')
  let db: SqliteDb = openStateDatabase(file)
  cleanups.push(() => {
    db.close()
    tmp.cleanup()
  })
  return {
    repo: createSqliteFloorsRepository(db),
    async reopen() {
      db.close()
      db = openStateDatabase(file)
      return createSqliteFloorsRepository(db)
    },
  }
}

async function openPg(): Promise<Opened> {
  const db = await pg.database()
  return {
    repo: createPostgresFloorsRepository(db),
    async reopen() {
      await db.close()
      const again = await openPostgres(db.url)
      cleanups.push(() => again.close())
      return createPostgresFloorsRepository(again)
    },
  }
}

const T = Date.UTC(2026, 11, 3, 1, 0, 0)

const plan = (floor: number, over: Partial<FloorPlan> = {}): FloorPlan => ({
  building: 'tower-1',
  floor,
  community: 'xixiang-01',
  type: 'image/png',
  bytes: 4,
  width: 800,
  height: 600,
  updatedAt: T,
  actor: 'officer:o-1',
  ...over,
})

const placement = (device: string, floor: number, x: number, y: number): Placement => ({
  device,
  building: 'tower-1',
  community: 'xixiang-01',
  floor,
  x,
  y,
  updatedAt: T + 1000,
  actor: 'administrator',
})

describe.each([
  ['SQLite', async () => openSqlite()],
  ['PostgreSQL', openPg],
])('the floors repository over %s', (_name, open) => {
  it('keeps plans with their bytes, replaces and removes them, across a reopening', async () => {
    const o = await open()
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47])
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 50"/>')
    await o.repo.plans.put(plan(3), png)
    await o.repo.plans.put(
      plan(-1, { type: 'image/svg+xml', bytes: svg.length, width: 100, height: 50 }),
      svg,
    )
    await o.repo.plans.put(plan(7, { building: 'tower-2' }), png)
    expect(await o.repo.plans.list('tower-1')).toEqual([
      plan(-1, { type: 'image/svg+xml', bytes: svg.length, width: 100, height: 50 }),
      plan(3),
    ])
    const again = await o.reopen()
    expect(await again.plans.image('tower-1', 3)).toEqual({ type: 'image/png', data: png })
    expect((await again.plans.image('tower-1', -1))?.data.toString()).toBe(svg.toString())
    expect(await again.plans.image('tower-1', 4)).toBeUndefined()
    // A second upload of a floor replaces its plan; no width/height is kept as none.
    const {
      width: _w,
      height: _h,
      ...bare
    } = plan(3, { type: 'image/svg+xml', bytes: svg.length, updatedAt: T + 5 })
    await again.plans.put(bare, svg)
    expect((await again.plans.list('tower-1')).find((p) => p.floor === 3)).toEqual(bare)
    expect((await again.plans.image('tower-1', 3))?.type).toBe('image/svg+xml')
    expect(await again.plans.remove('tower-1', 3)).toBe(true)
    expect(await again.plans.remove('tower-1', 3)).toBe(false)
    expect((await again.plans.list('tower-1')).map((p) => p.floor)).toEqual([-1])
  })

  it('keeps one placement per device, by building and floor, across a reopening', async () => {
    const o = await open()
    await o.repo.placements.put(placement('d-2', 3, 0.25, 0.75))
    await o.repo.placements.put(placement('d-1', 3, 0, 1))
    await o.repo.placements.put(placement('d-3', -1, 0.5, 0.5))
    await o.repo.placements.put({ ...placement('d-9', 1, 0.1, 0.1), building: 'tower-2' })
    // Placed again: moved, not doubled.
    await o.repo.placements.put(placement('d-2', 3, 0.125, 0.875))
    const again = await o.reopen()
    expect(await again.placements.ofBuilding('tower-1')).toEqual([
      placement('d-3', -1, 0.5, 0.5),
      placement('d-1', 3, 0, 1),
      placement('d-2', 3, 0.125, 0.875),
    ])
    expect(await again.placements.get('d-9')).toMatchObject({ building: 'tower-2', floor: 1 })
    expect(await again.placements.get('nope')).toBeUndefined()
    expect(await again.placements.remove('d-1')).toBe(true)
    expect(await again.placements.remove('d-1')).toBe(false)
    expect((await again.placements.ofBuilding('tower-1')).map((p) => p.device)).toEqual(['d-3', 'd-2'])
  })
})

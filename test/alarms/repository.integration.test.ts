/**
 * The alarm repository (SQLite and PostgreSQL, the same contract) and the IncidentBook over
 * it: a round trip, and a restart. Then what only PostgreSQL does, for a cluster: loads scoped
 * to the partitions (communities) this node owns, writes fenced by their leases, and the
 * book's reload when the owned set changes.
 */
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createIncidentBook } from '../../services/alarms/book.ts'
import type { Incident, TimelineEntry } from '../../services/alarms/incidents.ts'
import { InvalidTransition } from '../../services/alarms/incidents.ts'
import type { AlarmRepository } from '../../services/alarms/repository.ts'
import { createPostgresAlarmRepository } from '../../services/alarms/repository-postgres.ts'
import { createSqliteAlarmRepository } from '../../services/alarms/repository-sqlite.ts'
import {
  openPostgres,
  openStateDatabase,
  type PgDatabase,
  type SqliteDb,
} from '../../services/state/index.ts'
import { ownedFence, seedDevices } from '../support/owned-fence.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
import { tempDir } from '../support/tmp.ts'

const T = Date.UTC(2026, 10, 29, 2, 0, 0)
let cleanup: (() => void)[] = []
afterEach(() => {
  for (const c of cleanup) c()
  cleanup = []
})

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

function db(dir?: string): { db: SqliteDb; dir: string } {
  const tmp = dir === undefined ? tempDir('firecircle-alarm-repo-') : undefined
  const d = dir ?? tmp!.dir
  const sqlite = openStateDatabase(path.join(d, 'state.db'))
  cleanup.unshift(() => sqlite.close())
  if (tmp) cleanup.push(() => tmp.cleanup())
  return { db: sqlite, dir: d }
}

const opened = (at: number): TimelineEntry => ({
  at,
  type: 'opened',
  status: 'alarm',
  actor: 'device:d1',
  reason: 'heat',
})
const init = {
  status: 'alarm' as const,
  cause: 'fire' as const,
  building: 'b1',
  community: 'c1',
  street: 's1',
  location: [116.4, 39.9] as [number, number],
  openedAt: T,
}

/** A store to keep alarms in, and the same store opened again (a restart). */
interface Backend {
  name: string
  open(): Promise<{ repo: AlarmRepository; reopen(): Promise<AlarmRepository> }>
}

const backends: Backend[] = [
  {
    name: 'SQLite',
    async open() {
      const first = db()
      return {
        repo: createSqliteAlarmRepository(first.db),
        reopen: async () => createSqliteAlarmRepository(db(first.dir).db),
      }
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const first = await pg.database()
      return {
        repo: createPostgresAlarmRepository(first),
        async reopen() {
          const again = await openPostgres(first.url)
          cleanup.unshift(() => void again.close())
          return createPostgresAlarmRepository(again)
        },
      }
    },
  },
]

describe.each(backends)('the alarm repository ($name) and the incident book', (backend) => {
  it('keeps incidents, timelines and conditions across a restart', async () => {
    const { repo, reopen } = await backend.open()
    const book = await createIncidentBook(repo)
    const i = await book.open(init, opened(T))
    expect(book.openForBuilding('b1')?.id).toBe(i.id)
    await book.update(
      i.id,
      (x) =>
        x.devices.push({ device: 'd1', kind: 'heat', conditions: ['heat_fixed'], firstAt: T, lastAt: T }),
      [{ at: T - 5000, type: 'note', status: 'alarm', actor: 'engine', reason: 'earlier clock' }],
    )
    await repo.putCondition({ device: 'd1', condition: 'heat_fixed', since: T, value: 71 })
    await repo.putCondition({ device: 'd2', condition: 'offline', since: T })
    await repo.deleteCondition('d2', 'offline')
    await expect(
      book.transition(i.id, 'verifying', { at: T, actor: 'engine', reason: 'no' }),
    ).rejects.toBeInstanceOf(InvalidTransition)
    const again = await reopen()
    const reopened = await createIncidentBook(again)
    expect(reopened.getOpen(i.id)?.devices).toHaveLength(1)
    const timeline = await reopened.timeline(i.id)
    expect(timeline.map((e) => e.type)).toEqual(['opened', 'note'])
    expect(timeline[1]!.at).toBe(T) // monotonic
    expect(await again.loadConditions()).toEqual([
      { device: 'd1', condition: 'heat_fixed', since: T, value: 71 },
    ])
    const done = await reopened.transition(i.id, 'resolved', { at: T + 1000, actor: 'engine', reason: 'out' })
    expect(done.entry.from).toBe('alarm')
    expect(reopened.getOpen(i.id)).toBeUndefined()
    expect((await reopened.get(i.id))?.status).toBe('resolved')
    expect(await reopened.list({ status: 'open' }, { limit: 10, offset: 0 })).toEqual({ items: [], total: 0 })
    expect((await reopened.list({ building: 'b1' }, { limit: 10, offset: 0 })).total).toBe(1)
  })

  it('leaves memory as it was when a write fails, and applies changes in call order', async () => {
    const { repo } = await backend.open()
    let fail = false
    const book = await createIncidentBook({
      ...repo,
      save: async (i, e) => {
        if (fail) throw new Error('disk full')
        return repo.save(i, e)
      },
    })
    const i = await book.open(init, opened(T))
    fail = true
    await expect(book.update(i.id, (x) => (x.street = 'elsewhere'), [])).rejects.toThrow('disk full')
    expect(book.getOpen(i.id)?.street).toBe('s1')
    fail = false
    const order: string[] = []
    await Promise.all(
      ['a', 'b', 'c'].map((r) =>
        book.update(i.id, (x) => order.push(`${r}:${x.devices.length}`), []).then(() => order.push(r)),
      ),
    )
    expect(order).toEqual(['a:0', 'a', 'b:0', 'b', 'c:0', 'c'])
  })
})

describe.each(backends)('the alarm repository ($name): reads', (backend) => {
  it('lists newest first with its filters, a page and the total; timelines in order', async () => {
    const { repo } = await backend.open()
    const book = await createIncidentBook(repo)
    const a = await book.open({ ...init, building: 'b1', community: 'c1', openedAt: T }, opened(T))
    const b = await book.open(
      { ...init, building: 'b2', community: 'c2', openedAt: T + 1000 },
      opened(T + 1000),
    )
    const c = await book.open(
      { ...init, building: 'b3', community: 'c1', street: 's2', openedAt: T + 2000 },
      opened(T + 2000),
    )
    await book.transition(b.id, 'resolved', { at: T + 3000, actor: 'engine', reason: 'out' })
    const ids = (r: { items: Incident[] }) => r.items.map((i) => i.id)
    expect(ids(await repo.list({}, { limit: 10, offset: 0 }))).toEqual([c.id, b.id, a.id])
    expect(await repo.list({}, { limit: 1, offset: 1 })).toMatchObject({ total: 3, items: [{ id: b.id }] })
    expect(ids(await repo.list({ status: 'open' }, { limit: 10, offset: 0 }))).toEqual([c.id, a.id])
    expect(await repo.list({ status: 'resolved' }, { limit: 10, offset: 0 })).toMatchObject({ total: 1 })
    expect(ids(await repo.list({ community: 'c1', street: 's1' }, { limit: 10, offset: 0 }))).toEqual([a.id])
    expect(await repo.list({ building: 'nowhere' }, { limit: 10, offset: 0 })).toEqual({
      items: [],
      total: 0,
    })
    expect((await repo.loadOpen()).map((i) => i.id)).toEqual([a.id, c.id])
    expect((await repo.timeline(b.id)).map((e) => [e.type, e.status])).toEqual([
      ['opened', 'alarm'],
      ['status', 'resolved'],
    ])
    expect(await repo.find('none')).toBeUndefined()
    expect(await repo.timeline('none')).toEqual([])
  })
})

describe('the alarm repository on PostgreSQL, partitioned by community (cluster)', () => {
  async function world(): Promise<{ db: PgDatabase; fence: ReturnType<typeof ownedFence> }> {
    const database = await pg.database()
    await seedDevices(database, [
      { id: 'd1', community: 'c1' },
      { id: 'd2', community: 'c2' },
    ])
    const fence = ownedFence(database)
    return { db: database, fence }
  }
  const at = (community: string, building: string, openedAt: number) => ({
    ...init,
    community,
    building,
    openedAt,
  })

  it('loads only the open incidents and conditions of the partitions it owns; reads everything', async () => {
    const { db: database, fence } = await world()
    const all = createPostgresAlarmRepository(database)
    const book = await createIncidentBook(all)
    const one = await book.open(at('c1', 'b1', T), opened(T))
    const two = await book.open(at('c2', 'b2', T + 1), opened(T + 1))
    await all.putCondition({ device: 'd1', condition: 'smoke', since: T })
    await all.putCondition({ device: 'd2', condition: 'fault', since: T })
    await all.putCondition({ device: 'unregistered', condition: 'offline', since: T })
    await fence.take('c1')
    const scoped = createPostgresAlarmRepository(database, fence)
    expect((await scoped.loadOpen()).map((i) => i.id)).toEqual([one.id])
    expect(await scoped.loadConditions()).toEqual([{ device: 'd1', condition: 'smoke', since: T }])
    expect((await scoped.find(two.id))?.community).toBe('c2')
    expect((await scoped.timeline(two.id)).map((e) => e.type)).toEqual(['opened'])
    expect((await scoped.list({}, { limit: 10, offset: 0 })).total).toBe(2)
    // Unfenced, nothing is scoped.
    expect((await all.loadOpen()).map((i) => i.id)).toEqual([one.id, two.id])
    expect(await all.loadConditions()).toHaveLength(3)
    fence.drop('c1')
    expect(await scoped.loadOpen()).toEqual([])
    expect(await scoped.loadConditions()).toEqual([])
  })

  it('refuses a save under a lost lease (partition_moved) and changes neither the incident nor its timeline', async () => {
    const { db: database, fence } = await world()
    await fence.take('c1')
    const repo = createPostgresAlarmRepository(database, fence)
    const book = await createIncidentBook(repo)
    const i = await book.open(at('c1', 'b1', T), opened(T))
    await book.update(i.id, (x) => (x.street = 's1-north'), [
      { at: T + 10, type: 'note', status: 'alarm', actor: 'engine', reason: 'while held' },
    ])
    const before = await repo.find(i.id)
    await fence.steal('c1')
    const moved = await book
      .transition(i.id, 'acknowledged', { at: T + 20, actor: 'officer:o1', reason: 'seen' })
      .catch((e: unknown) => e)
    expect(moved).toMatchObject({ code: 'partition_moved' })
    const direct = { ...before!, status: 'resolved' as const }
    await expect(
      repo.save(direct, [{ at: T + 30, type: 'note', status: 'resolved', actor: 'engine', reason: 'stale' }]),
    ).rejects.toMatchObject({ code: 'partition_moved' })
    expect(await repo.find(i.id)).toEqual(before)
    expect((await repo.timeline(i.id)).map((e) => e.reason)).toEqual(['heat', 'while held'])
    expect(book.getOpen(i.id)).toEqual(before)
    // A new incident in the lost partition is refused too, and leaves no row.
    await expect(book.open(at('c1', 'b9', T + 40), opened(T + 40))).rejects.toMatchObject({
      code: 'partition_moved',
    })
    expect((await repo.list({}, { limit: 10, offset: 0 })).total).toBe(1)
    // Taken back (a new epoch), it writes again.
    await fence.take('c1')
    await book.transition(i.id, 'acknowledged', { at: T + 50, actor: 'officer:o1', reason: 'seen' })
    expect((await repo.find(i.id))?.status).toBe('acknowledged')
  })

  it('fences a condition by its device’s community and refuses a device the registry does not know', async () => {
    const { db: database, fence } = await world()
    await fence.take('c1')
    const repo = createPostgresAlarmRepository(database, fence)
    await repo.putCondition({ device: 'd1', condition: 'smoke', since: T, value: 4.2, threshold: 3 })
    await expect(repo.putCondition({ device: 'd2', condition: 'fault', since: T })).rejects.toMatchObject({
      code: 'partition_moved',
    })
    const ghost = await repo
      .putCondition({ device: 'ghost', condition: 'offline', since: T })
      .catch((e: unknown) => e)
    expect(ghost).toMatchObject({ code: 'not_registered' })
    expect((ghost as Error).message).toMatch(/device ghost is not registered/)
    await fence.steal('c1')
    await expect(repo.deleteCondition('d1', 'smoke')).rejects.toMatchObject({ code: 'partition_moved' })
    await repo.putCondition({ device: 'd1', condition: 'smoke', since: T + 5 }).catch(() => {})
    const rows = await database.query(
      'SELECT device, condition, since, value, threshold FROM device_conditions',
    )
    expect(rows.rows).toEqual([
      { device: 'd1', condition: 'smoke', since: String(T), value: 4.2, threshold: 3 },
    ])
  })

  it('reload() brings in the open incidents of a partition taken and drops those of one given up', async () => {
    const { db: database, fence } = await world()
    const all = createPostgresAlarmRepository(database)
    const seed = await createIncidentBook(all)
    const one = await seed.open(at('c1', 'b1', T), opened(T))
    const two = await seed.open(at('c2', 'b2', T + 1), opened(T + 1))
    const closed = await seed.open(at('c2', 'b3', T + 2), opened(T + 2))
    await seed.transition(closed.id, 'resolved', { at: T + 3, actor: 'engine', reason: 'out' })
    await fence.take('c1')
    const book = await createIncidentBook(createPostgresAlarmRepository(database, fence))
    expect(book.openIncidents().map((i) => i.id)).toEqual([one.id])
    expect(book.openForBuilding('b1')?.id).toBe(one.id)

    await fence.take('c2')
    fence.drop('c1')
    await book.reload()
    expect(book.openIncidents().map((i) => i.id)).toEqual([two.id])
    expect(book.getOpen(one.id)).toBeUndefined()
    expect(book.openForBuilding('b1')).toBeUndefined()
    expect(book.openForBuilding('b2')?.id).toBe(two.id)
    expect(book.openForBuilding('b3')).toBeUndefined()
    // What is not in memory is still read from the database.
    expect((await book.get(one.id))?.status).toBe('alarm')
  })
})

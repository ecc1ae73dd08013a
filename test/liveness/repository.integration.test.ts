/**
 * Liveness behind its repository (SQLite and PostgreSQL, the same contract): the states a
 * service saw survive a restart. On SQLite, a batch
 * that cannot be saved (here a real "database or disk is full" from SQLite, by capping the
 * file's pages) never throws out of the batch timer, stays dirty and is saved once there is
 * room again. On PostgreSQL for a cluster: a node keeps the states of its own communities'
 * devices only (loads scoped, batches fenced by each device's community).
 */
import path from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createLiveness,
  createPostgresLivenessRepository,
  createSqliteLivenessRepository,
  type DeviceLiveState,
  type LivenessEvents,
  type LivenessRepository,
} from '../../services/liveness/index.ts'
import { createEventBus, createLogger, createManualClock } from '../../services/shared/index.ts'
import { openPostgres, openStateDatabase, type SqliteDb } from '../../services/state/index.ts'
import { ownedFence, seedDevices } from '../support/owned-fence.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
import { tempDir } from '../support/tmp.ts'

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c()
})

function logLines(): { lines: { level: number; msg: string }[]; logger: ReturnType<typeof createLogger> } {
  const lines: { level: number; msg: string }[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l))
      done()
    },
  })
  return { lines, logger: createLogger('info', sink) }
}

function open(dir: string): SqliteDb {
  const db = openStateDatabase(path.join(dir, 'state.db'))
  cleanups.push(() => {
    if (db.open) db.close()
  })
  return db
}

const T0 = Date.UTC(2026, 11, 1)

/** Where states are kept: `open()` is the store as a service opens it (again, after a close). */
interface Backend {
  name: string
  store(): Promise<{ open(): Promise<LivenessRepository>; close(): Promise<void> }>
}

const backends: Backend[] = [
  {
    name: 'SQLite',
    async store() {
      const t = tempDir()
      cleanups.push(t.cleanup)
      let db: SqliteDb | undefined
      return {
        async open() {
          db = open(t.dir)
          return createSqliteLivenessRepository(db)
        },
        async close() {
          db?.close()
        },
      }
    },
  },
  {
    name: 'PostgreSQL',
    async store() {
      const { url } = await pg.database()
      let db: Awaited<ReturnType<typeof openPostgres>> | undefined
      return {
        async open() {
          db = await openPostgres(url)
          return createPostgresLivenessRepository(db)
        },
        async close() {
          await db?.close()
        },
      }
    },
  },
]

describe.each(backends)('liveness repository ($name)', (backend) => {
  it('keeps every state across a reopen', async () => {
    const store = await backend.store()
    const clock = createManualClock(T0)
    const events = createEventBus<LivenessEvents>()
    const { logger } = logLines()

    const liveness = await createLiveness({
      repository: await store.open(),
      clock,
      events,
      logger,
    })
    liveness.reading({ device: 'd1', receivedAt: T0, values: { battery: 87, rssi: -71 } })
    liveness.status('d2', true, 'birth', T0 + 1)
    liveness.status('d2', false, 'last_will', T0 + 2)
    liveness.rejected('d3', { at: T0 + 3, topic: 'dev/d3/telemetry', reason: 'schema', message: 'bad' })
    liveness.clockWarning('d1', T0 + 4, T0 - 3_600_000)
    const before = ['d1', 'd2', 'd3'].map((d) => liveness.get(d))
    await liveness.close()
    await store.close()

    const again = await createLiveness({
      repository: await store.open(),
      clock,
      events,
      logger,
    })
    expect(['d1', 'd2', 'd3'].map((d) => again.get(d))).toEqual(before)
    expect(again.get('d2')).toMatchObject({ online: false, cause: 'last_will', since: T0 + 2 })
    expect(again.get('d1')).toMatchObject({ online: true, battery: 87, rssi: -71 })
    await again.close()
    await store.close()
  })

  it('loads and saves through the repository, in batches', async () => {
    const store = await backend.store()
    const repo = await store.open()
    const s: DeviceLiveState = { device: 'd9', online: true, since: T0, cause: 'birth', lastSeen: T0 }
    await repo.saveStates([s, { device: 'd10', online: false }])
    await repo.saveStates([{ ...s, online: false, cause: 'silence' }])
    const loaded = await repo.loadStates()
    expect(loaded.sort((a, b) => a.device.localeCompare(b.device))).toEqual([
      { device: 'd10', online: false },
      { ...s, online: false, cause: 'silence' },
    ])
    await store.close()
  })
})

describe('liveness repository (SQLite): a batch that fails', () => {
  it('keeps a batch that fails to save (disk full) dirty, without throwing, and logs it once', async () => {
    const t = tempDir()
    cleanups.push(t.cleanup)
    const clock = createManualClock(T0)
    const events = createEventBus<LivenessEvents>()
    const { lines, logger } = logLines()
    const uncaught: unknown[] = []
    const onUncaught = (err: unknown) => uncaught.push(err)
    process.on('uncaughtException', onUncaught)
    process.on('unhandledRejection', onUncaught)
    cleanups.push(() => {
      process.off('uncaughtException', onUncaught)
      process.off('unhandledRejection', onUncaught)
    })

    const db = open(t.dir)
    const liveness = await createLiveness({
      repository: createSqliteLivenessRepository(db),
      clock,
      events,
      logger,
      flushMs: 10,
    })
    // The file may not grow past the pages it has now: "database or disk is full".
    const pages = db.pragma('page_count', { simple: true }) as number
    db.pragma(`max_page_count = ${pages}`)
    const long = 'x'.repeat(2000)
    for (let i = 0; i < 200; i++) {
      liveness.rejected(`d${i}`, {
        at: T0 + i,
        topic: `dev/d${i}/telemetry`,
        reason: 'schema',
        message: long,
      })
    }
    // Several timer batches fail; none throws.
    await new Promise((r) => setTimeout(r, 80))
    await expect(liveness.flush()).resolves.toBeUndefined()
    expect(uncaught).toEqual([])
    const failed = lines.filter((l) => l.level >= 50)
    expect(failed).toHaveLength(1)
    expect(failed[0]!.msg).toMatch(/saving device states failed/)
    const stored = db.prepare('SELECT COUNT(*) AS n FROM device_state').pluck().get()
    expect(stored).toBe(0)

    // Room again: the states that failed are saved with the next batch.
    db.pragma('max_page_count = 1073741823')
    await liveness.close()
    expect(db.prepare('SELECT COUNT(*) AS n FROM device_state').pluck().get()).toBe(200)
    expect(lines.some((l) => l.level === 30 && /saved again/.test(l.msg))).toBe(true)
    db.close()

    const again = await createLiveness({
      repository: createSqliteLivenessRepository(open(t.dir)),
      clock,
      events,
      logger,
    })
    expect(again.get('d199')?.lastRejection).toMatchObject({ at: T0 + 199, reason: 'schema', message: long })
    await again.close()
  })
})

describe('liveness repository on PostgreSQL, partitioned by community (cluster)', () => {
  async function world() {
    const db = await pg.database()
    await seedDevices(db, [
      { id: 'd1', community: 'c1' },
      { id: 'd2', community: 'c2' },
    ])
    return { db, fence: ownedFence(db) }
  }
  const stored = async (db: Awaited<ReturnType<typeof world>>['db']) =>
    Object.fromEntries(
      (await db.query<{ device: string; state: string }>('SELECT device, state FROM device_state')).rows.map(
        (r) => [r.device, JSON.parse(r.state) as DeviceLiveState],
      ),
    )

  it('loads the states of the owned communities’ devices only', async () => {
    const { db, fence } = await world()
    await createPostgresLivenessRepository(db).saveStates([
      { device: 'd1', online: true, since: T0, cause: 'birth' },
      { device: 'd2', online: false },
      { device: 'unregistered', online: false },
    ])
    await fence.take('c2')
    const scoped = createPostgresLivenessRepository(db, fence)
    expect(await scoped.loadStates()).toEqual([{ device: 'd2', online: false }])
    await fence.take('c1')
    expect((await scoped.loadStates()).map((s) => s.device).sort()).toEqual(['d1', 'd2'])
  })

  it('writes a batch by each device’s community: a lost partition’s states are left to its owner, the rest saved', async () => {
    const { db, fence } = await world()
    await fence.take('c1', 'c2')
    const repo = createPostgresLivenessRepository(db, fence)
    await repo.saveStates([
      { device: 'd1', online: true, since: T0, cause: 'birth' },
      { device: 'd2', online: true, since: T0, cause: 'birth' },
    ])
    await fence.steal('c2')
    await repo.saveStates([
      { device: 'd1', online: false, since: T0 + 1, cause: 'last_will' },
      { device: 'd2', online: false, since: T0 + 1, cause: 'silence' },
      {
        device: 'unregistered',
        online: false,
        lastRejection: { at: T0, topic: 't', reason: 'schema', message: 'm' },
      },
    ])
    expect(await stored(db)).toEqual({
      d1: { device: 'd1', online: false, since: T0 + 1, cause: 'last_will' },
      d2: { device: 'd2', online: true, since: T0, cause: 'birth' },
      unregistered: {
        device: 'unregistered',
        online: false,
        lastRejection: { at: T0, topic: 't', reason: 'schema', message: 'm' },
      },
    })
    // A batch wholly in the lost partition changes nothing, and does not fail (it is not this node's to retry).
    await repo.saveStates([{ device: 'd2', online: false, since: T0 + 2, cause: 'silence' }])
    expect((await stored(db)).d2).toEqual({ device: 'd2', online: true, since: T0, cause: 'birth' })
  })

  it('reload() keeps exactly the states of the communities owned now, saving what changed first', async () => {
    const { db, fence } = await world()
    await createPostgresLivenessRepository(db).saveStates([{ device: 'd2', online: true, battery: 55 }])
    await fence.take('c1')
    const liveness = await createLiveness({
      repository: createPostgresLivenessRepository(db, fence),
      clock: createManualClock(T0),
      events: createEventBus<LivenessEvents>(),
      logger: logLines().logger,
      flushMs: 3_600_000,
    })
    expect(liveness.get('d2')).toBeUndefined()
    liveness.status('d1', true, 'birth', T0)
    // A partition taken: its devices' states come in, and what changed is saved, not lost.
    await fence.take('c2')
    await liveness.reload()
    expect((await stored(db)).d1).toMatchObject({ online: true, cause: 'birth', since: T0 })
    expect(liveness.get('d1')).toMatchObject({ online: true, cause: 'birth', since: T0 })
    expect(liveness.get('d2')).toEqual({ device: 'd2', online: true, battery: 55 })
    // A partition given up: its devices' states are the new owner's.
    fence.drop('c1')
    liveness.status('d1', false, 'last_will', T0 + 1)
    await liveness.reload()
    expect(liveness.get('d1')).toBeUndefined()
    expect(liveness.get('d2')).toEqual({ device: 'd2', online: true, battery: 55 })
    expect((await stored(db)).d1).toMatchObject({ online: true, cause: 'birth', since: T0 })
    await liveness.close()
  })
})

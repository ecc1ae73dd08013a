/**
 * Liveness behind its repository: the states a service saw survive a restart, and a batch
 * that cannot be saved (here a real "database or disk is full" from SQLite, by capping the
 * file's pages) never throws out of the batch timer, stays dirty and is saved once there is
 * room again.
 */
import path from 'node:path'
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createLiveness,
  createSqliteLivenessRepository,
  type DeviceLiveState,
  type LivenessEvents,
} from '../../services/liveness/index.ts'
import { createEventBus, createLogger, createManualClock } from '../../services/shared/index.ts'
import { openStateDatabase, type SqliteDb } from '../../services/state/index.ts'
import { tempDir } from '../support/tmp.ts'

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

describe('liveness repository (SQLite)', () => {
  it('keeps every state across a reopen', async () => {
    const t = tempDir()
    cleanups.push(t.cleanup)
    const clock = createManualClock(T0)
    const events = createEventBus<LivenessEvents>()
    const { logger } = logLines()

    const db = open(t.dir)
    const liveness = await createLiveness({
      repository: createSqliteLivenessRepository(db),
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
    db.close()

    const reopened = open(t.dir)
    const again = await createLiveness({
      repository: createSqliteLivenessRepository(reopened),
      clock,
      events,
      logger,
    })
    expect(['d1', 'd2', 'd3'].map((d) => again.get(d))).toEqual(before)
    expect(again.get('d2')).toMatchObject({ online: false, cause: 'last_will', since: T0 + 2 })
    expect(again.get('d1')).toMatchObject({ online: true, battery: 87, rssi: -71 })
    await again.close()
  })

  it('loads and saves through the repository, in batches', async () => {
    const t = tempDir()
    cleanups.push(t.cleanup)
    const repo = createSqliteLivenessRepository(open(t.dir))
    const s: DeviceLiveState = { device: 'd9', online: true, since: T0, cause: 'birth', lastSeen: T0 }
    await repo.saveStates([s, { device: 'd10', online: false }])
    await repo.saveStates([{ ...s, online: false, cause: 'silence' }])
    const loaded = await repo.loadStates()
    expect(loaded.sort((a, b) => a.device.localeCompare(b.device))).toEqual([
      { device: 'd10', online: false },
      { ...s, online: false, cause: 'silence' },
    ])
  })

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

/**
 * The spool thread (FC_THREADS=2): points appended on the node's thread are committed on the
 * worker thread before their promise resolves, drained into the telemetry store by the thread's
 * pipeline, kept through a close while the store is away and replayed by the next thread; its
 * metrics and logs reach the node's registry and logger; a spool it cannot open is a clear error;
 * a thread that dies refuses what it had not confirmed and a new one replays spool.db into a real
 * InfluxDB 1.x.
 */
import fs from 'node:fs'
import path from 'node:path'
import { Writable } from 'node:stream'
import Database from 'better-sqlite3'
import client from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../services/config/index.ts'
import { createLogger } from '../../services/shared/log.ts'
import { startSpoolThread } from '../../services/spool-thread/index.ts'
import { createEmbeddedStore } from '../../services/store/embedded.ts'
import type { Point } from '../../services/store/types.ts'
import { startInfluxDB } from '../support/influxdb.ts'
import { tempDir } from '../support/tmp.ts'

const T0 = Date.UTC(2026, 11, 3, 8, 0, 0)

function reading(i: number, device = 'dev-1'): Point {
  return {
    measurement: 'telemetry',
    tags: { device, community: 'xixiang-01', building: 'b1', kind: 'smoke' },
    fields: { obscuration: i / 10, seq: i },
    ints: ['seq'],
    ts: T0 + i,
  }
}

/** A logger whose JSON lines are kept, to see what the thread logged through it. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)))
      done()
    },
  })
  return { logger: createLogger('info', sink), lines }
}

async function until<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  ms = 10_000,
): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function thread(dir: string, extra: Partial<Parameters<typeof startSpoolThread>[0]> = {}) {
  const { logger, lines } = capturingLogger()
  const metrics = new client.Registry()
  const spool = startSpoolThread({
    spoolFile: path.join(dir, 'spool.db'),
    dataDir: dir,
    influx: undefined,
    commitMs: 2,
    logLevel: 'info',
    logger,
    metrics,
    ...extra,
  })
  return { spool, metrics, lines }
}

describe('the spool thread', () => {
  it('commits before it confirms, and its pipeline puts every point in the telemetry store', async () => {
    const { dir, cleanup } = tempDir()
    cleanups.push(cleanup)
    const { spool, metrics } = thread(dir)
    cleanups.push(() => spool.close())
    expect(await spool.depth()).toBe(0)

    const appended = Array.from({ length: 500 }, (_, i) => reading(i))
    // Several commit windows' worth, each confirmed only once on disk.
    const confirmations = []
    for (let i = 0; i < appended.length; i += 50) confirmations.push(spool.append(appended.slice(i, i + 50)))
    await Promise.all(confirmations)

    const store = createEmbeddedStore({
      file: path.join(dir, 'telemetry.db'),
      logger: capturingLogger().logger,
    })
    cleanups.push(() => store.close())
    const samples = await until('the 500 points in the store', async () => {
      const got = await store.queryTelemetry({
        device: 'dev-1',
        field: 'obscuration',
        from: T0,
        to: T0 + 1000,
        limit: 1000,
      })
      return got.length === 500 ? got : undefined
    })
    expect(samples[0]).toEqual({ ts: T0, value: 0 })
    expect(samples[499]).toEqual({ ts: T0 + 499, value: 49.9 })
    await until('the spool to empty', () => (spool.points.depth() === 0 ? true : undefined))

    // The thread's pipeline metrics are in the node's registry (the values it sent last, every 1 s).
    const text = await until('the metrics to show the 500 written', async () => {
      const t = await metrics.metrics()
      return /^firecircle_store_points_written_total 500$/m.test(t) ? t : undefined
    })
    expect(text).toMatch(/^firecircle_spool_depth 0$/m)
    expect(text).toContain('# TYPE firecircle_store_write_seconds histogram')
  })

  it('keeps what it confirmed while the store is away, and the next thread replays it', async () => {
    const { dir, cleanup } = tempDir()
    cleanups.push(cleanup)
    // InfluxDB on a port where nothing listens: every write fails, the spool keeps the points.
    const away = {
      url: 'http://127.0.0.1:9',
      api: 'v1' as const,
      database: 'firecircle',
    }
    const first = thread(dir, { influx: away as never })
    await first.spool.append(Array.from({ length: 120 }, (_, i) => reading(i, 'dev-2')))
    await until('the depth to say 120', () => (first.spool.points.depth() === 120 ? true : undefined))
    await first.spool.close()
    const db = new Database(path.join(dir, 'spool.db'), { readonly: true })
    expect(db.prepare('SELECT COUNT(*) AS n FROM spool').get()).toEqual({ n: 120 })
    db.close()
    expect(first.lines.some((l) => l['thread'] === 'spool')).toBe(true)

    const second = thread(dir)
    cleanups.push(() => second.spool.close())
    expect(await second.spool.depth()).toBe(120)
    await until('the replay to empty the spool', () => (second.spool.points.depth() === 0 ? true : undefined))
    const store = createEmbeddedStore({
      file: path.join(dir, 'telemetry.db'),
      logger: capturingLogger().logger,
    })
    cleanups.push(() => store.close())
    const got = await store.queryTelemetry({
      device: 'dev-2',
      field: 'obscuration',
      from: T0,
      to: T0 + 1000,
      limit: 1000,
    })
    expect(got).toHaveLength(120)
  })

  it('says which setting is wrong when the spool cannot be opened, and confirms nothing', async () => {
    const { dir, cleanup } = tempDir()
    cleanups.push(cleanup)
    fs.writeFileSync(
      path.join(dir, 'spool.db'),
      'this is not a SQLite database, it is a text file of 64 bytes....',
    )
    const { spool } = thread(dir)
    cleanups.push(() => spool.close())
    const kept = spool.append([reading(1)])
    const err = await spool.depth().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    expect(String((err as Error).message)).toMatch(/spool|database|file/i)
    if (err instanceof ConfigError) expect(err.setting).toBe('FC_DATA_DIR')
    await expect(kept).rejects.toThrow()
  })

  it('refuses what it had not confirmed when the thread dies, and a new thread replays spool.db into InfluxDB', async () => {
    const { dir, cleanup } = tempDir()
    cleanups.push(cleanup)
    const influx = await startInfluxDB()
    cleanups.push(() => influx.destroy())
    await influx.database('respawn')
    const count = async (device: string): Promise<number> => {
      const rows = await influx.query(
        `SELECT COUNT("seq") AS n FROM "telemetry" WHERE "device" = '${device}' AND time >= ${T0}ms`,
        'respawn',
      )
      return Number((rows[0] as { n?: number } | undefined)?.n ?? 0)
    }
    const { spool, metrics, lines } = thread(dir, {
      influx: { api: 'v1', url: influx.url, database: 'respawn' },
      restartMs: 100,
      metricsMs: 100,
    })
    cleanups.push(() => spool.close())
    expect(await spool.depth()).toBe(0)

    // InfluxDB is away: what the thread confirms now is only in spool.db when it dies.
    await influx.stop()
    const before = Array.from({ length: 300 }, (_, i) => reading(i, 'dev-before'))
    for (let i = 0; i < before.length; i += 100) await spool.append(before.slice(i, i + 100))
    await until('the depth to say 300', () => (spool.points.depth() === 300 ? true : undefined))

    // Outstanding when the thread dies: a window handed over (as a drain does) to the thread
    // already terminating, which can never commit it, and one still open.
    const settled = (p: Promise<unknown>) =>
      Promise.race([
        p.then(
          () => 'resolved',
          (err: Error) => err.message,
        ),
        new Promise((r) => setTimeout(() => r('still waiting after 5 s'), 5_000)),
      ])
    const handedOver = settled(spool.append(Array.from({ length: 50 }, (_, i) => reading(i, 'dev-lost'))))
    const died = spool.crashThreadForTests()
    const drained = settled(spool.pipeline.drain(60_000))
    const open = settled(spool.append(Array.from({ length: 50 }, (_, i) => reading(i, 'dev-lost-2'))))
    await died
    expect(await handedOver).toBe('the spool thread stopped before the commit')
    expect(await open).toMatch(/^the spool thread (stopped before the commit|is starting again)$/)
    expect(await drained).toBe('resolved')
    // Until the new thread is up, appends are refused at once (their devices send them again).
    expect(await settled(spool.append([reading(0, 'dev-down')]))).toBe('the spool thread is starting again')
    expect(spool.writable()).toBe(false)
    expect(
      lines.some(
        (l) => l['level'] === 50 && /the spool thread stopped; a new one is started/.test(String(l['msg'])),
      ),
    ).toBe(true)

    // The new thread: it found the 300 confirmed points in spool.db (InfluxDB is still away).
    await until('a new thread that can commit', () => (spool.writable() ? true : undefined))
    expect(await spool.depth()).toBe(300)
    const after = Array.from({ length: 200 }, (_, i) => reading(i, 'dev-after'))
    await Promise.all([spool.append(after.slice(0, 100)), spool.append(after.slice(100))])
    await until('the depth to say 500', () => (spool.points.depth() === 500 ? true : undefined))

    await influx.start()
    await until(
      'every confirmed point in InfluxDB',
      async () =>
        (await count('dev-before')) === 300 && (await count('dev-after')) === 200 ? true : undefined,
      30_000,
    )
    await until('the spool to empty', () => (spool.points.depth() === 0 ? true : undefined))
    // What was refused was never stored: its devices send it again.
    expect(await count('dev-lost')).toBe(0)
    expect(await count('dev-lost-2')).toBe(0)
    expect(await count('dev-down')).toBe(0)

    // The new thread's metrics are mirrored in the node's registry, as the first one's were.
    const text = await until('the metrics to show the 500 written', async () => {
      const t = await metrics.metrics()
      return /^firecircle_store_points_written_total 500$/m.test(t) && /^firecircle_spool_depth 0$/m.test(t)
        ? t
        : undefined
    })
    expect(text).toContain('# TYPE firecircle_store_write_seconds histogram')
  }, 90_000)
})

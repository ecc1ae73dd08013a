import path from 'node:path'
import client from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { createPipeline } from '../../services/pipeline/index.ts'
import { systemClock } from '../../services/shared/clock.ts'
import { createLogger } from '../../services/shared/log.ts'
import { createSpool } from '../../services/spool/index.ts'
import { type Point, PointsRefusedError, type TelemetryStore } from '../../services/store/types.ts'
import { tempDir } from '../support/tmp.ts'

/** A store that keeps points in memory and can be switched off, to watch the pipeline's side. */
function switchableStore(refuses: (p: Point) => boolean = () => false) {
  const points = new Map<string, Point>()
  let up = true
  let writes = 0
  const store: TelemetryStore = {
    name: 'switchable',
    verify: async () => {},
    async write(batch) {
      writes++
      if (!up) throw new Error('store is down')
      // Like InfluxDB's partial write: the good points land, the request is refused.
      const refused = batch.filter(refuses)
      for (const p of batch.filter((x) => !refuses(x)))
        points.set(`${p.measurement}|${JSON.stringify(p.tags)}|${p.ts}`, p)
      if (refused.length > 0)
        throw new PointsRefusedError(`partial write: field type conflict (${refused.length})`)
      for (const p of batch) points.set(`${p.measurement}|${JSON.stringify(p.tags)}|${p.ts}`, p)
    },
    ping: async () => up,
    queryTelemetry: async () => [],
    close: async () => {},
  }
  return {
    store,
    points,
    setUp: (v: boolean) => {
      up = v
    },
    writes: () => writes,
  }
}

const point = (i: number): Point => ({
  measurement: 'telemetry',
  tags: { device: 'd1', kind: 'heat', building: 'b', community: 'c', street: 's' },
  fields: { temperature: 20 + (i % 10) },
  ts: 1_700_000_000_000 + i,
})

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

describe('pipeline: spool → telemetry store', () => {
  it('moves every point to the store and empties the spool', async () => {
    const t = tempDir()
    cleanup = t.cleanup
    const spool = createSpool({ file: path.join(t.dir, 'spool.db'), commitMs: 1 })
    const s = switchableStore()
    const pipeline = createPipeline({
      clock: systemClock,
      spool,
      store: s.store,
      logger: createLogger('silent'),
      metrics: new client.Registry(),
      batchSize: 100,
    })
    pipeline.start()
    for (let i = 0; i < 1000; i += 50) await spool.append(Array.from({ length: 50 }, (_, k) => point(i + k)))
    await until(() => spool.depth() === 0)
    expect(s.points.size).toBe(1000)
    await pipeline.stop()
    spool.close()
  })

  it('keeps points in the spool while the store is down and drains them when it is back', async () => {
    const t = tempDir()
    cleanup = t.cleanup
    const spool = createSpool({ file: path.join(t.dir, 'spool.db'), commitMs: 1 })
    const s = switchableStore()
    s.setUp(false)
    const metrics = new client.Registry()
    const pipeline = createPipeline({
      clock: systemClock,
      spool,
      store: s.store,
      logger: createLogger('silent'),
      metrics,
      minRetryMs: 10,
      maxRetryMs: 40,
    })
    pipeline.start()
    await spool.append(Array.from({ length: 300 }, (_, i) => point(i)))
    await until(() => s.writes() >= 3)
    expect(spool.depth()).toBe(300)
    expect(s.points.size).toBe(0)
    expect(pipeline.storeHealthy()).toBe(false)
    const text = await metrics.metrics()
    expect(text).toMatch(/firecircle_spool_depth 300/)
    expect(text).toMatch(/firecircle_store_write_failures_total [1-9]/)

    s.setUp(true)
    await until(() => spool.depth() === 0)
    expect(s.points.size).toBe(300)
    expect(pipeline.storeHealthy()).toBe(true)
    await pipeline.stop()
    spool.close()
  })

  it('replays what a previous run left in the spool', async () => {
    const t = tempDir()
    cleanup = t.cleanup
    const file = path.join(t.dir, 'spool.db')
    const first = createSpool({ file, commitMs: 1 })
    await first.append(Array.from({ length: 42 }, (_, i) => point(i)))
    first.close()

    const spool = createSpool({ file, commitMs: 1 })
    const s = switchableStore()
    const pipeline = createPipeline({
      clock: systemClock,
      spool,
      store: s.store,
      logger: createLogger('silent'),
      metrics: new client.Registry(),
    })
    pipeline.start()
    await until(() => spool.depth() === 0)
    expect(s.points.size).toBe(42)
    await pipeline.stop()
    spool.close()
  })

  it('drain() reports whether the spool emptied within the deadline', async () => {
    const t = tempDir()
    cleanup = t.cleanup
    const spool = createSpool({ file: path.join(t.dir, 'spool.db'), commitMs: 1 })
    const s = switchableStore()
    s.setUp(false)
    const pipeline = createPipeline({
      clock: systemClock,
      spool,
      store: s.store,
      logger: createLogger('silent'),
      metrics: new client.Registry(),
      minRetryMs: 5,
      maxRetryMs: 5,
    })
    pipeline.start()
    await spool.append([point(1)])
    expect(await pipeline.drain(50)).toBe(false)
    s.setUp(true)
    expect(await pipeline.drain(2000)).toBe(true)
    await pipeline.stop()
    spool.close()
  })

  it('sets aside points the store refuses for good and keeps draining the rest', async () => {
    const t = tempDir()
    cleanup = t.cleanup
    const spool = createSpool({ file: path.join(t.dir, 'spool.db'), commitMs: 1 })
    const poison = new Set([point(17).ts, point(400).ts, point(401).ts])
    const s = switchableStore((p) => poison.has(p.ts))
    const metrics = new client.Registry()
    const pipeline = createPipeline({
      clock: systemClock,
      spool,
      store: s.store,
      logger: createLogger('silent'),
      metrics,
      batchSize: 1000,
    })
    pipeline.start()
    await spool.append(Array.from({ length: 1000 }, (_, i) => point(i)))
    await until(() => spool.depth() === 0)
    expect(s.points.size).toBe(997)
    expect(spool.refused()).toBe(3)
    expect(await metrics.metrics()).toMatch(/firecircle_store_points_refused_total 3/)
    // Points behind the refused ones are not held up.
    await spool.append([point(5000)])
    await until(() => spool.depth() === 0)
    expect(s.points.size).toBe(998)
    await pipeline.stop()
    spool.close()
  })
})

import client from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPipeline, type Pipeline } from '../../services/pipeline/index.ts'
import { systemClock } from '../../services/shared/clock.ts'
import { createLogger } from '../../services/shared/log.ts'
import { createPostgresSpool } from '../../services/spool/index.ts'
import { openPostgres } from '../../services/state/index.ts'
import { createTelemetryStore, type Point, type TelemetryStore } from '../../services/store/index.ts'
import { type InfluxHarness, startInfluxDB } from '../support/influxdb.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
import { tempDir } from '../support/tmp.ts'

const silent = createLogger('silent')
const data = tempDir('firecircle-pgpipe-')
let pg: PostgresHarness
let influx: InfluxHarness
beforeAll(async () => {
  ;[pg, influx] = await Promise.all([startPostgres(), startInfluxDB()])
}, 60_000)
afterAll(async () => {
  await Promise.all([pg?.stop(), influx?.stop()])
  data.cleanup()
})

const point = (seq: number): Point => ({
  measurement: 'telemetry',
  tags: { device: `d${seq % 13}`, kind: 'heat', building: 'b', community: 'nanshan', street: 's' },
  fields: { temperature: 20 + (seq % 10), seq },
  ints: ['seq'],
  ts: 1_700_000_000_000 + seq,
})

/** The real InfluxDB behind a wrapper that counts, per point (its seq), the writes acknowledged. */
function counted(database: string, hang = false) {
  const influxStore = createTelemetryStore({
    config: { api: 'v1', url: influx.url, database },
    dataDir: data.dir,
    logger: silent,
  })
  const writes = new Map<number, number>()
  let calls = 0
  let held: Point[] = []
  const store: TelemetryStore = {
    ...influxStore,
    name: influxStore.name,
    async write(batch) {
      calls++
      if (hang) {
        held = [...batch]
        await new Promise<never>(() => {})
      }
      await influxStore.write(batch)
      for (const p of batch) writes.set(p.fields.seq as number, (writes.get(p.fields.seq as number) ?? 0) + 1)
    },
  }
  return { store, writes, calls: () => calls, held: () => held, close: () => influxStore.close() }
}

async function until(cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

async function influxCount(database: string): Promise<number> {
  const rows = await influx.query('SELECT COUNT("seq") AS n FROM "telemetry"', database)
  return Number(rows[0]?.n ?? 0)
}

function pipelineOn(
  spool: ReturnType<typeof createPostgresSpool>,
  store: TelemetryStore,
  maxInFlight = 3,
): Pipeline {
  return createPipeline({
    clock: systemClock,
    spool,
    store,
    logger: silent,
    metrics: new client.Registry(),
    batchSize: 100,
    maxInFlight,
    minRetryMs: 10,
    maxRetryMs: 50,
  })
}

describe('pipeline: a cluster’s spool in PostgreSQL, drained from every node', () => {
  it('two nodes drain 5,000 points into InfluxDB, each point written by one of them once', async () => {
    await influx.database('two_nodes')
    const dbA = await pg.database()
    const dbB = await openPostgres(dbA.url)
    const spoolA = createPostgresSpool({
      db: dbA,
      nodeId: 'a',
      commitMs: 2,
      clock: systemClock,
      logger: silent,
    })
    const spoolB = createPostgresSpool({
      db: dbB,
      nodeId: 'b',
      commitMs: 2,
      clock: systemClock,
      logger: silent,
    })
    const storeA = counted('two_nodes')
    const storeB = counted('two_nodes')
    const pipelines = [pipelineOn(spoolA, storeA.store), pipelineOn(spoolB, storeB.store)]
    for (const p of pipelines) p.start()
    // 100 group commits of 50 points, alternately on each node: a spool row each, 50 per node.
    for (let seq = 0; seq < 5000; seq += 50) {
      const spool = (seq / 50) % 2 === 0 ? spoolA : spoolB
      await spool.append(Array.from({ length: 50 }, (_, k) => point(seq + k)))
    }
    await until(async () => (await spoolA.depth()) === 0 && (await influxCount('two_nodes')) === 5000)

    const byEither = new Map<number, number>()
    for (const w of [storeA.writes, storeB.writes])
      for (const [seq, n] of w) byEither.set(seq, (byEither.get(seq) ?? 0) + n)
    expect(byEither.size).toBe(5000)
    expect([...byEither.values()].every((n) => n === 1)).toBe(true)
    // Both nodes took part (each was woken by its own commits).
    expect(storeA.writes.size).toBeGreaterThan(0)
    expect(storeB.writes.size).toBeGreaterThan(0)
    expect(await influxCount('two_nodes')).toBe(5000)
    for (const p of pipelines) await p.stop()
    await Promise.all([spoolA.close(), spoolB.close(), storeA.close(), storeB.close(), dbB.close()])
  })

  it('the rows of a node that dies mid-batch are drained by another node', async () => {
    await influx.database('dead_node')
    const dbA = await pg.database()
    const dbB = await openPostgres(dbA.url, { applicationName: 'firecircle-node-b' })
    const spoolA = createPostgresSpool({
      db: dbA,
      nodeId: 'a',
      commitMs: 2,
      clock: systemClock,
      logger: silent,
    })
    const spoolB = createPostgresSpool({
      db: dbB,
      nodeId: 'b',
      commitMs: 2,
      clock: systemClock,
      logger: silent,
    })
    const storeA = counted('dead_node')
    const hanging = counted('dead_node', true)
    // One batch at a time: B holds the first of three rows of 100 points when it hangs.
    const pipelineB = pipelineOn(spoolB, hanging.store, 1)
    pipelineB.start()
    for (const from of [0, 100, 200])
      await spoolB.append(Array.from({ length: 100 }, (_, i) => point(from + i)))
    // B took its batches and hangs in the store with their rows locked.
    await until(() => hanging.calls() > 0)
    const heldByB = hanging.held().map((p) => p.fields.seq as number)
    expect(heldByB).toHaveLength(100)

    const pipelineA = pipelineOn(spoolA, storeA.store)
    pipelineA.start()
    // A drains everything but B's batch: while B's transaction lives, its rows are B's.
    // Its batches are gone from the spool when their transactions commit, just after the write.
    await until(async () => storeA.writes.size === 200 && (await spoolA.depth()) === 100)
    const meanwhile = await spoolA.take(1000)
    expect(meanwhile.points).toEqual([]) // B's row of 100 points is there, locked: skipped
    await meanwhile.release()
    expect(await spoolA.depth()).toBe(100)
    for (const seq of heldByB) expect(storeA.writes.has(seq)).toBe(false)
    expect(await influxCount('dead_node')).toBe(200)

    // B dies: the server loses its connections, its transactions abort.
    await dbA.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'firecircle-node-b'",
    )
    await until(async () => (await influxCount('dead_node')) === 300 && (await spoolA.depth()) === 0)
    for (const seq of heldByB) expect(storeA.writes.get(seq)).toBe(1)
    expect(storeA.writes.size).toBe(300)
    await pipelineA.stop()
    void pipelineB.stop() // hangs in its store for good, like the node it stands for
    // B's pool would wait for the batch it never gives back.
    void dbB.close().catch(() => {})
    await Promise.all([spoolA.close(), storeA.close(), hanging.close()])
  })
})

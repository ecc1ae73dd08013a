/**
 * The pipeline drains the spool into the telemetry store, oldest first. A batch is removed
 * from the spool only after the store acknowledged it; when the store fails, the batch stays
 * and is retried with a growing pause, so the spool grows while InfluxDB is down and drains
 * when it is back. Replays write the same points (same tags and ts), so they are idempotent.
 *
 * Up to `maxInFlight` batches are with the store at once (issue #8): under a heavy intake the
 * event loop turns slowly, and one batch at a time (several turns per batch: request, answer,
 * removal) left the store idle and the spool growing while InfluxDB had room to spare. Each
 * batch is a distinct range of spool ids and is removed when its own write is acknowledged;
 * after a failure the batches in flight are let settle and reading starts again from the
 * oldest point still in the spool.
 */
import type { Counter, Gauge, Histogram, Registry } from 'prom-client'
import client from 'prom-client'
import type { Clock, Logger } from '../shared/index.ts'
import type { Spool, SpooledPoint } from '../spool/index.ts'
import { PointsRefusedError, type TelemetryStore } from '../store/index.ts'

export interface Pipeline {
  start(): void
  /** Wait until the spool is empty (or the deadline passes); returns whether it emptied. */
  drain(deadlineMs: number): Promise<boolean>
  /** Stop after the batch in flight. */
  stop(): Promise<void>
  /** Whether the last write to the store succeeded. */
  storeHealthy(): boolean
}

export interface PipelineOptions {
  spool: Spool
  store: TelemetryStore
  logger: Logger
  metrics: Registry
  clock: Clock
  batchSize?: number
  /** Batches with the store at once. Default 3. */
  maxInFlight?: number
  /** Pause after the first failure; doubles up to maxRetryMs. */
  minRetryMs?: number
  maxRetryMs?: number
}

export function createPipeline(opts: PipelineOptions): Pipeline {
  const { spool, store, logger } = opts
  const batchSize = opts.batchSize ?? 1000
  const maxInFlight = Math.max(1, opts.maxInFlight ?? 3)
  const minRetry = opts.minRetryMs ?? 250
  const maxRetry = opts.maxRetryMs ?? 15_000

  const written: Counter = new client.Counter({
    name: 'firecircle_store_points_written_total',
    help: 'Points the telemetry store acknowledged',
    registers: [opts.metrics],
  })
  const failures: Counter = new client.Counter({
    name: 'firecircle_store_write_failures_total',
    help: 'Batches the telemetry store refused or did not answer',
    registers: [opts.metrics],
  })
  const writeSeconds: Histogram = new client.Histogram({
    name: 'firecircle_store_write_seconds',
    help: 'Time for the telemetry store to acknowledge one batch',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [opts.metrics],
  })
  const refused: Counter = new client.Counter({
    name: 'firecircle_store_points_refused_total',
    help: 'Points the telemetry store refused for good (e.g. a field type conflict), set aside in spool_refused',
    registers: [opts.metrics],
  })
  const _depth: Gauge = new client.Gauge({
    name: 'firecircle_spool_depth',
    help: 'Points in the durable spool not yet acknowledged by the telemetry store',
    registers: [opts.metrics],
    collect() {
      this.set(spool.depth())
    },
  })
  void _depth

  let running = false
  let loop: Promise<void> | undefined
  let wake: (() => void) | undefined
  let healthy = true
  let retryMs = minRetry
  let retryTimer: NodeJS.Timeout | undefined
  const emptyWaiters: (() => void)[] = []

  let waitingForStore = false
  // New points wake an idle pipeline, but not one pausing after a store failure.
  spool.onCommit(() => {
    if (!waitingForStore) wake?.()
  })

  function idle(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      wake = () => {
        wake = undefined
        if (retryTimer) clearTimeout(retryTimer)
        retryTimer = undefined
        resolve()
      }
      if (ms !== undefined) retryTimer = setTimeout(() => wake?.(), ms)
    })
  }

  /**
   * Write a batch; when the store refuses some points for good, halve the batch until the
   * refused points are alone and set them aside. Writes are idempotent, so points written
   * again on the way are the same points.
   */
  async function deliver(batch: SpooledPoint[]): Promise<void> {
    try {
      await store.write(batch.map((b) => b.point))
    } catch (err) {
      if (!(err instanceof PointsRefusedError)) throw err
      if (batch.length === 1) {
        const only = batch[0]!
        spool.refuse(only.id, err.message, opts.clock.now())
        refused.inc()
        logger.error(
          { store: store.name, point: only.point.tags, ts: only.point.ts, err: err.message },
          'the telemetry store refused a point for good; set aside in spool_refused',
        )
        return
      }
      const mid = batch.length >> 1
      await deliver(batch.slice(0, mid))
      await deliver(batch.slice(mid))
      return
    }
    spool.remove(batch.map((b) => b.id))
    written.inc(batch.length)
  }

  /** Batches with the store now, each settling to whether it was delivered. */
  const inFlight = new Set<Promise<boolean>>()

  function send(batch: SpooledPoint[]): void {
    const end = writeSeconds.startTimer()
    const p: Promise<boolean> = deliver(batch).then(
      () => {
        end()
        if (!healthy)
          logger.info(
            { store: store.name, spooled: spool.depth() },
            'telemetry store is back; draining the spool',
          )
        healthy = true
        retryMs = minRetry
        return true
      },
      (err: Error) => {
        failures.inc()
        if (healthy) {
          logger.warn(
            { store: store.name, err: err.message, spooled: spool.depth() },
            'telemetry store write failed; readings stay in the spool and are retried',
          )
        }
        healthy = false
        return false
      },
    )
    inFlight.add(p)
    void p.then(() => inFlight.delete(p))
  }

  async function run(): Promise<void> {
    // Batches are taken after the last id handed to the store; a failure starts again from
    // the oldest point left in the spool.
    let after = 0
    let failed = false
    while (running) {
      if (failed) {
        await Promise.all(inFlight)
        failed = false
        after = 0
        waitingForStore = true
        await idle(retryMs)
        waitingForStore = false
        retryMs = Math.min(retryMs * 2, maxRetry)
        continue
      }
      if (inFlight.size >= maxInFlight) {
        failed = !(await Promise.race(inFlight))
        continue
      }
      const batch = spool.oldest(batchSize, after)
      if (batch.length === 0) {
        if (inFlight.size > 0) {
          failed = !(await Promise.race(inFlight))
          continue
        }
        if (after !== 0) {
          // Nothing after the last batch: look once more from the oldest point left.
          after = 0
          continue
        }
        for (const w of emptyWaiters.splice(0)) w()
        await idle()
        continue
      }
      after = batch[batch.length - 1]!.id
      send(batch)
    }
    await Promise.all(inFlight)
  }

  return {
    start() {
      if (running) return
      running = true
      loop = run()
    },
    async drain(deadlineMs) {
      spool.flush()
      if (spool.depth() === 0) return true
      wake?.()
      return new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(spool.depth() === 0), deadlineMs)
        emptyWaiters.push(() => {
          clearTimeout(t)
          resolve(true)
        })
      })
    },
    async stop() {
      running = false
      wake?.()
      await loop
    },
    storeHealthy: () => healthy,
  }
}

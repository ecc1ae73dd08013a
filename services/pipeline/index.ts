/**
 * The pipeline drains the spool into the telemetry store, oldest first. A batch is removed
 * from the spool only after the store acknowledged it; when the store fails, the batch stays
 * and is retried with a growing pause, so the spool grows while InfluxDB is down and drains
 * when it is back. Replays write the same points (same tags and ts), so they are idempotent.
 *
 * By step: reading the spool in batches (./batches.ts), up to `maxInFlight` of them with the
 * store at once (./in-flight.ts, issue #8), each written and removed, or its refused points
 * set aside (./deliver.ts); the store's health and the pause after a failure
 * (./store-health.ts, ./wake.ts); draining at stop (./drain.ts).
 *
 * The spool is a PointSource: the embedded node's SQLite spool (one reader, a cursor, removal
 * at once), or a cluster's spool in PostgreSQL that every node drains at once (a batch is
 * held by its transaction, FOR UPDATE SKIP LOCKED, until the store acknowledged it, then
 * deleted and committed; a store failure rolls it back). The latter also fills from other
 * nodes, so an idle pipeline looks again every `idlePollMs`.
 */
import type { Registry } from 'prom-client'
import type { Clock, Logger } from '../shared/index.ts'
import type { PointSource } from '../spool/index.ts'
import type { TelemetryStore } from '../store/index.ts'
import { readBatches } from './batches.ts'
import { createDeliver } from './deliver.ts'
import { createDrain } from './drain.ts'
import { createInFlight } from './in-flight.ts'
import { createPipelineMetrics } from './metrics.ts'
import { createStoreHealth } from './store-health.ts'
import { createWaker } from './wake.ts'

export interface Pipeline {
  start(): void
  /** Wait until the spool is empty (or the deadline passes); returns whether it emptied. */
  drain(deadlineMs: number): Promise<boolean>
  /** Stop after the batch in flight. */
  stop(): Promise<void>
  /** Whether the last write to the store succeeded. */
  storeHealthy(): boolean
}

export interface PipelineDeps {
  /** The SQLite spool of an embedded node, or a cluster's spool in PostgreSQL. */
  spool: PointSource
  store: Pick<TelemetryStore, 'write' | 'name'>
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

export function createPipeline(deps: PipelineDeps): Pipeline {
  const { spool, store, logger, clock } = deps
  const metrics = createPipelineMetrics(deps.metrics, spool)
  const health = createStoreHealth({
    store,
    spool,
    logger,
    metrics,
    minRetryMs: deps.minRetryMs ?? 250,
    maxRetryMs: deps.maxRetryMs ?? 15_000,
  })
  const deliver = createDeliver({ store, clock, logger, metrics })
  const inFlight = createInFlight({ deliver, health, metrics })
  const waker = createWaker()
  const drain = createDrain(spool)
  spool.onCommit(() => waker.nudge())

  let running = false
  let loop: Promise<void> | undefined

  return {
    start() {
      if (running) return
      running = true
      loop = readBatches({
        spool,
        inFlight,
        health,
        waker,
        drain,
        batchSize: deps.batchSize ?? 1000,
        maxInFlight: Math.max(1, deps.maxInFlight ?? 3),
        running: () => running,
        takeFailed(err) {
          logger.warn({ err: err.message }, 'the spool could not be read; the pipeline tries again')
        },
      })
    },
    async drain(deadlineMs) {
      spool.flush()
      if ((await spool.depth()) === 0) return true
      waker.wake()
      return drain.wait(deadlineMs)
    },
    async stop() {
      running = false
      waker.wake()
      await loop
    },
    storeHealthy: () => health.healthy(),
  }
}

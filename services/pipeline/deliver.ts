/**
 * One batch to the store. The batch leaves the spool only when the store acknowledged it;
 * when the store refuses some points for good, the batch is halved until the refused points
 * are alone, and those are set aside (spool_refused). Writes are idempotent, so points
 * written again on the way are the same points. A batch that failed is given back to the
 * spool (a cluster's spool: its transaction rolls back, the rows stay for the next try).
 */
import type { Clock, Logger } from '../shared/index.ts'
import type { SpooledPoint, TakenBatch } from '../spool/index.ts'
import { PointsRefusedError, type TelemetryStore } from '../store/index.ts'
import type { PipelineMetrics } from './metrics.ts'

export interface DeliverDeps {
  store: Pick<TelemetryStore, 'write' | 'name'>
  clock: Clock
  logger: Logger
  metrics: Pick<PipelineMetrics, 'written' | 'refused'>
}

/** Resolves once the batch is in the store (or set aside) and out of the spool; rejects when the store failed. */
export type Deliver = (batch: TakenBatch) => Promise<void>

export function createDeliver(deps: DeliverDeps): Deliver {
  const { store, clock, logger, metrics } = deps

  async function setAside(batch: TakenBatch, only: SpooledPoint, err: PointsRefusedError): Promise<void> {
    await batch.refuse(only.id, err.message, clock.now())
    metrics.refused.inc()
    logger.error(
      { store: store.name, point: only.point.tags, ts: only.point.ts, err: err.message },
      'the telemetry store refused a point for good; set aside in spool_refused',
    )
  }

  async function write(batch: TakenBatch, part: SpooledPoint[]): Promise<void> {
    try {
      await store.write(part.map((b) => b.point))
    } catch (err) {
      if (!(err instanceof PointsRefusedError)) throw err
      if (part.length === 1) {
        await setAside(batch, part[0]!, err)
        return
      }
      const mid = part.length >> 1
      await write(batch, part.slice(0, mid))
      await write(batch, part.slice(mid))
      return
    }
    await batch.remove(part.map((b) => b.id))
    metrics.written.inc(part.length)
  }

  return async (batch) => {
    try {
      await write(batch, batch.points)
    } catch (err) {
      await batch.release().catch(() => {})
      throw err
    }
    await batch.finish()
  }
}

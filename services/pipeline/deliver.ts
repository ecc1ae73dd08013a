/**
 * One batch to the store. The batch leaves the spool only when the store acknowledged it;
 * when the store refuses some points for good, the batch is halved until the refused points
 * are alone, and those are set aside (spool_refused). Writes are idempotent, so points
 * written again on the way are the same points.
 */
import type { Clock, Logger } from '../shared/index.ts'
import type { Spool, SpooledPoint } from '../spool/index.ts'
import { PointsRefusedError, type TelemetryStore } from '../store/index.ts'
import type { PipelineMetrics } from './metrics.ts'

export interface DeliverDeps {
  spool: Pick<Spool, 'remove' | 'refuse'>
  store: Pick<TelemetryStore, 'write' | 'name'>
  clock: Clock
  logger: Logger
  metrics: Pick<PipelineMetrics, 'written' | 'refused'>
}

/** Resolves once the batch is in the store (or set aside); rejects when the store failed. */
export type Deliver = (batch: SpooledPoint[]) => Promise<void>

export function createDeliver(deps: DeliverDeps): Deliver {
  const { spool, store, clock, logger, metrics } = deps

  function setAside(only: SpooledPoint, err: PointsRefusedError): void {
    spool.refuse(only.id, err.message, clock.now())
    metrics.refused.inc()
    logger.error(
      { store: store.name, point: only.point.tags, ts: only.point.ts, err: err.message },
      'the telemetry store refused a point for good; set aside in spool_refused',
    )
  }

  async function deliver(batch: SpooledPoint[]): Promise<void> {
    try {
      await store.write(batch.map((b) => b.point))
    } catch (err) {
      if (!(err instanceof PointsRefusedError)) throw err
      if (batch.length === 1) {
        setAside(batch[0]!, err)
        return
      }
      const mid = batch.length >> 1
      await deliver(batch.slice(0, mid))
      await deliver(batch.slice(mid))
      return
    }
    spool.remove(batch.map((b) => b.id))
    metrics.written.inc(batch.length)
  }

  return deliver
}

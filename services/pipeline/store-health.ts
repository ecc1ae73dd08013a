/**
 * Whether the store answers, and the pause before trying again: after a failure the pipeline
 * waits `minRetryMs`, doubling up to `maxRetryMs`; a write that succeeds resets it. The
 * change either way is logged once, not per batch.
 */
import type { Logger } from '../shared/index.ts'
import type { PointSource } from '../spool/index.ts'
import type { TelemetryStore } from '../store/index.ts'
import type { PipelineMetrics } from './metrics.ts'

export interface StoreHealth {
  healthy(): boolean
  succeeded(): void
  failed(err: Error): void
  /** The pause before the next try after a failure; the one after it is twice as long. */
  nextPause(): number
}

export interface StoreHealthDeps {
  store: Pick<TelemetryStore, 'name'>
  spool: Pick<PointSource, 'depth'>
  logger: Logger
  metrics: Pick<PipelineMetrics, 'failures'>
  minRetryMs: number
  maxRetryMs: number
}

export function createStoreHealth(deps: StoreHealthDeps): StoreHealth {
  const { store, spool, logger, minRetryMs, maxRetryMs } = deps
  let healthy = true
  let retryMs = minRetryMs
  // A cluster's spool answers its depth asynchronously; the line is logged when it has.
  const withDepth = (log: (spooled: number | undefined) => void): void => {
    void Promise.resolve()
      .then(() => spool.depth())
      .then(log, () => log(undefined))
  }
  return {
    healthy: () => healthy,
    succeeded() {
      if (!healthy)
        withDepth((spooled) =>
          logger.info({ store: store.name, spooled }, 'telemetry store is back; draining the spool'),
        )
      healthy = true
      retryMs = minRetryMs
    },
    failed(err) {
      deps.metrics.failures.inc()
      if (healthy) {
        withDepth((spooled) =>
          logger.warn(
            { store: store.name, err: err.message, spooled },
            'telemetry store write failed; readings stay in the spool and are retried',
          ),
        )
      }
      healthy = false
    },
    nextPause() {
      const ms = retryMs
      retryMs = Math.min(retryMs * 2, maxRetryMs)
      return ms
    },
  }
}

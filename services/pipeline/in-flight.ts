/**
 * The batches with the store now (up to `maxInFlight`, issue #8: under a heavy intake the
 * event loop turns slowly, and one batch at a time, several turns per batch, left the store
 * idle and the spool growing while InfluxDB had room to spare). Each is a distinct range of
 * spool ids, removed when its own write is acknowledged.
 */
import type { TakenBatch } from '../spool/index.ts'
import type { Deliver } from './deliver.ts'
import type { PipelineMetrics } from './metrics.ts'
import type { StoreHealth } from './store-health.ts'

export interface InFlight {
  /** Hand a batch to the store without waiting for it. */
  send(batch: TakenBatch): void
  size(): number
  /** Wait for the first batch in flight to settle: whether it was delivered. */
  settleOne(): Promise<boolean>
  /** Wait for every batch in flight. */
  settleAll(): Promise<void>
}

export interface InFlightDeps {
  deliver: Deliver
  health: Pick<StoreHealth, 'succeeded' | 'failed'>
  metrics: Pick<PipelineMetrics, 'writeSeconds'>
}

export function createInFlight(deps: InFlightDeps): InFlight {
  const { deliver, health } = deps
  /** Each settles to whether its batch was delivered. */
  const batches = new Set<Promise<boolean>>()
  return {
    send(batch) {
      const end = deps.metrics.writeSeconds.startTimer()
      const p: Promise<boolean> = deliver(batch).then(
        () => {
          end()
          health.succeeded()
          return true
        },
        (err: Error) => {
          health.failed(err)
          return false
        },
      )
      batches.add(p)
      void p.then(() => batches.delete(p))
    },
    size: () => batches.size,
    settleOne: () => Promise.race(batches),
    async settleAll() {
      await Promise.all(batches)
    },
  }
}

/**
 * Reading the spool in batches, oldest first. Batches are taken after the last id handed to
 * the store; after a failure the batches in flight are let settle, the pipeline pauses, and
 * reading starts again from the oldest point still in the spool.
 */
import type { PointSource, TakenBatch } from '../spool/index.ts'
import type { Drain } from './drain.ts'
import type { InFlight } from './in-flight.ts'
import type { StoreHealth } from './store-health.ts'
import type { Waker } from './wake.ts'

export interface ReadBatchesDeps {
  spool: Pick<PointSource, 'take' | 'idlePollMs' | 'takeGapMs'>
  inFlight: InFlight
  health: Pick<StoreHealth, 'nextPause'>
  waker: Pick<Waker, 'idle' | 'pause'>
  drain: Pick<Drain, 'emptied'>
  batchSize: number
  maxInFlight: number
  /** Whether to go on (false once stop is asked). */
  running(): boolean
  /** The spool could not be read (a cluster's database is away): the loop pauses as after a store failure. */
  takeFailed(err: Error): void
}

/** Runs until `running()` turns false, then waits for the batches in flight. */
export async function readBatches(deps: ReadBatchesDeps): Promise<void> {
  const { spool, inFlight, waker, batchSize, maxInFlight } = deps
  let after = 0
  let failed = false
  while (deps.running()) {
    if (failed) {
      await inFlight.settleAll()
      failed = false
      after = 0
      await waker.pause(deps.health.nextPause())
      continue
    }
    if (inFlight.size() >= maxInFlight) {
      failed = !(await inFlight.settleOne())
      continue
    }
    let batch: TakenBatch
    try {
      batch = await spool.take(batchSize, after)
    } catch (err) {
      deps.takeFailed(err instanceof Error ? err : new Error(String(err)))
      failed = true
      continue
    }
    if (batch.points.length === 0) {
      await batch.release()
      if (inFlight.size() > 0) {
        failed = !(await inFlight.settleOne())
        continue
      }
      if (after !== 0) {
        // Nothing after the last batch: look once more from the oldest point left.
        after = 0
        continue
      }
      deps.drain.emptied()
      await waker.idle(spool.idlePollMs)
      continue
    }
    after = batch.points[batch.points.length - 1]!.id
    inFlight.send(batch)
    // A cluster's spool: the next small batch waits (a drain or a stop ends the wait).
    if (spool.takeGapMs !== undefined && batch.points.length < batchSize) await waker.pause(spool.takeGapMs)
  }
  await inFlight.settleAll()
}

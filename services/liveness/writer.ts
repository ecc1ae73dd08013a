/**
 * The write path of liveness: changed states are marked dirty on the hot path (no I/O there)
 * and saved in batches, on a timer and at close. A batch that fails to save (disk full, the
 * database away) never throws out of the timer: its devices stay dirty and go with the next
 * batch, the first failure is logged and the ones after it are counted until a batch saves.
 * One batch at a time, so that an older batch never lands after a newer one.
 */
import type { Logger } from '../shared/index.ts'
import type { LivenessRepository } from './repository.ts'
import type { DeviceLiveState } from './types.ts'

export interface StateWriter {
  /** The device's state changed in memory: save it with the next batch. */
  dirty(device: string): void
  /** Save every dirty state now (after the batch in flight); never rejects. */
  flush(): Promise<void>
  /** Stop the timer and save what is dirty. */
  close(): Promise<void>
}

export interface StateWriterDeps {
  repository: Pick<LivenessRepository, 'saveStates'>
  logger: Logger
  /** The states in memory, by device (read when a batch is taken). */
  states: ReadonlyMap<string, DeviceLiveState>
  flushMs: number
}

export function createStateWriter(deps: StateWriterDeps): StateWriter {
  const { repository, logger, states } = deps
  const dirty = new Set<string>()
  let inFlight: Promise<void> | undefined
  /** Batches failed since the last one that saved. */
  let failedBatches = 0

  async function saveBatch(): Promise<void> {
    if (dirty.size === 0) return
    const ids = [...dirty]
    dirty.clear()
    const batch: DeviceLiveState[] = []
    for (const id of ids) {
      const s = states.get(id)
      if (s !== undefined) batch.push({ ...s })
    }
    try {
      await repository.saveStates(batch)
    } catch (err) {
      for (const id of ids) dirty.add(id)
      failedBatches++
      if (failedBatches === 1)
        logger.error(
          { err: err instanceof Error ? err.message : String(err), devices: ids.length },
          'saving device states failed; they stay in memory and are saved with the next batch',
        )
      return
    }
    if (failedBatches > 0) {
      logger.info({ failedBatches }, 'device states saved again')
      failedBatches = 0
    }
  }

  function flush(): Promise<void> {
    // Without a batch in flight the save starts now, in this call (with SQLite the states are
    // on disk when flush returns, even if nobody awaits it).
    const run: Promise<void> = inFlight === undefined ? saveBatch() : inFlight.then(saveBatch)
    const settled = run.finally(() => {
      if (inFlight === settled) inFlight = undefined
    })
    inFlight = settled
    return settled
  }

  const timer = setInterval(() => {
    // A slow repository does not pile batches up: the tick waits for the next one.
    if (inFlight === undefined) void flush()
  }, deps.flushMs)
  timer.unref()

  return {
    dirty(device) {
      dirty.add(device)
    },
    flush,
    close() {
      clearInterval(timer)
      return flush()
    },
  }
}

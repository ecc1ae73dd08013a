/**
 * The pipeline's sleep: idle until new points are committed, or paused after a store failure
 * for a while. New points wake an idle pipeline, but not one pausing after a store failure
 * (it would hammer a store that is down); a drain or a stop wakes either.
 */
export interface Waker {
  /** Sleep until woken, or at most `ms` when given (a spool other nodes fill too). */
  idle(ms?: number): Promise<void>
  /** Sleep `ms` after a store failure; only `wake()` ends it early. */
  pause(ms: number): Promise<void>
  /** New points: wake an idle pipeline, not a pausing one. */
  nudge(): void
  /** Wake whatever sleep there is. */
  wake(): void
}

export function createWaker(): Waker {
  let wake: (() => void) | undefined
  let timer: NodeJS.Timeout | undefined
  let pausing = false

  function sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      wake = () => {
        wake = undefined
        if (timer) clearTimeout(timer)
        timer = undefined
        resolve()
      }
      if (ms !== undefined) timer = setTimeout(() => wake?.(), ms)
    })
  }

  return {
    idle: (ms) => sleep(ms),
    async pause(ms) {
      pausing = true
      await sleep(ms)
      pausing = false
    },
    nudge() {
      if (!pausing) wake?.()
    },
    wake() {
      wake?.()
    },
  }
}

/**
 * One thing after another: a stage that reacts to events with asynchronous steps (a
 * repository write, then the change in memory, then the event it emits) runs each reaction
 * through a serial queue, so that two reactions never interleave across an `await` and
 * decide on state the other is about to change. A task that fails rejects its own promise
 * and does not stop the tasks behind it.
 */
export interface SerialQueue {
  /** Run `task` after every task queued before it; resolves or rejects with its result. */
  run<T>(task: () => T | Promise<T>): Promise<T>
  /** Resolves when every task queued so far has finished (tests, shutdown). */
  idle(): Promise<void>
  /** Tasks queued or running. */
  size(): number
}

export function createSerialQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve()
  let pending = 0
  return {
    run(task) {
      pending++
      const result = tail.then(task)
      tail = result.then(
        () => {
          pending--
        },
        () => {
          pending--
        },
      )
      return result
    },
    async idle() {
      while (pending > 0) await tail
    },
    size: () => pending,
  }
}

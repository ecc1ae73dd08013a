/**
 * Linkage's work queue. The bus listeners and the clock's timers do nothing but queue: the
 * work runs on a later turn of the event loop, one task at a time (a task's repository
 * writes, its change in memory and the events it emits never interleave with another's),
 * urgent tasks (forwarding to 119) before the others, so that neither a slow step nor
 * linkage itself delays the alarm engine or another alert.
 */
import type { Logger } from '../shared/index.ts'

export type Task = () => void | Promise<void>

export interface WorkQueue {
  /** Queue `task` (`first`: before every task not yet started that is not urgent). */
  defer(task: Task, first?: boolean): void
  /** Queue `task` and resolve (or reject) when it has run; resolves at once when the queue is closed. */
  run(task: Task, first?: boolean): Promise<void>
  /** Take tasks from now on (`open`) or drop what is queued and take none (`close`). */
  open(): void
  close(): void
  /** Resolves when every task queued so far, and every task they queued, has run. */
  idle(): Promise<void>
  /** A task is queued or running. */
  busy(): boolean
}

/** Tasks run before the queue yields to the event loop (I/O, timers) again. */
const BATCH = 256

export function createWorkQueue(logger: Logger): WorkQueue {
  const urgent: Task[] = []
  const normal: Task[] = []
  let open = false
  let draining = false

  async function drain(): Promise<void> {
    try {
      let k = 0
      while (open) {
        const task = urgent.shift() ?? normal.shift()
        if (task === undefined) return
        try {
          await task()
        } catch (err) {
          logger.error({ err }, 'linkage work failed')
        }
        if (++k % BATCH === 0) await new Promise<void>((r) => setImmediate(r))
      }
    } finally {
      draining = false
    }
  }

  function defer(task: Task, first = false): void {
    if (!open) return
    ;(first ? urgent : normal).push(task)
    if (!draining) {
      draining = true
      setImmediate(() => void drain())
    }
  }

  return {
    defer,
    run(task, first = false) {
      return new Promise<void>((resolve, reject) => {
        if (!open) {
          resolve()
          return
        }
        defer(async () => {
          try {
            await task()
            resolve()
          } catch (err) {
            reject(err)
          }
        }, first)
      })
    },
    open() {
      open = true
    },
    close() {
      open = false
      urgent.length = 0
      normal.length = 0
    },
    busy: () => draining || urgent.length > 0 || normal.length > 0,
    async idle() {
      while (draining || urgent.length > 0 || normal.length > 0) {
        await new Promise<void>((r) => setImmediate(r))
      }
    },
  }
}

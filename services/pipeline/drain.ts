/** Waiting for an empty spool at stop, within a deadline. */
import type { PointSource } from '../spool/index.ts'

export interface Drain {
  /** Resolves true when the spool empties, or with whether it is empty at the deadline. */
  wait(deadlineMs: number): Promise<boolean>
  /** The reading loop found the spool empty: release every waiter. */
  emptied(): void
}

export function createDrain(spool: Pick<PointSource, 'depth'>): Drain {
  const waiters: (() => void)[] = []
  return {
    wait(deadlineMs) {
      return new Promise<boolean>((resolve) => {
        const t = setTimeout(async () => {
          try {
            resolve((await spool.depth()) === 0)
          } catch {
            resolve(false)
          }
        }, deadlineMs)
        waiters.push(() => {
          clearTimeout(t)
          resolve(true)
        })
      })
    },
    emptied() {
      for (const w of waiters.splice(0)) w()
    },
  }
}

/**
 * Offline by silence: a device that has sent nothing for 3 × its kind's reporting interval is
 * in trouble. One timer for all devices: a min-heap of deadlines, re-armed lazily. A reading
 * does not touch the heap (the device's deadline is recomputed from its last-seen time when
 * its entry comes up), so the cost is O(log n) per device per interval, not per reading.
 */
import type { Clock, Timer } from '../shared/index.ts'

export interface SilenceWatch {
  /** Supervise a device from `since` (its last message, or when supervision began). */
  watch(device: string, since: number): void
  unwatch(device: string): void
  watching(device: string): boolean
  stop(): void
}

export interface SilenceWatchDeps {
  clock: Clock
  /** Silence allowed before offline, ms (3 × reporting interval). */
  allowanceMs(device: string): number | undefined
  /** The device's last message time, if any. */
  lastSeen(device: string): number | undefined
  onSilent(device: string, lastSeen: number, at: number): void
}

export function createSilenceWatch(opts: SilenceWatchDeps): SilenceWatch {
  const { clock } = opts
  /** device → the earliest time it could be silent, as last computed. */
  const since = new Map<string, number>()
  const heap: { at: number; device: string }[] = []
  let timer: Timer | undefined
  let armedAt = Number.POSITIVE_INFINITY
  let stopped = false

  function push(at: number, device: string): void {
    heap.push({ at, device })
    let i = heap.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (heap[p]!.at <= heap[i]!.at) break
      ;[heap[p], heap[i]] = [heap[i]!, heap[p]!]
      i = p
    }
  }

  function pop(): { at: number; device: string } | undefined {
    const top = heap[0]
    const last = heap.pop()
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && heap[l]!.at < heap[m]!.at) m = l
        if (r < heap.length && heap[r]!.at < heap[m]!.at) m = r
        if (m === i) break
        ;[heap[m], heap[i]] = [heap[i]!, heap[m]!]
        i = m
      }
    }
    return top
  }

  function arm(): void {
    if (stopped) return
    const next = heap[0]
    if (next === undefined || next.at >= armedAt) return
    timer?.cancel()
    armedAt = next.at
    timer = clock.at(next.at, fire)
  }

  function fire(): void {
    timer = undefined
    armedAt = Number.POSITIVE_INFINITY
    const now = clock.now()
    while (heap.length > 0 && heap[0]!.at <= now) {
      const { device } = pop()!
      const from = since.get(device)
      if (from === undefined) continue // unwatched
      const allowance = opts.allowanceMs(device)
      if (allowance === undefined) {
        since.delete(device)
        continue
      }
      const seen = Math.max(from, opts.lastSeen(device) ?? from)
      const due = seen + allowance
      if (due > now) {
        since.set(device, seen)
        push(due, device)
        continue
      }
      since.delete(device)
      opts.onSilent(device, seen, now)
    }
    arm()
  }

  return {
    watch(device, from) {
      if (since.has(device)) return
      const allowance = opts.allowanceMs(device)
      if (allowance === undefined) return
      since.set(device, from)
      push(from + allowance, device)
      arm()
    },
    unwatch(device) {
      since.delete(device)
    },
    watching: (device) => since.has(device),
    stop() {
      stopped = true
      timer?.cancel()
    },
  }
}

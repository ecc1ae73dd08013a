/**
 * Time, injected: every window and timer reads a Clock so that tests can drive it. A 30 s
 * verification window or a 180 s escalation is tested in milliseconds with a ManualClock,
 * never by sleeping.
 */
export interface Timer {
  cancel(): void
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  /** Run `fn` once when the clock reaches `at` (ms since the epoch); at once if already past. */
  at(at: number, fn: () => void): Timer
}

/** The largest delay setTimeout takes (about 24.8 days); longer waits are chained. */
const MAX_DELAY = 2 ** 31 - 1

export const systemClock: Clock = {
  now: () => Date.now(),
  at(at, fn) {
    let handle: NodeJS.Timeout | undefined
    let cancelled = false
    const arm = () => {
      if (cancelled) return
      const delay = at - Date.now()
      if (delay > MAX_DELAY) handle = setTimeout(arm, MAX_DELAY)
      else handle = setTimeout(fn, Math.max(0, delay))
      handle.unref?.()
    }
    arm()
    return {
      cancel() {
        cancelled = true
        if (handle) clearTimeout(handle)
      },
    }
  },
}

export interface ManualClock extends Clock {
  /** Move time forward, running every timer that falls due, in time order. */
  advance(ms: number): void
  /** Move time to `t` (never backwards), running due timers. */
  set(t: number): void
  /** Timers not yet run nor cancelled. */
  pending(): number
}

/** A clock that moves only when told to: for tests and replays. */
export function createManualClock(start = Date.UTC(2026, 0, 1)): ManualClock {
  let now = start
  let seq = 0
  const timers = new Map<number, { at: number; seq: number; fn: () => void }>()

  function runDue(until: number): void {
    for (;;) {
      let next: { id: number; at: number; seq: number } | undefined
      for (const [id, t] of timers) {
        if (
          t.at <= until &&
          (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))
        ) {
          next = { id, at: t.at, seq: t.seq }
        }
      }
      if (next === undefined) break
      const t = timers.get(next.id)!
      timers.delete(next.id)
      if (t.at > now) now = t.at
      t.fn()
    }
    if (until > now) now = until
  }

  return {
    now: () => now,
    at(at, fn) {
      const id = ++seq
      timers.set(id, { at, seq: id, fn })
      return { cancel: () => void timers.delete(id) }
    },
    advance(ms) {
      runDue(now + ms)
    },
    set(t) {
      if (t > now) runDue(t)
    },
    pending: () => timers.size,
  }
}

/** Time, injected: every window and timer reads a Clock so that tests can drive it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

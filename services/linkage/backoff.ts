/**
 * Retry delays: exponential backoff with full jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): after the n-th failed attempt wait a uniformly random time between
 * `minMs` and min(capMs, baseMs × factor^(n−1)). Pure: the random source is an argument.
 */
export interface BackoffPolicy {
  /** The ceiling after the first failure. */
  baseMs: number
  factor: number
  /** No ceiling exceeds this. */
  capMs: number
  /** No delay is shorter than this (time for a device to answer a command). */
  minMs: number
}

/** Webhooks: 1 s, 2 s, 4 s … up to 60 s, any delay in [0, ceiling]. */
export const WEBHOOK_BACKOFF: BackoffPolicy = { baseMs: 1000, factor: 2, capMs: 60_000, minMs: 0 }

/** Device commands: 5 s, 10 s, 20 s … up to 60 s; a device gets at least 2 s to acknowledge. */
export const COMMAND_BACKOFF: BackoffPolicy = { baseMs: 5000, factor: 2, capMs: 60_000, minMs: 2000 }

/** The largest delay after `failures` failed attempts (≥ 1). */
export function backoffCeiling(failures: number, p: BackoffPolicy): number {
  const n = Math.max(1, Math.floor(failures))
  const exp = p.baseMs * p.factor ** (n - 1)
  return Math.max(p.minMs, Math.min(p.capMs, Number.isFinite(exp) ? exp : p.capMs))
}

/** The delay before the next attempt after `failures` failed attempts. */
export function backoffDelay(failures: number, p: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(failures, p)
  const r = Math.min(1, Math.max(0, random()))
  return Math.round(p.minMs + r * (ceiling - p.minMs))
}

/** The ceilings of the first `n` retries (for documentation and tests). */
export function backoffCeilings(n: number, p: BackoffPolicy): number[] {
  return Array.from({ length: n }, (_, k) => backoffCeiling(k + 1, p))
}

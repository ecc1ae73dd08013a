/**
 * A log that says a repeated thing once. A full disk makes every message fail the same way and
 * a guessing attack makes every CONNECT fail the same way: one line per occurrence buried the
 * one line that mattered (6,315 identical errors in 25 s, issue #12). The first occurrence of a
 * key is logged at once; repeats within the window are counted, and the count is logged with
 * the next occurrence after the window (`repeated`: how many were not logged since the last
 * line), so nothing is silently lost and at most one line per key per window is written.
 */
import type { Clock } from './clock.ts'
import type { Logger } from './log.ts'

type Level = 'error' | 'warn' | 'info'

export interface QuietLog {
  /** Log `msg` under `key` unless the key was logged less than the window ago (then count it). */
  log(level: Level, key: string, fields: Record<string, unknown>, msg: string): void
}

export interface QuietLogOptions {
  /** At most one line per key per window (default 10 s). */
  windowMs?: number
  /** Keys remembered at most (default 1,000): an attacker choosing keys cannot grow the map. */
  maxKeys?: number
}

export function createQuietLog(logger: Logger, clock: Clock, options: QuietLogOptions = {}): QuietLog {
  const windowMs = options.windowMs ?? 10_000
  const maxKeys = options.maxKeys ?? 1000
  const seen = new Map<string, { at: number; repeated: number }>()
  return {
    log(level, key, fields, msg) {
      const now = clock.now()
      const entry = seen.get(key)
      if (entry !== undefined && now - entry.at < windowMs) {
        entry.repeated++
        return
      }
      if (entry === undefined && seen.size >= maxKeys) {
        // Forget the oldest key: its next occurrence is logged again, which is the safe side.
        const oldest = seen.keys().next().value
        if (oldest !== undefined) seen.delete(oldest)
      }
      seen.delete(key)
      seen.set(key, { at: now, repeated: 0 })
      logger[level](
        { ...fields, ...(entry !== undefined && entry.repeated > 0 ? { repeated: entry.repeated } : {}) },
        msg,
      )
    },
  }
}

/**
 * Guessing is throttled, not locked out (issue #12). Wrong MQTT CONNECTs and wrong bearer
 * tokens back off per source address and per claimed id, with delays growing to seconds:
 *
 * - an **address** past its free failures must wait before it is even checked again, and has
 *   at most one check at a time: an attempt inside its wait, or beside its check in flight, is
 *   refused without any hash work (MQTT: CONNACK 3 after the wait; HTTP: 429 with
 *   Retry-After) — unless this address has signed in as the claimed id before (a device behind
 *   the same NAT as an attacker keeps working);
 * - a **claimed id** past its free failures makes every failed answer for it wait: the check
 *   still runs, so the right secret from anywhere gets in at once and is never slowed; a wrong
 *   one is answered late.
 *
 * Failure counts decay (half-life `halfLifeMs`), so an address or id that stops failing is back
 * to normal within minutes by itself. Unknown ids and wrong secrets count the same, so the
 * delays tell nothing about which ids exist. Every map is bounded (least recently used out).
 */
import type { Clock } from '../shared/index.ts'

export interface GuessingThrottle {
  /**
   * How long `address` must wait before a claim to `id` is checked: 0 to check now (the check
   * is then in flight until `failed`, `succeeded` or `abandoned`); else the attempt is refused
   * unchecked (and counted as a failure of the address).
   */
  waitBeforeCheck(address: string, id: string): number
  /** Record a failed check; returns how long its refusal is held back (ms, 0 = at once). */
  failed(address: string, id: string): number
  /** Record a successful check: the address is known for the id from now on. */
  succeeded(address: string, id: string): void
  /** A check that could not be made (the store away, the hash work at its bound). */
  abandoned(address: string): void
}

export interface GuessingOptions {
  /** Failures (decayed) an address or id may have before any delay (default 5). */
  freeFailures?: number
  /** The first delay (default 100 ms); it doubles with each failure after the free ones. */
  baseDelayMs?: number
  /** The longest delay (default 5 s: inside MQTT's 10 s CONNECT timeout). */
  maxDelayMs?: number
  /** Half-life of a failure count (default 60 s). */
  halfLifeMs?: number
  /** Addresses, ids and known pairs remembered at most, each (default 100,000). */
  maxEntries?: number
}

interface Failures {
  count: number
  at: number
}

/** A Map that forgets its least recently touched entry past `max`. */
function boundedMap<V>(max: number) {
  const map = new Map<string, V>()
  return {
    get: (k: string) => map.get(k),
    set(k: string, v: V) {
      map.delete(k)
      map.set(k, v)
      if (map.size > max) {
        const oldest = map.keys().next().value
        if (oldest !== undefined) map.delete(oldest)
      }
    },
    delete: (k: string) => map.delete(k),
  }
}

export function createGuessingThrottle(clock: Clock, options: GuessingOptions = {}): GuessingThrottle {
  const free = options.freeFailures ?? 5
  const base = options.baseDelayMs ?? 100
  const max = options.maxDelayMs ?? 5000
  const halfLife = options.halfLifeMs ?? 60_000
  const entries = options.maxEntries ?? 100_000
  const byAddress = boundedMap<Failures>(entries)
  const byId = boundedMap<Failures>(entries)
  const known = boundedMap<true>(entries)
  /** Checks in flight per address, counted only for addresses past their free failures. */
  const inFlight = new Map<string, number>()
  const begin = (address: string) => inFlight.set(address, (inFlight.get(address) ?? 0) + 1)
  const end = (address: string) => {
    const n = (inFlight.get(address) ?? 0) - 1
    if (n <= 0) inFlight.delete(address)
    else inFlight.set(address, n)
  }

  const decayed = (f: Failures | undefined, now: number) =>
    f === undefined ? 0 : f.count * 2 ** (-(now - f.at) / halfLife)
  const delayOf = (count: number) => {
    if (count <= free) return 0
    return Math.min(max, Math.round(base * 2 ** Math.min(30, count - free - 1)))
  }
  const bump = (map: ReturnType<typeof boundedMap<Failures>>, key: string, now: number) => {
    const count = decayed(map.get(key), now) + 1
    map.set(key, { count, at: now })
    return count
  }

  return {
    waitBeforeCheck(address, id) {
      const checkNow = () => {
        begin(address)
        return 0
      }
      if (known.get(`${address}\u0000${id}`) !== undefined) return checkNow()
      const now = clock.now()
      const f = byAddress.get(address)
      if (f === undefined) return checkNow()
      const delay = delayOf(decayed(f, now))
      const wait = f.at + delay - now
      // Past its free failures an address has one check at a time: guesses sent without
      // waiting for their (late) answers are refused unchecked.
      const busy = delay > 0 && (inFlight.get(address) ?? 0) > 0
      if (wait <= 0 && !busy) return checkNow()
      bump(byAddress, address, now)
      return Math.max(wait, delay, 1)
    },
    abandoned: end,
    failed(address, id) {
      end(address)
      const now = clock.now()
      const a = bump(byAddress, address, now)
      const i = bump(byId, id, now)
      return Math.max(delayOf(a), delayOf(i))
    },
    succeeded(address, id) {
      end(address)
      known.set(`${address}\u0000${id}`, true)
      byId.delete(id)
    },
  }
}

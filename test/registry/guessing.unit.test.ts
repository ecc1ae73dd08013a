/** The guessing throttle on the injected clock: back-off per address and per claimed id, never a lockout. */
import { describe, expect, it } from 'vitest'
import { createGuessingThrottle } from '../../services/registry/index.ts'
import { createManualClock } from '../../services/shared/index.ts'

const T0 = Date.UTC(2026, 11, 2, 4, 0, 0)

describe('the guessing throttle', () => {
  it('answers the first failures at once, then doubles the delay up to its cap', () => {
    const clock = createManualClock(T0)
    const g = createGuessingThrottle(clock, { freeFailures: 3, baseDelayMs: 100, maxDelayMs: 1000 })
    const delays: number[] = []
    for (let i = 0; i < 8; i++) {
      expect(g.waitBeforeCheck('10.0.0.1', 'd-1')).toBe(0)
      const d = g.failed('10.0.0.1', 'd-1')
      delays.push(d)
      clock.advance(d) // a guesser who waits for each answer
    }
    expect(delays.slice(0, 3)).toEqual([0, 0, 0])
    expect(delays[3]).toBeGreaterThanOrEqual(90)
    expect(delays[4]).toBeGreaterThan(delays[3]!)
    expect(Math.max(...delays)).toBe(1000)
  })

  it('refuses unchecked inside the address’s wait and beside its check in flight', () => {
    const clock = createManualClock(T0)
    const g = createGuessingThrottle(clock, { freeFailures: 2, baseDelayMs: 500 })
    for (let i = 0; i < 3; i++) {
      g.waitBeforeCheck('10.0.0.2', 'd-1')
      g.failed('10.0.0.2', 'd-1')
    }
    expect(g.waitBeforeCheck('10.0.0.2', 'd-1')).toBeGreaterThan(0)
    clock.advance(5000)
    expect(g.waitBeforeCheck('10.0.0.2', 'd-1')).toBe(0) // one check in flight…
    expect(g.waitBeforeCheck('10.0.0.2', 'd-2')).toBeGreaterThan(0) // …and no second beside it
    g.abandoned('10.0.0.2')
  })

  it('never slows the right secret from another address, nor an address that signed in as the id before', () => {
    const clock = createManualClock(T0)
    const g = createGuessingThrottle(clock, { freeFailures: 1, baseDelayMs: 1000 })
    g.waitBeforeCheck('10.0.0.9', 'd-1')
    g.succeeded('10.0.0.9', 'd-1') // the device's own NAT address, known
    for (let i = 0; i < 6; i++) {
      g.waitBeforeCheck('10.0.0.9', 'd-bad')
      g.failed('10.0.0.9', 'd-bad') // an attacker behind the same NAT
    }
    expect(g.waitBeforeCheck('10.0.0.9', 'd-bad')).toBeGreaterThan(0)
    expect(g.waitBeforeCheck('10.0.0.9', 'd-1')).toBe(0)
    g.succeeded('10.0.0.9', 'd-1')
    expect(g.waitBeforeCheck('192.0.2.7', 'd-bad')).toBe(0) // elsewhere: checked at once
  })

  it('forgets failures by itself (half-life), so a quiet address is back to normal', () => {
    const clock = createManualClock(T0)
    const g = createGuessingThrottle(clock, { freeFailures: 2, baseDelayMs: 100, halfLifeMs: 60_000 })
    for (let i = 0; i < 6; i++) {
      g.waitBeforeCheck('10.0.0.3', 'd-1')
      g.failed('10.0.0.3', 'd-1')
    }
    clock.advance(10 * 60_000)
    expect(g.waitBeforeCheck('10.0.0.3', 'd-1')).toBe(0)
    expect(g.failed('10.0.0.3', 'd-1')).toBe(0)
  })

  it('unknown ids and wrong secrets back off alike, and the maps stay bounded', () => {
    const clock = createManualClock(T0)
    const g = createGuessingThrottle(clock, { freeFailures: 0, baseDelayMs: 100, maxEntries: 100 })
    expect(g.failed('10.0.0.4', 'no-such-device')).toBe(g.failed('10.0.0.5', 'd-real'))
    for (let i = 0; i < 10_000; i++) g.failed(`10.1.${i >> 8}.${i & 255}`, `id-${i}`)
    // The oldest addresses were forgotten: the first one is checked at once again.
    expect(g.waitBeforeCheck('10.0.0.4', 'no-such-device')).toBe(0)
  })
})

/**
 * The spool's bound and shedding order (services/spool/bound.ts), on a depth the test sets and
 * a ManualClock: QoS 0 shed from half the bound, readiness lost at 80 % and back under 70 %,
 * QoS 1 waiting at the bound and released once the depth is under it, given up at the stop.
 */
import client from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createManualClock } from '../../services/shared/index.ts'
import { createSpoolBound } from '../../services/spool/index.ts'

function world(asynchronous = false) {
  const clock = createManualClock()
  let depth = 0
  let behind = false
  let asked = 0
  const metrics = new client.Registry()
  const bound = createSpoolBound({
    source: {
      depth: () => {
        asked++
        return asynchronous ? Promise.resolve(depth) : depth
      },
      behind: () => behind,
    },
    maxPoints: 1000,
    clock,
    pollMs: 100,
    metrics,
  })
  return {
    bound,
    clock,
    metrics,
    setDepth: (d: number) => {
      depth = d
    },
    setBehind: (b: boolean) => {
      behind = b
    },
    asked: () => asked,
  }
}

const flush = () => new Promise((r) => setImmediate(r))

describe('the spool bound', () => {
  it('keeps everything below half the bound, sheds QoS 0 from half of it and keeps QoS 1 until the bound', () => {
    const { bound, setDepth } = world()
    setDepth(499)
    expect(bound.telemetry(0)).toBe('keep')
    expect(bound.telemetry(1)).toBe('keep')
    setDepth(500)
    expect(bound.telemetry(0)).toBe('shed')
    expect(bound.telemetry(1)).toBe('keep')
    setDepth(999)
    expect(bound.telemetry(1)).toBe('keep')
    bound.stop()
  })

  it('sheds QoS 0 while a spool thread is behind what it was given, whatever the depth, and keeps QoS 1', () => {
    const { bound, setDepth, setBehind } = world()
    setDepth(10)
    setBehind(true)
    expect(bound.telemetry(0)).toBe('shed')
    expect(bound.telemetry(1)).toBe('keep')
    expect(bound.roomy()).toBe(true)
    setBehind(false)
    expect(bound.telemetry(0)).toBe('keep')
  })

  it('is not ready from 80 % of the bound and ready again only under 70 %', () => {
    const { bound, setDepth } = world()
    setDepth(799)
    expect(bound.roomy()).toBe(true)
    setDepth(800)
    expect(bound.roomy()).toBe(false)
    setDepth(700)
    expect(bound.roomy()).toBe(false)
    setDepth(699)
    expect(bound.roomy()).toBe(true)
    bound.stop()
  })

  it('holds QoS 1 at the bound until the depth is under it, counting the waiting messages', async () => {
    const { bound, clock, metrics, setDepth } = world()
    await flush()
    setDepth(1000)
    const released: number[] = []
    const waits = [0, 1, 2].map((i) => {
      const w = bound.telemetry(1)
      expect(w).toBeInstanceOf(Promise)
      return (w as Promise<void>).then(() => released.push(i))
    })
    expect(bound.waiting()).toBe(3)
    expect(await metrics.getSingleMetricAsString('firecircle_spool_waiting_messages')).toContain(
      'firecircle_spool_waiting_messages 3',
    )
    clock.advance(500)
    await flush()
    expect(released).toEqual([])
    // A clock moved by a month at once looks once, not once per 100 ms.
    const before = clock.pending()
    clock.advance(31 * 24 * 3600_000)
    expect(clock.pending()).toBe(before - 1)
    await flush()
    expect(clock.pending()).toBe(before)
    setDepth(999)
    clock.advance(100)
    await Promise.all(waits)
    expect(released).toEqual([0, 1, 2])
    expect(bound.waiting()).toBe(0)
    bound.stop()
  })

  it('samples an asynchronous depth (a cluster’s spool) on its period, never per message', async () => {
    const { bound, clock, setDepth, asked } = world(true)
    await flush() // the first look has settled and armed the next
    setDepth(900)
    expect(bound.telemetry(0)).toBe('keep') // not looked at yet
    clock.advance(100)
    await flush()
    expect(bound.telemetry(0)).toBe('shed')
    expect(bound.roomy()).toBe(false)
    // A cluster's depth is a query: the decisions between two looks ask nothing.
    const looks = asked()
    for (let i = 0; i < 1000; i++) bound.telemetry(i % 2 === 0 ? 0 : 1)
    bound.roomy()
    expect(asked()).toBe(looks)
    clock.advance(100)
    expect(asked()).toBe(looks + 1)
    bound.stop()
  })

  it('gives up the waiting messages at the stop (they are not acknowledged)', async () => {
    const { bound, setDepth } = world()
    setDepth(1000)
    const w = bound.telemetry(1) as Promise<void>
    bound.stop()
    await expect(w).rejects.toThrow(/stopping/)
    await expect(bound.telemetry(1) as Promise<void>).rejects.toThrow(/stopping/)
  })
})

/**
 * The coverage watch on the injected clock: a community that falls below
 * FC_COVERAGE_WARNING_SHARE is announced once (`dispatch.coverage`, state `below`), stays
 * quiet while it stays below, and is restored only at the threshold plus the margin
 * (hysteresis), as responders go on and off duty and move.
 */
import client from 'prom-client'
import { describe, expect, it, vi } from 'vitest'
import { createCoverageWatch } from '../../services/dispatch/coverage-watch.ts'
import { DEFAULT_ETA_PARAMS } from '../../services/dispatch/eta.ts'
import { createResponderIndex } from '../../services/dispatch/responder-index.ts'
import type { CoverageChange } from '../../services/dispatch/types.ts'
import { createEventBus } from '../../services/events/index.ts'
import { createManualClock } from '../../services/shared/clock.ts'

const P = [113.865, 22.575] as const
const P2 = [113.885, 22.575] as const // ~2 km east of P: out of a walker's 5 minutes
const Q = [113.865, 22.62] as const // ~5 km north

// 18 buildings at P, one at P2, one at Q: a walker at P covers 18 of 20 (0.9).
const buildings = [
  ...Array.from({ length: 18 }, (_, k) => ({ at: [P[0] + k * 1e-5, P[1]] })),
  { at: [P2[0], P2[1]] },
  { at: [Q[0], Q[1]] },
].map((b, k) => ({ id: `b${k}`, name: `b${k}`, location: b.at as [number, number], community: 'c1' }))

const registry = {
  community: (id: string) => (id === 'c1' ? ({ id, street: 's1' } as never) : undefined),
  communities: () => [{ id: 'c1', street: 's1' }] as never[],
  listBuildings: async (_filter: unknown, page: { limit: number; offset: number }) => ({
    items: buildings.slice(page.offset, page.offset + page.limit) as never[],
    total: buildings.length,
    limit: page.limit,
    offset: page.offset,
  }),
}

function world() {
  const clock = createManualClock(Date.UTC(2026, 11, 2, 2, 0))
  const index = createResponderIndex(DEFAULT_ETA_PARAMS, undefined, { clock, maxAgeMs: 30 * 60_000 })
  const events = createEventBus((err) => {
    throw err
  })
  const seen: CoverageChange[] = []
  events.on({}, 'dispatch.coverage', (c) => seen.push(c))
  const metrics = new client.Registry()
  const watch = createCoverageWatch({ index, registry, clock, events, metrics, intervalMs: 30_000 })
  const walker = (id: string, at: readonly [number, number], onDuty: boolean) =>
    index.upsert({ id, type: 'volunteer', mode: 'foot', onDuty, location: { lon: at[0], lat: at[1], ts: 0 } })
  return { clock, index, watch, seen, walker, metrics }
}

describe('the coverage watch', () => {
  it('warns once when a community falls below 90 %, and restores it only at 95 %', async () => {
    const { watch, seen, walker, metrics } = world()
    walker('a', P, true)
    walker('b', P2, false)
    // 18 of 20 = 0.9: not below the threshold.
    expect(await watch.check()).toEqual([])
    walker('a', P, false)
    const [below] = await watch.check()
    expect(below).toEqual({
      community: 'c1',
      street: 's1',
      state: 'below',
      share: 0,
      buildings: 20,
      covered: 0,
      threshold: 0.9,
      at: Date.UTC(2026, 11, 2, 2, 0),
    })
    expect(watch.below().map((c) => c.id)).toEqual(['c1'])
    // Still below: said once.
    expect(await watch.check()).toEqual([])
    // Back to 0.9: at the threshold, inside the margin — still warned, nothing said.
    walker('a', P, true)
    expect(await watch.check()).toEqual([])
    expect(watch.below().map((c) => c.share)).toEqual([0.9])
    // 19 of 20 = 0.95: restored.
    walker('b', P2, true)
    const [restored] = await watch.check()
    expect(restored).toMatchObject({ community: 'c1', state: 'restored', share: 0.95, covered: 19 })
    expect(watch.below()).toEqual([])
    expect(seen.map((c) => c.state)).toEqual(['below', 'restored'])
    expect(await metrics.getSingleMetricAsString('firecircle_coverage_share')).toContain(
      'firecircle_coverage_share{community="c1"} 0.95',
    )
  })

  it('counts a busy responder and a stale live position as not there', async () => {
    const { watch, index, walker, clock } = world()
    walker('a', P, true)
    walker('b', P2, true)
    expect(await watch.check()).toEqual([])
    index.setBusy('a', 'fire-1')
    expect((await watch.check()).map((c) => c.state)).toEqual(['below'])
    index.setBusy('a', undefined)
    expect((await watch.check()).map((c) => c.state)).toEqual(['restored'])
    // a's app reports from P; 30 min later without a fix it no longer counts.
    index.move('a', P[0], P[1], clock.now())
    clock.advance(30 * 60_000 + 1)
    expect((await watch.check()).map((c) => c.state)).toEqual(['below'])
  })

  it('measures on its own every interval once started, and not after stop', async () => {
    const { watch, seen, walker, clock } = world()
    walker('a', P, false)
    watch.start()
    clock.advance(0) // the first pass is due at once
    await vi.waitFor(() => expect(seen.map((c) => c.state)).toEqual(['below']))
    walker('a', P, true)
    walker('b', P2, true)
    clock.advance(29_999)
    await new Promise((r) => setImmediate(r))
    expect(seen).toHaveLength(1)
    clock.advance(1)
    await vi.waitFor(() => expect(seen.map((c) => c.state)).toEqual(['below', 'restored']))
    watch.stop()
    walker('a', P, false)
    clock.advance(60_000)
    await watch.check() // a pass asked for by hand still runs …
    expect(seen.map((c) => c.state)).toEqual(['below', 'restored', 'below'])
    clock.advance(120_000)
    expect(clock.pending()).toBe(0) // … but no timer is left
  })
})

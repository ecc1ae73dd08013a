/**
 * The responder index against a brute-force scan: for random populations (random modes, duty,
 * busy, types), after random moves (some of them stale), registrations, mode changes and
 * removals, `within()` answers the same ids in the same order with the same ETAs as scanning
 * every responder with eta.ts. Populations sit around random centres, including the
 * antimeridian, high latitudes and the poles, where the candidate boxes are hardest.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  EARTH_RADIUS_M,
  type EtaParams,
  etaParams,
  etaSeconds,
  haversineM,
  withinLimit,
} from '../../services/dispatch/eta.ts'
import {
  createResponderIndex,
  type ResponderState,
  type WithinFilter,
} from '../../services/dispatch/responder-index.ts'
import {
  RESPONDER_TYPES,
  type ResponderType,
  TRAVEL_MODES,
  type TravelMode,
} from '../../services/registry/types.ts'

const RAD = Math.PI / 180

/** A point `d` metres from (lon, lat) along `bearing`, on the sphere, wrapped into range. */
function offset(lon: number, lat: number, d: number, bearing: number): [number, number] {
  const phi = lat * RAD
  const lam = lon * RAD
  const th = bearing * RAD
  const delta = d / EARTH_RADIUS_M
  const c = [Math.cos(phi) * Math.cos(lam), Math.cos(phi) * Math.sin(lam), Math.sin(phi)]
  const n = [-Math.sin(phi) * Math.cos(lam), -Math.sin(phi) * Math.sin(lam), Math.cos(phi)]
  const e = [-Math.sin(lam), Math.cos(lam), 0]
  const p = [0, 1, 2].map(
    (i) => Math.cos(delta) * c[i]! + Math.sin(delta) * (Math.cos(th) * n[i]! + Math.sin(th) * e[i]!),
  ) as [number, number, number]
  return [Math.atan2(p[1], p[0]) / RAD, Math.atan2(p[2], Math.hypot(p[0], p[1])) / RAD]
}

interface Model {
  id: string
  type: ResponderType
  mode: TravelMode
  onDuty: boolean
  busy: boolean
  lon?: number
  lat?: number
  ts: number
}

function bruteForce(
  population: Iterable<Model>,
  params: EtaParams,
  lon: number,
  lat: number,
  limit: number,
  filter: WithinFilter,
): [string, number][] {
  const out: [string, number][] = []
  for (const r of population) {
    if (r.lon === undefined || r.lat === undefined) continue
    if (filter.onDuty !== undefined && r.onDuty !== filter.onDuty) continue
    if (filter.busy !== undefined && r.busy !== filter.busy) continue
    if (filter.types && !filter.types.includes(r.type)) continue
    if (filter.modes && !filter.modes.includes(r.mode)) continue
    const eta = etaSeconds(haversineM(lon, lat, r.lon, r.lat), r.mode, params)
    if (withinLimit(eta, limit)) out.push([r.id, eta])
  }
  return out.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

// ---- arbitraries

const lonAny = fc.double({ min: -180, max: 180, noNaN: true })
const centre = fc.oneof(
  fc.record({ lon: lonAny, lat: fc.double({ min: -85, max: 85, noNaN: true }) }),
  // High latitudes: longitude degrees shrink, caps reach the pole.
  fc
    .record({
      lon: lonAny,
      lat: fc.double({ min: 55, max: 89.999, noNaN: true }),
      south: fc.boolean(),
    })
    .map(({ lon, lat, south }) => ({ lon, lat: south ? -lat : lat })),
  // Beside the antimeridian, on either side.
  fc
    .record({
      off: fc.double({ min: 0, max: 0.05, noNaN: true }),
      west: fc.boolean(),
      lat: fc.double({ min: -80, max: 80, noNaN: true }),
    })
    .map(({ off, west, lat }) => ({ lon: west ? -180 + off : 180 - off, lat })),
  fc.constantFrom(
    { lon: 113.85, lat: 22.6 },
    { lon: 179.999, lat: 0 },
    { lon: -179.9995, lat: 65 },
    { lon: 180, lat: -80 },
    { lon: -180, lat: 45 },
    { lon: 15.6, lat: 80 },
    { lon: 40, lat: 89.99 },
    { lon: -120, lat: -89.995 },
    { lon: 0, lat: 90 },
  ),
)
/** Where a responder is, relative to the scene: mostly within a few km, some exactly at the scene. */
const spot = fc.oneof(
  {
    weight: 8,
    // Unbiased: fast-check's doubles otherwise cluster at the bounds (bearings 0 and ±180 only).
    arbitrary: fc.noBias(
      fc.record({
        d: fc.double({ min: 0, max: 2000, noNaN: true }),
        b: fc.double({ min: -180, max: 180, noNaN: true }),
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({ d: fc.constantFrom(0, 1, 2000), b: fc.constantFrom(0, 90, -90, 180) }),
  },
)
const responder = fc.record({
  type: fc.constantFrom(...RESPONDER_TYPES),
  mode: fc.constantFrom(...TRAVEL_MODES),
  onDuty: fc.boolean(),
  busy: fc.boolean(),
  located: fc.oneof(
    { weight: 4, arbitrary: fc.constant(true) },
    { weight: 1, arbitrary: fc.constant(false) },
  ),
  spot,
})
type Person = typeof responder extends fc.Arbitrary<infer T> ? T : never
const op = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('move' as const),
      who: fc.nat(),
      spot,
      dt: fc.integer({ min: -3, max: 5 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('busy' as const), who: fc.nat(), busy: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('mode' as const),
      who: fc.nat(),
      mode: fc.constantFrom(...TRAVEL_MODES),
      onDuty: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), who: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('add' as const), r: responder }) },
)
const filter: fc.Arbitrary<WithinFilter> = fc.oneof(
  fc.constant({}),
  fc.constant({ onDuty: true }),
  fc.constant({ onDuty: true, busy: false }),
  fc.record({ types: fc.subarray([...RESPONDER_TYPES], { minLength: 1 }) }),
  fc.record({ modes: fc.subarray([...TRAVEL_MODES], { minLength: 1 }), busy: fc.boolean() }),
)

describe('responder index = brute force', () => {
  it('answers what a scan answers, for random populations after random moves (fast-check)', () => {
    fc.assert(
      fc.property(
        centre,
        fc.array(responder, { minLength: 0, maxLength: 80 }),
        fc.array(op, { maxLength: 80 }),
        fc.array(fc.record({ spot, limit: fc.constantFrom(30, 60, 90, 180, 300, 450, 600, 1200), filter }), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.boolean(),
        fc.boolean(),
        (c, people, ops, queries, bulk, customParams) => {
          const params: EtaParams = customParams
            ? etaParams({
                circuity: 1.1,
                modes: { foot: { speedMps: 2, turnoutS: 0 }, motor: { turnoutS: 120 } },
              })
            : etaParams()
          const index = createResponderIndex(params)
          const model = new Map<string, Model>()
          let next = 0
          const add = (r: Person, ts: number) => {
            const id = `r${String(next++).padStart(3, '0')}`
            const m: Model = {
              id,
              type: r.type,
              mode: r.mode,
              onDuty: r.onDuty,
              busy: false,
              ts: Number.NEGATIVE_INFINITY,
            }
            if (r.located) {
              ;[m.lon, m.lat] = offset(c.lon, c.lat, r.spot.d, r.spot.b)
              m.ts = ts
            }
            model.set(id, m)
            return { m, busy: r.busy }
          }
          const info = (m: Model) => ({
            id: m.id,
            type: m.type,
            mode: m.mode,
            onDuty: m.onDuty,
            ...(m.lon !== undefined && m.lat !== undefined
              ? { location: { lon: m.lon, lat: m.lat, ts: m.ts } }
              : {}),
          })
          const start = people.map((r) => add(r, 100))
          if (bulk) index.upsertMany(start.map(({ m }) => info(m)))
          else for (const { m } of start) index.upsert(info(m))
          for (const { m, busy } of start) {
            if (busy) {
              m.busy = true
              index.setBusy(m.id, 'inc-1')
            }
          }

          let t = 100
          for (const o of ops) {
            const ids = [...model.keys()]
            const who = ids.length > 0 ? (ids[('who' in o ? o.who : 0) % ids.length] as string) : undefined
            const m = who === undefined ? undefined : model.get(who)
            if (o.kind === 'add') {
              const { m: added } = add(o.r, t)
              index.upsert(info(added))
            } else if (m === undefined) {
              expect(index.move('nobody', 0, 0, t)).toBe('unknown')
            } else if (o.kind === 'move') {
              const ts = t + o.dt
              t += 1
              const [lon, lat] = offset(c.lon, c.lat, o.spot.d, o.spot.b)
              const outcome = index.move(m.id, lon, lat, ts)
              if (ts < m.ts) expect(outcome).toBe('stale')
              else {
                expect(outcome).toBe('moved')
                m.lon = lon
                m.lat = lat
                m.ts = ts
              }
            } else if (o.kind === 'busy') {
              m.busy = o.busy
              index.setBusy(m.id, o.busy ? 'inc-2' : undefined)
            } else if (o.kind === 'mode') {
              m.mode = o.mode
              m.onDuty = o.onDuty
              // Details only: the position held is kept.
              index.upsert({ id: m.id, type: m.type, mode: m.mode, onDuty: m.onDuty })
            } else {
              model.delete(m.id)
              expect(index.remove(m.id)).toBe(true)
            }
          }

          expect(index.size).toBe(model.size)
          expect(index.located).toBe([...model.values()].filter((m) => m.lon !== undefined).length)
          for (const q of queries) {
            const [lon, lat] = offset(c.lon, c.lat, q.spot.d / 3, q.spot.b)
            const got = index.within(lon, lat, q.limit, q.filter).map((r) => [r.id, r.eta_s])
            expect(got).toEqual(bruteForce(model.values(), params, lon, lat, q.limit, q.filter))
          }
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('responder index', () => {
  const base = { type: 'volunteer' as const, mode: 'foot' as const, onDuty: true }

  it('ignores a location older than the last one, and takes an equal or newer one', () => {
    const index = createResponderIndex()
    index.upsert({ id: 'v1', ...base, location: { lon: 113.85, lat: 22.6, ts: 1000 } })
    expect(index.move('v1', 113.86, 22.61, 999)).toBe('stale')
    expect(index.get('v1')).toMatchObject({ lon: 113.85, lat: 22.6, ts: 1000 })
    expect(index.within(113.85, 22.6, 60).map((r) => r.id)).toEqual(['v1'])
    expect(index.move('v1', 113.851, 22.6, 1000)).toBe('moved')
    expect(index.move('v1', 113.852, 22.6, 2000)).toBe('moved')
    expect(index.get('v1')).toMatchObject({ lon: 113.852, ts: 2000 })
    // A registered location older than the live one does not move it back either.
    index.upsert({ id: 'v1', ...base, location: { lon: 0, lat: 0, ts: 1500 } })
    expect(index.get('v1')).toMatchObject({ lon: 113.852, lat: 22.6, ts: 2000 })
    expect(index.within(0, 0, 600)).toEqual([])
  })

  it('ignores unknown responders and out-of-range positions', () => {
    const index = createResponderIndex()
    expect(index.move('ghost', 113.85, 22.6, 1)).toBe('unknown')
    index.upsert({ id: 'v1', ...base })
    expect(index.located).toBe(0)
    expect(index.within(113.85, 22.6, 300)).toEqual([])
    for (const [lon, lat] of [
      [181, 0],
      [0, -90.5],
      [Number.NaN, 0],
      [0, Number.POSITIVE_INFINITY],
    ] as const) {
      expect(index.move('v1', lon, lat, 5)).toBe('invalid')
    }
    expect(index.move('v1', 113.85, 22.6, Number.NaN)).toBe('invalid')
    expect(index.located).toBe(0)
    expect(() => index.upsert({ id: 'v2', ...base, location: { lon: 200, lat: 0, ts: 1 } })).toThrow(
      RangeError,
    )
    expect(index.get('v2')).toBeUndefined()
    expect(() => index.within(0, 91, 300)).toThrow(RangeError)
  })

  it('keeps busy and position across an upsert; moves a responder between modes; forgets on remove', () => {
    const index = createResponderIndex()
    index.upsert({
      id: 'a',
      ...base,
      name: 'A',
      building: 'b-1',
      location: { lon: 113.85, lat: 22.601, ts: 1 },
    })
    index.setBusy('a', 'inc-9')
    index.upsert({ id: 'a', ...base, mode: 'motor', onDuty: true })
    const [a] = index.within(113.85, 22.6, 300)
    expect(a).toMatchObject({
      id: 'a',
      mode: 'motor',
      busy: true,
      incident: 'inc-9',
      lon: 113.85,
      lat: 22.601,
    })
    expect(a).not.toHaveProperty('building')
    expect(a!.eta_s).toBeCloseTo(60 + (a!.distance_m * 1.3) / 8.3, 9)
    expect(index.within(113.85, 22.6, 300, { busy: false })).toEqual([])
    expect(index.within(113.85, 22.6, 300, { modes: ['foot'] })).toEqual([])
    expect(index.setBusy('a', undefined)).toBe(true)
    expect(index.get('a')).not.toHaveProperty('incident')
    expect(index.setBusy('zz', 'inc-1')).toBe(false)
    expect(index.remove('a')).toBe(true)
    expect(index.remove('a')).toBe(false)
    expect(index.within(113.85, 22.6, 300)).toEqual([])
    expect(index.size).toBe(0)
  })

  it('sorts by ETA, then id', () => {
    const index = createResponderIndex()
    for (const id of ['c', 'a', 'b']) index.upsert({ id, ...base, location: { lon: 10, lat: 10.001, ts: 0 } })
    index.upsert({ id: 'z', ...base, location: { lon: 10, lat: 10.0005, ts: 0 } })
    expect(index.within(10, 10, 300).map((r) => r.id)).toEqual(['z', 'a', 'b', 'c'])
  })

  it('takes the same responder twice in one bulk load', () => {
    const index = createResponderIndex()
    index.upsertMany([
      { id: 'a', ...base, location: { lon: 10, lat: 10, ts: 1 } },
      { id: 'a', ...base, mode: 'motor', location: { lon: 10, lat: 10.001, ts: 2 } },
    ])
    expect(index.within(10, 10, 300).map((r) => [r.id, r.mode, r.lat])).toEqual([['a', 'motor', 10.001]])
    index.move('a', 10, 10.002, 3)
    expect(index.within(10, 10, 300).map((r) => r.lat)).toEqual([10.002])
  })

  it('hands out copies, not its own entries', () => {
    const index = createResponderIndex()
    index.upsert({ id: 'a', ...base, location: { lon: 10, lat: 10, ts: 1 } })
    const r = index.get('a') as ResponderState & { lon: number }
    ;(r as { lon: number }).lon = 50
    expect(index.get('a')?.lon).toBe(10)
    expect(index.within(10, 10, 60)).toHaveLength(1)
  })
})

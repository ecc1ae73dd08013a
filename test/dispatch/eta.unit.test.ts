/**
 * The circle's arithmetic and geometry against ground truth: responders placed 1 m inside,
 * exactly on, and 1 m outside each mode's reach radius, at every 15° of bearing, at the
 * equator, Bao'an, 60°N, 80°N, 45°S, across the antimeridian and next to the pole
 * (test/fixtures/fire-circle/boundary.json). Membership is the index's ETA arithmetic.
 *
 * Placement is the direct problem on the sphere (R = 6,371,008.8 m) in vector form, exact to
 * ~1e-11 everywhere. Turf's `destination` agrees to a few nm at 80° but loses ~10 µm next to
 * the pole (it takes asin of a number close to 1): more than the 1e-9 boundary tolerance,
 * so it cannot place a point "exactly on" the circle there. It still places the polygon test.
 */
import fs from 'node:fs'
import path from 'node:path'
import { booleanPointInPolygon, destination, distance, point } from '@turf/turf'
import { describe, expect, it } from 'vitest'
import { fireCircle } from '../../services/dispatch/circle.ts'
import {
  DEFAULT_ETA_PARAMS,
  EARTH_RADIUS_M,
  ETA_TOLERANCE,
  etaParams,
  etaSeconds,
  haversineM,
  reachable,
  reachRadiusM,
  withinLimit,
} from '../../services/dispatch/eta.ts'
import { capBoxes, createResponderIndex } from '../../services/dispatch/responder-index.ts'
import { TRAVEL_MODES, type TravelMode } from '../../services/registry/types.ts'

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/fire-circle')
const fixture = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')) as T

interface Centre {
  name: string
  lon: number
  lat: number
}
const boundary = fixture<{
  limit_s: number
  bearing_step_deg: number
  offset_m: number
  centres: Centre[]
}>('boundary.json')
const radii = fixture<{
  radii: { limit_s: number; mode: TravelMode; radius_m: number }[]
  etas: { distance_m: number; mode: TravelMode; eta_s: number }[]
}>('radii.json')
const misses = fixture<{
  limit_s: number
  centre: { lon: number; lat: number }
  cases: {
    mode: TravelMode
    bearing_deg: number
    inside_by_m: number
    in_polygon: boolean
    in_circle: boolean
  }[]
}>('polygon-misses.json')

const RAD = Math.PI / 180

/** The point `distanceM` from a centre along `bearing` (degrees from north), as [lon, lat] in range. */
function place(c: { lon: number; lat: number }, distanceM: number, bearing: number): [number, number] {
  const phi = c.lat * RAD
  const lam = c.lon * RAD
  const th = bearing * RAD
  const delta = distanceM / EARTH_RADIUS_M
  const centre = [Math.cos(phi) * Math.cos(lam), Math.cos(phi) * Math.sin(lam), Math.sin(phi)]
  const north = [-Math.sin(phi) * Math.cos(lam), -Math.sin(phi) * Math.sin(lam), Math.cos(phi)]
  const east = [-Math.sin(lam), Math.cos(lam), 0]
  const p = [0, 1, 2].map(
    (i) =>
      Math.cos(delta) * centre[i]! + Math.sin(delta) * (Math.cos(th) * north[i]! + Math.sin(th) * east[i]!),
  ) as [number, number, number]
  return [Math.atan2(p[1], p[0]) / RAD, Math.atan2(p[2], Math.hypot(p[0], p[1])) / RAD]
}

/** Turf's placement (for the polygon test, away from the poles and the antimeridian). */
function turfPlace(c: { lon: number; lat: number }, distanceM: number, bearing: number): [number, number] {
  return destination([c.lon, c.lat], distanceM, bearing, { units: 'meters' }).geometry.coordinates as [
    number,
    number,
  ]
}

describe('eta arithmetic', () => {
  it('places ground truth exactly where Turf does, away from the pole', () => {
    for (const c of [
      { lon: 113.85, lat: 22.6 },
      { lon: 15.6, lat: 80 },
      { lon: 170.5, lat: -45 },
    ]) {
      for (const b of [0, 33, 90, 200]) {
        const [a1, b1] = place(c, 1000, b)
        const [a2, b2] = turfPlace(c, 1000, b)
        expect(haversineM(a1, b1, a2, b2)).toBeLessThan(1e-6)
      }
    }
  })

  it('measures with Turf’s sphere', () => {
    expect(EARTH_RADIUS_M).toBe(6_371_008.8)
    const pairs: [number, number, number, number][] = [
      [113.85, 22.6, 113.86, 22.61],
      [0, 0, 0, 1],
      [179.999, 10, -179.999, 10.001],
      [15.6, 80, 16.6, 80.2],
      [-70, -45, 110, 45],
    ]
    for (const [a, b, c, d] of pairs) {
      const turf = distance([a, b], [c, d], { units: 'meters' })
      expect(Math.abs(haversineM(a, b, c, d) - turf)).toBeLessThanOrEqual(turf * 1e-12 + 1e-9)
    }
    // One degree of latitude.
    expect(haversineM(0, 0, 0, 1)).toBeCloseTo((Math.PI / 180) * EARTH_RADIUS_M, 6)
    // The antimeridian is crossed the short way.
    expect(haversineM(179.9995, 0, -179.9995, 0)).toBeCloseTo(haversineM(0, 0, 0.001, 0), 6)
  })

  it('computes ETAs and reach radii as docs/DOMAIN.md (fixture radii.json)', () => {
    for (const r of radii.radii) {
      expect(reachRadiusM(r.limit_s, r.mode), `${r.mode} ${r.limit_s}s`).toBeCloseTo(r.radius_m, 9)
    }
    for (const e of radii.etas) {
      expect(etaSeconds(e.distance_m, e.mode), `${e.mode} ${e.distance_m}m`).toBeCloseTo(e.eta_s, 9)
    }
  })

  it('puts a responder at exactly the reach radius at exactly the limit', () => {
    for (const mode of TRAVEL_MODES) {
      for (const limit of [60, 300, 450, 600, 3600]) {
        const r = reachRadiusM(limit, mode)
        if (r === 0) continue
        expect(withinLimit(etaSeconds(r, mode), limit)).toBe(true)
        // 1 mm further is outside: the tolerance is far below anything physical.
        expect(withinLimit(etaSeconds(r + 0.001, mode), limit)).toBe(false)
      }
    }
    expect(ETA_TOLERANCE).toBe(1e-9)
  })

  it('reaches nobody of a mode whose turnout exceeds the limit, and only the centre at the turnout', () => {
    expect(reachable(59, 'motor')).toBe(false)
    expect(reachable(60, 'motor')).toBe(true)
    expect(reachRadiusM(60, 'motor')).toBe(0)
    const index = createResponderIndex()
    index.upsert({
      id: 'm0',
      type: 'fire_station',
      mode: 'motor',
      onDuty: true,
      location: { lon: 10, lat: 50, ts: 1 },
    })
    index.upsert({
      id: 'm1',
      type: 'fire_station',
      mode: 'motor',
      onDuty: true,
      location: { lon: 10, lat: 50.00001, ts: 1 },
    })
    expect(index.within(10, 50, 59).map((r) => r.id)).toEqual([])
    expect(index.within(10, 50, 60).map((r) => r.id)).toEqual(['m0'])
  })

  it('takes parameters, checked, over the defaults', () => {
    const p = etaParams({ circuity: 1.5, modes: { foot: { speedMps: 2 } } })
    expect(p.modes.foot).toEqual({ speedMps: 2, turnoutS: 30 })
    expect(p.modes.motor).toEqual(DEFAULT_ETA_PARAMS.modes.motor)
    expect(etaSeconds(300, 'foot', p)).toBeCloseTo(30 + (300 * 1.5) / 2, 12)
    expect(reachRadiusM(300, 'foot', p)).toBeCloseTo((270 * 2) / 1.5, 12)
    expect(() => etaParams({ circuity: 0.9 })).toThrow(/circuity/)
    expect(() => etaParams({ modes: { bicycle: { speedMps: 0 } } })).toThrow(/bicycle\.speedMps/)
    expect(() => etaParams({ modes: { motor: { turnoutS: Number.NaN } } })).toThrow(/motor\.turnoutS/)
  })
})

describe('candidate boxes', () => {
  it('is one box in the open, widened at high latitude', () => {
    const [b22] = capBoxes(113.85, 22.6, 1000)
    const [b80] = capBoxes(15.6, 80, 1000)
    expect(capBoxes(113.85, 22.6, 1000)).toHaveLength(1)
    const width = (b: { minX: number; maxX: number }) => b.maxX - b.minX
    // Longitude degrees shrink with cos(lat): the box is ~5.3× wider at 80°N than at 22.6°N.
    expect(width(b80!) / width(b22!)).toBeCloseTo(
      Math.cos((22.6 * Math.PI) / 180) / Math.cos((80 * Math.PI) / 180),
      3,
    )
  })

  it('splits at the antimeridian, and spans every longitude around a pole', () => {
    const east = capBoxes(179.999, 0, 1532)
    expect(east).toHaveLength(2)
    expect(east[0]!.maxX).toBe(180)
    expect(east[1]!.minX).toBe(-180)
    expect(east[1]!.maxX).toBeGreaterThan(-179.99)
    const west = capBoxes(-179.9995, 65, 1532)
    expect(west).toHaveLength(2)
    const pole = capBoxes(40, 89.995, 1532)
    expect(pole).toEqual([{ minX: -180, minY: expect.any(Number), maxX: 180, maxY: 90 }])
  })
})

describe('ground truth: 1 m inside, on, 1 m outside each radius (fixture boundary.json)', () => {
  const { limit_s: limit, bearing_step_deg: step, offset_m: offset } = boundary
  for (const c of boundary.centres) {
    it(`${c.name}: finds exactly the inside and on-boundary responders`, () => {
      const index = createResponderIndex()
      const expected: string[] = []
      let n = 0
      for (const mode of TRAVEL_MODES) {
        const r = reachRadiusM(limit, mode)
        for (let bearing = -180; bearing < 180; bearing += step) {
          for (const [where, d, inside] of [
            ['in', r - offset, true],
            ['on', r, true],
            ['out', r + offset, false],
          ] as const) {
            const id = `${mode}-${where}-${bearing}`
            const [lon, lat] = place(c, d, bearing)
            index.upsert({ id, type: 'volunteer', mode, onDuty: true, location: { lon, lat, ts: n++ } })
            if (inside) expected.push(id)
          }
        }
      }
      const found = index.within(c.lon, c.lat, limit)
      expect(found.map((x) => x.id).sort()).toEqual(expected.sort())
      for (const x of found) expect(x.eta_s).toBeLessThanOrEqual(limit * (1 + ETA_TOLERANCE))
      // Nearest ETA first.
      for (let i = 1; i < found.length; i++)
        expect(found[i]!.eta_s).toBeGreaterThanOrEqual(found[i - 1]!.eta_s)
    })
  }
})

describe('the drawn polygon is not the circle (fixture polygon-misses.json)', () => {
  it('misses points just inside the true circle that the index finds', () => {
    const { centre, limit_s: limit } = misses
    const circle = fireCircle(centre.lon, centre.lat, limit, DEFAULT_ETA_PARAMS, [])
    const index = createResponderIndex()
    for (const [i, k] of misses.cases.entries()) {
      const r = reachRadiusM(limit, k.mode)
      const [lon, lat] = turfPlace(centre, r - k.inside_by_m, k.bearing_deg)
      const polygon = circle.features.find(
        (f) => f.geometry.type === 'Polygon' && f.properties.mode === k.mode,
      )
      expect(polygon, k.mode).toBeDefined()
      expect(booleanPointInPolygon(point([lon, lat]), polygon as never), `case ${i} in polygon`).toBe(
        k.in_polygon,
      )
      index.upsert({
        id: `case-${i}`,
        type: 'volunteer',
        mode: k.mode,
        onDuty: true,
        location: { lon, lat, ts: 0 },
      })
    }
    const found = new Set(index.within(centre.lon, centre.lat, limit).map((r) => r.id))
    for (const [i, k] of misses.cases.entries())
      expect(found.has(`case-${i}`), `case ${i} in circle`).toBe(k.in_circle)
    // The fact itself: at least one point is inside the circle and outside its polygon.
    expect(misses.cases.some((k) => k.in_circle && !k.in_polygon)).toBe(true)
  })

  it('draws one 64-step polygon per mode, largest first, and the responders inside as points', () => {
    const index = createResponderIndex()
    index.upsert({
      id: 'a',
      name: 'Ann',
      type: 'micro_station',
      mode: 'foot',
      onDuty: true,
      location: { lon: 113.851, lat: 22.6, ts: 0 },
    })
    index.upsert({
      id: 'b',
      type: 'grid_staff',
      mode: 'motor',
      onDuty: true,
      location: { lon: 113.86, lat: 22.6, ts: 0 },
    })
    const fc = fireCircle(113.85, 22.6, 300, DEFAULT_ETA_PARAMS, index.within(113.85, 22.6, 300))
    const polygons = fc.features.filter((f) => f.geometry.type === 'Polygon')
    expect(polygons.map((f) => f.properties)).toEqual([
      { mode: 'motor', radius_m: 1532.3, limit_s: 300 },
      { mode: 'bicycle', radius_m: 872.3, limit_s: 300 },
      { mode: 'foot', radius_m: 290.8, limit_s: 300 },
    ])
    for (const p of polygons) {
      expect((p.geometry as { coordinates: number[][][] }).coordinates[0]).toHaveLength(65)
    }
    const points = fc.features.filter((f) => f.geometry.type === 'Point')
    expect(points.map((f) => f.properties)).toEqual([
      { id: 'a', name: 'Ann', type: 'micro_station', mode: 'foot', eta_s: 125.3, distance_m: 102.7 },
      { id: 'b', type: 'grid_staff', mode: 'motor', eta_s: 220.8, distance_m: 1026.6 },
    ])
    // No polygon for a mode that cannot arrive in time.
    const short = fireCircle(113.85, 22.6, 45, DEFAULT_ETA_PARAMS, [])
    expect(short.features.map((f) => f.properties)).toEqual([
      { mode: 'bicycle', radius_m: 48.5, limit_s: 45 },
      { mode: 'foot', radius_m: 16.2, limit_s: 45 },
    ])
  })
})

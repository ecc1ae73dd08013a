/**
 * The district generator against the seed's figures ([docs/DOMAIN.md §The place and its people]):
 *
 * - 124 communities in 10 streets, every community 3.2 km² ± 0.1 % by Turf's `area` (the
 *   generator sizes each grid row so that the area is exact; 0.1 % allows for rounding);
 * - the communities lie in 113.75–113.95 E, 22.53–22.80 N and do not overlap: no community's
 *   centroid lies inside another, and neighbours (touching bounding boxes) intersect in less
 *   than 1 m² (Turf `intersect`: shared edges only);
 * - 10,419 responders, 32–378 per community (the extremes reached), ≈ 84 per community;
 * - every building, device and responder lies inside its own community (booleanPointInPolygon);
 * - the same seed gives the identical district, another seed another one.
 */
import { area, booleanPointInPolygon, centroid, featureCollection, intersect } from '@turf/turf'
import { beforeAll, describe, expect, it } from 'vitest'
import { KINDS } from '../../devices/catalogue.ts'
import {
  BAOAN_BBOX,
  type District,
  describeDistrict,
  generateDistrict,
  responderCounts,
  spread,
} from '../../simulator/district.ts'

/** Relative tolerance of a community's area around 3.2 km². */
const AREA_TOLERANCE = 0.001

describe('generateDistrict (default: Bao’an’s figures)', () => {
  let d: District
  beforeAll(() => {
    d = generateDistrict({ seed: 42 })
  })

  it('has 124 communities in 10 streets, each street a contiguous block of 12 or 13', () => {
    expect(d.communities).toHaveLength(124)
    expect(d.streets).toHaveLength(10)
    expect(new Set(d.communities.map((c) => c.id)).size).toBe(124)
    for (const s of d.streets) {
      expect(s.communities.length).toBeGreaterThanOrEqual(12)
      expect(s.communities.length).toBeLessThanOrEqual(13)
      for (const id of s.communities) expect(d.communities.find((c) => c.id === id)?.street).toBe(s.id)
    }
    expect(d.streets.flatMap((s) => s.communities).sort()).toEqual(d.communities.map((c) => c.id).sort())
  })

  it(`makes every community 3.2 km² ± ${AREA_TOLERANCE * 100} % (Turf area)`, () => {
    for (const c of d.communities) {
      const km2 = area(c.feature) / 1e6
      expect(Math.abs(km2 - 3.2) / 3.2, c.id).toBeLessThanOrEqual(AREA_TOLERANCE)
    }
    const total = d.communities.reduce((s, c) => s + area(c.feature), 0) / 1e6
    expect(total).toBeCloseTo(124 * 3.2, 1)
  })

  it('keeps every community inside 113.75–113.95 E, 22.53–22.80 N', () => {
    const [w, s, e, n] = BAOAN_BBOX
    for (const c of d.communities) {
      for (const [lon, lat] of c.feature.geometry.coordinates[0]!) {
        expect(lon).toBeGreaterThanOrEqual(w)
        expect(lon).toBeLessThanOrEqual(e)
        expect(lat).toBeGreaterThanOrEqual(s)
        expect(lat).toBeLessThanOrEqual(n)
      }
    }
  })

  it('has communities that do not overlap (at most shared edges)', () => {
    const cs = d.communities
    for (let i = 0; i < cs.length; i++) {
      const a = cs[i]!
      // No community's centroid lies in another one.
      const mid = centroid(a.feature)
      for (let j = 0; j < cs.length; j++) {
        if (i !== j) expect(booleanPointInPolygon(mid, cs[j]!.feature, { ignoreBoundary: true })).toBe(false)
      }
      // Neighbours (touching bounding boxes) share no area.
      for (let j = i + 1; j < cs.length; j++) {
        const b = cs[j]!
        const touch =
          a.bbox[0] <= b.bbox[2] && b.bbox[0] <= a.bbox[2] && a.bbox[1] <= b.bbox[3] && b.bbox[1] <= a.bbox[3]
        if (!touch) continue
        const common = intersect(featureCollection([a.feature, b.feature]))
        const shared = common === null ? 0 : area(common)
        expect(shared, `${a.id} ∩ ${b.id}`).toBeLessThan(1) // m²: edges only
      }
    }
  })

  it('spreads 10,419 responders 32–378 per community, the extremes reached', () => {
    expect(d.responders).toHaveLength(10_419)
    const per = new Map<string, number>()
    for (const r of d.responders) per.set(r.community, (per.get(r.community) ?? 0) + 1)
    const counts = d.communities.map((c) => per.get(c.id) ?? 0)
    expect(Math.min(...counts)).toBe(32)
    expect(Math.max(...counts)).toBe(378)
    expect(counts.reduce((s, x) => s + x, 0)).toBe(10_419)
    // 10,419 / 396.8 km² ≈ 26 per km² on average (the seed's 65 per km² is the built-up part).
    const perKm2 = 10_419 / (124 * 3.2)
    expect(perKm2).toBeCloseTo(26.3, 1)
    expect(new Set(d.responders.map((r) => r.id)).size).toBe(10_419)
  })

  it('gives responders every type and sensible travel modes', () => {
    const about = describeDistrict(d)
    for (const t of ['micro_station', 'fire_station', 'grid_staff', 'security_guard', 'volunteer'] as const)
      expect(about.byType[t], t).toBeGreaterThan(0)
    for (const r of d.responders) {
      if (r.type === 'fire_station') expect(r.mode).toBe('motor')
      if (r.type === 'security_guard') expect(r.building).toBeDefined()
    }
  })

  it('registers 20,000 devices by kind, most of them behind gateways, actuators direct', () => {
    const about = describeDistrict(d)
    expect(about.devices).toBe(20_000)
    expect(about.gateways).toBeGreaterThan(0)
    expect(about.behindGateways).toBeGreaterThan(about.direct)
    // A fire panel's UITD speaks GB/T 26875.3, not MQTT: the simulated district has none yet.
    for (const kind of Object.keys(KINDS).filter((k) => k !== 'uitd'))
      expect(about.byKind[kind as keyof typeof KINDS], kind).toBeGreaterThan(0)
    const ids = new Set<string>()
    const gateways = new Set(d.devices.filter((x) => x.kind === 'gateway').map((x) => x.id))
    for (const x of d.devices) {
      expect(ids.has(x.id)).toBe(false)
      ids.add(x.id)
      expect(x.id.length).toBeLessThanOrEqual(64)
      if (['sounder', 'gas_valve', 'door_release', 'gateway'].includes(x.kind))
        expect(x.gateway).toBeUndefined()
      if (x.gateway !== undefined) expect(gateways.has(x.gateway)).toBe(true)
    }
    // Gateways come first, so that they can be registered before the devices they carry.
    const firstDevice = d.devices.findIndex((x) => x.kind !== 'gateway')
    expect(d.devices.slice(firstDevice).some((x) => x.kind === 'gateway')).toBe(false)
  })

  it('puts every building, device and responder inside its own community', () => {
    const byId = new Map(d.communities.map((c) => [c.id, c]))
    const buildings = new Map(d.buildings.map((b) => [b.id, b]))
    for (const b of d.buildings)
      expect(booleanPointInPolygon(b.location, byId.get(b.community)!.feature), b.id).toBe(true)
    for (const x of d.devices) {
      expect(buildings.get(x.building)?.community).toBe(x.community)
      expect(booleanPointInPolygon(x.location, byId.get(x.community)!.feature), x.id).toBe(true)
    }
    for (const r of d.responders) {
      expect(booleanPointInPolygon(r.location, byId.get(r.community)!.feature), r.id).toBe(true)
      if (r.building !== undefined) expect(buildings.get(r.building)?.community).toBe(r.community)
    }
  })

  it('is the same for the same seed and different for another', () => {
    expect(generateDistrict({ seed: 42 })).toEqual(d)
    const other = generateDistrict({ seed: 43 })
    expect(other.communities.map((c) => c.feature)).toEqual(d.communities.map((c) => c.feature))
    expect(other.buildings).not.toEqual(d.buildings)
    expect(other.responders).not.toEqual(d.responders)
    expect(other.devices).not.toEqual(d.devices)
  })
})

describe('generateDistrict (small and large)', () => {
  it('builds a small district that the end-to-end test and the demo use', () => {
    const d = generateDistrict({ seed: 1, communities: 3, streets: 2, devices: 300, responders: 120 })
    expect(d.communities).toHaveLength(3)
    expect(d.streets).toHaveLength(2)
    expect(d.devices.filter((x) => x.kind !== 'gateway')).toHaveLength(300)
    expect(d.responders).toHaveLength(120)
    for (const type of ['factory', 'shop', 'home'])
      expect(d.buildings.some((b) => b.type === type)).toBe(true)
  })

  it('refuses what cannot be built, naming the figure', () => {
    expect(() => generateDistrict({ seed: 1, devices: 100 })).toThrow(/devices: 100 is too few/)
    expect(() => generateDistrict({ seed: 1, devices: 2_000_000 })).toThrow(/devices must be/)
  })

  it('spreads counts exactly within bounds', () => {
    const xs = spread(1000, [1, 2, 3, 4], 10, 500)
    expect(xs.reduce((s, x) => s + x, 0)).toBe(1000)
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(10)
    const rs = responderCounts(1200, [1, 1.5, 0.7, 2, 0.9, 1.1, 3, 0.5], 32, 378)
    expect(rs.reduce((s, x) => s + x, 0)).toBe(1200)
    expect(Math.min(...rs)).toBe(32)
    expect(Math.max(...rs)).toBe(378)
  })
})

/**
 * The circle's isochrones on roads: each mode's polygon holds every responder the search puts
 * inside, none it puts outside, and nothing across the river (the bridge is 1.5 km south).
 */
import { booleanPointInPolygon } from '@turf/turf'
import type { Feature, MultiPolygon, Polygon } from 'geojson'
import { describe, expect, it } from 'vitest'
import { roadCircle } from '../../services/dispatch/circle.ts'
import { DEFAULT_ETA_PARAMS } from '../../services/dispatch/eta.ts'
import { createResponderIndex, type ResponderInfo } from '../../services/dispatch/responder-index.ts'
import { buildRoadNetwork, GraphBuilder, isochrone, readGeoJson } from '../../services/roads/index.ts'
import { frame, riverWays, roadsGeoJson, street } from '../support/roads.ts'

const f = frame([113.865, 22.575])

function riverTown() {
  // The river with one bridge, and side streets on each bank every 200 m.
  const ways = [...riverWays()]
  for (let y = -1800; y <= 400; y += 200) {
    ways.push(street([-600, y], [-100, y]))
    ways.push(street([150, y], [650, y]))
  }
  const b = new GraphBuilder()
  readGeoJson(JSON.stringify(roadsGeoJson(f, ways)), b)
  return buildRoadNetwork(b, { speeds: { foot: 1.4, bicycle: 4.2, motor: 8.3 }, snapM: 500 })
}

/** A deterministic scatter of responders over both banks (a small LCG: the same every run). */
function scatter(n: number): ResponderInfo[] {
  let s = 18
  const rnd = () => {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648
    return s / 2_147_483_648
  }
  const modes = ['foot', 'bicycle', 'motor'] as const
  return Array.from({ length: n }, (_, k) => {
    const [lon, lat] = f.at(-700 + rnd() * 1450, -2000 + rnd() * 2500)
    return {
      id: `r${k}`,
      type: 'volunteer',
      mode: modes[k % 3]!,
      onDuty: true,
      location: { lon, lat, ts: 1 },
    }
  })
}

describe('the isochrones of the circle on roads', () => {
  const roads = riverTown()
  const index = createResponderIndex(DEFAULT_ETA_PARAMS, roads)
  const people = scatter(900)
  index.upsertMany(people)
  const [lon, lat] = f.at(-60, 0)
  const eastOf = (r: { lon: number; lat: number }) => r.lon > f.at(100, 0)[0]

  it('holds every responder the search puts inside, none it puts outside, none across the river', () => {
    const circle = roadCircle(lon, lat, 300, index, roads, undefined)
    const shapes = circle.features.filter((x) => x.geometry.type !== 'Point') as Feature<
      Polygon | MultiPolygon
    >[]
    expect(shapes.map((s) => (s.properties as { mode: string }).mode).sort()).toEqual([
      'bicycle',
      'foot',
      'motor',
    ])
    const inside = new Set(index.within(lon, lat, 300).map((r) => r.id))
    expect(inside.size).toBeGreaterThan(20)
    let across = 0
    for (const shape of shapes) {
      const mode = (shape.properties as { mode: string }).mode
      for (const r of people.filter((p) => p.mode === mode)) {
        const pt = [r.location!.lon, r.location!.lat]
        const held = booleanPointInPolygon(pt, shape)
        expect(held, `${r.id} (${mode}) ${inside.has(r.id) ? 'inside' : 'outside'}`).toBe(inside.has(r.id))
        if (eastOf({ lon: pt[0]!, lat: pt[1]! }) && r.location!.lat > f.at(0, -1000)[1]) {
          across++
          expect(held).toBe(false)
        }
      }
    }
    expect(across).toBeGreaterThan(50)
    // The points are the responders inside, with their road metres.
    const points = circle.features.filter((x) => x.geometry.type === 'Point')
    expect(points).toHaveLength(inside.size)
    expect(points.every((p) => typeof (p.properties as { road_m?: number }).road_m === 'number')).toBe(true)
  })

  it('follows the roads by itself: drawn with no responder given, nothing across the river', () => {
    const reach = roads.reach('foot', lon, lat, 570)!
    const shape = isochrone(roads, reach, 270)!
    expect(['Polygon', 'MultiPolygon']).toContain(shape.type)
    // Along the west bank street it reaches 250 m down, across the river it reaches nothing.
    expect(booleanPointInPolygon(f.at(-100, -250), shape)).toBe(true)
    for (let y = -800; y <= 400; y += 50) {
      for (const x of [150, 200, 300])
        expect(booleanPointInPolygon(f.at(x, y), shape), `${x}, ${y}`).toBe(false)
    }
  })
})

/**
 * The simulator's road network loads as FC_ROAD_NETWORK and has the district's shape: the
 * river is crossed only at its bridges (and by walkers at footbridges), the expressway only at
 * its underpasses and interchanges, and the default Bao'an network has ≥ 200,000 edges.
 */

import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildRoadNetwork, GraphBuilder, loadRoadNetwork, readGeoJson } from '../../services/roads/index.ts'
import { BAOAN_BBOX, generateDistrict } from '../../simulator/district.ts'
import { generateRoads } from '../../simulator/roads.ts'

const speeds = { foot: 1.4, bicycle: 4.2, motor: 8.3 }
const load = (doc: unknown) => {
  const b = new GraphBuilder()
  readGeoJson(JSON.stringify(doc), b)
  return { b, net: buildRoadNetwork(b, { speeds, snapM: 500 }) }
}

describe('the district road network', () => {
  const bbox = [113.86, 22.57, 113.896, 22.6] as [number, number, number, number]
  const doc = generateRoads({ bbox, gridM: 100, bridges: 1 })
  const { net } = load(doc)
  const river = doc.features.find((f) => f.properties.highway === 'footway')!.geometry.coordinates
  const [westBank, eastBank] = [river[0]!, river[river.length - 1]!]

  it('is the same for the same seed', () => {
    expect(JSON.stringify(generateRoads({ bbox, gridM: 100, bridges: 1 }))).toBe(JSON.stringify(doc))
  })

  it('crosses the river by the footbridge on foot, and only by the bridge by car', () => {
    const foot = net
      .reach('foot', eastBank[0], eastBank[1], 3600)!
      .route(net.snap('foot', westBank[0], westBank[1])!)!
    const car = net
      .reach('motor', eastBank[0], eastBank[1], 3600)!
      .route(net.snap('motor', westBank[0], westBank[1])!)!
    const gap = foot.lengthM
    expect(gap).toBeLessThan(300)
    // The one bridge is in the middle of the box, the footbridges away from it: a detour.
    expect(car.lengthM).toBeGreaterThan(gap * 3)
  })

  it('gives Bao’an ≥ 200,000 edges at the default grid', () => {
    const big = generateRoads({ bbox: BAOAN_BBOX })
    const b = new GraphBuilder()
    readGeoJson(JSON.stringify(big), b)
    expect(b.edgeCount).toBeGreaterThanOrEqual(200_000)
  })

  it('ships an example file that serves the demo’s district: every building on the roads, reachable', async () => {
    const file = path.resolve(import.meta.dirname, '../../examples/roads-small.geojson')
    const { network } = await loadRoadNetwork(file, { speeds, snapM: 500 })
    // The district npm run demo registers (simulator/demo.ts).
    const d = generateDistrict({ seed: 1, communities: 4, streets: 2, devices: 400, responders: 240 })
    const [first, ...rest] = d.buildings
    for (const b of rest) {
      const reach = network.reach('motor', b.location[0], b.location[1], 3600)
      expect(reach, b.id).toBeDefined()
      expect(reach!.route(network.snap('motor', first!.location[0], first!.location[1])!), b.id).toBeDefined()
    }
  })
})

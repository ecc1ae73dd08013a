/**
 * GET /api/roads?bbox=: the road network as simplified GeoJSON for the console's offline base
 * layer — its shape, the box it answers for, the bound on its size (major classes first), and
 * {error, message} 400s for a bad box, 404 without a road network.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildRoadNetwork, GraphBuilder, readGeoJson, roadLines } from '../../services/roads/index.ts'
import { frame, roadsGeoJson, street, writeRoads } from '../support/roads.ts'
import { must, startTestService, type TestService } from '../support/service.ts'
import { tempDir } from '../support/tmp.ts'

const f = frame([113.865, 22.575])
// A primary road east–west (21 segments of 50 m) and a residential street north–south (11).
const ways = [street([-500, 0], [550, 0], 'primary'), street([0, -250], [0, 300], 'residential')]
const [lo0, la0] = f.at(-1000, -1000)
const [lo1, la1] = f.at(1000, 1000)
const all = `${lo0},${la0},${lo1},${la1}`

describe('GET /api/roads', () => {
  const tmp = tempDir('firecircle-roads-route-')
  let roads: TestService
  let plain: TestService

  beforeAll(async () => {
    const file = writeRoads(tmp.dir, 'cross.geojson', roadsGeoJson(f, ways))
    ;[roads, plain] = await Promise.all([
      startTestService({ env: { FC_ROAD_NETWORK: file } }),
      startTestService(),
    ])
  })
  afterAll(async () => {
    await Promise.all([roads?.stop(), plain?.stop()])
    tmp.cleanup()
  })

  it('answers the roads in the box as one MultiLineString per class, major classes first', async () => {
    const body = must(await roads.api.get(`/api/roads?bbox=${all}`), 200)
    expect(body).toMatchObject({ type: 'FeatureCollection', truncated: false, segments: 32 })
    expect(body.features.map((x: { properties: unknown }) => x.properties)).toEqual([
      { class: 'primary', segments: 21 },
      { class: 'residential', segments: 11 },
    ])
    const primary = body.features[0].geometry
    expect(primary.type).toBe('MultiLineString')
    for (const line of primary.coordinates) {
      expect(line).toHaveLength(2)
      for (const [lon, lat] of line) {
        expect(Math.round(lon * 1e5) / 1e5).toBe(lon) // five decimals, about a metre
        expect(Math.abs(lat - f.origin[1])).toBeLessThan(1e-5)
      }
    }
  })

  it('answers only what crosses the box', async () => {
    // A box north of the primary road: only the residential street's northern part.
    const [a, b] = f.at(-100, 60)
    const [c, d] = f.at(100, 400)
    const body = must(await roads.api.get(`/api/roads?bbox=${a},${b},${c},${d}`), 200)
    expect(body.features.map((x: { properties: { class: string } }) => x.properties.class)).toEqual([
      'residential',
    ])
    expect(body.segments).toBe(5) // 50–100 m (it crosses the box's edge) … 250–300 m
    const far = f.at(5000, 5000)
    const empty = must(
      await roads.api.get(`/api/roads?bbox=${far[0]},${far[1]},${far[0] + 0.01},${far[1] + 0.01}`),
      200,
    )
    expect(empty).toMatchObject({ segments: 0, truncated: false, features: [] })
  })

  it.each([
    ['', /bbox is required/],
    ['?bbox=1,2,3', /four numbers/],
    ['?bbox=a,b,c,d', /four numbers/],
    ['?bbox=113.9,22.5,113.8,22.6', /minimum must be below/],
    ['?bbox=113,22,114.5,23', /wider than 1°/],
    ['?bbox=-181,0,-180,1', /outside longitude/],
  ])('refuses a bad box %j with a 400 {error, message}', async (query, why) => {
    const r = await roads.api.get(`/api/roads${query}`)
    expect(r.status).toBe(400)
    expect(r.body).toEqual({ error: 'bad_request', message: expect.stringMatching(why) })
  })

  it('answers 404 without a road network, and 401 without a token', async () => {
    const r = await plain.api.get(`/api/roads?bbox=${all}`)
    expect(r.status).toBe(404)
    expect(r.body).toEqual({ error: 'not_found', message: expect.stringMatching(/FC_ROAD_NETWORK/) })
    const anon = await fetch(`${roads.base}/api/roads?bbox=${all}`)
    expect(anon.status).toBe(401)
  })
})

describe('roadLines', () => {
  it('stays within its bound: the minor classes are left out first, and it says so', () => {
    const b = new GraphBuilder()
    readGeoJson(JSON.stringify(roadsGeoJson(f, ways)), b)
    const network = buildRoadNetwork(b, { speeds: { foot: 1.4, bicycle: 4.2, motor: 8.3 }, snapM: 500 })
    const box = [lo0, la0, lo1, la1] as [number, number, number, number]
    const bounded = roadLines(network.graph, box, 25)
    expect(bounded.truncated).toBe(true)
    expect(bounded.segments).toBe(21)
    expect(bounded.features.map((x) => x.properties.class)).toEqual(['primary'])
    expect(roadLines(network.graph, box, 32).truncated).toBe(false)
  })
})

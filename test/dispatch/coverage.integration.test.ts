/**
 * GET /api/coverage on a fixture whose answer is known by hand: the river town (one bridge
 * 1.5 km south), two communities, buildings on both banks, responders on duty and off, and a
 * live position gone stale. Straight line and roads disagree exactly across the river.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { coverageOf } from '../../services/dispatch/coverage.ts'
import { DEFAULT_ETA_PARAMS } from '../../services/dispatch/eta.ts'
import { createResponderIndex } from '../../services/dispatch/responder-index.ts'
import { buildRoadNetwork, GraphBuilder, readGeoJson } from '../../services/roads/index.ts'
import { createManualClock } from '../../services/shared/clock.ts'
import { frame, riverWays, roadsGeoJson, street, writeRoads } from '../support/roads.ts'
import { must, registerResponder, startTestService, type TestService } from '../support/service.ts'
import { openStream, type SseStream } from '../support/sse.ts'
import { tempDir } from '../support/tmp.ts'

const f = frame([113.865, 22.575])
const box = (x0: number, y0: number, x1: number, y1: number) => [
  [f.at(x0, y0), f.at(x1, y0), f.at(x1, y1), f.at(x0, y1), f.at(x0, y0)],
]
const communities = [
  { id: 'west-bank', street: 'riverside', area: box(-700, -2100, 20, 600) },
  { id: 'east-bank', street: 'riverside', area: box(20, -2100, 700, 600) },
]
// Known by hand, with one foot responder on duty at (−100, 0) on the west bank street:
const buildings = [
  { id: 'w-near', at: [-100, -100], covered: true }, // 100 m down the street: 30 + 71 s
  { id: 'w-side', at: [-300, 0], covered: true }, // 200 m off the street, inside its snap: 30 + 143 s
  { id: 'w-far', at: [-100, -1000], covered: false }, // 1 km down: 30 + 714 s
  { id: 'e-across', at: [160, 0], covered: false }, // 260 m over the water, 3.3 km by road
  { id: 'e-north', at: [160, 300], covered: false },
] as const

describe('GET /api/coverage', () => {
  const tmp = tempDir('firecircle-coverage-')
  let roads: TestService
  let plain: TestService

  async function district(svc: TestService) {
    for (const c of communities) {
      must(
        await svc.api.post('/api/communities', {
          type: 'Feature',
          properties: { id: c.id, name: c.id, street: c.street },
          geometry: { type: 'Polygon', coordinates: c.area },
        }),
        201,
      )
    }
    for (const b of buildings) {
      must(
        await svc.api.post('/api/buildings', {
          id: b.id,
          name: `building ${b.id}`,
          location: f.at(b.at[0], b.at[1]),
          responsible: { name: 'Li' },
        }),
        201,
      )
    }
    await registerResponder(svc.api, {
      id: 'walker',
      name: 'walker',
      type: 'volunteer',
      mode: 'foot',
      onDuty: true,
      location: f.at(-100, 0),
    })
    // Off duty, beside the far building: not available.
    await registerResponder(svc.api, {
      id: 'resting',
      name: 'resting',
      type: 'volunteer',
      mode: 'foot',
      onDuty: false,
      location: f.at(-100, -1000),
    })
  }

  beforeAll(async () => {
    const file = writeRoads(tmp.dir, 'river.geojson', roadsGeoJson(f, riverWays()))
    ;[roads, plain] = await Promise.all([
      startTestService({ env: { FC_ROAD_NETWORK: file } }),
      startTestService(),
    ])
    await Promise.all([district(roads), district(plain)])
  })
  afterAll(async () => {
    await Promise.all([roads?.stop(), plain?.stop()])
    tmp.cleanup()
  })

  it('answers the share per community along the roads, with the uncovered buildings as GeoJSON', async () => {
    const west = must(await roads.api.get('/api/coverage?scope=community:west-bank'), 200)
    expect(west).toEqual({
      scope: 'community:west-bank',
      share: 2 / 3,
      communities: [{ id: 'west-bank', buildings: 3, covered: 2, share: 2 / 3 }],
      uncovered: {
        type: 'FeatureCollection',
        features: [
          {
            type: 'Feature',
            geometry: { type: 'Point', coordinates: f.at(-100, -1000) },
            properties: { id: 'w-far', name: 'building w-far', community: 'west-bank' },
          },
        ],
      },
    })
    const east = must(await roads.api.get('/api/coverage?scope=community:east-bank'), 200)
    expect(east.share).toBe(0)
    expect(
      east.uncovered.features.map((x: { properties: { id: string } }) => x.properties.id).sort(),
    ).toEqual(['e-across', 'e-north'])
    const street = must(await roads.api.get('/api/coverage?scope=street:riverside'), 200)
    expect(street.share).toBeCloseTo(2 / 5, 12)
    expect(street.communities.map((c: { id: string }) => c.id)).toEqual(['east-bank', 'west-bank'])
  })

  it('says the straight line would have covered the bank across the water', async () => {
    const east = must(await plain.api.get('/api/coverage?scope=community:east-bank'), 200)
    // 260 m × 1.3 at 1.4 m/s + 30 s = 271 s: "covered" by a walker who would need 40 minutes.
    expect(east.communities[0]).toMatchObject({ id: 'east-bank', buildings: 2, covered: 1 })
  })

  it('refuses a scope that is not one (400) and a community that does not exist (404)', async () => {
    expect((await roads.api.get('/api/coverage?scope=planet:earth')).status).toBe(400)
    expect((await roads.api.get('/api/coverage?scope=community:atlantis')).status).toBe(404)
  })
})

describe('coverage counts only fresh positions', () => {
  it('drops a live position older than the maximum age, keeps a registered one', async () => {
    const b = new GraphBuilder()
    readGeoJson(JSON.stringify(roadsGeoJson(f, riverWays())), b)
    const roads = buildRoadNetwork(b, { speeds: { foot: 1.4, bicycle: 4.2, motor: 8.3 }, snapM: 500 })
    const index = createResponderIndex(DEFAULT_ETA_PARAMS, roads)
    const now = 10 * 3_600_000
    index.upsert({ id: 'app', type: 'volunteer', mode: 'foot', onDuty: true })
    const [lon, lat] = f.at(-100, -50)
    index.move('app', lon, lat, now - 31 * 60_000)
    const registry = {
      community: (id: string) => (id === 'west-bank' ? ({ id, street: 'riverside' } as never) : undefined),
      communities: () => [],
      listBuildings: async () => ({
        items: [{ id: 'b', name: 'b', location: f.at(-100, -100), community: 'west-bank' } as never],
        total: 1,
        limit: 1000,
        offset: 0,
      }),
    }
    const deps = { index, registry, clock: { now: () => now } }
    const scope = { level: 'community', community: 'west-bank' } as const
    expect((await coverageOf(deps, 'community:west-bank', scope)).share).toBe(0)
    index.move('app', lon, lat, now - 29 * 60_000)
    expect((await coverageOf(deps, 'community:west-bank', scope)).share).toBe(1)
    // A registered location (a post, a station) is not a stale report: it counts whatever its age.
    index.upsert({ id: 'post', type: 'volunteer', mode: 'foot', onDuty: true, location: { lon, lat, ts: 0 } })
    index.remove('app')
    expect((await coverageOf(deps, 'community:west-bank', scope)).share).toBe(1)
  })
})

describe('coverage on roads: one forward search per mode', () => {
  it('covers exactly the buildings the circle’s own search (within, per building) finds someone for', async () => {
    const ways = [...riverWays()]
    for (let y = -1800; y <= 400; y += 200) {
      ways.push(street([-600, y], [-100, y]), street([150, y], [650, y]))
    }
    ways.push({ ...street([150, 450], [650, 450]), oneway: 'yes' })
    const b = new GraphBuilder()
    readGeoJson(JSON.stringify(roadsGeoJson(f, ways)), b)
    const roads = buildRoadNetwork(b, { speeds: { foot: 1.4, bicycle: 4.2, motor: 8.3 }, snapM: 500 })
    const index = createResponderIndex(DEFAULT_ETA_PARAMS, roads)
    let s = 5
    const rnd = () => {
      s = (s * 16_807) % 2_147_483_647
      return s / 2_147_483_647
    }
    // Walkers and a rider: a town partly covered.
    const modes = ['foot', 'foot', 'foot', 'foot', 'foot', 'bicycle'] as const
    for (let k = 0; k < 12; k++) {
      const [lon, lat] = f.at(-700 + rnd() * 1450, -2000 + rnd() * 2500)
      index.upsert({
        id: `r${k}`,
        type: 'volunteer',
        mode: modes[k % 6]!,
        onDuty: rnd() < 0.8,
        location: { lon, lat, ts: 0 },
      })
    }
    index.setBusy('r3', 'some-fire')
    const buildings = Array.from({ length: 400 }, (_, k) => ({
      id: `b${k}`,
      name: `b${k}`,
      location: f.at(-700 + rnd() * 1450, -2000 + rnd() * 2500),
      community: 'town',
    }))
    const registry = {
      community: (id: string) => (id === 'town' ? ({ id, street: 's' } as never) : undefined),
      communities: () => [],
      listBuildings: async () => ({
        items: buildings as never[],
        total: buildings.length,
        limit: 1000,
        offset: 0,
      }),
    }
    const cov = await coverageOf({ index, registry, clock: { now: () => 0 } }, 'community:town', {
      level: 'community',
      community: 'town',
    })
    const uncovered = new Set(cov.uncovered.features.map((x) => x.properties.id))
    const byWithin = buildings.filter(
      (x) => index.within(x.location[0], x.location[1], 300, { onDuty: true, busy: false }).length === 0,
    )
    expect([...uncovered].sort()).toEqual(byWithin.map((x) => x.id).sort())
    // Neither all nor nothing: the comparison means something.
    expect(cov.share, JSON.stringify(cov.communities)).toBeGreaterThan(0.05)
    expect(cov.share, JSON.stringify(cov.communities)).toBeLessThan(0.95)
  })
})

describe('the coverage watch in the service', () => {
  it('tells the officers on the stream when a community falls below FC_COVERAGE_WARNING_SHARE', async () => {
    const clock = createManualClock(Date.now())
    const svc = await startTestService({ clock, env: { FC_COVERAGE_WARNING_SHARE: '0.5' } })
    const officerStream: SseStream[] = []
    try {
      const c = communities[0]!
      must(
        await svc.api.post('/api/communities', {
          type: 'Feature',
          properties: { id: c.id, name: c.id, street: c.street },
          geometry: { type: 'Polygon', coordinates: c.area },
        }),
        201,
      )
      for (const b of buildings.filter((x) => x.id.startsWith('w-'))) {
        must(
          await svc.api.post('/api/buildings', {
            id: b.id,
            name: `building ${b.id}`,
            location: f.at(b.at[0], b.at[1]),
            responsible: { name: 'Li' },
          }),
          201,
        )
      }
      const { token } = must(
        await svc.api.post('/api/officers', { id: 'duty-w', name: 'duty', scope: 'street:riverside' }),
        201,
      )
      const stream = await openStream(`${svc.base}/api/stream`, token)
      officerStream.push(stream)
      // No responder at all: nobody reaches the three buildings; the next pass (30 s) says so.
      clock.advance(30_000)
      const below = await stream.next((e) => e.event === 'coverage')
      expect(below.data).toMatchObject({
        community: 'west-bank',
        street: 'riverside',
        state: 'below',
        share: 0,
        buildings: 3,
        covered: 0,
        threshold: 0.5,
      })
      // A walker comes on duty on the street: 2 of 3 ≥ 0.55 → restored at the next pass.
      await registerResponder(svc.api, {
        id: 'walker',
        name: 'walker',
        type: 'volunteer',
        mode: 'foot',
        onDuty: true,
        location: f.at(-100, 0),
      })
      clock.advance(30_000)
      const restored = await stream.next((e) => e.event === 'coverage' && e.data.state === 'restored')
      expect(restored.data).toMatchObject({ community: 'west-bank', share: 2 / 3, covered: 2 })
      const metrics = await (await fetch(`${svc.base}/metrics`)).text()
      expect(metrics).toMatch(/firecircle_coverage_share\{community="west-bank"\} 0\.666/)
    } finally {
      for (const s of officerStream) s.close()
      await svc.stop()
    }
  })
})

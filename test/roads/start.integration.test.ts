/**
 * FC_ROAD_NETWORK at start, as an operator meets it: a missing, unreadable or empty file (or
 * one without a road, or not parsable) stops `npm start` with one line naming the setting;
 * a good file makes `GET /api/responders/nearby` answer along the roads, with `road_m`.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../services/config/index.ts'
import { frame, riverWays, roadsGeoJson, writeRoads } from '../support/roads.ts'
import {
  must,
  registerResponder,
  spawnService,
  startTestService,
  type TestService,
} from '../support/service.ts'
import { tempDir } from '../support/tmp.ts'

const SCENE = [113.865, 22.575] as const
const f = frame(SCENE)

describe('FC_ROAD_NETWORK at start', () => {
  const tmp = tempDir('firecircle-roads-')
  afterAll(() => tmp.cleanup())

  it.each([
    ['missing', () => path.join(tmp.dir, 'nowhere.geojson'), /no such file/],
    ['a directory', () => tmp.dir, /cannot be read/],
    [
      'empty',
      () => {
        const p = path.join(tmp.dir, 'empty.geojson')
        fs.writeFileSync(p, '')
        return p
      },
      /is empty/,
    ],
  ])('a %s file is refused by the settings, naming FC_ROAD_NETWORK', (_what, file, why) => {
    const name = file()
    let err: unknown
    try {
      loadConfig({ FC_ROAD_NETWORK: name })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).setting).toBe('FC_ROAD_NETWORK')
    expect((err as ConfigError).message).toMatch(why)
  })

  it('a road file without a road stops `npm start` with one line naming FC_ROAD_NETWORK', async () => {
    const data = tempDir()
    const file = writeRoads(tmp.dir, 'buildings.geojson', {
      type: 'FeatureCollection',
      features: [
        {
          type: 'Feature',
          properties: { building: 'yes' },
          geometry: { type: 'Point', coordinates: [113.9, 22.6] },
        },
      ],
    })
    try {
      const s = await spawnService({ FC_DATA_DIR: data.dir, FC_ROAD_NETWORK: file })
      const exit = await s.exited()
      const lines = s.output().trim().split('\n')
      expect(exit.code).toBe(1)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(
        /^firecircle: cannot start: FC_ROAD_NETWORK: .*buildings\.geojson holds no roads/,
      )
    } finally {
      data.cleanup()
    }
  })

  it.each([
    [
      'OSM XML',
      'broken.osm',
      '<osm><node id="1" lat="22.6" lon="113.9"><way></osm>',
      /broken\.osm is not OSM XML/,
    ],
    [
      'GeoJSON',
      'broken.geojson',
      '{"type": "FeatureCollection", "features": [',
      /broken\.geojson is not JSON/,
    ],
    ['OSM PBF', 'broken.osm.pbf', 'not a protocol buffer at all', /broken\.osm\.pbf is not OSM PBF/],
  ])('a road file that is not %s stops the start naming FC_ROAD_NETWORK', async (_what, name, text, why) => {
    const file = path.join(tmp.dir, name)
    fs.writeFileSync(file, text)
    const started = startTestService({ env: { FC_ROAD_NETWORK: file } })
    await expect(started).rejects.toBeInstanceOf(ConfigError)
    await expect(started).rejects.toThrow(why)
    await expect(started).rejects.toMatchObject({ setting: 'FC_ROAD_NETWORK' })
  })
})

describe('GET /api/responders/nearby on roads', () => {
  const tmp = tempDir('firecircle-roads-svc-')
  let svc: TestService
  beforeAll(async () => {
    const file = writeRoads(tmp.dir, 'river.geojson', roadsGeoJson(f, riverWays()))
    svc = await startTestService({ env: { FC_ROAD_NETWORK: file } })
    for (const [id, x, y] of [
      ['along', -100, -250],
      ['across', 160, 0],
    ] as const) {
      await registerResponder(svc.api, {
        id,
        name: id,
        type: 'volunteer',
        mode: 'foot',
        onDuty: true,
        location: f.at(x, y),
      })
    }
  })
  afterAll(async () => {
    await svc?.stop()
    tmp.cleanup()
  })

  it('answers along the roads: the neighbour across the river is not inside, road_m is the route', async () => {
    const [lon, lat] = f.at(-60, 0)
    const body = must(await svc.api.get(`/api/responders/nearby?lon=${lon}&lat=${lat}`), 200)
    expect(body.items.map((r: { id: string }) => r.id)).toEqual(['along'])
    const along = body.items[0]
    expect(along.road_m).toBeCloseTo(290, 0)
    expect(along.distance_m).toBeLessThan(along.road_m)
    expect(along.eta_s).toBeCloseTo(30 + 290 / 1.4, 0)
    const far = must(await svc.api.get(`/api/responders/nearby?lon=${lon}&lat=${lat}&within=3600`), 200)
    const across = far.items.find((r: { id: string }) => r.id === 'across')
    expect(across.distance_m).toBeLessThan(250)
    expect(across.road_m).toBeCloseTo(3300, 0)
  })
})

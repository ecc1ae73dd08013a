/**
 * GET /api/responders/nearby and the responder index's feed, with real collaborators: the
 * registry in SQLite in a temp dir, the event bus, the real Fastify router through createApi's
 * `routes` option (app.inject), auth and officers' scopes. Responders are registered and
 * patched through the API; live positions arrive as the intake publishes them
 * ('responder.location').
 */
import path from 'node:path'
import client from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiInstance, createApi } from '../../services/api/index.ts'
import { etaSeconds, haversineM } from '../../services/dispatch/eta.ts'
import { createDispatchGeometry, type DispatchGeometry } from '../../services/dispatch/routes.ts'
import { createEventBus } from '../../services/events/index.ts'
import {
  createRegistry,
  createSqliteRegistryRepository,
  type Registry,
} from '../../services/registry/index.ts'
import { type Clock, systemClock } from '../../services/shared/clock.ts'
import { createLogger } from '../../services/shared/log.ts'
import { openStateDatabase, type SqliteDb } from '../../services/state/index.ts'
import type { TelemetryStore } from '../../services/store/types.ts'
import { tempDir } from '../support/tmp.ts'

const T0 = Date.parse('2025-03-01T08:00:00.000Z')
/** The scene: inside community xixiang-01. */
const SCENE = [113.865, 22.575] as const

const square = (lon: number, lat: number, size = 0.018) => [
  [
    [lon, lat],
    [lon + size, lat],
    [lon + size, lat + size],
    [lon, lat + size],
    [lon, lat],
  ],
]
const community = (id: string, street: string, lon: number, lat = 22.57) => ({
  type: 'Feature',
  properties: { id, name: `${id} community`, street },
  geometry: { type: 'Polygon', coordinates: square(lon, lat) },
})

const noStore: TelemetryStore = {
  name: 'none',
  async verify() {},
  async write() {},
  async ping() {
    return true
  },
  async queryTelemetry() {
    return []
  },
  async close() {},
}

const tenth = (x: number) => Math.round(x * 10) / 10
const expectedEta = (lon: number, lat: number, mode: 'foot' | 'bicycle' | 'motor') => {
  const d = haversineM(SCENE[0], SCENE[1], lon, lat)
  return { distance_m: tenth(d), eta_s: tenth(etaSeconds(d, mode)) }
}

describe('GET /api/responders/nearby', () => {
  const tmp = tempDir('firecircle-nearby-')
  let db: SqliteDb
  let registry: Registry
  let geometry: DispatchGeometry
  let app: ApiInstance
  let adminToken: string
  let now = T0
  const clock: Clock = { now: () => now, at: (at, fn) => systemClock.at(at, fn) }
  const events = createEventBus((err) => {
    throw err
  })
  const tokens: Record<string, string> = {}

  const call = (
    method: 'GET' | 'POST' | 'PATCH',
    url: string,
    body?: unknown,
    token: string | null = adminToken,
  ) =>
    app.inject({
      method,
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(body !== undefined ? { payload: body as object } : {}),
    })
  const nearby = async (query: string, token: string | null = adminToken) => {
    const res = await call(
      'GET',
      `/api/responders/nearby?lon=${SCENE[0]}&lat=${SCENE[1]}${query}`,
      undefined,
      token,
    )
    expect(res.statusCode, res.body).toBe(200)
    return res.json() as { total: number; within_s: number; location: number[]; items: any[] }
  }
  const ids = (body: { items: { id: string }[] }) => body.items.map((r) => r.id)
  const locate = (responder: string, lon: number, lat: number, ts: number) =>
    events.emit('responder.location', { responder, lon, lat, ts, receivedAt: ts })

  beforeAll(async () => {
    db = openStateDatabase(path.join(tmp.dir, 'state.db'))
    const logger = createLogger('silent')
    registry = await createRegistry({ repository: createSqliteRegistryRepository(db), clock, logger, events })
    adminToken = (await registry.ensureAdminToken()) as string
    // Built before anyone is registered: the index learns everything from the event bus.
    geometry = createDispatchGeometry({ registry, events, clock, logger })
    app = await createApi({
      registry,
      liveness: { get: () => undefined },
      telemetryStore: noStore,
      metricsRegistry: new client.Registry(),
      logger,
      clock,
      readiness: () => ({ ready: true, checks: {} }),
      routes: [geometry.routes],
    })
    await app.ready()

    for (const c of [community('xixiang-01', 'xixiang', 113.86), community('xinan-01', 'xinan', 113.878)]) {
      expect((await call('POST', '/api/communities', c)).statusCode).toBe(201)
    }
    const responders = [
      // ~100 m north, on foot: 30 + 100 × 1.3 / 1.4 ≈ 123 s
      {
        id: 'ms-1',
        name: 'Micro station 1',
        type: 'micro_station',
        mode: 'foot',
        location: [113.865, 22.5759],
      },
      // ~617 m east, e-bike: ≈ 221 s
      { id: 'gs-1', name: 'Grid staff 1', type: 'grid_staff', mode: 'bicycle', location: [113.871, 22.575] },
      // ~1.44 km east in the next community (street xinan), motor: ≈ 286 s
      {
        id: 'fs-1',
        name: 'Fire station 1',
        type: 'fire_station',
        mode: 'motor',
        location: [113.879, 22.576],
      },
      // ~500 m north on foot: ≈ 494 s, outside 300 s, inside 600 s
      { id: 'vol-far', name: 'Volunteer far', type: 'volunteer', mode: 'foot', location: [113.865, 22.5795] },
      // ~51 m away but off duty
      {
        id: 'off-1',
        name: 'Guard off duty',
        type: 'security_guard',
        mode: 'foot',
        location: [113.8655, 22.575],
        onDuty: false,
      },
      // No position until its app reports one
      { id: 'noloc', name: 'No location', type: 'volunteer', mode: 'motor' },
    ]
    for (const r of responders) {
      const res = await call('POST', '/api/responders', { onDuty: true, ...r })
      expect(res.statusCode, res.body).toBe(201)
    }
    for (const [id, scope] of [
      ['duty-xixiang', 'community:xixiang-01'],
      ['duty-xinan', 'street:xinan'],
      ['duty-district', 'district'],
    ] as const) {
      const res = await call('POST', '/api/officers', { id, name: id, scope })
      expect(res.statusCode).toBe(201)
      tokens[id] = res.json().token
    }
  })

  afterAll(async () => {
    geometry?.close()
    await app?.close()
    db?.close()
    tmp.cleanup()
  })

  it('lists on-duty responders inside 300 s, nearest ETA first, with distance_m and eta_s', async () => {
    const body = await nearby('')
    expect(body.within_s).toBe(300)
    expect(body.location).toEqual([...SCENE])
    expect(ids(body)).toEqual(['ms-1', 'gs-1', 'fs-1'])
    expect(body.total).toBe(3)
    const [ms, gs, fs] = body.items
    expect(ms).toEqual({
      id: 'ms-1',
      name: 'Micro station 1',
      type: 'micro_station',
      mode: 'foot',
      onDuty: true,
      busy: false,
      community: 'xixiang-01',
      street: 'xixiang',
      location: [113.865, 22.5759],
      locatedAt: new Date(T0).toISOString(),
      ...expectedEta(113.865, 22.5759, 'foot'),
    })
    expect(gs).toMatchObject(expectedEta(113.871, 22.575, 'bicycle'))
    expect(fs).toMatchObject({
      community: 'xinan-01',
      street: 'xinan',
      ...expectedEta(113.879, 22.576, 'motor'),
    })
    expect(fs.eta_s).toBeLessThanOrEqual(300)
    expect(fs.eta_s).toBeGreaterThan(280)
  })

  it('widens with `within`, narrows by type, mode, limit, and shows off-duty only when asked', async () => {
    const wide = await nearby('&within=600')
    expect(ids(wide)).toEqual(['ms-1', 'gs-1', 'fs-1', 'vol-far'])
    expect(wide.items[3]).toMatchObject(expectedEta(113.865, 22.5795, 'foot'))
    expect(ids(await nearby('&within=150'))).toEqual(['ms-1'])
    expect(ids(await nearby('&within=600&type=volunteer'))).toEqual(['vol-far'])
    expect(ids(await nearby('&mode=motor'))).toEqual(['fs-1'])
    const limited = await nearby('&limit=2')
    expect(ids(limited)).toEqual(['ms-1', 'gs-1'])
    expect(limited.total).toBe(3)
    expect(ids(await nearby('&status=any'))).toEqual(['off-1', 'ms-1', 'gs-1', 'fs-1'])
  })

  it('answers 400 naming the bad parameter, and 401 without a token', async () => {
    const bad = async (query: string, pattern: RegExp) => {
      const res = await call('GET', `/api/responders/nearby?${query}`)
      expect(res.statusCode, query).toBe(400)
      expect(res.json().error).toBe('bad_request')
      expect(res.json().message, query).toMatch(pattern)
    }
    await bad('lat=22.5', /"lon"/)
    await bad('lon=113.8', /"lat"/)
    await bad('lon=200&lat=22.5', /query\.lon/)
    await bad('lon=-180.5&lat=22.5', /query\.lon/)
    await bad('lon=113.8&lat=91', /query\.lat/)
    await bad('lon=abc&lat=22.5', /query\.lon must be number/)
    await bad('lon=113.8&lat=', /query\.lat/)
    await bad('lon=113.8&lat=22.5&within=0', /query\.within/)
    await bad('lon=113.8&lat=22.5&within=-5', /query\.within/)
    await bad('lon=113.8&lat=22.5&within=3601', /query\.within/)
    await bad('lon=113.8&lat=22.5&within=5min', /query\.within/)
    await bad('lon=113.8&lat=22.5&status=free', /query\.status must be one of/)
    await bad('lon=113.8&lat=22.5&type=fireman', /query\.type/)
    const res = await call('GET', `/api/responders/nearby?lon=${SCENE[0]}&lat=${SCENE[1]}`, undefined, null)
    expect(res.statusCode).toBe(401)
  })

  it('shows an officer only the responders inside the scope', async () => {
    expect(ids(await nearby('', tokens['duty-xixiang']))).toEqual(['ms-1', 'gs-1'])
    expect(ids(await nearby('', tokens['duty-xinan']))).toEqual(['fs-1'])
    expect(ids(await nearby('', tokens['duty-district']))).toEqual(['ms-1', 'gs-1', 'fs-1'])
    expect((await nearby('&limit=1', tokens['duty-xinan'])).total).toBe(1)
  })

  it('follows live positions from the apps, ignoring stale, unknown and out-of-range ones', async () => {
    // noloc had no position: its first one puts it first in the circle (motor, ~300 m: ≈ 107 s).
    locate('noloc', 113.865, 22.5777, T0 + 10_000)
    let body = await nearby('')
    expect(ids(body)).toEqual(['noloc', 'ms-1', 'gs-1', 'fs-1'])
    expect(body.items[0]).toMatchObject({
      location: [113.865, 22.5777],
      locatedAt: new Date(T0 + 10_000).toISOString(),
      ...expectedEta(113.865, 22.5777, 'motor'),
    })
    // Older than the last one: ignored.
    locate('noloc', 113.9, 22.7, T0 + 9_000)
    // Unknown responders and impossible coordinates: ignored, nothing thrown.
    locate('ghost', 113.865, 22.575, T0 + 11_000)
    locate('noloc', 200, 22.575, T0 + 12_000)
    locate('noloc', Number.NaN, 22.575, T0 + 12_000)
    body = await nearby('')
    expect(ids(body)).toEqual(['noloc', 'ms-1', 'gs-1', 'fs-1'])
    expect(body.items[0].location).toEqual([113.865, 22.5777])
    // vol-far walks in: 30 m from the scene.
    locate('vol-far', 113.865, 22.57527, T0 + 20_000)
    expect(ids(await nearby(''))[0]).toBe('vol-far')
    // ... and back out again.
    locate('vol-far', 113.865, 22.5795, T0 + 30_000)
    expect(ids(await nearby(''))).not.toContain('vol-far')
  })

  it('follows duty, busy, mode, registered location and disabling from the registry', async () => {
    // Busy on an incident: listed, flagged; left out of `available`.
    geometry.index.setBusy('gs-1', 'inc-7')
    expect((await nearby('')).items.find((r) => r.id === 'gs-1')).toMatchObject({
      busy: true,
      incident: 'inc-7',
    })
    expect(ids(await nearby('&status=available'))).toEqual(['noloc', 'ms-1', 'fs-1'])
    geometry.index.setBusy('gs-1', undefined)

    // Off duty through PATCH: gone; back on duty: back.
    expect((await call('PATCH', '/api/responders/ms-1', { onDuty: false })).statusCode).toBe(200)
    expect(ids(await nearby(''))).not.toContain('ms-1')
    expect((await call('PATCH', '/api/responders/ms-1', { onDuty: true })).statusCode).toBe(200)
    expect(ids(await nearby(''))).toContain('ms-1')

    // Mode change: vol-far (500 m) on a motorbike is inside 300 s.
    expect((await call('PATCH', '/api/responders/vol-far', { mode: 'motor' })).statusCode).toBe(200)
    expect((await nearby('')).items.find((r) => r.id === 'vol-far')).toMatchObject({
      mode: 'motor',
      ...expectedEta(113.865, 22.5795, 'motor'),
    })

    // An administrator sets a registered location now: newer than the app's last fix, it wins.
    now = T0 + 60_000
    expect((await call('PATCH', '/api/responders/noloc', { location: [113.95, 22.7] })).statusCode).toBe(200)
    expect(ids(await nearby(''))).not.toContain('noloc')
    // The app's next fix wins again.
    locate('noloc', 113.865, 22.5777, T0 + 70_000)
    expect(ids(await nearby(''))).toContain('noloc')
    // A PATCH that leaves the location alone does not move it back.
    expect((await call('PATCH', '/api/responders/noloc', { onDuty: true })).statusCode).toBe(200)
    expect(ids(await nearby(''))).toContain('noloc')

    // Disabled: out of the index, even if its app still reports.
    expect((await call('PATCH', '/api/responders/fs-1', { enabled: false })).statusCode).toBe(200)
    expect(ids(await nearby(''))).not.toContain('fs-1')
    locate('fs-1', 113.865, 22.575, T0 + 80_000)
    expect(ids(await nearby(''))).not.toContain('fs-1')
    expect(geometry.index.get('fs-1')).toBeUndefined()
    // Enabled again: back, at its registered location (its live one was never taken while disabled).
    expect((await call('PATCH', '/api/responders/fs-1', { enabled: true })).statusCode).toBe(200)
    expect((await nearby('')).items.find((r) => r.id === 'fs-1')).toMatchObject({
      location: [113.879, 22.576],
    })
  })

  it('loads the registry at start: a geometry built now answers as the live one for registered positions', async () => {
    const fresh = createDispatchGeometry({ registry, events, clock })
    try {
      expect(fresh.index.size).toBe(geometry.index.size)
      // At registered locations (the registry keeps no live fixes), modes as patched since:
      // vol-far is on a motorbike now (≈ 138 s), noloc is registered far away.
      expect(fresh.index.within(SCENE[0], SCENE[1], 600).map((r) => r.id)).toEqual([
        'off-1',
        'ms-1',
        'vol-far',
        'gs-1',
        'fs-1',
      ])
    } finally {
      fresh.close()
    }
  })

  it('draws the circle with the same responders the route lists', async () => {
    const fc = geometry.circle(SCENE[0], SCENE[1], 300, { onDuty: true })
    const polygons = fc.features.filter((f) => f.geometry.type === 'Polygon').map((f) => f.properties)
    expect(polygons).toEqual([
      { mode: 'motor', radius_m: 1532.3, limit_s: 300 },
      { mode: 'bicycle', radius_m: 872.3, limit_s: 300 },
      { mode: 'foot', radius_m: 290.8, limit_s: 300 },
    ])
    const points = fc.features.filter((f) => f.geometry.type === 'Point').map((f) => f.properties)
    const listed = (await nearby('')).items
    expect(points.map((p) => (p as { id: string }).id)).toEqual(ids({ items: listed }))
    expect(points.map((p) => (p as { eta_s: number }).eta_s)).toEqual(listed.map((r) => r.eta_s))
  })

  it('leaves out a live position older than FC_POSITION_MAX_AGE_S (default 30 min); a registered one always counts', async () => {
    // noloc's last fix (its app) was at T0 + 70 s; ms-1 stands at its registered post since T0.
    now = T0 + 70_000 + 30 * 60_000
    expect(ids(await nearby(''))).toContain('noloc')
    now += 1
    const body = await nearby('')
    expect(ids(body)).not.toContain('noloc')
    expect(ids(body)).toContain('ms-1')
    // Nor in the circle the offers are drawn from.
    const circlePoints = geometry.circle(SCENE[0], SCENE[1], 300, { onDuty: true }).features
    expect(circlePoints.map((f) => (f.properties as { id?: string }).id)).not.toContain('noloc')
    // Its app reports again: back at once.
    locate('noloc', 113.865, 22.5777, now)
    expect(ids(await nearby(''))).toContain('noloc')
  })
})

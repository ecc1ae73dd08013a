/**
 * The registry through the HTTP API: real SQLite in a temp dir, the real Fastify router via
 * app.inject(), the real registry, auth and error mapping.
 */
import fs from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import client from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiInstance, createApi, type Readiness } from '../../services/api/index.ts'
import { createEventBus } from '../../services/events/index.ts'
import type { DeviceLiveState } from '../../services/liveness/types.ts'
import {
  createRegistry,
  createSqliteRegistryRepository,
  type Registry,
} from '../../services/registry/index.ts'
import { type Clock, createManualClock, systemClock } from '../../services/shared/clock.ts'
import { createLogger } from '../../services/shared/log.ts'
import { openStateDatabase, type SqliteDb } from '../../services/state/index.ts'
import type { Point, TelemetryQuery, TelemetrySample, TelemetryStore } from '../../services/store/types.ts'
import { tempDir } from '../support/tmp.ts'

/** The listeners this file puts on the event bus. */
const test = { owner: 'test/registry/api.integration.test.ts' }

const T0 = Date.parse('2025-03-01T08:00:00.000Z')

/** A small in-memory TelemetryStore with the interface's semantics (oldest first, limit, inclusive). */
function memoryStore(): TelemetryStore & { failing: boolean } {
  const points: Point[] = []
  return {
    name: 'memory',
    failing: false,
    async verify() {},
    async write(p) {
      points.push(...p)
    },
    async ping() {
      return !this.failing
    },
    async queryTelemetry(q: TelemetryQuery): Promise<TelemetrySample[]> {
      if (this.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:8086')
      return points
        .filter((p) => p.measurement === 'telemetry' && p.tags['device'] === q.device && q.field in p.fields)
        .filter((p) => p.ts >= q.from && p.ts <= q.to)
        .sort((a, b) => a.ts - b.ts)
        .slice(0, q.limit)
        .map((p) => ({ ts: p.ts, value: p.fields[q.field] as number }))
    },
    async close() {},
  }
}

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

describe('registry API', () => {
  const tmp = tempDir('firecircle-api-')
  const dbFile = path.join(tmp.dir, 'state.db')
  let db: SqliteDb
  let registry: Registry
  let app: ApiInstance
  let adminToken: string
  const now = T0
  const clock: Clock = { now: () => now, at: (at, fn) => systemClock.at(at, fn) }
  const states = new Map<string, DeviceLiveState>()
  const store = memoryStore()
  const events = createEventBus()
  const disabled: string[] = []
  events.on(test, 'principal.disabled', (id) => disabled.push(id))
  let readiness: Readiness = { ready: true, checks: { broker: true, telemetry_store: true, spool_depth: 0 } }
  const secrets: Record<string, string> = {}
  const tokens: Record<string, string> = {}

  const call = (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    body?: unknown,
    token = adminToken,
  ) =>
    app.inject({
      method,
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(body !== undefined ? { payload: body as object } : {}),
    })

  beforeAll(async () => {
    db = openStateDatabase(dbFile)
    const logger = createLogger('silent')
    registry = await createRegistry({ repository: createSqliteRegistryRepository(db), clock, logger, events })
    adminToken = (await registry.ensureAdminToken()) as string
    app = await createApi({
      registry,
      liveness: { get: (id) => states.get(id) },
      telemetryStore: store,
      metricsRegistry: new client.Registry(),
      logger,
      clock,
      readiness: () => readiness,
    })
    await app.ready()
  })

  afterAll(async () => {
    await app?.close()
    db?.close()
    tmp.cleanup()
  })

  describe('communities', () => {
    it('registers a community and answers with its area', async () => {
      const res = await call('POST', '/api/communities', community('xixiang-01', 'xixiang', 113.86))
      expect(res.statusCode).toBe(201)
      expect(res.json()).toMatchObject({
        id: 'xixiang-01',
        street: 'xixiang',
        createdAt: new Date(T0).toISOString(),
      })
      expect(res.json().areaKm2).toBeGreaterThan(3.5)
      expect(
        (await call('POST', '/api/communities', community('xinan-01', 'xinan', 113.878))).statusCode,
      ).toBe(201)
      expect(
        (await call('POST', '/api/communities', community('xinan-02', 'xinan', 113.896))).statusCode,
      ).toBe(201)
    })

    it('refuses a duplicate id with 409', async () => {
      const res = await call('POST', '/api/communities', community('xixiang-01', 'xixiang', 114.2))
      expect(res.statusCode).toBe(409)
      expect(res.json()).toEqual({ error: 'conflict', message: 'community xixiang-01 is already registered' })
    })

    it('refuses a ring that is not closed, naming it', async () => {
      const open = community('open-1', 'xixiang', 114)
      open.geometry.coordinates[0]?.pop()
      open.geometry.coordinates[0]?.push([114.001, 22.57])
      const res = await call('POST', '/api/communities', open)
      expect(res.statusCode).toBe(400)
      expect(res.json().error).toBe('bad_request')
      expect(res.json().message).toMatch(/^community open-1: ring 0 is not closed/)

      const multi = {
        type: 'Feature',
        properties: { id: 'multi-1', name: 'm', street: 's' },
        geometry: {
          type: 'MultiPolygon',
          coordinates: [
            square(114, 22),
            [
              [
                [114.1, 22],
                [114.2, 22],
                [114.2, 22.1],
                [114.1, 22.1],
              ],
            ],
          ],
        },
      }
      const res2 = await call('POST', '/api/communities', multi)
      expect(res2.statusCode).toBe(400)
      expect(res2.json().message).toBe(
        'community multi-1: ring 0 of polygon 1 is not closed: its first position [114.1, 22] differs from its last [114.1, 22.1]',
      )
    })

    it('refuses a geometry that is not a polygon, or coordinates out of range', async () => {
      const point = { ...community('pt', 's', 1), geometry: { type: 'Point', coordinates: [1, 2] } }
      const res = await call('POST', '/api/communities', point)
      expect(res.statusCode).toBe(400)
      expect(res.json().message).toMatch(/geometry\.type must be one of "Polygon", "MultiPolygon"/)
      const far = community('far', 's', 179.99)
      const res2 = await call('POST', '/api/communities', far)
      expect(res2.statusCode).toBe(400)
      expect(res2.json().message).toMatch(/longitude 180.008 is outside -180..180/)
    })

    it('refuses a ring that encloses no area', async () => {
      const flat = community('flat', 's', 1)
      flat.geometry.coordinates = [
        [
          [1, 1],
          [2, 2],
          [1, 1],
          [2, 2],
          [1, 1],
        ],
      ]
      const res = await call('POST', '/api/communities', flat)
      expect(res.json()).toEqual({
        error: 'bad_request',
        message: 'community flat: the geometry encloses no area',
      })
    })

    it('lists communities as a FeatureCollection and serves one as a Feature', async () => {
      const list = await call('GET', '/api/communities')
      expect(list.statusCode).toBe(200)
      expect(list.json().type).toBe('FeatureCollection')
      expect(list.json().features.map((f: { id: string }) => f.id)).toEqual([
        'xinan-01',
        'xinan-02',
        'xixiang-01',
      ])
      const one = await call('GET', '/api/communities/xinan-01')
      expect(one.json()).toMatchObject({
        type: 'Feature',
        properties: { id: 'xinan-01', street: 'xinan' },
        geometry: { type: 'Polygon' },
      })
      expect((await call('GET', '/api/communities/nowhere')).statusCode).toBe(404)
    })
  })

  describe('buildings', () => {
    it('places a building in its community by point-in-polygon', async () => {
      const res = await call('POST', '/api/buildings', {
        id: 'factory-7',
        name: 'Hengfeng electronics factory',
        location: [113.865, 22.575],
        responsible: { name: 'Chen Wei', phone: '+86 755 0000 0001', webhook: 'https://example.org/hook' },
      })
      expect(res.statusCode).toBe(201)
      expect(res.json()).toMatchObject({ id: 'factory-7', community: 'xixiang-01', street: 'xixiang' })
      const shop = await call('POST', '/api/buildings', {
        id: 'shop-12',
        name: "Xin'an noodle shop",
        location: [113.885, 22.58],
        responsible: { name: 'Wang Fang' },
      })
      expect(shop.json()).toMatchObject({ community: 'xinan-01', street: 'xinan' })
      const mall = await call('POST', '/api/buildings', {
        id: 'mall-3',
        name: 'mall',
        location: [113.9, 22.58],
        responsible: { name: 'Li Na' },
      })
      expect(mall.json()).toMatchObject({ community: 'xinan-02', street: 'xinan' })
      expect(mall.json().address).toBeUndefined()
    })

    it('keeps a building’s postal address, and refuses one past 200 characters', async () => {
      const res = await call('POST', '/api/buildings', {
        id: 'flat-9',
        name: '9 号楼',
        address: '宝安区西乡街道新安四路 9 号',
        location: [113.866, 22.576],
        responsible: { name: 'Wang Fang' },
      })
      expect(res.statusCode).toBe(201)
      expect(res.json().address).toBe('宝安区西乡街道新安四路 9 号')
      const listed = await call('GET', '/api/buildings?community=xixiang-01')
      expect(listed.json().items.find((b: { id: string }) => b.id === 'flat-9').address).toBe(
        '宝安区西乡街道新安四路 9 号',
      )
      const long = await call('POST', '/api/buildings', {
        id: 'flat-10',
        name: 'x',
        address: '路'.repeat(201),
        location: [113.866, 22.576],
        responsible: { name: 'X' },
      })
      expect(long.statusCode).toBe(400)
      expect(long.json().error).toBe('bad_request')
    })

    it('refuses a building outside every community, saying why', async () => {
      const res = await call('POST', '/api/buildings', {
        id: 'lost-1',
        name: 'somewhere else',
        location: [114.3, 22.7],
        responsible: { name: 'X' },
      })
      expect(res.statusCode).toBe(400)
      expect(res.json().error).toBe('bad_request')
      expect(res.json().message).toMatch(/the point \[114.3, 22.7\] lies in no registered community/)
    })

    it('catches [lat, lon] swapped', async () => {
      const res = await call('POST', '/api/buildings', {
        id: 'swapped',
        name: 'x',
        location: [22.575, 113.865],
        responsible: { name: 'X' },
      })
      expect(res.statusCode).toBe(400)
      expect(res.json().message).toMatch(/latitude 113.865 is outside -90..90/)
    })

    it('refuses a duplicate building and a webhook that is not http(s)', async () => {
      const dup = await call('POST', '/api/buildings', {
        id: 'factory-7',
        name: 'again',
        location: [113.865, 22.575],
        responsible: { name: 'X' },
      })
      expect(dup.statusCode).toBe(409)
      const ftp = await call('POST', '/api/buildings', {
        id: 'b-ftp',
        name: 'x',
        location: [113.865, 22.575],
        responsible: { name: 'X', webhook: 'ftp://example.org/x' },
      })
      expect(ftp.statusCode).toBe(400)
      expect(ftp.json().message).toMatch(/responsible.webhook must be an http\(s\) URL/)
    })
  })

  describe('devices', () => {
    it('registers devices and shows each secret once', async () => {
      for (const [id, kind, building] of [
        ['gw-1', 'gateway', 'factory-7'],
        ['smoke-1', 'smoke', 'factory-7'],
        ['heat-1', 'heat', 'factory-7'],
        ['smoke-b', 'smoke', 'shop-12'],
        ['gas-m', 'gas', 'mall-3'],
      ] as const) {
        const res = await call('POST', '/api/devices', {
          id,
          kind,
          building,
          ...(id === 'heat-1' ? { gateway: 'gw-1', floor: 2, thresholds: { fixed_temperature: 62 } } : {}),
          ...(id === 'smoke-1' ? { location: [113.8651, 22.5751] } : {}),
        })
        expect(res.statusCode).toBe(201)
        expect(res.headers['cache-control']).toBe('no-store')
        const body = res.json()
        expect(Object.keys(body).sort()).toEqual(['community', 'id', 'secret'])
        expect(body.id).toBe(id)
        expect(body.secret).toMatch(/^[A-Za-z0-9_-]{32}$/)
        secrets[id] = body.secret
      }
      expect(secrets['smoke-b']).not.toBe(secrets['smoke-1'])
    })

    it('never shows the secret again', async () => {
      const one = await call('GET', '/api/devices/smoke-1')
      expect(one.statusCode).toBe(200)
      expect(one.body).not.toContain(secrets['smoke-1'])
      expect(one.json()).not.toHaveProperty('secret')
      const list = await call('GET', '/api/devices?limit=1000')
      for (const s of Object.values(secrets)) expect(list.body).not.toContain(s)
    })

    it('returns the record with live state, times as ISO 8601', async () => {
      states.set('smoke-1', {
        device: 'smoke-1',
        online: true,
        lastSeen: T0 + 5000,
        since: T0 + 1000,
        cause: 'birth',
        battery: 87,
        rssi: -71,
        lastRejection: {
          at: T0 + 4000,
          topic: 'dev/smoke-1/telemetry',
          reason: 'not_json',
          message: 'payload is not JSON',
        },
      })
      const res = await call('GET', '/api/devices/smoke-1')
      expect(res.json()).toEqual({
        id: 'smoke-1',
        kind: 'smoke',
        building: 'factory-7',
        community: 'xixiang-01',
        street: 'xixiang',
        location: [113.8651, 22.5751],
        enabled: true,
        createdAt: '2025-03-01T08:00:00.000Z',
        online: true,
        lastSeen: '2025-03-01T08:00:05.000Z',
        since: '2025-03-01T08:00:01.000Z',
        cause: 'birth',
        battery: 87,
        rssi: -71,
        lastRejection: {
          at: '2025-03-01T08:00:04.000Z',
          topic: 'dev/smoke-1/telemetry',
          reason: 'not_json',
          message: 'payload is not JSON',
        },
      })
      const heat = await call('GET', '/api/devices/heat-1')
      expect(heat.json()).toMatchObject({
        gateway: 'gw-1',
        floor: 2,
        thresholds: { fixed_temperature: 62 },
        online: false,
      })
      expect(heat.json()).not.toHaveProperty('lastSeen')
      expect((await call('GET', '/api/devices/none')).json()).toEqual({
        error: 'not_found',
        message: 'device none is not registered',
      })
    })

    it('refuses a kind that is not in the catalogue', async () => {
      const res = await call('POST', '/api/devices', { id: 'x-1', kind: 'toaster', building: 'factory-7' })
      expect(res.statusCode).toBe(400)
      expect(res.json().error).toBe('bad_request')
      expect(res.json().message).toMatch(/^body.kind must be one of "smoke", "heat"/)
    })

    it('refuses an unknown building, naming it', async () => {
      const res = await call('POST', '/api/devices', {
        id: 'x-2',
        kind: 'smoke',
        building: 'no-such-building',
      })
      expect(res.statusCode).toBe(400)
      expect(res.json()).toEqual({
        error: 'bad_request',
        message: 'building "no-such-building" is not registered',
      })
    })

    it('refuses a duplicate, also across devices and responders (one MQTT username space)', async () => {
      const res = await call('POST', '/api/devices', { id: 'smoke-1', kind: 'smoke', building: 'factory-7' })
      expect(res.statusCode).toBe(409)
      expect(res.json().message).toBe('id smoke-1 is already registered as a device')
      const rsp = await call('POST', '/api/responders', {
        id: 'smoke-1',
        name: 'x',
        type: 'volunteer',
        mode: 'foot',
        onDuty: true,
      })
      expect(rsp.statusCode).toBe(409)
    })

    it('checks gateway and thresholds against the catalogue', async () => {
      const notGw = await call('POST', '/api/devices', {
        id: 'x-3',
        kind: 'smoke',
        building: 'factory-7',
        gateway: 'smoke-1',
      })
      expect(notGw.json().message).toBe('gateway smoke-1 is a smoke device, not a gateway')
      const noGw = await call('POST', '/api/devices', {
        id: 'x-3',
        kind: 'smoke',
        building: 'factory-7',
        gateway: 'gw-9',
      })
      expect(noGw.json().message).toBe('gateway "gw-9" is not a registered device')
      const th = await call('POST', '/api/devices', {
        id: 'x-3',
        kind: 'smoke',
        building: 'factory-7',
        thresholds: { fixed_temperature: 60 },
      })
      expect(th.statusCode).toBe(400)
      expect(th.json().message).toMatch(/threshold "fixed_temperature" is not a rule of a smoke device/)
      const neg = await call('POST', '/api/devices', {
        id: 'x-3',
        kind: 'smoke',
        building: 'factory-7',
        thresholds: { alarm_obscuration: -1 },
      })
      expect(neg.json().message).toBe('threshold "alarm_obscuration" must not be negative')
      expect((await call('GET', '/api/devices/x-3')).statusCode).toBe(404)
    })

    it('refuses ids that would break MQTT topics', async () => {
      for (const id of ['a/b', 'a+b', '#', '$SYS', '', 'x'.repeat(65)]) {
        const res = await call('POST', '/api/devices', { id, kind: 'smoke', building: 'factory-7' })
        expect(res.statusCode).toBe(400)
        expect(res.json().message).toMatch(/^body.id /)
      }
    })

    it('changes thresholds, floor and location with PATCH, and clears them with null', async () => {
      const res = await call('PATCH', '/api/devices/smoke-b', {
        thresholds: { alarm_obscuration: 4 },
        floor: -1,
      })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toMatchObject({ thresholds: { alarm_obscuration: 4 }, floor: -1 })
      expect(registry.device('smoke-b')?.thresholds).toEqual({ alarm_obscuration: 4 })
      const cleared = await call('PATCH', '/api/devices/smoke-b', { thresholds: null, floor: null })
      expect(cleared.json()).not.toHaveProperty('thresholds')
      expect(cleared.json()).not.toHaveProperty('floor')
      const bad = await call('PATCH', '/api/devices/smoke-b', { thresholds: { pressed: 1 } })
      expect(bad.statusCode).toBe(400)
      expect((await call('PATCH', '/api/devices/smoke-b', {})).statusCode).toBe(400)
      expect((await call('PATCH', '/api/devices/none', { floor: 1 })).statusCode).toBe(404)
    })

    it('lists devices by building and community, paged', async () => {
      const all = await call('GET', '/api/devices')
      expect(all.json()).toMatchObject({ total: 5, limit: 100, offset: 0 })
      const byBuilding = await call('GET', '/api/devices?building=factory-7')
      expect(byBuilding.json().items.map((d: { id: string }) => d.id)).toEqual(['gw-1', 'heat-1', 'smoke-1'])
      const byCommunity = await call('GET', '/api/devices?community=xinan-01')
      expect(byCommunity.json().items.map((d: { id: string }) => d.id)).toEqual(['smoke-b'])
      const paged = await call('GET', '/api/devices?limit=2&offset=2')
      expect(paged.json()).toMatchObject({ total: 5, limit: 2, offset: 2 })
      expect(paged.json().items.map((d: { id: string }) => d.id)).toEqual(['heat-1', 'smoke-1'])
      expect(
        registry
          .devicesOfBuilding('factory-7')
          .map((d) => d.id)
          .sort(),
      ).toEqual(['gw-1', 'heat-1', 'smoke-1'])
    })
  })

  describe('MQTT secrets', () => {
    it('checkSecret: ok, wrong_secret, unknown', async () => {
      expect(await registry.checkSecret('smoke-1', secrets['smoke-1'] as string)).toEqual({
        ok: true,
        kind: 'device',
      })
      expect(await registry.checkSecret('gw-1', secrets['gw-1'] as string)).toEqual({
        ok: true,
        kind: 'gateway',
      })
      // Twice: the second is answered from the verified cache, same result.
      expect(await registry.checkSecret('smoke-1', secrets['smoke-1'] as string)).toEqual({
        ok: true,
        kind: 'device',
      })
      expect(await registry.checkSecret('smoke-1', secrets['smoke-b'] as string)).toEqual({
        ok: false,
        reason: 'wrong_secret',
      })
      expect(await registry.checkSecret('smoke-1', '')).toEqual({ ok: false, reason: 'wrong_secret' })
      expect(await registry.checkSecret('nobody', 'whatever')).toEqual({ ok: false, reason: 'unknown' })
    })

    it('an unknown id takes about as long as a known id with a wrong secret', async () => {
      // Many interleaved pairs, each pair in alternating order, compared by their medians:
      // machine noise hits both sides alike, where a few sequential runs measured the noise.
      const once = async (id: string) => {
        const t = performance.now()
        await registry.checkSecret(id, 'wrong-secret-guess')
        return performance.now() - t
      }
      for (let i = 0; i < 200; i++) await once(i % 2 ? 'smoke-1' : 'nobody-at-all')
      const known: number[] = []
      const unknown: number[] = []
      for (let i = 0; i < 3000; i++) {
        if (i % 2 === 0) {
          known.push(await once('smoke-1'))
          unknown.push(await once('nobody-at-all'))
        } else {
          unknown.push(await once('nobody-at-all'))
          known.push(await once('smoke-1'))
        }
      }
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1] as number
      const ratio = median(unknown) / median(known)
      expect(ratio).toBeGreaterThan(0.4)
      expect(ratio).toBeLessThan(2.5)
    })

    it('disabling a device refuses it (disabled, only to the secret holder) and tells the broker', async () => {
      const res = await call('PATCH', '/api/devices/smoke-b', { enabled: false })
      expect(res.statusCode).toBe(200)
      expect(res.json().enabled).toBe(false)
      expect(disabled).toEqual(['smoke-b'])
      expect(await registry.checkSecret('smoke-b', secrets['smoke-b'] as string)).toEqual({
        ok: false,
        reason: 'disabled',
      })
      expect(await registry.checkSecret('smoke-b', 'wrong')).toEqual({ ok: false, reason: 'wrong_secret' })
      await call('PATCH', '/api/devices/smoke-b', { enabled: true })
      expect(disabled).toEqual(['smoke-b'])
      expect(await registry.checkSecret('smoke-b', secrets['smoke-b'] as string)).toEqual({
        ok: true,
        kind: 'device',
      })
    })

    it('holds no secret or token in plaintext on disk', async () => {
      const files = fs.readdirSync(tmp.dir).filter((f) => f.startsWith('state.db'))
      expect(files).toContain('state.db')
      const bytes = Buffer.concat(files.map((f) => fs.readFileSync(path.join(tmp.dir, f))))
      const plaintexts = [...Object.values(secrets), ...Object.values(tokens), adminToken]
      expect(plaintexts.length).toBeGreaterThanOrEqual(6)
      for (const s of plaintexts) {
        expect(bytes.includes(Buffer.from(s))).toBe(false)
        // Nor the random part of a token without its prefix.
        expect(bytes.includes(Buffer.from(s.slice(s.lastIndexOf('.') + 1)))).toBe(false)
      }
      // The device ids are there: the file is the right one.
      expect(bytes.includes(Buffer.from('smoke-1'))).toBe(true)
    })
  })

  describe('responders', () => {
    it('registers responders and shows each secret once', async () => {
      const a = await call('POST', '/api/responders', {
        id: 'ms-1',
        name: 'Micro station 1, member 1',
        type: 'micro_station',
        mode: 'motor',
        location: [113.87, 22.58],
        onDuty: true,
      })
      expect(a.statusCode).toBe(201)
      expect(Object.keys(a.json()).sort()).toEqual(['id', 'secret'])
      secrets['ms-1'] = a.json().secret
      const g = await call('POST', '/api/responders', {
        id: 'guard-1',
        name: 'Guard',
        type: 'security_guard',
        mode: 'foot',
        onDuty: false,
        building: 'shop-12',
      })
      expect(g.statusCode).toBe(201)
      secrets['guard-1'] = g.json().secret
      const one = await call('GET', '/api/responders/ms-1')
      expect(one.json()).toEqual({
        id: 'ms-1',
        name: 'Micro station 1, member 1',
        type: 'micro_station',
        mode: 'motor',
        location: [113.87, 22.58],
        onDuty: true,
        community: 'xixiang-01',
        street: 'xixiang',
        enabled: true,
        createdAt: '2025-03-01T08:00:00.000Z',
      })
      expect(one.body).not.toContain(secrets['ms-1'])
      expect((await call('GET', '/api/responders/guard-1')).json()).toMatchObject({ community: 'xinan-01' })
      expect(await registry.checkSecret('ms-1', secrets['ms-1'] as string)).toEqual({
        ok: true,
        kind: 'responder',
      })
    })

    it('refuses unknown types and modes and an unknown building', async () => {
      const base = { id: 'r-x', name: 'x', type: 'volunteer', mode: 'foot', onDuty: true }
      const t = await call('POST', '/api/responders', { ...base, type: 'firefighter' })
      expect(t.json().message).toMatch(/^body.type must be one of "micro_station"/)
      const m = await call('POST', '/api/responders', { ...base, mode: 'helicopter' })
      expect(m.json().message).toMatch(/^body.mode must be one of "foot", "bicycle", "motor"/)
      const b = await call('POST', '/api/responders', { ...base, building: 'nope' })
      expect(b.json()).toEqual({ error: 'bad_request', message: 'building "nope" is not registered' })
      const d = await call('POST', '/api/responders', { ...base, onDuty: 'yes' })
      expect(d.json().message).toBe('body.onDuty must be boolean')
    })

    it('changes duty, mode and location with PATCH; disabling refuses the app', async () => {
      const res = await call('PATCH', '/api/responders/ms-1', {
        onDuty: false,
        mode: 'bicycle',
        location: [113.89, 22.58],
      })
      expect(res.json()).toMatchObject({
        onDuty: false,
        mode: 'bicycle',
        community: 'xinan-01',
        street: 'xinan',
      })
      const off = await call('PATCH', '/api/responders/ms-1', { enabled: false })
      expect(off.json().enabled).toBe(false)
      expect(disabled).toContain('ms-1')
      expect(await registry.checkSecret('ms-1', secrets['ms-1'] as string)).toEqual({
        ok: false,
        reason: 'disabled',
      })
      expect((await call('PATCH', '/api/responders/ms-1', { mode: 'jetpack' })).statusCode).toBe(400)
      expect((await call('PATCH', '/api/responders/none', { onDuty: true })).statusCode).toBe(404)
    })

    it('lists responders', async () => {
      const res = await call('GET', '/api/responders?type=security_guard')
      expect(res.json()).toMatchObject({ total: 1, items: [{ id: 'guard-1' }] })
    })
  })

  describe('officers and scope', () => {
    it('registers officers with a token shown once', async () => {
      for (const [id, scope] of [
        ['officer-a', 'community:xixiang-01'],
        ['officer-b', 'community:xinan-01'],
        ['officer-s', 'street:xinan'],
        ['officer-d', 'district'],
      ] as const) {
        const res = await call('POST', '/api/officers', { id, name: `Officer ${id}`, scope })
        expect(res.statusCode).toBe(201)
        expect(Object.keys(res.json()).sort()).toEqual(['id', 'token'])
        expect(res.json().token.startsWith(`${id}.`)).toBe(true)
        tokens[id] = res.json().token
      }
      const list = await call('GET', '/api/officers')
      expect(list.json().map((o: { id: string }) => o.id)).toEqual([
        'officer-a',
        'officer-b',
        'officer-d',
        'officer-s',
      ])
      expect(list.body).not.toContain(tokens['officer-a'])
    })

    it('refuses a bad scope, an unregistered community and a duplicate', async () => {
      const bad = await call('POST', '/api/officers', { id: 'o-x', name: 'x', scope: 'planet:earth' })
      expect(bad.json().message).toMatch(/scope must be "district", "street:<name>" or "community:<id>"/)
      const none = await call('POST', '/api/officers', { id: 'o-x', name: 'x', scope: 'community:atlantis' })
      expect(none.json().message).toBe('scope community:atlantis: community atlantis is not registered')
      const empty = await call('POST', '/api/officers', { id: 'o-x', name: 'x', scope: 'street:' })
      expect(empty.statusCode).toBe(400)
      expect(
        (await call('POST', '/api/officers', { id: 'officer-a', name: 'x', scope: 'district' })).statusCode,
      ).toBe(409)
      expect(
        (await call('POST', '/api/officers', { id: 'admin', name: 'x', scope: 'district' })).statusCode,
      ).toBe(400)
    })

    it('401 without a token or with a bad one, with WWW-Authenticate', async () => {
      const none = await call('GET', '/api/devices/smoke-1', undefined, '')
      expect(none.statusCode).toBe(401)
      expect(none.headers['www-authenticate']).toBe('Bearer')
      expect(none.json()).toEqual({
        error: 'unauthorized',
        message: 'this call needs an Authorization: Bearer <token> header',
      })
      for (const token of [
        'nonsense',
        `${tokens['officer-a']}x`,
        'officer-a.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        'admin.x',
      ]) {
        const res = await call('GET', '/api/devices/smoke-1', undefined, token)
        expect(res.statusCode).toBe(401)
        expect(res.json().error).toBe('unauthorized')
      }
      const basic = await app.inject({
        method: 'GET',
        url: '/api/devices/smoke-1',
        headers: { authorization: 'Basic YTpi' },
      })
      expect(basic.statusCode).toBe(401)
    })

    it('who am I', async () => {
      expect((await call('GET', '/api/me')).json()).toEqual({ role: 'administrator' })
      const me = await call('GET', '/api/me', undefined, tokens['officer-a'])
      expect(me.json()).toMatchObject({
        role: 'officer',
        officer: { id: 'officer-a', scope: 'community:xixiang-01' },
      })
    })

    it('registry writes and officer management are for the administrator only: 403 for officers', async () => {
      const token = tokens['officer-d']
      const writes: [string, string, unknown][] = [
        ['POST', '/api/communities', community('c-9', 's', 120)],
        [
          'POST',
          '/api/buildings',
          { id: 'b9', name: 'x', location: [113.87, 22.58], responsible: { name: 'x' } },
        ],
        ['POST', '/api/devices', { id: 'd9', kind: 'smoke', building: 'factory-7' }],
        ['PATCH', '/api/devices/smoke-1', { enabled: false }],
        ['POST', '/api/responders', { id: 'r9', name: 'x', type: 'volunteer', mode: 'foot', onDuty: true }],
        ['PATCH', '/api/responders/guard-1', { onDuty: true }],
        ['POST', '/api/officers', { id: 'o9', name: 'x', scope: 'district' }],
        ['GET', '/api/officers', undefined],
        ['GET', '/api/officers/officer-a', undefined],
      ]
      for (const [method, url, body] of writes) {
        const res = await call(method as 'POST', url, body, token)
        expect(res.statusCode, `${method} ${url}`).toBe(403)
        expect(res.json().error).toBe('forbidden')
        expect(res.json().message).toMatch(/needs the administrator token/)
      }
      expect(registry.device('smoke-1')?.enabled).toBe(true)
      expect(registry.device('d9')).toBeUndefined()
    })

    it('an officer of community A sees its devices (200); those of community B answer as missing ones do (403)', async () => {
      const a = tokens['officer-a']
      const own = await call('GET', '/api/devices/smoke-1', undefined, a)
      expect(own.statusCode).toBe(200)
      expect(own.json().id).toBe('smoke-1')
      const other = await call('GET', '/api/devices/smoke-b', undefined, a)
      expect(other.statusCode).toBe(403)
      expect(other.json()).toEqual({
        error: 'forbidden',
        message: 'device smoke-b is not registered in your scope',
      })
      expect((await call('GET', '/api/devices/smoke-nowhere', undefined, a)).json()).toEqual({
        error: 'forbidden',
        message: 'device smoke-nowhere is not registered in your scope',
      })
      expect((await call('GET', '/api/devices/smoke-b/telemetry', undefined, a)).statusCode).toBe(403)
      expect((await call('GET', '/api/buildings/shop-12', undefined, a)).statusCode).toBe(403)
      expect((await call('GET', '/api/buildings/factory-7', undefined, a)).statusCode).toBe(200)
      expect((await call('GET', '/api/communities/xinan-01', undefined, a)).statusCode).toBe(403)
      expect((await call('GET', '/api/responders/guard-1', undefined, a)).statusCode).toBe(403)
    })

    it('lists only what is in scope, and 403 for a filter outside it', async () => {
      const a = tokens['officer-a']
      const mine = await call('GET', '/api/devices', undefined, a)
      expect(mine.json().items.map((d: { id: string }) => d.id)).toEqual(['gw-1', 'heat-1', 'smoke-1'])
      const wider = await call('GET', '/api/devices?community=xinan-01', undefined, a)
      expect(wider.statusCode).toBe(403)
      expect(wider.json()).toEqual({
        error: 'forbidden',
        message: 'you may see only community:xixiang-01: filter within it, or leave out community and street',
      })
      // A building elsewhere filters like a building nowhere: nothing, rather than a 403 saying it exists.
      expect((await call('GET', '/api/devices?building=shop-12', undefined, a)).json().items).toEqual([])
      expect((await call('GET', '/api/devices?street=xinan', undefined, a)).statusCode).toBe(403)
      const communities = await call('GET', '/api/communities', undefined, a)
      expect(communities.json().features.map((f: { id: string }) => f.id)).toEqual(['xixiang-01'])

      const s = tokens['officer-s']
      const street = await call('GET', '/api/devices', undefined, s)
      expect(street.json().items.map((d: { id: string }) => d.id)).toEqual(['gas-m', 'smoke-b'])
      expect((await call('GET', '/api/devices/gas-m', undefined, s)).statusCode).toBe(200)
      expect((await call('GET', '/api/devices/smoke-1', undefined, s)).statusCode).toBe(403)
      expect((await call('GET', '/api/devices?community=xixiang-01', undefined, s)).statusCode).toBe(403)
      expect((await call('GET', '/api/buildings', undefined, s)).json().total).toBe(2)

      const d = tokens['officer-d']
      expect((await call('GET', '/api/devices', undefined, d)).json().total).toBe(5)
      expect((await call('GET', '/api/devices/smoke-b', undefined, d)).statusCode).toBe(200)
    })
  })

  describe('telemetry', () => {
    beforeAll(async () => {
      const tags = {
        device: 'smoke-1',
        kind: 'smoke',
        building: 'factory-7',
        community: 'xixiang-01',
        street: 'xixiang',
      }
      await store.write(
        [-7_200_000, -1_800_000, -600_000, -60_000, 0].map((dt, i) => ({
          measurement: 'telemetry' as const,
          tags,
          fields: { obscuration: i * 0.5, battery: 90 - i },
          ts: T0 + dt,
        })),
      )
    })

    it('returns the last hour by default, oldest first, times as ISO 8601', async () => {
      const res = await call('GET', '/api/devices/smoke-1/telemetry?field=obscuration')
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({
        device: 'smoke-1',
        field: 'obscuration',
        unit: '%/m',
        from: '2025-03-01T07:00:00.000Z',
        to: '2025-03-01T08:00:00.000Z',
        points: [
          { ts: '2025-03-01T07:30:00.000Z', value: 0.5 },
          { ts: '2025-03-01T07:50:00.000Z', value: 1 },
          { ts: '2025-03-01T07:59:00.000Z', value: 1.5 },
          { ts: '2025-03-01T08:00:00.000Z', value: 2 },
        ],
      })
    })

    it('takes from/to as ISO 8601 or ms, and a limit', async () => {
      const iso = await call(
        'GET',
        '/api/devices/smoke-1/telemetry?field=battery&from=2025-03-01T05:00:00Z&to=2025-03-01T15:45:00%2B08:00&limit=2',
      )
      expect(iso.json().points).toEqual([
        { ts: '2025-03-01T06:00:00.000Z', value: 90 },
        { ts: '2025-03-01T07:30:00.000Z', value: 89 },
      ])
      expect(iso.json().to).toBe('2025-03-01T07:45:00.000Z')
      const ms = await call(
        'GET',
        `/api/devices/smoke-1/telemetry?field=obscuration&from=${T0 - 60_000}&to=${T0}`,
      )
      expect(ms.json().points.map((p: { value: number }) => p.value)).toEqual([1.5, 2])
      const dflt = await call('GET', '/api/devices/smoke-1/telemetry')
      expect(dflt.json().field).toBe('obscuration')
    })

    it('refuses a field the kind does not report, to before from, bad times and limits', async () => {
      const field = await call('GET', '/api/devices/smoke-1/telemetry?field=temperature')
      expect(field.statusCode).toBe(400)
      expect(field.json().message).toBe(
        'field "temperature" is not a value a smoke device reports (it reports: obscuration, battery, rssi)',
      )
      const order = await call('GET', `/api/devices/smoke-1/telemetry?from=${T0}&to=${T0 - 1}`)
      expect(order.statusCode).toBe(400)
      expect(order.json().message).toMatch(/^to \(.*\) is before from/)
      const noZone = await call('GET', '/api/devices/smoke-1/telemetry?from=2025-03-01T05:00:00')
      expect(noZone.json().message).toMatch(/has no time zone/)
      const words = await call('GET', '/api/devices/smoke-1/telemetry?from=yesterday')
      expect(words.json().message).toMatch(/^from must be ISO 8601/)
      const badDate = await call('GET', '/api/devices/smoke-1/telemetry?from=2025-13-45T00:00:00Z')
      expect(badDate.statusCode).toBe(400)
      const huge = await call('GET', '/api/devices/smoke-1/telemetry?to=9999999999999999')
      expect(huge.statusCode).toBe(400)
      const limit = await call('GET', '/api/devices/smoke-1/telemetry?limit=10001')
      expect(limit.statusCode).toBe(400)
      expect(limit.json().message).toMatch(/^query.limit /)
      expect((await call('GET', '/api/devices/smoke-1/telemetry?limit=0')).statusCode).toBe(400)
      expect((await call('GET', '/api/devices/nope/telemetry')).statusCode).toBe(404)
    })

    it('503 when the store does not answer', async () => {
      store.failing = true
      try {
        const res = await call('GET', '/api/devices/smoke-1/telemetry')
        expect(res.statusCode).toBe(503)
        expect(res.json()).toEqual({
          error: 'unavailable',
          message: 'the telemetry store (memory) did not answer; try again',
        })
      } finally {
        store.failing = false
      }
    })
  })

  describe('bad input never makes a 500', () => {
    it('malformed JSON, empty bodies, wrong types, unknown fields → 400 with {error, message}', async () => {
      const raw = (payload: string, contentType = 'application/json') =>
        app.inject({
          method: 'POST',
          url: '/api/devices',
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': contentType },
          payload,
        })
      const cases = [
        await raw('{"id": "x", '),
        await raw('not json at all'),
        await raw(''),
        await raw('null'),
        await raw('[]'),
        await raw('"a string"'),
        await raw('{"__proto__": {"admin": true}, "id": "p", "kind": "smoke", "building": "factory-7"}'),
        await raw('id=x&kind=smoke', 'text/plain'),
        await call('POST', '/api/devices', { id: 5, kind: 'smoke', building: 'factory-7' }),
        await call('POST', '/api/devices', { id: 'x', kind: 'smoke', building: 'factory-7', colour: 'red' }),
        await call('POST', '/api/devices', { id: 'x', kind: 'smoke', building: 'factory-7', location: [1] }),
        await call('POST', '/api/devices', {
          id: 'x',
          kind: 'smoke',
          building: 'factory-7',
          location: ['a', 'b'],
        }),
        await call('POST', '/api/devices', { id: 'x', kind: 'smoke', building: 'factory-7', floor: 1.5 }),
        await call('POST', '/api/devices', {
          id: 'x',
          kind: 'smoke',
          building: 'factory-7',
          thresholds: { a: 'b' },
        }),
        await call('POST', '/api/buildings', {
          id: 'x',
          name: 'y'.repeat(100_000),
          location: [1, 2],
          responsible: { name: 'z' },
        }),
        await call('POST', '/api/buildings', { id: 'x', name: 'y', location: [1, 2], responsible: 'z' }),
        await call('POST', '/api/communities', { type: 'Feature', properties: {}, geometry: {} }),
        await call('POST', '/api/communities', {
          type: 'Feature',
          properties: { id: 'q', name: 'q', street: 'q' },
          geometry: { type: 'Polygon', coordinates: [[['a', 'b']]] },
        }),
        await call('GET', '/api/devices?limit=abc'),
        await call('GET', '/api/devices?limit=-1'),
        await call('GET', '/api/devices?offset=1.5'),
        await call('GET', '/api/devices?kind=toaster'),
        await call('GET', '/api/devices?limit='),
        await call('GET', '/api/devices?limit=0x10'),
      ]
      for (const res of cases) {
        expect(res.statusCode, res.body).toBe(400)
        const body = res.json()
        expect(body.error).toBe('bad_request')
        expect(typeof body.message).toBe('string')
        expect(body.message.length).toBeGreaterThan(5)
      }
      expect(cases[0]?.json().message).toBe('the body is not valid JSON')
      expect(cases[8]?.json().message).toBe('body.id must be string')
      expect(cases[9]?.json().message).toBe('body has unknown property "colour"')
      expect(cases[11]?.json().message).toMatch(/^body.location\[0\] must be number/)
      expect(cases[12]?.json().message).toBe('body.floor must be a whole number')
      expect(cases[14]?.json().message).toBe('body.name must not have more than 200 characters')
      expect(cases[18]?.json().message).toBe('query.limit must be a whole number')
    })

    it('an oversize body → 413, an unknown media type → 415, an unknown route → 404', async () => {
      const big = await call('POST', '/api/devices', {
        id: 'x',
        kind: 'smoke',
        building: 'b',
        pad: 'x'.repeat(2_000_000),
      })
      expect(big.statusCode).toBe(413)
      expect(big.json()).toEqual({
        error: 'payload_too_large',
        message: 'the body is larger than this call accepts',
      })
      const xml = await app.inject({
        method: 'POST',
        url: '/api/devices',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/xml' },
        payload: '<device/>',
      })
      expect(xml.statusCode).toBe(415)
      expect(xml.json().error).toBe('unsupported_media_type')
      const nowhere = await call('GET', '/api/nowhere')
      expect(nowhere.statusCode).toBe(404)
      expect(nowhere.json()).toEqual({ error: 'not_found', message: 'no route GET /api/nowhere' })
      const method = await call('DELETE', '/api/devices/smoke-1')
      expect(method.statusCode).toBe(404)
    })

    it('random JSON bodies on every write route: always a 4xx with {error, message}', async () => {
      const routes: [string, string][] = [
        ['POST', '/api/communities'],
        ['POST', '/api/buildings'],
        ['POST', '/api/devices'],
        ['PATCH', '/api/devices/smoke-1'],
        ['POST', '/api/responders'],
        ['PATCH', '/api/responders/guard-1'],
        ['POST', '/api/officers'],
      ]
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...routes), fc.jsonValue(), async ([method, url], body) => {
          const res = await app.inject({
            method: method as 'POST',
            url,
            headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
            payload: JSON.stringify(body),
          })
          expect(res.statusCode).toBeGreaterThanOrEqual(400)
          expect(res.statusCode).toBeLessThan(500)
          expect(Object.keys(res.json()).sort()).toEqual(['error', 'message'])
        }),
        { numRuns: 150 },
      )
    })
  })

  describe('operations', () => {
    it('/healthz and /readyz', async () => {
      expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' })
      const ok = await app.inject({ method: 'GET', url: '/readyz' })
      expect(ok.statusCode).toBe(200)
      expect(ok.json()).toEqual(readiness)
      readiness = { ready: false, checks: { broker: true, telemetry_store: false, spool_depth: 12 } }
      const notReady = await app.inject({ method: 'GET', url: '/readyz' })
      expect(notReady.statusCode).toBe(503)
      expect(notReady.json()).toEqual(readiness)
    })

    it('/docs/json lists the routes with their schemas; /docs serves the UI', async () => {
      const res = await app.inject({ method: 'GET', url: '/docs/json' })
      expect(res.statusCode).toBe(200)
      const doc = res.json()
      expect(doc.openapi).toMatch(/^3\./)
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/api/communities',
          '/api/communities/{id}',
          '/api/buildings',
          '/api/buildings/{id}',
          '/api/devices',
          '/api/devices/{id}',
          '/api/devices/{id}/telemetry',
          '/api/responders',
          '/api/responders/{id}',
          '/api/officers',
          '/api/me',
          '/healthz',
          '/readyz',
          '/metrics',
        ]),
      )
      expect(Object.keys(doc.paths)).not.toContain('/mqtt')
      const post = doc.paths['/api/devices'].post
      expect(post.requestBody.content['application/json'].schema.properties.kind.enum).toContain(
        'water_pressure',
      )
      expect(post.responses['201']).toBeDefined()
      expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' })
      const ui = await app.inject({ method: 'GET', url: '/docs/' })
      expect(ui.statusCode).toBe(200)
      expect(ui.headers['content-type']).toMatch(/text\/html/)
    })

    it('/metrics serves Prometheus text with HTTP counters by route template and status', async () => {
      const res = await app.inject({ method: 'GET', url: '/metrics' })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toMatch(/^text\/plain/)
      expect(res.body).toMatch(
        /^firecircle_http_requests_total\{method="GET",route="\/api\/devices\/:id",status="403"\} \d+$/m,
      )
      expect(res.body).toMatch(/^firecircle_http_request_duration_seconds_bucket\{/m)
      expect(res.body).not.toMatch(/route="\/api\/devices\/smoke-1"/)
    })
  })

  describe('restart', () => {
    it('loads everything back from SQLite; secrets and tokens still verify; no new admin token', async () => {
      const db2 = openStateDatabase(dbFile)
      try {
        const again = await createRegistry({
          repository: createSqliteRegistryRepository(db2),
          clock,
          logger: createLogger('silent'),
          events: createEventBus(),
        })
        expect(again.device('heat-1')).toEqual(registry.device('heat-1'))
        expect(again.responder('guard-1')).toEqual(registry.responder('guard-1'))
        expect(again.building('shop-12')).toEqual(registry.building('shop-12'))
        expect(again.community('xinan-01')?.geometry).toEqual(registry.community('xinan-01')?.geometry)
        expect(again.locate([113.885, 22.58])?.id).toBe('xinan-01')
        expect(await again.checkSecret('heat-1', secrets['heat-1'] as string)).toEqual({
          ok: true,
          kind: 'device',
        })
        expect(await again.ensureAdminToken()).toBeUndefined()
        expect(await again.authenticate(adminToken)).toEqual({ role: 'administrator' })
        expect(await again.authenticate(tokens['officer-s'] as string)).toMatchObject({
          role: 'officer',
          scope: { level: 'street', street: 'xinan' },
        })
      } finally {
        db2.close()
      }
    })
  })
})

describe('administrator token', () => {
  it('FC_ADMIN_TOKEN is the token; the generated one stops working; short tokens are refused', async () => {
    const tmp = tempDir('firecircle-admin-')
    const db = openStateDatabase(path.join(tmp.dir, 'state.db'))
    try {
      const registry = await createRegistry({
        repository: createSqliteRegistryRepository(db),
        clock: createManualClock(T0),
        logger: createLogger('silent'),
        events: createEventBus(),
      })
      const generated = await registry.ensureAdminToken()
      expect(generated).toMatch(/^admin\.[A-Za-z0-9_-]{32}$/)
      expect(await registry.ensureAdminToken()).toBeUndefined()
      expect(await registry.authenticate(generated as string)).toEqual({ role: 'administrator' })

      const configured = 'a-long-operator-chosen-token-42'
      expect(await registry.ensureAdminToken(configured)).toBeUndefined()
      expect(await registry.authenticate(configured)).toEqual({ role: 'administrator' })
      expect(await registry.authenticate(generated as string)).toBeUndefined()
      // Same token again: nothing changes.
      expect(await registry.ensureAdminToken(configured)).toBeUndefined()
      expect(await registry.authenticate(configured)).toEqual({ role: 'administrator' })

      await expect(registry.ensureAdminToken('short')).rejects.toThrow(
        /^FC_ADMIN_TOKEN: is shorter than 16 characters/,
      )
    } finally {
      db.close()
      tmp.cleanup()
    }
  })
})

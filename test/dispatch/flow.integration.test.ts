/**
 * Dispatch end to end, with the real service in this process on a ManualClock and real
 * MQTT clients as the responder apps: a heat alarm in factory-7 is offered to the responders
 * inside the 5-minute circle by the default policy, nearest ETA first; a decline moves on to
 * the next grid staff; an acceptance is followed to on scene; unanswered offers expire; a
 * second fire where nobody accepts widens the circle to 7.5 then 10 minutes; bad replies are
 * refused and change nothing; resolving releases the busy responder; the 5-minute KPI counts
 * it; after a restart the timers resume from their stored deadlines.
 */
import path from 'node:path'
import Database from 'better-sqlite3'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningService, startService } from '../../services/app.ts'
import { loadConfig } from '../../services/config/index.ts'
import { EARTH_RADIUS_M, etaSeconds, haversineM } from '../../services/dispatch/eta.ts'
import type { DispatchEscalation, DispatchReplyEvent } from '../../services/dispatch/types.ts'
import { createEventBus, type EventBus } from '../../services/events/index.ts'
import { createManualClock } from '../../services/shared/clock.ts'
import { createLogger } from '../../services/shared/log.ts'
import { connectAs } from '../support/mqtt.ts'
import {
  ADMIN_TOKEN,
  type ApiClient,
  apiClient,
  must,
  registerDevice,
  registerDistrict,
  until,
} from '../support/service.ts'
import { openStream } from '../support/sse.ts'
import { tempDir } from '../support/tmp.ts'

/** The listeners this file puts on the event bus. */
const test = { owner: 'test/dispatch/flow.integration.test.ts' }

const FACTORY: [number, number] = [113.865, 22.575]
const RAD = Math.PI / 180
const tenth = (x: number) => Math.round(x * 10) / 10

/** The point `d` metres from the factory at `bearing` degrees, on the same sphere as the ETA. */
function at(d: number, bearing: number): [number, number] {
  const [lon, lat] = FACTORY
  const delta = d / EARTH_RADIUS_M
  const phi1 = lat * RAD
  const theta = bearing * RAD
  const phi2 = Math.asin(
    Math.sin(phi1) * Math.cos(delta) + Math.cos(phi1) * Math.sin(delta) * Math.cos(theta),
  )
  const lambda2 =
    lon * RAD +
    Math.atan2(
      Math.sin(theta) * Math.sin(delta) * Math.cos(phi1),
      Math.cos(delta) - Math.sin(phi1) * Math.sin(phi2),
    )
  return [lambda2 / RAD, phi2 / RAD]
}

interface Person {
  id: string
  type: string
  mode: 'foot' | 'bicycle' | 'motor'
  d: number
  bearing: number
  onDuty?: boolean
  building?: string
}

/** Around factory-7; ETAs with docs/DOMAIN.md's defaults in the comments. */
const PEOPLE: Person[] = [
  { id: 'g-100', type: 'grid_staff', mode: 'foot', d: 100, bearing: 0 }, // 122.9 s
  { id: 'ms-800', type: 'micro_station', mode: 'motor', d: 800, bearing: 90 }, // 185.3 s
  { id: 'g-200', type: 'grid_staff', mode: 'foot', d: 200, bearing: 45 }, // 215.7 s
  { id: 'v-700', type: 'volunteer', mode: 'bicycle', d: 700, bearing: 270 }, // 246.7 s
  { id: 'g-250', type: 'grid_staff', mode: 'foot', d: 250, bearing: 135 }, // 262.1 s
  { id: 'fs-1400', type: 'fire_station', mode: 'motor', d: 1400, bearing: 300 }, // 279.3 s
  { id: 'g-280', type: 'grid_staff', mode: 'foot', d: 280, bearing: 180 }, // 290.0 s: the 4th grid staff
  { id: 'guard-f7', type: 'security_guard', mode: 'foot', d: 400, bearing: 200, building: 'factory-7' }, // 401.4 s
  { id: 'g-320', type: 'grid_staff', mode: 'foot', d: 320, bearing: 10 }, // 327.1 s: 7.5-min circle
  { id: 'ms-2000', type: 'micro_station', mode: 'motor', d: 2000, bearing: 60 }, // 373.3 s: 7.5-min circle
  { id: 'v-1300', type: 'volunteer', mode: 'bicycle', d: 1300, bearing: 240 }, // 432.4 s: 7.5-min circle
  { id: 'vf-500', type: 'volunteer', mode: 'foot', d: 500, bearing: 330 }, // 494.3 s: 10-min circle
  { id: 'g-far', type: 'grid_staff', mode: 'foot', d: 700, bearing: 100 }, // 680 s: never
  { id: 'g-off', type: 'grid_staff', mode: 'foot', d: 50, bearing: 20, onDuty: false }, // off duty: never
]
const where = new Map(PEOPLE.map((p) => [p.id, at(p.d, p.bearing)]))
const etaOf = (id: string) => {
  const p = PEOPLE.find((x) => x.id === id)!
  const [lon, lat] = where.get(id)!
  return tenth(etaSeconds(haversineM(FACTORY[0], FACTORY[1], lon, lat), p.mode))
}
/** The first round at factory-7, nearest ETA first. */
const ROUND_0 = ['g-100', 'ms-800', 'g-200', 'v-700', 'g-250', 'fs-1400', 'guard-f7']

const clock = createManualClock(Date.now())
const secrets: Record<string, string> = {}
const tmp = tempDir('firecircle-dispatch-')
let service: RunningService
let bus: EventBus
let api: ApiClient
let mqttUrl = ''
let base = ''
let xixiangOfficer = ''
let xinanOfficer = ''
const escalations: DispatchEscalation[] = []
const replies: DispatchReplyEvent[] = []
const apps = new Map<string, MqttClient>()
/** Offers as the apps received them, in arrival order. */
const received: {
  responder: string
  offer: { incident: string; location: number[]; eta_s: number; building?: unknown }
}[] = []

async function start(): Promise<void> {
  bus = createEventBus()
  bus.on(test, 'dispatch.escalation', (e) => escalations.push(e))
  bus.on(test, 'dispatch.reply', (r) => replies.push(r))
  const config = loadConfig({
    FC_MQTT_PORT: '0',
    FC_HTTP_PORT: '0',
    FC_HOST: '127.0.0.1',
    FC_DATA_DIR: tmp.dir,
    FC_ADMIN_TOKEN: ADMIN_TOKEN,
    FC_LOG_LEVEL: process.env['FC_TEST_LOG_LEVEL'] ?? 'silent',
  })
  service = await startService(config, { clock, events: bus, logger: createLogger(config.logLevel) })
  base = `http://127.0.0.1:${service.httpPort}`
  mqttUrl = `mqtt://127.0.0.1:${service.mqttPort}`
  api = apiClient(base, ADMIN_TOKEN)
}

async function heat(device: string, temperature: number): Promise<string> {
  const c = await connectAs(mqttUrl, device, secrets[device]!)
  await c.publishAsync(`dev/${device}/telemetry`, JSON.stringify({ values: { temperature } }), { qos: 1 })
  await c.endAsync()
  const open = await until(async () => {
    const r = await api.get('/api/incidents?status=open')
    return r.body.items.find((i: { devices: { device: string }[] }) =>
      i.devices.some((d) => d.device === device),
    )
  }, `an incident from ${device}`)
  return open.id as string
}

const incident = async (id: string) => must(await api.get(`/api/incidents/${id}`), 200)
const offersOf = async (id: string) =>
  (await incident(id)).offers as {
    responder: string
    state: string
    eta_s: number
    round: number
    inside: boolean
  }[]
const stateOf = async (id: string, responder: string) =>
  (await offersOf(id)).find((o) => o.responder === responder)?.state
const offersTo = (incidentId: string) => received.filter((r) => r.offer.incident === incidentId)
const reply = (responder: string, incidentId: string, answer: string) =>
  apps
    .get(responder)!
    .publishAsync(`rsp/${responder}/reply`, JSON.stringify({ incident: incidentId, answer }), {
      qos: 1,
    })
async function refusedCount(reason: string): Promise<number> {
  const text = (await fetch(`${base}/metrics`).then((r) => r.text())) as string
  const line = text
    .split('\n')
    .find(
      (l) => l.startsWith('firecircle_dispatch_replies_refused_total{') && l.includes(`reason="${reason}"`),
    )
  return line === undefined ? 0 : Number(line.split(' ').at(-1))
}

beforeAll(async () => {
  await start()
  await registerDistrict(api)
  for (const id of ['f7-heat', 'f7-heat2', 'f7-heat3']) {
    secrets[id] = (await registerDevice(api, { id, kind: 'heat', building: 'factory-7' })).secret
  }
  for (const p of PEOPLE) {
    const created = must(
      await api.post('/api/responders', {
        id: p.id,
        name: `Responder ${p.id}`,
        type: p.type,
        mode: p.mode,
        onDuty: p.onDuty ?? true,
        location: where.get(p.id),
        ...(p.building !== undefined ? { building: p.building } : {}),
      }),
      201,
    )
    secrets[p.id] = created.secret
  }
  xixiangOfficer = must(
    await api.post('/api/officers', { id: 'duty-xx', name: 'Li Na', scope: 'community:xixiang-01' }),
    201,
  ).token
  xinanOfficer = must(
    await api.post('/api/officers', { id: 'duty-xa', name: 'Zhao Lei', scope: 'street:xinan' }),
    201,
  ).token
  for (const p of PEOPLE) {
    const c = await connectAs(mqttUrl, p.id, secrets[p.id]!)
    await c.subscribeAsync(`rsp/${p.id}/offer`, { qos: 1 })
    c.on('message', (_topic, payload) =>
      received.push({ responder: p.id, offer: JSON.parse(payload.toString()) }),
    )
    apps.set(p.id, c)
  }
}, 60_000)

afterAll(async () => {
  for (const c of apps.values()) await c.endAsync().catch(() => {})
  await service?.stop()
  tmp.cleanup()
})

describe('dispatch: the 5-minute fire circle end to end', () => {
  let A = ''
  let B = ''

  it('a heat alarm in factory-7 is offered by the default policy, nearest ETA first, with the right eta_s', async () => {
    A = await heat('f7-heat', 80)
    await until(() => offersTo(A).length >= ROUND_0.length, 'the first round of offers')
    await new Promise((r) => setTimeout(r, 100)) // room for a wrong extra offer to show up
    const got = offersTo(A)
    expect(got.map((r) => r.responder)).toEqual(ROUND_0)
    for (const r of got) {
      expect(r.offer).toEqual({
        incident: A,
        location: FACTORY,
        eta_s: etaOf(r.responder),
        building: {
          id: 'factory-7',
          name: 'Hengfeng electronics factory',
          address: '宝安区新安街道创业一路 12 号',
        },
      })
    }
    // The building's guard is outside the circle and still offered; the off-duty, the 4th grid
    // staff and everyone beyond 300 s are not.
    expect(etaOf('guard-f7')).toBeGreaterThan(300)
    const offers = await offersOf(A)
    expect(offers.map((o) => [o.responder, o.state, o.eta_s, o.round])).toEqual(
      ROUND_0.map((id) => [id, 'offered', etaOf(id), 0]),
    )
    expect(offers.find((o) => o.responder === 'guard-f7')?.inside).toBe(false)
    const timeline = (await incident(A)).timeline as { type: string; responder?: string; reason: string }[]
    expect(timeline.filter((e) => e.type === 'offer').map((e) => e.responder)).toEqual(ROUND_0)
    expect(timeline.find((e) => e.responder === 'g-100')?.reason).toMatch(
      /offered to grid_staff g-100 \(foot, 100 m/,
    )
    // A console sees the offers on the stream (replayed from the start with Last-Event-ID 0).
    const stream = await openStream(`${base}/api/stream`, ADMIN_TOKEN, { 'last-event-id': '0' })
    for (const id of ROUND_0) {
      const e = await stream.next(
        (x) => x.event === 'offer' && x.data.incident === A && x.data.responder === id,
      )
      expect(e.data).toMatchObject({ change: 'offered', eta_s: etaOf(id) })
    }
    stream.close()
  })

  it('writes an incident_event point for the dispatch step: responders_inside, eta_first_s', async () => {
    const db = new Database(path.join(tmp.dir, 'telemetry.db'), { readonly: true })
    try {
      const fields = await until(() => {
        const rows = db
          .prepare(
            `SELECT field, value FROM sample JOIN series ON series.id = sample.series
             WHERE measurement = 'incident_event' AND json_extract(tags, '$.incident') = ?
               AND field IN ('responders_inside', 'eta_first_s', 'limit_s')`,
          )
          .all(A) as { field: string; value: number }[]
        return rows.length === 3 ? Object.fromEntries(rows.map((r) => [r.field, Number(r.value)])) : undefined
      }, 'the dispatch point in the telemetry store')
      // Inside 300 s, on duty and free: ROUND_0 without the guard (401 s), plus g-280.
      expect(fields).toEqual({ responders_inside: 7, eta_first_s: etaOf('g-100'), limit_s: 300 })
    } finally {
      db.close()
    }
  })

  it('a decline moves on to the next nearest grid staff', async () => {
    await reply('g-200', A, 'decline')
    await until(() => offersTo(A).some((r) => r.responder === 'g-280'), 'an offer to g-280')
    expect(offersTo(A).find((r) => r.responder === 'g-280')?.offer.eta_s).toBe(etaOf('g-280'))
    expect(await stateOf(A, 'g-200')).toBe('declined')
    expect(await stateOf(A, 'g-280')).toBe('offered')
    // Only grid staff are limited: nobody else was offered on the decline.
    expect(offersTo(A)).toHaveLength(ROUND_0.length + 1)
  })

  it('an acceptance makes the responder busy; en route is followed over MQTT', async () => {
    await reply('g-100', A, 'accept')
    await until(async () => (await stateOf(A, 'g-100')) === 'accepted', 'g-100 accepted')
    await reply('g-100', A, 'en_route')
    await until(async () => (await stateOf(A, 'g-100')) === 'en_route', 'g-100 en route')
    const [lon, lat] = FACTORY
    const available = must(
      await api.get(`/api/responders/nearby?lon=${lon}&lat=${lat}&status=available`),
      200,
    )
    expect(available.items.map((r: { id: string }) => r.id)).not.toContain('g-100')
    const onDuty = must(await api.get(`/api/responders/nearby?lon=${lon}&lat=${lat}`), 200)
    expect(onDuty.items.find((r: { id: string }) => r.id === 'g-100')).toMatchObject({
      busy: true,
      incident: A,
    })
    // A repeated answer (QoS 1 redelivery) changes nothing.
    const before = (await incident(A)).timeline.length
    await reply('g-100', A, 'en_route')
    await new Promise((r) => setTimeout(r, 100))
    expect((await incident(A)).timeline.length).toBe(before)
  })

  it('refuses bad replies with a reason, over MQTT and HTTP, and changes nothing', async () => {
    const snapshot = await incident(A)
    const unknownBefore = await refusedCount('unknown_incident')
    const notOfferedBefore = await refusedCount('not_offered')
    await reply('g-250', 'inc-20990101-nope', 'accept')
    await reply('g-off', A, 'accept')
    await until(
      async () =>
        (await refusedCount('unknown_incident')) === unknownBefore + 1 &&
        (await refusedCount('not_offered')) === notOfferedBefore + 1,
      'the MQTT refusals to be counted',
    )

    const unknown = await api.post('/api/incidents/inc-20990101-nope/replies', {
      responder: 'g-250',
      answer: 'accept',
    })
    expect(unknown.status).toBe(404)
    expect(unknown.body.message).toMatch(/incident inc-20990101-nope does not exist/)
    const never = await api.post(`/api/incidents/${A}/replies`, { responder: 'g-off', answer: 'accept' })
    expect(never.status).toBe(409)
    expect(never.body.message).toBe(`responder g-off was never offered incident ${A}`)
    const nobody = await api.post(`/api/incidents/${A}/replies`, { responder: 'nobody', answer: 'accept' })
    expect(nobody.status).toBe(404)
    expect(nobody.body.message).toMatch(/responder nobody is not registered/)
    const early = await api.post(
      `/api/incidents/${A}/replies`,
      { responder: 'ms-800', answer: 'on_scene' },
      xixiangOfficer,
    )
    expect(early.status).toBe(409)
    expect(early.body.message).toMatch(
      /on_scene from ms-800 refused: on_scene needs an accepted offer, not offered/,
    )
    const enRoute = await api.post(`/api/incidents/${A}/replies`, { responder: 'g-250', answer: 'en_route' })
    expect(enRoute.status).toBe(409)
    const bad = await api.post(`/api/incidents/${A}/replies`, { responder: 'g-250', answer: 'maybe' })
    expect(bad.status).toBe(400)
    expect(bad.body.message).toMatch(/answer/)
    const outside = await api.post(
      `/api/incidents/${A}/replies`,
      { responder: 'g-250', answer: 'accept' },
      xinanOfficer,
    )
    expect(outside.status).toBe(403)

    const after = await incident(A)
    expect(after.offers).toEqual(snapshot.offers)
    expect(after.timeline).toEqual(snapshot.timeline)
  })

  it('unanswered offers expire after 30 s; on scene over MQTT is recorded with its time', async () => {
    clock.advance(30_001)
    const offers = await offersOf(A)
    expect(Object.fromEntries(offers.map((o) => [o.responder, o.state]))).toEqual({
      'g-100': 'en_route',
      'ms-800': 'no_answer',
      'g-200': 'declined',
      'v-700': 'no_answer',
      'g-250': 'no_answer',
      'fs-1400': 'no_answer',
      'guard-f7': 'no_answer',
      'g-280': 'no_answer',
    })
    // Nobody else of a limited type was inside the circle to move on to.
    expect(offersTo(A)).toHaveLength(ROUND_0.length + 1)
    await reply('g-100', A, 'on_scene')
    await until(async () => (await stateOf(A, 'g-100')) === 'on_scene', 'g-100 on scene')
    const one = await incident(A)
    const g100 = one.offers.find((o: { responder: string }) => o.responder === 'g-100')
    expect(Date.parse(g100.onSceneAt) - Date.parse(one.alarmAt)).toBe(30_001)
    const replyEntries = one.timeline.filter((e: { type: string }) => e.type === 'reply')
    expect(replyEntries.map((e: { reason: string }) => e.reason)).toEqual([
      'g-200: decline',
      'g-100: accept',
      'g-100: en_route',
      'g-100: on_scene, 30 s after the alarm',
    ])
    expect(replyEntries[1]).toMatchObject({ actor: 'responder:g-100', responder: 'g-100' })
    expect(replies.filter((r) => r.offer.incident === A).map((r) => [r.offer.responder, r.answer])).toEqual([
      ['g-200', 'decline'],
      ['g-100', 'accept'],
      ['g-100', 'en_route'],
      ['g-100', 'on_scene'],
    ])
  })

  it('an accepted incident does not widen', async () => {
    clock.advance(120_000)
    await new Promise((r) => setTimeout(r, 50))
    expect(escalations.filter((e) => e.incident === A)).toEqual([])
    expect(offersTo(A)).toHaveLength(ROUND_0.length + 1)
  })

  it('GET /api/incidents/{id}/circle: a polygon per mode and the responders inside with eta_s, in scope', async () => {
    const circle = must(await api.get(`/api/incidents/${A}/circle`, xixiangOfficer), 200)
    expect(circle.type).toBe('FeatureCollection')
    const polygons = circle.features.filter(
      (f: { geometry: { type: string } }) => f.geometry.type === 'Polygon',
    )
    expect(
      polygons.map((f: { properties: { mode: string; limit_s: number } }) => [
        f.properties.mode,
        f.properties.limit_s,
      ]),
    ).toEqual([
      ['motor', 300],
      ['bicycle', 300],
      ['foot', 300],
    ])
    const points = circle.features.filter((f: { geometry: { type: string } }) => f.geometry.type === 'Point')
    expect(
      points.map((f: { properties: { id: string; eta_s: number } }) => [f.properties.id, f.properties.eta_s]),
    ).toEqual(['g-100', 'ms-800', 'g-200', 'v-700', 'g-250', 'fs-1400', 'g-280'].map((id) => [id, etaOf(id)]))
    expect((await api.get(`/api/incidents/${A}/circle`, xinanOfficer)).status).toBe(403)
    expect((await api.get('/api/incidents/inc-20990101-nope/circle')).status).toBe(404)
  })

  it('resolving releases the busy responder, and a reply to a closed incident is refused', async () => {
    must(await api.post(`/api/incidents/${A}/resolve`, { reason: 'fire out' }), 200)
    const [lon, lat] = FACTORY
    await until(async () => {
      const r = await api.get(`/api/responders/nearby?lon=${lon}&lat=${lat}&status=available`)
      return r.body.items.some((x: { id: string }) => x.id === 'g-100')
    }, 'g-100 released')
    const late = await api.post(`/api/incidents/${A}/replies`, { responder: 'g-250', answer: 'accept' })
    expect(late.status).toBe(409)
    expect(late.body.message).toMatch(/is resolved/)
    const timeline = (await incident(A)).timeline as { type: string; reason: string }[]
    expect(timeline.at(-1)?.reason).toMatch(/dispatch stopped \(incident resolved\): released g-100/)
  })

  it('nobody accepts a second fire: the circle widens to 7.5 min, then 10 min, with escalations', async () => {
    B = await heat('f7-heat2', 90)
    const t1 = Date.parse((await incident(B)).alarmAt)
    await until(() => offersTo(B).length >= ROUND_0.length, 'the first round of offers for B')
    expect(offersTo(B).map((r) => r.responder)).toEqual(ROUND_0)

    clock.advance(30_001) // the round expires; the next grid staff inside 300 s is offered
    await until(() => offersTo(B).some((r) => r.responder === 'g-280'), 'g-280 offered on expiry')
    expect(escalations.filter((e) => e.incident === B)).toEqual([])

    clock.set(t1 + 60_000)
    await until(() => offersTo(B).length >= ROUND_0.length + 4, 'the 7.5-minute round')
    expect(escalations.filter((e) => e.incident === B)).toEqual([
      {
        incident: B,
        community: 'xixiang-01',
        street: 'xixiang',
        building: 'factory-7',
        step: 1,
        fromS: 300,
        limitS: 450,
        offered: ['g-320', 'ms-2000', 'v-1300'],
        at: t1 + 60_000,
      },
    ])
    expect(
      offersTo(B)
        .slice(-3)
        .map((r) => [r.responder, r.offer.eta_s]),
    ).toEqual(['g-320', 'ms-2000', 'v-1300'].map((id) => [id, etaOf(id)]))

    clock.set(t1 + 120_000)
    await until(() => offersTo(B).some((r) => r.responder === 'vf-500'), 'the 10-minute round')
    expect(
      escalations.filter((e) => e.incident === B).map((e) => [e.step, e.fromS, e.limitS, e.offered]),
    ).toEqual([
      [1, 300, 450, ['g-320', 'ms-2000', 'v-1300']],
      [2, 450, 600, ['vf-500']],
    ])
    // 10 minutes is the widest: no more escalations.
    clock.advance(300_000)
    await new Promise((r) => setTimeout(r, 50))
    expect(escalations.filter((e) => e.incident === B)).toHaveLength(2)
    expect(offersTo(B).map((r) => r.responder)).not.toContain('g-far')
    expect(offersTo(B).map((r) => r.responder)).not.toContain('g-off')

    const one = await incident(B)
    const entries = one.timeline.filter((e: { type: string }) => e.type === 'escalation')
    expect(entries.map((e: { reason: string }) => e.reason)).toEqual([
      'no responder accepted within 60 s: the circle widens from 300 s to 450 s (7.5 min); 3 more responders offered',
      'no responder accepted within 120 s: the circle widens from 450 s to 600 s (10 min); 1 more responder offered',
    ])
    expect(one.offers.every((o: { state: string }) => o.state === 'no_answer')).toBe(true)
    const circle = must(await api.get(`/api/incidents/${B}/circle`), 200)
    expect(circle.features[0].properties.limit_s).toBe(600)

    // A late acceptance (HTTP, by the officer for ms-2000): on scene 420 s after the alarm.
    must(
      await api.post(
        `/api/incidents/${B}/replies`,
        { responder: 'ms-2000', answer: 'accept' },
        xixiangOfficer,
      ),
      200,
    )
    expect(clock.now()).toBe(t1 + 420_000)
    const onScene = must(
      await api.post(
        `/api/incidents/${B}/replies`,
        { responder: 'ms-2000', answer: 'on_scene' },
        xixiangOfficer,
      ),
      200,
    )
    expect(onScene).toMatchObject({
      incident: B,
      repeated: false,
      offer: { responder: 'ms-2000', state: 'on_scene' },
    })
    expect((await incident(B)).timeline.at(-1)).toMatchObject({
      type: 'reply',
      actor: 'officer:duty-xx',
      reason: 'ms-2000: on_scene, 420 s after the alarm (by officer:duty-xx over HTTP)',
    })
    must(await api.post(`/api/incidents/${B}/false-alarm`, {}), 200)
  })

  it('GET /api/dispatch/kpi: the share of incidents with a responder on scene within 300 s', async () => {
    const kpi = must(await api.get('/api/dispatch/kpi', xixiangOfficer), 200)
    expect(kpi).toMatchObject({
      limit_s: 300,
      incidents: 2,
      withResponderOnScene: 2,
      within300s: 1,
      share: 0.5,
    })
    const other = must(await api.get('/api/dispatch/kpi', xinanOfficer), 200)
    expect(other).toMatchObject({ incidents: 0, within300s: 0, share: null })
    const past = must(
      await api.get('/api/dispatch/kpi?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z'),
      200,
    )
    expect(past.incidents).toBe(0)
    expect((await api.get('/api/dispatch/kpi?from=yesterday')).status).toBe(400)
    expect((await api.get('/api/dispatch/kpi?community=xinan-01', xixiangOfficer)).status).toBe(403)
  })

  it('after a restart, offers still expire and the circle still widens at the stored deadlines', async () => {
    const C = await heat('f7-heat3', 85)
    const t2 = Date.parse((await incident(C)).alarmAt)
    await until(async () => (await offersOf(C)).length === ROUND_0.length, 'the first round for C')
    for (const c of apps.values()) await c.endAsync()
    apps.clear()
    await service.stop()
    clock.advance(10_000) // time passes while the service is down

    await start()
    expect((await offersOf(C)).map((o) => o.state)).toEqual(ROUND_0.map(() => 'offered'))
    clock.set(t2 + 30_001)
    await until(
      async () => (await offersOf(C)).every((o) => o.state !== 'offered' || o.responder === 'g-280'),
      'expiry',
    )
    expect(await stateOf(C, 'g-100')).toBe('no_answer')
    expect(await stateOf(C, 'g-280')).toBe('offered') // moved on to after the expiry
    clock.set(t2 + 60_000)
    await until(() => escalations.some((e) => e.incident === C), 'the widening after the restart')
    expect(escalations.find((e) => e.incident === C)).toMatchObject({ step: 1, limitS: 450, at: t2 + 60_000 })

    // A responder committed before a restart is still busy after it, until the incident closes.
    must(await api.post(`/api/incidents/${C}/replies`, { responder: 'g-100', answer: 'accept' }), 200)
    await service.stop()
    await start()
    const [lon, lat] = FACTORY
    const nearby = must(await api.get(`/api/responders/nearby?lon=${lon}&lat=${lat}`), 200)
    expect(nearby.items.find((r: { id: string }) => r.id === 'g-100')).toMatchObject({
      busy: true,
      incident: C,
    })
    clock.advance(120_000)
    await new Promise((r) => setTimeout(r, 50))
    expect(escalations.filter((e) => e.incident === C)).toHaveLength(1) // covered: no more widening
    must(await api.post(`/api/incidents/${C}/resolve`, {}), 200)
    await until(async () => {
      const r = await api.get(`/api/responders/nearby?lon=${lon}&lat=${lat}&status=available`)
      return r.body.items.some((x: { id: string }) => x.id === 'g-100')
    }, 'g-100 released after the restart')
  })
})

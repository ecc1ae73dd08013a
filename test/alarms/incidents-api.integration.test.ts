/**
 * Incidents as a duty officer meets them: a fire published by MQTT devices appears on the
 * SSE stream and in the API; officer actions move it through its lifecycle; scope holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createManualClock } from '../../services/shared/clock.ts'
import { connectAs } from '../support/mqtt.ts'
import { registerDevice, registerDistrict, startTestService, type TestService } from '../support/service.ts'
import { openStream } from '../support/sse.ts'

let svc: TestService
// The service's windows and timers run on this clock; the test moves it.
const clock = createManualClock(Date.now())
const secrets: Record<string, string> = {}
let xixiangOfficer = ''
let xinanOfficer = ''
let districtOfficer = ''

beforeAll(async () => {
  svc = await startTestService({ clock })
  await registerDistrict(svc.api)
  for (const [id, kind, building] of [
    ['f7-heat', 'heat', 'factory-7'],
    ['f7-smoke', 'smoke', 'factory-7'],
    ['shop-smoke', 'smoke', 'shop-12'],
  ] as const) {
    secrets[id] = (await registerDevice(svc.api, { id, kind, building })).secret
  }
  xixiangOfficer = (
    await svc.api.post('/api/officers', { id: 'duty-xx', name: 'Li Na', scope: 'community:xixiang-01' })
  ).body.token
  xinanOfficer = (
    await svc.api.post('/api/officers', { id: 'duty-xa', name: 'Zhao Lei', scope: 'street:xinan' })
  ).body.token
  districtOfficer = (
    await svc.api.post('/api/officers', { id: 'duty-ba', name: 'Sun Yu', scope: 'district' })
  ).body.token
})
afterAll(async () => svc?.stop())

describe('incidents over HTTP and SSE', () => {
  it('a heat alarm published over MQTT reaches the community officer on the stream and the other street never sees it', async () => {
    const mine = await openStream(`${svc.base}/api/stream`, xixiangOfficer)
    const other = await openStream(`${svc.base}/api/stream`, xinanOfficer)
    expect(mine.status).toBe(200)
    const c = await connectAs(svc.mqttUrl, 'f7-heat', secrets['f7-heat']!)
    await c.publishAsync('dev/f7-heat/telemetry', JSON.stringify({ values: { temperature: 74 } }), { qos: 1 })
    const e = await mine.next((x) => x.event === 'incident' && x.data.change === 'opened')
    expect(e.data.incident).toMatchObject({
      status: 'alarm',
      building: 'factory-7',
      community: 'xixiang-01',
      cause: 'fire',
    })
    expect(e.data.entry.reason).toMatch(/heat_fixed 74/)
    const signal = await mine.next((x) => x.event === 'signal' && x.data.device === 'f7-heat')
    expect(signal.data).toMatchObject({
      condition: 'heat_fixed',
      class: 'alarm',
      active: true,
      incident: e.data.incident.id,
    })
    // Give the other stream the same chance to (wrongly) see it: the signal above came after.
    await new Promise((r) => setTimeout(r, 100))
    expect(other.events.filter((x) => x.event === 'incident' || x.event === 'signal')).toEqual([])
    mine.close()
    other.close()
    await c.endAsync()
  })

  it('lists the open incident with its devices and timeline, and only in scope', async () => {
    const list = await svc.api.get('/api/incidents?status=open', xixiangOfficer)
    expect(list.status).toBe(200)
    expect(list.body.items).toHaveLength(1)
    const id = list.body.items[0].id
    const one = await svc.api.get(`/api/incidents/${id}`, xixiangOfficer)
    expect(one.body.devices.map((d: { device: string }) => d.device)).toEqual(['f7-heat'])
    expect(one.body.timeline[0]).toMatchObject({ type: 'opened', status: 'alarm', actor: 'device:f7-heat' })
    expect((await svc.api.get('/api/incidents?status=open', xinanOfficer)).body.items).toEqual([])
    const denied = await svc.api.get(`/api/incidents/${id}`, xinanOfficer)
    // Outside the scope: 403, word for word what a missing incident gets (issue #12).
    expect(denied.status).toBe(403)
    expect(denied.body).toEqual({
      error: 'forbidden',
      message: `incident ${id} does not exist in your scope`,
    })
  })

  it('moves through acknowledge → confirm → resolve with actor and reason; refuses what the lifecycle does not allow', async () => {
    const id = (await svc.api.get('/api/incidents?status=open', districtOfficer)).body.items[0].id
    const forbidden = await svc.api.post(`/api/incidents/${id}/acknowledge`, {}, xinanOfficer)
    expect(forbidden.status).toBe(403)
    const ack = await svc.api.post(
      `/api/incidents/${id}/acknowledge`,
      { reason: 'watching the camera' },
      xixiangOfficer,
    )
    expect(ack.status).toBe(200)
    expect(ack.body.status).toBe('acknowledged')
    expect(ack.body.timeline.at(-1)).toMatchObject({
      from: 'alarm',
      status: 'acknowledged',
      actor: 'officer:duty-xx',
      reason: 'watching the camera',
    })
    const again = await svc.api.post(`/api/incidents/${id}/acknowledge`, {}, xixiangOfficer)
    expect(again.status).toBe(409)
    expect(again.body.message).toMatch(/is acknowledged: it cannot be acknowledged/)
    const confirmed = await svc.api.post(`/api/incidents/${id}/confirm`, null, districtOfficer)
    expect(confirmed.body.status).toBe('confirmed')
    expect((await svc.api.post(`/api/incidents/${id}/false-alarm`, {}, districtOfficer)).status).toBe(409)
    const resolved = await svc.api.post(
      `/api/incidents/${id}/resolve`,
      { reason: 'fire out, crew left' },
      districtOfficer,
    )
    expect(resolved.body).toMatchObject({ status: 'resolved', resolution: 'resolved' })
    expect(resolved.body.timeline.map((e: { status: string }) => e.status)).toEqual([
      'alarm',
      'acknowledged',
      'confirmed',
      'resolved',
    ])
    expect((await svc.api.get('/api/incidents?status=open', districtOfficer)).body.items).toEqual([])
  })

  it('refuses bad input with a clear 4xx and changes nothing', async () => {
    expect((await svc.api.post('/api/incidents/nope/acknowledge', {}, districtOfficer)).status).toBe(403)
    const bad = await svc.api.get('/api/incidents?status=burning', districtOfficer)
    expect(bad.status).toBe(400)
    expect(bad.body.message).toMatch(/status/)
    const id = (await svc.api.get('/api/incidents', districtOfficer)).body.items[0].id
    const r = await svc.api.post(`/api/incidents/${id}/resolve`, { reason: 5 }, districtOfficer)
    expect(r.status).toBe(400)
    expect((await svc.api.request('GET', '/api/stream', undefined, 'bad-token')).status).toBe(401)
    const ghost = await svc.api.get('/api/devices/ghost/signals', districtOfficer)
    expect(ghost.status).toBe(403)
    expect(ghost.body).toMatchObject({ error: 'forbidden' })
    const elsewhere = await svc.api.get('/api/devices/f7-heat/signals', xinanOfficer)
    expect(elsewhere.status).toBe(403)
    expect(elsewhere.body).toEqual({
      error: 'forbidden',
      message: 'device f7-heat does not exist in your scope',
    })
    expect((await svc.api.get('/api/devices/f7-heat/signals', xixiangOfficer)).status).toBe(200)
    // EventSource cannot send headers: the stream takes ?access_token=, and refuses a bad one.
    const refused = await fetch(`${svc.base}/api/stream?access_token=not-a-token`)
    expect(refused.status).toBe(401)
    expect(await refused.json()).toMatchObject({ error: 'unauthorized' })
    const ac = new AbortController()
    const ok = await fetch(`${svc.base}/api/stream?access_token=${encodeURIComponent(xixiangOfficer)}`, {
      signal: ac.signal,
    })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-type')).toMatch(/text\/event-stream/)
    ac.abort()
    const unknownType = await svc.api.get('/api/stream?events=incident,gossip', districtOfficer)
    expect(unknownType.status).toBe(400)
    expect(unknownType.body.message).toMatch(/events/)
    // Only the stream takes a token in the query.
    expect(
      (await fetch(`${svc.base}/api/incidents?access_token=${encodeURIComponent(xixiangOfficer)}`)).status,
    ).toBe(401)
  })

  it('a smoke candidate is verifying on the stream and becomes an alarm when it persists through the window', async () => {
    const stream = await openStream(`${svc.base}/api/stream`, xinanOfficer)
    // A console that asks only for incidents gets those, and no device state or signals.
    const incidentsOnly = await openStream(`${svc.base}/api/stream?events=incident`, xinanOfficer)
    const c = await connectAs(svc.mqttUrl, 'shop-smoke', secrets['shop-smoke']!)
    await c.publishAsync('dev/shop-smoke/telemetry', JSON.stringify({ values: { obscuration: 4.2 } }), {
      qos: 1,
    })
    const verifying = await stream.next(
      (x) => x.event === 'incident' && x.data.incident.status === 'verifying',
    )
    expect(verifying.data.incident.verification).toMatchObject({ device: 'shop-smoke', condition: 'smoke' })
    clock.advance(29_000)
    expect((await svc.api.get(`/api/incidents/${verifying.data.incident.id}`)).body.status).toBe('verifying')
    clock.advance(1_000)
    const alarm = await stream.next(
      (x) =>
        x.event === 'incident' &&
        x.data.incident.status === 'alarm' &&
        x.data.incident.id === verifying.data.incident.id,
    )
    expect(alarm.data.entry.reason).toMatch(/persisted through the 30 s verification window/)
    expect(Date.parse(alarm.data.incident.alarmAt) - Date.parse(verifying.data.incident.openedAt)).toBe(
      30_000,
    )
    await incidentsOnly.next((x) => x.event === 'incident' && x.data.incident.status === 'alarm')
    expect(stream.events.some((x) => x.event === 'signal')).toBe(true)
    expect(new Set(incidentsOnly.events.map((x) => x.event))).toEqual(new Set(['incident']))
    incidentsOnly.close()
    stream.close()
    await c.endAsync()
  })

  it('replays missed events to a console that reconnects with Last-Event-ID', async () => {
    const first = await openStream(`${svc.base}/api/stream`, districtOfficer)
    const c = await connectAs(svc.mqttUrl, 'f7-smoke', secrets['f7-smoke']!)
    await c.publishAsync('dev/f7-smoke/event', JSON.stringify({ type: 'fault', detail: 'chamber dirty' }), {
      qos: 1,
    })
    const fault = await first.next((x) => x.event === 'signal' && x.data.condition === 'fault')
    first.close()
    await c.publishAsync('dev/f7-smoke/event', JSON.stringify({ type: 'restore' }), { qos: 1 })
    const again = await openStream(`${svc.base}/api/stream`, districtOfficer, { 'last-event-id': fault.id! })
    const restored = await again.next(
      (x) => x.event === 'signal' && x.data.condition === 'fault' && x.data.active === false,
    )
    expect(Number(restored.id)).toBeGreaterThan(Number(fault.id))
    again.close()
    await c.endAsync()
  })
})

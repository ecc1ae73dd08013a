/**
 * Test mode through the whole service (docs/PROTOCOL.md §Test mode): a device in test mode
 * reports over MQTT and is recorded — a `test` event on the stream, `lastTest` on
 * GET /api/devices/{id} — but opens no incident and dispatches, calls and alerts no one; a
 * device of the same building not in test mode is handled normally; the mode ends by itself
 * on the clock, or early by DELETE. Scope and bad input as for the other routes.
 */
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createManualClock } from '../../services/shared/clock.ts'
import { connectAs } from '../support/mqtt.ts'
import {
  ADMIN_TOKEN,
  must,
  registerDevice,
  registerDistrict,
  registerResponder,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'
import { openStream, type SseStream } from '../support/sse.ts'

const clock = createManualClock(Date.UTC(2026, 11, 2, 2, 0, 0))
let svc: TestService
let xinan: string
let xixiang: string
let stream: SseStream
const clients: MqttClient[] = []
const devices: Record<string, MqttClient> = {}

beforeAll(async () => {
  svc = await startTestService({ clock })
  await registerDistrict(svc.api)
  xinan = must(
    await svc.api.post('/api/officers', { id: 'o-xn', name: 'Wang Fang', scope: 'community:xinan-01' }),
    201,
  ).token
  xixiang = must(
    await svc.api.post('/api/officers', { id: 'o-xx', name: 'Li Na', scope: 'community:xixiang-01' }),
    201,
  ).token
  // A micro station beside the factory: an offer would reach it if anything dispatched.
  await registerResponder(svc.api, {
    id: 'ms-1',
    name: 'Micro station 1',
    type: 'micro_station',
    mode: 'foot',
    onDuty: true,
    location: [113.8655, 22.5752],
  })
  for (const id of ['f7-heat-a', 'f7-heat-b', 'f7-heat-c']) {
    const d = await registerDevice(svc.api, { id, kind: 'heat', building: 'factory-7' })
    devices[id] = await connectAs(svc.mqttUrl, d.id, d.secret)
    clients.push(devices[id])
  }
  stream = await openStream(`${svc.base}/api/stream`, ADMIN_TOKEN)
}, 30_000)

afterAll(async () => {
  stream?.close()
  for (const c of clients) await c.endAsync().catch(() => {})
  await svc?.stop()
})

const alarm = (id: string) =>
  devices[id]!.publishAsync(`dev/${id}/event`, JSON.stringify({ type: 'alarm' }), { qos: 1 })
const incidents = async () =>
  must(await svc.api.get('/api/incidents'), 200).items as { devices: { device: string }[] }[]

describe('test mode', () => {
  it('refuses bad minutes (400), unknown devices (404) and officers outside the scope (403)', async () => {
    for (const minutes of [0, 481, 1.5, '10'])
      expect((await svc.api.post('/api/devices/f7-heat-a/test-mode', { minutes }, ADMIN_TOKEN)).status).toBe(
        400,
      )
    expect((await svc.api.post('/api/devices/f7-heat-a/test-mode', {}, ADMIN_TOKEN)).status).toBe(400)
    expect((await svc.api.post('/api/devices/nope/test-mode', { minutes: 5 }, ADMIN_TOKEN)).status).toBe(404)
    expect((await svc.api.post('/api/buildings/nope/test-mode', { minutes: 5 }, ADMIN_TOKEN)).status).toBe(
      404,
    )
    expect((await svc.api.post('/api/devices/f7-heat-a/test-mode', { minutes: 5 }, xinan)).status).toBe(403)
    expect((await svc.api.post('/api/buildings/factory-7/test-mode', { minutes: 5 }, xinan)).status).toBe(403)
    expect(
      (await svc.api.request('DELETE', '/api/devices/f7-heat-a/test-mode', undefined, xinan)).status,
    ).toBe(403)
  })

  it('records a device’s alarm in test mode as a test and nothing else; the same building’s other device alarms normally', async () => {
    const on = must(await svc.api.post('/api/devices/f7-heat-a/test-mode', { minutes: 30 }, xixiang), 200)
    expect(on).toEqual({ until: new Date(clock.now() + 30 * 60_000).toISOString() })
    await alarm('f7-heat-a')
    const test = await stream.next((e) => e.event === 'test' && e.data.device === 'f7-heat-a')
    expect(test.data).toMatchObject({
      signal: 'device_alarm',
      building: 'factory-7',
      community: 'xixiang-01',
    })
    const d = await until(async () => {
      const r = must(await svc.api.get('/api/devices/f7-heat-a', xixiang), 200)
      return r.lastTest ? r : undefined
    }, 'lastTest')
    expect(d.lastTest).toEqual({ at: new Date(clock.now()).toISOString(), signal: 'device_alarm' })
    expect(d.monthlyTestDue).toBe(false)
    expect(d.testModeUntil).toBe(on.until)
    expect(await incidents()).toEqual([])

    await alarm('f7-heat-b')
    const opened = await until(async () => (await incidents())[0], 'the incident of f7-heat-b')
    expect(opened.devices.map((x) => x.device)).toEqual(['f7-heat-b'])
    await stream.next((e) => e.event === 'offer' && e.data.responder === 'ms-1')
    // Nothing the test device sent reached the stages that act: no signal, no offer for it.
    expect(stream.events.filter((e) => e.event === 'signal' && e.data.device === 'f7-heat-a')).toEqual([])
    expect(must(await svc.api.get('/api/devices/f7-heat-b'), 200).lastTest).toBeUndefined()
    const ended = await svc.api.request('DELETE', '/api/devices/f7-heat-a/test-mode', undefined, xixiang)
    expect(ended.body).toEqual({ ended: true })
    expect(
      (await svc.api.request('DELETE', '/api/devices/f7-heat-a/test-mode', undefined, xixiang)).body,
    ).toEqual({
      ended: false,
    })
    expect(must(await svc.api.get('/api/devices/f7-heat-a'), 200).testModeUntil).toBeUndefined()
  })

  it('ends a building’s test mode by itself at `until`', async () => {
    must(
      await svc.api.post(
        '/api/incidents/' + (await svc.api.get('/api/incidents')).body.items[0].id + '/resolve',
        {},
      ),
      200,
    )
    const on = must(
      await svc.api.post('/api/buildings/factory-7/test-mode', { minutes: 1 }, ADMIN_TOKEN),
      200,
    )
    expect(must(await svc.api.get('/api/devices/f7-heat-c'), 200).testModeUntil).toBe(on.until)
    await alarm('f7-heat-c')
    await stream.next((e) => e.event === 'test' && e.data.device === 'f7-heat-c')
    await devices['f7-heat-c']!.publishAsync('dev/f7-heat-c/event', JSON.stringify({ type: 'restore' }), {
      qos: 1,
    })
    expect((await incidents()).filter((i) => i.devices.some((x) => x.device === 'f7-heat-c'))).toEqual([])
    clock.advance(60_000)
    expect(must(await svc.api.get('/api/devices/f7-heat-c'), 200).testModeUntil).toBeUndefined()
    await alarm('f7-heat-c')
    await until(
      async () => (await incidents()).find((i) => i.devices.some((x) => x.device === 'f7-heat-c')),
      'the incident after the test mode ended',
    )
  })

  it('flags a device with no test signal in 31 days', async () => {
    clock.advance(31 * 24 * 3600_000 - 120_000)
    expect(must(await svc.api.get('/api/devices/f7-heat-b'), 200).monthlyTestDue).toBe(false)
    // The monthly simulated fire transmission of f7-heat-c: a `test` event, outside test mode.
    await devices['f7-heat-c']!.publishAsync('dev/f7-heat-c/event', JSON.stringify({ type: 'test' }), {
      qos: 1,
    })
    await until(
      async () => (await svc.api.get('/api/devices/f7-heat-c')).body.lastTest?.signal === 'test',
      'the test event',
    )
    clock.advance(120_000)
    expect(must(await svc.api.get('/api/devices/f7-heat-b'), 200).monthlyTestDue).toBe(true)
    expect(must(await svc.api.get('/api/devices/f7-heat-c'), 200).monthlyTestDue).toBe(false)
    const tests = stream.events.filter((e) => e.event === 'test' && e.data.device === 'f7-heat-c')
    expect(tests.at(-1)?.data).toMatchObject({ signal: 'test', building: 'factory-7' })
  })
})

/**
 * Scheduled maintenance windows through the whole service (docs/PROTOCOL.md §The monitoring
 * centre's daily work): `POST/GET /api/buildings/{id}/maintenance-windows` and `DELETE …/{windowId}`;
 * inside an open window the listed device's alarm over MQTT is a `test` on the stream and opens
 * no incident, the building's other device alarms normally, and the window ends by itself on
 * the clock. Scope (403 outside it, 404 unknown) and bad input (400).
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
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'
import { openStream, type SseStream } from '../support/sse.ts'

// Wednesday 2 December 2026, 10:00 in Shanghai (FC_TIME_ZONE's default).
const clock = createManualClock(Date.UTC(2026, 11, 2, 2, 0, 0))
let svc: TestService
let xinan: string
let xixiang: string
let stream: SseStream
const clients: Record<string, MqttClient> = {}
const PATH = '/api/buildings/factory-7/maintenance-windows'

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
  for (const id of ['f7-heat-a', 'f7-heat-b']) {
    const d = await registerDevice(svc.api, { id, kind: 'heat', building: 'factory-7' })
    clients[id] = await connectAs(svc.mqttUrl, d.id, d.secret)
  }
  stream = await openStream(`${svc.base}/api/stream`, ADMIN_TOKEN)
}, 30_000)

afterAll(async () => {
  stream?.close()
  for (const c of Object.values(clients)) await c.endAsync().catch(() => {})
  await svc?.stop()
})

const alarm = (id: string) =>
  clients[id]!.publishAsync(`dev/${id}/event`, JSON.stringify({ type: 'alarm' }), { qos: 1 })
const incidentsOf = async (device: string) =>
  (
    must(await svc.api.get('/api/incidents'), 200).items as { id: string; devices: { device: string }[] }[]
  ).filter((i) => i.devices.some((x) => x.device === device))

describe('maintenance windows', () => {
  it('refuses bad input (400), unknown buildings and windows (404) and officers outside the scope (403)', async () => {
    const good = { weekday: 3, start: '10:00', minutes: 30 }
    for (const bad of [
      {},
      { start: '10:00', minutes: 30 },
      { weekday: 3, dayOfMonth: 2, start: '10:00', minutes: 30 },
      { ...good, weekday: 0 },
      { ...good, weekday: 8 },
      { dayOfMonth: 32, start: '10:00', minutes: 30 },
      { ...good, start: '24:00' },
      { ...good, start: '9:00' },
      { ...good, minutes: 0 },
      { ...good, minutes: 481 },
      { ...good, devices: [] },
      { ...good, devices: ['nope'] },
      { ...good, extra: 1 },
    ])
      expect((await svc.api.post(PATH, bad, ADMIN_TOKEN)).status, JSON.stringify(bad)).toBe(400)
    const bad = await svc.api.post(PATH, { ...good, devices: ['nope'] }, ADMIN_TOKEN)
    expect(bad.body).toMatchObject({ error: expect.any(String), message: expect.stringContaining('nope') })
    expect((await svc.api.post('/api/buildings/nope/maintenance-windows', good, ADMIN_TOKEN)).status).toBe(
      404,
    )
    expect((await svc.api.get('/api/buildings/nope/maintenance-windows', ADMIN_TOKEN)).status).toBe(404)
    expect((await svc.api.post(PATH, good, xinan)).status).toBe(403)
    expect((await svc.api.get(PATH, xinan)).status).toBe(403)
    expect((await svc.api.request('DELETE', `${PATH}/mw-nope`, undefined, xinan)).status).toBe(403)
    // An officer's missing is the very 403 of outside the scope (services/api/errors.ts); the administrator's a 404.
    expect((await svc.api.request('DELETE', `${PATH}/mw-nope`, undefined, xixiang)).status).toBe(403)
    expect((await svc.api.request('DELETE', `${PATH}/mw-nope`, undefined, ADMIN_TOKEN)).status).toBe(404)
  })

  it('an open window makes its device’s alarm a test; the other device of the building alarms normally; it ends by itself', async () => {
    const w = must(
      await svc.api.post(PATH, { weekday: 3, start: '10:00', minutes: 30, devices: ['f7-heat-a'] }, xixiang),
      201,
    )
    expect(w).toMatchObject({
      building: 'factory-7',
      weekday: 3,
      start: '10:00',
      minutes: 30,
      devices: ['f7-heat-a'],
      timeZone: 'Asia/Shanghai',
      open: true,
      next: { from: '2026-12-02T02:00:00.000Z', until: '2026-12-02T02:30:00.000Z' },
      actor: 'officer:o-xx',
    })
    const monthly = must(
      await svc.api.post(PATH, { dayOfMonth: 31, start: '09:00', minutes: 60 }, ADMIN_TOKEN),
      201,
    )
    expect(monthly).toMatchObject({ open: false, next: { from: '2026-12-31T01:00:00.000Z' } })
    const list = must(await svc.api.get(PATH, xixiang), 200).items as { id: string }[]
    expect(list.map((x) => x.id)).toEqual([w.id, monthly.id])
    expect(must(await svc.api.get('/api/devices/f7-heat-a'), 200).testModeUntil).toBe(
      '2026-12-02T02:30:00.000Z',
    )
    expect(must(await svc.api.get('/api/devices/f7-heat-b'), 200).testModeUntil).toBeUndefined()

    await alarm('f7-heat-a')
    await stream.next((e) => e.event === 'test' && e.data.device === 'f7-heat-a')
    await alarm('f7-heat-b')
    await until(async () => (await incidentsOf('f7-heat-b'))[0], 'the incident of f7-heat-b')
    expect(await incidentsOf('f7-heat-a')).toEqual([])
    await clients['f7-heat-a']!.publishAsync('dev/f7-heat-a/event', JSON.stringify({ type: 'restore' }), {
      qos: 1,
    })
    const [open] = await incidentsOf('f7-heat-b')
    must(await svc.api.post(`/api/incidents/${open!.id}/resolve`, {}), 200)

    clock.advance(30 * 60_000)
    expect(must(await svc.api.get(PATH), 200).items[0]).toMatchObject({
      open: false,
      next: { from: '2026-12-09T02:00:00.000Z' },
    })
    expect(must(await svc.api.get('/api/devices/f7-heat-a'), 200).testModeUntil).toBeUndefined()
    await alarm('f7-heat-a')
    await until(async () => (await incidentsOf('f7-heat-a'))[0], 'the incident after the window ended')

    expect(must(await svc.api.request('DELETE', `${PATH}/${w.id}`, undefined, xixiang), 200)).toEqual({
      deleted: true,
    })
    expect((await svc.api.request('DELETE', `${PATH}/${w.id}`, undefined, ADMIN_TOKEN)).status).toBe(404)
    expect((must(await svc.api.get(PATH), 200).items as { id: string }[]).map((x) => x.id)).toEqual([
      monthly.id,
    ])
  })
})

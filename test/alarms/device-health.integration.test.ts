/**
 * GET /api/device-health: the console's device health, by community, inside the caller's
 * scope; and its refusals (outside the scope, bad parameters) as {error, message}.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectAs } from '../support/mqtt.ts'
import {
  apiClient,
  registerDevice,
  registerDistrict,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'

let svc: TestService
let officer: ReturnType<typeof apiClient>
const secrets: Record<string, string> = {}

async function publish(device: string, topic: string, payload: string, retain = false) {
  const c = await connectAs(svc.mqttUrl, device, secrets[device]!)
  await c.publishAsync(`dev/${device}/${topic}`, payload, { qos: 1, retain })
  await c.endAsync()
}

beforeAll(async () => {
  svc = await startTestService()
  await registerDistrict(svc.api)
  const token = (
    await svc.api.post('/api/officers', { id: 'o-xx', name: 'Li Na', scope: 'community:xixiang-01' })
  ).body.token
  officer = apiClient(svc.base, token)
  for (const d of [
    { id: 'a-smoke', kind: 'smoke', building: 'factory-7' },
    { id: 'a-heat', kind: 'heat', building: 'factory-7' },
    { id: 'a-pressure', kind: 'water_pressure', building: 'factory-7' },
    { id: 'a-never', kind: 'smoke', building: 'factory-7' },
    { id: 'b-smoke', kind: 'smoke', building: 'shop-12' },
  ]) {
    secrets[d.id] = (await registerDevice(svc.api, d)).secret
  }
  await publish('a-smoke', 'telemetry', JSON.stringify({ values: { obscuration: 0.1, battery: 9 } }))
  await publish('a-heat', 'telemetry', JSON.stringify({ values: { temperature: 22 } }))
  await publish('a-heat', 'status', 'offline', true)
  await publish('a-pressure', 'telemetry', JSON.stringify({ values: { pressure: 0.02 } }))
  await publish('a-pressure', 'event', JSON.stringify({ type: 'tamper', detail: 'cover opened' }))
  await publish('b-smoke', 'status', 'offline', true)
})
afterAll(() => svc?.stop())

describe('device health', () => {
  it('counts by community and lists the devices needing a visit, worst first, inside the scope', async () => {
    const h = await until(async () => {
      const r = await officer.get('/api/device-health')
      return r.body.totals?.offline === 1 && r.body.totals?.trouble === 1 ? r : undefined
    }, 'the offline device and the tamper in the health summary')
    expect(h.status).toBe(200)
    expect(h.body.communities.map((c: any) => c.id)).toEqual(['xixiang-01'])
    expect(h.body.totals).toEqual({
      devices: 4,
      online: 2,
      offline: 1,
      neverSeen: 1,
      lowBattery: 1,
      supervisory: 1,
      trouble: 1,
      inAlarm: 0,
    })
    const ids = h.body.problems.items.map((p: any) => p.device)
    // offline first, then the tamper (with its supervisory signal), then low battery, never seen.
    expect(ids).toEqual(['a-heat', 'a-pressure', 'a-smoke', 'a-never'])
    expect(h.body.problems.items[0]).toMatchObject({ online: false, neverSeen: false })
    expect(h.body.problems.items[2].signals.map((s: any) => s.condition)).toEqual(['low_battery'])
    expect(h.body.problems.items[2].battery).toBe(9)

    const admin = await svc.api.get('/api/device-health?limit=1')
    expect(admin.body.communities.map((c: any) => c.id).sort()).toEqual(['xinan-01', 'xixiang-01'])
    expect(admin.body.totals.offline).toBe(2)
    expect(admin.body.problems.total).toBe(5)
    expect(admin.body.problems.items).toHaveLength(1)
  })

  it('refuses a community outside the scope and bad parameters with {error, message}', async () => {
    const outside = await officer.get('/api/device-health?community=xinan-01')
    expect(outside.status).toBe(403)
    expect(outside.body).toMatchObject({ error: 'forbidden' })
    // It names the officer's own scope, never the community asked for (issue #12).
    expect(outside.body.message).not.toContain('xinan-01')
    expect(outside.body.message).toMatch(/you may see only /)
    for (const q of ['limit=0', 'limit=1001', 'limit=ten']) {
      const r = await officer.get(`/api/device-health?${q}`)
      expect(r.status, q).toBe(400)
      expect(r.body.message).toContain('limit')
    }
    const anonymous = await fetch(`${svc.base}/api/device-health`)
    expect(anonymous.status).toBe(401)
  })

  it('reuses a summary only while nothing changed: a device coming online shows at once', async () => {
    const before = (await officer.get('/api/device-health')).body
    expect((await officer.get('/api/device-health')).body.at).toBe(before.at) // reused
    await publish('a-never', 'telemetry', JSON.stringify({ values: { obscuration: 0.1 } }))
    // Well inside the reuse period: the change must show, not the summary from before it.
    const after = await until(
      async () => {
        const h = (await officer.get('/api/device-health')).body
        return h.totals.neverSeen === before.totals.neverSeen - 1 ? h : undefined
      },
      'a-never online in the summary',
      2000,
    )
    expect(after.totals.online).toBe(before.totals.online + 1)
    expect(after.problems.items.map((p: any) => p.device)).not.toContain('a-never')
  })
})

/**
 * The monitoring centre's daily work over HTTP, against the whole service on an injected clock:
 * the work-order loop and its history, orders a device opens and verifies itself through MQTT,
 * scope (403 outside it), bad input (400, 404, 409, 413, 415), the stream's `work_order`
 * events, the counters in /metrics and the routes in the OpenAPI document.
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

const clock = createManualClock(Date.UTC(2026, 11, 2, 1, 0, 0))
let svc: TestService
let xinan: string
let xixiang: string
let stream: SseStream
const clients: MqttClient[] = []

// The smallest images of each kind the photo check must tell apart by their first bytes.
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(40, 7),
])
const GIF = Buffer.concat([Buffer.from('GIF89a', 'latin1'), Buffer.alloc(40, 7)])

beforeAll(async () => {
  svc = await startTestService({ clock, env: { FC_WORK_ORDER_PHOTO_MAX_BYTES: '4096' } })
  await registerDistrict(svc.api)
  xinan = must(
    await svc.api.post('/api/officers', { id: 'o-xn', name: 'Wang Fang', scope: 'community:xinan-01' }),
    201,
  ).token
  xixiang = must(
    await svc.api.post('/api/officers', { id: 'o-xx', name: 'Li Na', scope: 'community:xixiang-01' }),
    201,
  ).token
  stream = await openStream(`${svc.base}/api/stream`, ADMIN_TOKEN)
}, 30_000)

afterAll(async () => {
  stream?.close()
  for (const c of clients) await c.endAsync().catch(() => {})
  await svc?.stop()
})

const hazard = (building = 'shop-12', extra: Record<string, unknown> = {}) => ({
  kind: 'hazard',
  building,
  reason: 'fire exit blocked by stock',
  ...extra,
})

describe('work orders over HTTP', () => {
  it('runs a hazard through the loop, each step with its time, status, actor and note; a refused step is a 409', async () => {
    const created = must(await svc.api.post('/api/work-orders', hazard(), xinan), 201)
    expect(created).toMatchObject({
      kind: 'hazard',
      status: 'open',
      building: 'shop-12',
      community: 'xinan-01',
      street: 'xinan',
      reason: 'fire exit blocked by stock',
      overdue: false,
      opened: new Date(clock.now()).toISOString(),
      due: new Date(clock.now() + 24 * 3600_000).toISOString(),
      history: [{ status: 'open', actor: 'officer:o-xn', note: 'fire exit blocked by stock' }],
    })
    const id = created.id as string
    const refused = await svc.api.post(`/api/work-orders/${id}/verify`, {}, xinan)
    expect(refused.status).toBe(409)
    expect(refused.body.error).toBe('conflict')
    expect(refused.body.message).toContain('open')

    must(
      await svc.api.post(`/api/work-orders/${id}/assign`, { assignee: 'o-xn', note: 'on my round' }, xinan),
      200,
    )
    clock.advance(3600_000)
    must(await svc.api.post(`/api/work-orders/${id}/done`, { note: 'stock moved' }, xinan), 200)
    const verified = must(await svc.api.post(`/api/work-orders/${id}/verify`, undefined, ADMIN_TOKEN), 200)
    expect(verified.status).toBe('verified')
    expect(verified.assignee).toBe('o-xn')
    expect(verified.history.map((e: { status: string; actor: string }) => [e.status, e.actor])).toEqual([
      ['open', 'officer:o-xn'],
      ['assigned', 'officer:o-xn'],
      ['done', 'officer:o-xn'],
      ['verified', 'administrator'],
    ])
    expect(verified.history[2]).toMatchObject({
      note: 'stock moved',
      at: new Date(clock.now()).toISOString(),
    })
    expect((await svc.api.post(`/api/work-orders/${id}/done`, {}, xinan)).status).toBe(409)
    const reopened = must(
      await svc.api.post(`/api/work-orders/${id}/reopen`, { note: 'blocked again' }, xinan),
      200,
    )
    expect(reopened.status).toBe('open')
    expect(must(await svc.api.get(`/api/work-orders/${id}`, xinan), 200).history).toHaveLength(5)
    const ev = await stream.next(
      (e) => e.event === 'work_order' && e.data.order.id === id && e.data.entry.status === 'verified',
    )
    expect(ev.data).toMatchObject({
      change: 'status',
      entry: { actor: 'administrator' },
      order: { kind: 'hazard' },
    })
    // To an officer what does not exist is outside the scope, word for word (issue #12).
    expect((await svc.api.get('/api/work-orders/wo-none', xinan)).body).toEqual({
      error: 'forbidden',
      message: 'work order wo-none does not exist in your scope',
    })
    expect((await svc.api.post('/api/work-orders/wo-none/done', {}, xinan)).status).toBe(403)
    expect((await svc.api.get('/api/work-orders/wo-none', ADMIN_TOKEN)).status).toBe(404)
  })

  it('keeps an officer to the scope: 403 outside it for reads, actions, photos and reports', async () => {
    const id = must(await svc.api.post('/api/work-orders', hazard('shop-12'), ADMIN_TOKEN), 201).id as string
    const other = must(await svc.api.post('/api/work-orders', hazard('factory-7'), ADMIN_TOKEN), 201)
      .id as string
    expect((await svc.api.get(`/api/work-orders/${id}`, xixiang)).body).toEqual({
      error: 'forbidden',
      message: `work order ${id} does not exist in your scope`,
    })
    expect((await svc.api.post(`/api/work-orders/${id}/assign`, { assignee: 'x' }, xixiang)).status).toBe(403)
    expect((await svc.api.get(`/api/work-orders/${id}/photo`, xixiang)).status).toBe(403)
    expect((await svc.api.post('/api/work-orders', hazard('shop-12'), xixiang)).status).toBe(403)
    expect((await svc.api.get('/api/work-orders?community=xinan-01', xixiang)).status).toBe(403)
    const mine = must(await svc.api.get('/api/work-orders', xixiang), 200)
    expect(mine.items.map((o: { id: string }) => o.id)).toContain(other)
    expect(mine.items.every((o: { community: string }) => o.community === 'xixiang-01')).toBe(true)
    const all = must(await svc.api.get('/api/work-orders?kind=hazard&status=open', ADMIN_TOKEN), 200)
    expect(all.items.map((o: { id: string }) => o.id)).toEqual(expect.arrayContaining([id, other]))
    expect((await svc.api.get('/api/work-orders', 'not-a-token')).status).toBe(401)
  })

  it('refuses bad input with the status that names it: 400, 403, 413, 415', async () => {
    const bad = async (body: unknown, status: number, error: string) => {
      const r = await svc.api.post('/api/work-orders', body, xinan)
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(status)
      expect(r.body.error).toBe(error)
      expect(typeof r.body.message).toBe('string')
    }
    await bad(hazard('shop-12', { kind: 'leak' }), 400, 'bad_request')
    await bad(hazard('shop-12', { kind: 'trouble' }), 400, 'bad_request')
    await bad({ kind: 'hazard', building: 'shop-12' }, 400, 'bad_request')
    await bad(hazard('shop-12', { colour: 'red' }), 400, 'bad_request')
    await bad(hazard('nowhere-1'), 403, 'forbidden')
    await bad(hazard('shop-12', { photo: 'not base64!' }), 400, 'bad_request')
    await bad(
      hazard('shop-12', { photo: Buffer.concat([PNG, Buffer.alloc(5000)]).toString('base64') }),
      413,
      'payload_too_large',
    )
    await bad(hazard('shop-12', { photo: GIF.toString('base64') }), 415, 'unsupported_media_type')
    // A JPEG's name does not make it one: the first bytes decide.
    await bad(
      hazard('shop-12', { photo: `data:image/jpeg;base64,${GIF.toString('base64')}` }),
      415,
      'unsupported_media_type',
    )
    const { body } = await svc.api.request('POST', '/api/work-orders/x/assign', {}, xinan)
    expect(body.error).toBe('bad_request')

    const ok = must(
      await svc.api.post('/api/work-orders', hazard('shop-12', { photo: PNG.toString('base64') }), xinan),
      201,
    )
    expect(ok.photo).toBe(`/api/work-orders/${ok.id}/photo`)
    const res = await fetch(`${svc.base}${ok.photo}`, { headers: { authorization: `Bearer ${xinan}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/png')
    expect(Buffer.from(await res.arrayBuffer())).toEqual(PNG)
  })

  it('opens an order from a device fault that lasts past the grace, assigned to the building’s maintenance party, and lets the device verify it', async () => {
    must(
      await svc.api.post('/api/buildings', {
        id: 'shop-14',
        name: 'Shop 14',
        location: [113.8851, 22.5801],
        responsible: { name: 'Chen' },
        maintenance: { name: 'Bao’an Fire Maintenance Co.', phone: '+86 755 0000' },
      }),
      201,
    )
    expect(must(await svc.api.get('/api/buildings/shop-14'), 200).maintenance).toEqual({
      name: 'Bao’an Fire Maintenance Co.',
      phone: '+86 755 0000',
    })
    const d = await registerDevice(svc.api, {
      id: 'shop14-pressure',
      kind: 'water_pressure',
      building: 'shop-14',
    })
    const device = await connectAs(svc.mqttUrl, d.id, d.secret)
    clients.push(device)
    const fault = JSON.stringify({ type: 'fault', detail: 'sensor fault' })
    await device.publishAsync(`dev/${d.id}/event`, fault, { qos: 1 })
    await until(
      async () => (await svc.api.get(`/api/devices/${d.id}/signals`)).body.signals?.length === 1,
      'the fault',
    )
    clock.advance(59_000)
    expect(must(await svc.api.get(`/api/work-orders?building=shop-14`), 200).total).toBe(0)
    clock.advance(1_000)
    const order = await until(
      async () => (await svc.api.get('/api/work-orders?building=shop-14')).body.items?.[0],
      'the order',
    )
    expect(order).toMatchObject({
      kind: 'trouble',
      status: 'assigned',
      device: d.id,
      condition: 'fault',
      assignee: 'Bao’an Fire Maintenance Co.',
      due: new Date(clock.now() + 4 * 3600_000).toISOString(),
    })
    expect(order.history.map((e: { actor: string }) => e.actor)).toEqual(['engine', 'engine'])

    await device.publishAsync(`dev/${d.id}/event`, JSON.stringify({ type: 'restore' }), { qos: 1 })
    await until(
      async () => (await svc.api.get(`/api/devices/${d.id}/signals`)).body.signals?.length === 0,
      'the restore',
    )
    await until(async () => (await svc.api.get(`/api/work-orders/${order.id}`)).status === 200, 'the order')
    clock.advance(60_000)
    const verified = await until(async () => {
      const o = (await svc.api.get(`/api/work-orders/${order.id}`)).body
      return o.status === 'verified' ? o : undefined
    }, 'the device’s verification')
    expect(verified.history.at(-1)).toMatchObject({ status: 'verified', actor: 'device' })
    const ev = await stream.next(
      (e) => e.event === 'work_order' && e.data.order.id === order.id && e.data.change === 'opened',
    )
    expect(ev.data.order).toMatchObject({ kind: 'trouble', device: d.id, community: 'xinan-01' })

    const metrics = await (await fetch(`${svc.base}/metrics`)).text()
    expect(metrics).toMatch(/firecircle_work_orders_opened_total\{kind="trouble"\} [1-9]/)
    expect(metrics).toMatch(/firecircle_work_order_transitions_total\{status="verified",actor="device"\} 1/)
    expect(metrics).toMatch(/firecircle_work_orders_overdue \d/)
  })

  it('lists the routes in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${svc.base}/docs/json`)).json()) as {
      paths: Record<string, Record<string, unknown>>
    }
    for (const p of [
      '/api/work-orders',
      '/api/work-orders/{id}',
      '/api/work-orders/{id}/assign',
      '/api/work-orders/{id}/done',
      '/api/work-orders/{id}/verify',
      '/api/work-orders/{id}/reopen',
      '/api/work-orders/{id}/photo',
      '/api/devices/{id}/test-mode',
      '/api/buildings/{id}/test-mode',
    ])
      expect(doc.paths[p], p).toBeDefined()
    expect(Object.keys(doc.paths['/api/devices/{id}/test-mode']!).sort()).toEqual(['delete', 'post'])
  })
})

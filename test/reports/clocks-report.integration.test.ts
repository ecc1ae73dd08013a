/**
 * The handling clocks and the daily report through the whole service, on the injected clock:
 * every clock filled by the flow it measures (a console's render, the officer's actions,
 * dispatch's offer and the responder's answers, linkage's 119 call to a real local HTTP
 * stand-in that acknowledges late — 4 s on the clock — to breach the 3 s limit); then the
 * scripted day's report, asserted exactly, as JSON, CSV and HTML; bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createManualClock } from '../../services/shared/clock.ts'
import { type Receiver, startReceiver } from '../support/http-receiver.ts'
import { connectAs } from '../support/mqtt.ts'
import {
  ADMIN_TOKEN as ADMIN,
  apiClient,
  must,
  registerDevice,
  registerDistrict,
  registerResponder,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'

// 10:00 in Shanghai on 2 December 2026.
const T0 = Date.UTC(2026, 11, 2, 2, 0, 0)
const clock = createManualClock(T0)
let svc: TestService
let centre: Receiver

beforeAll(async () => {
  // The 119 stand-in: the call reaches it, 4 s pass on the service's clock, then it accepts.
  centre = await startReceiver(() => {
    clock.advance(4000)
    return 200
  })
  svc = await startTestService({
    clock,
    env: { FC_FIRE_CENTRE_URL: centre.url, FC_WEBHOOK_SECRET: 'test-webhook-secret-0123456789' },
  })
  await registerDistrict(svc.api)
})
afterAll(async () => {
  await svc?.stop()
  await centre?.close()
})

async function incidentOf(building: string) {
  return until(async () => {
    const r = await svc.api.get(`/api/incidents?status=open&building=${building}`)
    return r.body.items[0]
  }, `the incident at ${building}`)
}

describe('handling clocks', () => {
  let fire: string
  let falseAlarm: string

  it('fills every clock from the flow it measures and names the breaches', async () => {
    await registerResponder(svc.api, {
      id: 'ms-1',
      name: 'Micro station 1',
      type: 'micro_station',
      mode: 'foot',
      onDuty: true,
      location: [113.8655, 22.5752],
    })
    const heat = await registerDevice(svc.api, { id: 'f7-heat', kind: 'heat', building: 'factory-7' })
    const h = await connectAs(svc.mqttUrl, 'f7-heat', heat.secret)
    await h.publishAsync('dev/f7-heat/telemetry', JSON.stringify({ values: { temperature: 80 } }), { qos: 1 })
    const inc = await incidentOf('factory-7')
    fire = inc.id
    expect(inc.clocks.received).toBe(new Date(T0).toISOString())
    await until(
      async () => (await svc.api.get(`/api/incidents/${fire}`)).body.clocks.first_offer,
      'first offer',
    )

    clock.advance(5000)
    must(await svc.api.post(`/api/incidents/${fire}/shown`, {}), 200)
    clock.advance(5000)
    // The first call wins.
    const again = must(await svc.api.post(`/api/incidents/${fire}/shown`, {}), 200)
    expect(again.clocks.shown).toBe(new Date(T0 + 5000).toISOString())

    // Not acknowledged within 15 s of the alarm: a breach at 15 s, while the clock still runs.
    clock.advance(10_000)
    const running = await until(async () => {
      const b = (await svc.api.get(`/api/incidents/${fire}`)).body
      return b.breaches.length > 0 ? b : undefined
    }, 'the acknowledge breach')
    expect(running.breaches).toEqual([{ clock: 'acknowledged', limitS: 15, tookS: 15 }])
    clock.advance(5000) // T0 + 25 s
    must(await svc.api.post(`/api/incidents/${fire}/acknowledge`, {}), 200)

    clock.advance(5000) // + 30 s
    must(await svc.api.post(`/api/incidents/${fire}/replies`, { responder: 'ms-1', answer: 'accept' }), 200)
    clock.advance(70_000) // + 100 s
    must(await svc.api.post(`/api/incidents/${fire}/confirm`, { reason: 'flames seen' }), 200)
    // The stand-in moves the clock 4 s before it answers: acked at + 104 s.
    await until(
      async () => (await svc.api.get(`/api/incidents/${fire}`)).body.clocks.fire_centre_acked,
      '119 ack',
    )
    clock.advance(16_000) // + 120 s
    must(await svc.api.post(`/api/incidents/${fire}/replies`, { responder: 'ms-1', answer: 'on_scene' }), 200)
    const done = await until(async () => {
      const b = (await svc.api.get(`/api/incidents/${fire}`)).body
      return b.clocks.first_on_scene ? b : undefined
    }, 'on scene')
    const at = (s: number) => new Date(T0 + s * 1000).toISOString()
    expect(done.clocks).toEqual({
      received: at(0),
      shown: at(5),
      acknowledged: at(25),
      confirmed: at(100),
      fire_centre_sent: at(100),
      fire_centre_acked: at(104),
      first_offer: at(0),
      first_accept: at(30),
      first_on_scene: at(120),
    })
    expect(done.breaches).toEqual([
      { clock: 'acknowledged', limitS: 15, tookS: 25 },
      { clock: 'fire_centre_acked', limitS: 3, tookS: 4 },
    ])
    const metrics = await fetch(`${svc.base}/metrics`).then((r) => r.text())
    expect(metrics).toContain(
      'firecircle_clock_breaches_total{community="xixiang-01",clock="acknowledged"} 1',
    )
    expect(metrics).toContain(
      'firecircle_clock_breaches_total{community="xixiang-01",clock="fire_centre_acked"} 1',
    )
    must(await svc.api.post(`/api/incidents/${fire}/resolve`, {}), 200)
    await h.endAsync()
  })

  it('names a breach for a clock that never stops (never shown within 20 s)', async () => {
    const start = clock.now()
    const d = await registerDevice(svc.api, { id: 's12-call', kind: 'call_point', building: 'shop-12' })
    const c = await connectAs(svc.mqttUrl, 's12-call', d.secret)
    await c.publishAsync('dev/s12-call/telemetry', JSON.stringify({ values: { pressed: 1 } }), { qos: 1 })
    const inc = await incidentOf('shop-12')
    falseAlarm = inc.id
    clock.advance(20_000)
    const b = await until(async () => {
      const r = (await svc.api.get(`/api/incidents/${falseAlarm}`)).body
      return r.breaches.some((x: { clock: string }) => x.clock === 'shown') ? r : undefined
    }, 'the shown breach')
    expect(b.breaches).toContainEqual({ clock: 'shown', limitS: 20, tookS: 20 })
    expect(b.clocks.received).toBe(new Date(start).toISOString())
    must(
      await svc.api.post(`/api/incidents/${falseAlarm}/false-alarm`, { reason: 'pressed by mistake' }),
      200,
    )
    await c.endAsync()
  })

  it('reports the scripted day exactly, and the same again', async () => {
    await registerDevice(svc.api, { id: 'f7-smoke', kind: 'smoke', building: 'factory-7' })
    const r = must(await svc.api.get('/api/reports/daily?scope=district&date=2026-12-02'), 200)
    expect(r).toMatchObject({
      scope: 'district',
      date: '2026-12-02',
      timeZone: 'Asia/Shanghai',
      final: false,
    })
    expect(r.from).toBe('2026-12-01T16:00:00.000Z')
    expect(r.incidents).toEqual({
      total: 2,
      byStatus: { verifying: 0, alarm: 0, acknowledged: 0, confirmed: 0, false_alarm: 1, resolved: 1 },
      byOutcome: { fire: 1, false_alarm: 1 },
      byClass: { heat_fixed: 1, call_point: 1 },
    })
    expect(r.falseAlarms).toEqual({
      total: 1,
      cancelledByVerification: 0,
      byCause: { call_point: 1 },
      bySite: { 'shop-12': 1 },
    })
    expect(r.breaches).toEqual({ total: 4, byClock: { acknowledged: 2, fire_centre_acked: 1, shown: 1 } })
    expect(r.clocks.acknowledged).toEqual({ count: 2, p50S: 20, p90S: 25, maxS: 25, limitS: 15, breaches: 2 })
    expect(r.clocks.confirmed).toEqual({ count: 1, p50S: 75, p90S: 75, maxS: 75, limitS: 90, breaches: 0 })
    expect(r.clocks.first_offer).toEqual({ count: 1, p50S: 0, p90S: 0, maxS: 0, limitS: 90, breaches: 0 })
    expect(r.clocks.shown).toMatchObject({ count: 1, p50S: 5, p90S: 5, maxS: 5, limitS: 20, breaches: 1 })
    expect(r.clocks.first_on_scene).toMatchObject({ count: 1, p50S: 120, maxS: 120, limitS: 300 })
    expect(r.clocks.fire_centre_acked).toMatchObject({ count: 1, maxS: 4, limitS: 3, breaches: 1 })
    expect(r.clocks.first_accept).toMatchObject({ count: 1, maxS: 30, limitS: null })
    expect(r.workOrders).toEqual({ opened: 0, verified: 0, overdue: 0 })
    expect(r.devices).toEqual({ total: 3, offline: 0, neverSeen: 1 })
    expect(r.dutyChecks).toEqual({ sent: 0, missed: 0 })
    expect(r.responders).toEqual({ onDuty: 1, offered: 1, accepted: 1 })
    expect(r.fiveMinute).toEqual({ alarms: 2, reachedWithin300s: 1, share: 0.5 })

    // The next day: the 2nd is over, kept, and the same every time.
    clock.set(Date.UTC(2026, 11, 2, 17, 0))
    const first = must(await svc.api.get('/api/reports/daily?scope=district&date=2026-12-02'), 200)
    expect(first.final).toBe(true)
    clock.advance(3600_000)
    expect(must(await svc.api.get('/api/reports/daily?scope=district&date=2026-12-02'), 200)).toEqual(first)
    const month = must(await svc.api.get('/api/reports/monthly?scope=street:xixiang&month=2026-12'), 200)
    expect(month.incidents.total).toBe(1)
  })

  it('answers CSV with its header and rows, and a printable HTML page with SVG charts', async () => {
    const csv = await fetch(`${svc.base}/api/reports/daily?scope=district&date=2026-12-02&format=csv`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    })
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/)
    const lines = (await csv.text()).trim().split('\r\n')
    expect(lines[0]).toBe('section,metric,value')
    expect(lines).toContain('report,scope,district')
    expect(lines).toContain('incidents,total,2')
    expect(lines).toContain('falseAlarms,bySite.shop-12,1')
    expect(lines).toContain('clocks,shown.p50S,5')
    expect(lines).toContain('fiveMinute,reachedWithin300s,1')
    const html = await fetch(`${svc.base}/api/reports/daily?scope=district&date=2026-12-02&format=html`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    })
    expect(html.headers.get('content-type')).toMatch(/^text\/html/)
    const page = await html.text()
    expect(page.match(/<svg /g)?.length).toBe(7)
    // The printable page speaks the officer's language: asked for, or the browser's, else Chinese.
    const pageIn = async (query: string, headers: Record<string, string> = {}) =>
      (
        await fetch(`${svc.base}/api/reports/daily?scope=district&date=2026-12-02&format=html${query}`, {
          headers: { authorization: `Bearer ${ADMIN}`, ...headers },
        })
      ).text()
    const zh = await pageIn('&lang=zh-CN')
    expect(zh).toContain('<html lang="zh-CN">')
    expect(zh).toContain('日报 — 全区 — 2026-12-02')
    expect(zh).toContain('警情处置结果')
    expect(zh).toContain('误报')
    expect(zh).not.toContain('Alarms by outcome')
    expect(await pageIn('', { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8' })).toContain('日报 — 全区')
    const en = await pageIn('', { 'accept-language': 'en-GB,en;q=0.9' })
    expect(en).toContain('Daily report — district — 2026-12-02')
    expect(en).toContain('Alarms by outcome')
    expect(await pageIn('')).toContain('日报 — 全区') // no language we speak asked for: Chinese
  })

  it('refuses bad dates, months, formats and scopes with {error, message}', async () => {
    const officer = must(
      await svc.api.post('/api/officers', { id: 'o-x', name: 'Officer X', scope: 'community:xixiang-01' }),
      201,
    )
    const as = apiClient(svc.base, officer.token)
    for (const url of [
      '/api/reports/daily?date=2026-13-45',
      '/api/reports/daily?date=2026-02-30',
      '/api/reports/daily',
      '/api/reports/monthly?month=2026-13',
      '/api/reports/daily?date=2026-12-02&format=pdf',
      '/api/reports/daily?date=2026-12-02&format=html&lang=fr',
      '/api/reports/daily?date=2026-12-02&scope=town:x',
    ]) {
      const r = await as.get(url)
      expect(r.status, url).toBe(400)
      expect(r.body, url).toEqual({ error: expect.any(String), message: expect.any(String) })
    }
    for (const scope of ['district', 'street:xinan', 'community:xinan-01', 'community:nowhere']) {
      const r = await as.get(`/api/reports/daily?date=2026-12-02&scope=${scope}`)
      expect(r.status, scope).toBe(403)
      expect(r.body.message).toContain('community:xixiang-01')
    }
    expect((await as.get('/api/reports/daily?date=2026-12-02')).status).toBe(200)
    expect((await as.post(`/api/incidents/${'inc-20261202-0000000000'}/shown`, {})).status).toBe(403)
  })
})

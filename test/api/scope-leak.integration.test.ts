/**
 * Scope errors leak nothing (issue #12, item 7): an officer of street xinan asking for a thing
 * of community xixiang-01 by id gets byte for byte the answer an id nobody registered gets
 * (so "elsewhere" and "nowhere" look alike), for every route family; and a list filter wider
 * than the scope gets a 403 that names the officer's own scope and nothing of the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createManualClock } from '../../services/shared/clock.ts'
import { connectAs } from '../support/mqtt.ts'
import {
  registerDevice,
  registerDistrict,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'

let svc: TestService
const clock = createManualClock(Date.now())
let xinanOfficer = ''
let incident = ''
/** An incident inside the officer's own street (shop-12, xinan-01). */
let ownIncident = ''

beforeAll(async () => {
  svc = await startTestService({ clock })
  await registerDistrict(svc.api)
  const heat = await registerDevice(svc.api, { id: 'f7-heat', kind: 'heat', building: 'factory-7' })
  await registerDevice(svc.api, { id: 'shop-smoke', kind: 'smoke', building: 'shop-12' })
  const shopHeat = await registerDevice(svc.api, { id: 'shop-heat', kind: 'heat', building: 'shop-12' })
  const guard = await svc.api.post('/api/responders', {
    id: 'guard-f7',
    name: 'Wang Wei',
    type: 'security_guard',
    mode: 'foot',
    onDuty: true,
    building: 'factory-7',
  })
  expect(guard.status).toBe(201)
  xinanOfficer = (
    await svc.api.post('/api/officers', { id: 'duty-xa', name: 'Zhao Lei', scope: 'street:xinan' })
  ).body.token
  // A real incident in xixiang-01, opened the way devices open them.
  const c = await connectAs(svc.mqttUrl, 'f7-heat', heat.secret)
  await c.publishAsync('dev/f7-heat/telemetry', JSON.stringify({ values: { temperature: 74 } }), { qos: 1 })
  await c.endAsync()
  incident = await until(async () => {
    const list = await svc.api.get('/api/incidents?status=open')
    return list.body.items?.[0]?.id as string | undefined
  }, 'the incident to open')
  const s = await connectAs(svc.mqttUrl, 'shop-heat', shopHeat.secret)
  await s.publishAsync('dev/shop-heat/telemetry', JSON.stringify({ values: { temperature: 74 } }), { qos: 1 })
  await s.endAsync()
  ownIncident = await until(async () => {
    const list = await svc.api.get('/api/incidents?status=open&community=xinan-01')
    return list.body.items?.[0]?.id as string | undefined
  }, 'the incident in xinan to open')
})
afterAll(async () => svc?.stop())

/** The raw answer: status, content type and the body's bytes. */
async function raw(method: string, url: string, body?: unknown): Promise<string> {
  const res = await fetch(svc.base + url, {
    method,
    headers: {
      authorization: `Bearer ${xinanOfficer}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  return `${res.status} ${res.headers.get('content-type')} ${await res.text()}`
}

/**
 * Ask for the thing that exists elsewhere and for one that exists nowhere; the second answer,
 * with the made-up id put back, must be the first, byte for byte. `{id}` marks the id.
 */
async function expectAlike(
  method: string,
  template: string,
  elsewhere: string,
  body?: unknown,
  bodyFor?: (id: string) => unknown,
) {
  const nowhere = `${elsewhere.slice(0, 3)}zz-nowhere`
  const outside = await raw(method, template.replace('{id}', elsewhere), bodyFor ? bodyFor(elsewhere) : body)
  const missing = await raw(method, template.replace('{id}', nowhere), bodyFor ? bodyFor(nowhere) : body)
  expect(outside, `${method} ${template}`).toMatch(
    /^403 application\/json; charset=utf-8 \{"error":"forbidden"/,
  )
  expect(outside, `${method} ${template}`).toBe(missing.replaceAll(nowhere, elsewhere))
  // Beyond the id it was asked for, nothing says where the thing is.
  expect(outside.replaceAll(elsewhere, '{id}')).not.toMatch(/xixiang|factory|outside|scope \(/)
}

describe('an out-of-scope id answers like a missing one', () => {
  it('registry: devices, telemetry, buildings, communities, responders', async () => {
    await expectAlike('GET', '/api/devices/{id}', 'f7-heat')
    await expectAlike('GET', '/api/devices/{id}/telemetry', 'f7-heat')
    await expectAlike('GET', '/api/buildings/{id}', 'factory-7')
    await expectAlike('GET', '/api/communities/{id}', 'xixiang-01')
    await expectAlike('GET', '/api/responders/{id}', 'guard-f7')
    // The officer's own still answer.
    expect(await raw('GET', '/api/devices/shop-smoke')).toMatch(/^200 /)
  })

  it('alarms: an incident, its actions, a device’s signals', async () => {
    await expectAlike('GET', '/api/incidents/{id}', incident)
    for (const action of ['acknowledge', 'confirm', 'false-alarm', 'resolve']) {
      await expectAlike('POST', `/api/incidents/{id}/${action}`, incident, { reason: 'looked' })
    }
    await expectAlike('GET', '/api/devices/{id}/signals', 'f7-heat')
    // Nothing was done to the incident by the refused actions.
    expect((await svc.api.get(`/api/incidents/${incident}`)).body.status).toBe('alarm')
  })

  it('dispatch: the circle and a reply', async () => {
    await expectAlike('GET', '/api/incidents/{id}/circle', incident)
    await expectAlike('POST', '/api/incidents/{id}/replies', incident, {
      responder: 'guard-f7',
      answer: 'accept',
    })
  })

  it('dispatch: a reply on the officer’s own incident for a responder elsewhere, never offered it', async () => {
    const offers = (await svc.api.get(`/api/incidents/${ownIncident}`)).body.offers as { responder: string }[]
    expect(offers.map((o) => o.responder)).not.toContain('guard-f7')
    await expectAlike('POST', `/api/incidents/${ownIncident}/replies`, 'guard-f7', undefined, (id) => ({
      responder: id,
      answer: 'accept',
    }))
  })

  it('linkage: an incident’s linkage and a community’s rules', async () => {
    await expectAlike('GET', '/api/linkage/incidents/{id}', incident)
    await expectAlike('GET', '/api/linkage/rules/{id}', 'xixiang-01')
  })
})

describe('a list wider than the scope', () => {
  it('is a 403 naming only the officer’s own scope, the same for a community elsewhere and nowhere', async () => {
    for (const route of [
      '/api/devices',
      '/api/buildings',
      '/api/responders',
      '/api/incidents',
      '/api/device-health',
      '/api/dispatch/kpi',
    ]) {
      const elsewhere = await raw('GET', `${route}?community=xixiang-01`)
      const nowhere = await raw('GET', `${route}?community=zz-nowhere`)
      expect(elsewhere, route).toMatch(/^403 application\/json; charset=utf-8 \{"error":"forbidden"/)
      expect(elsewhere, route).toContain('street:xinan')
      expect(elsewhere, route).not.toMatch(/xixiang/)
      expect(elsewhere, route).toBe(nowhere)
      expect(await raw('GET', `${route}?street=xixiang`), route).toBe(elsewhere)
    }
  })

  it('filters a building elsewhere like a building nowhere: an empty page, not a 403', async () => {
    const elsewhere = await raw('GET', '/api/devices?building=factory-7')
    expect(elsewhere).toMatch(/^200 /)
    expect(elsewhere).toBe(await raw('GET', '/api/devices?building=zz-nowhere'))
    expect(JSON.parse(elsewhere.slice(elsewhere.indexOf('{'))).items).toEqual([])
  })
})

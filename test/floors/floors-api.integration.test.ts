/**
 * Floor plans through the whole service (docs/PROTOCOL.md §Floor plans): a PNG and an SVG
 * uploaded as the body and served back with the type their bytes were checked as, `nosniff` and
 * a CSP; anything else refused (415), an SVG with script refused (400), too large (413); devices
 * placed on a floor's plan (their floor becomes it), with every bad placement refused; an officer
 * outside the building's community gets 403 for each call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FLOOR_PLAN_MAX_BYTES } from '../../services/floors/index.ts'
import { PLAN_SVG, planPng } from '../support/plans.ts'
import {
  ADMIN_TOKEN,
  must,
  registerDistrict,
  startTestService,
  type TestService,
} from '../support/service.ts'

let svc: TestService
let inside: string
let outside: string
const FLOORS = '/api/buildings/factory-7/floors'

beforeAll(async () => {
  svc = await startTestService()
  await registerDistrict(svc.api)
  inside = must(
    await svc.api.post('/api/officers', { id: 'o-xx', name: 'Li Na', scope: 'community:xixiang-01' }),
    201,
  ).token
  outside = must(
    await svc.api.post('/api/officers', { id: 'o-xn', name: 'Wang Fang', scope: 'community:xinan-01' }),
    201,
  ).token
  must(
    await svc.api.post('/api/devices', { id: 'f7-smoke-3a', kind: 'smoke', building: 'factory-7', floor: 3 }),
    201,
  )
  must(
    await svc.api.post('/api/devices', { id: 'f7-smoke-3b', kind: 'smoke', building: 'factory-7', floor: 3 }),
    201,
  )
  must(await svc.api.post('/api/devices', { id: 'f7-heat', kind: 'heat', building: 'factory-7' }), 201)
  must(await svc.api.post('/api/devices', { id: 's12-smoke', kind: 'smoke', building: 'shop-12' }), 201)
}, 30_000)

afterAll(async () => {
  await svc?.stop()
})

const upload = (floor: number | string, body: Buffer | string, type: string, token = inside) =>
  fetch(`${svc.base}${FLOORS}/${floor}/plan`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': type },
    body,
  })
const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any })
const place = (device: string, body: unknown, token = inside) =>
  svc.api.request('PUT', `/api/devices/${device}/placement`, body, token)

describe('floor plans', () => {
  it('takes a PNG and an SVG as the body and serves each back with its checked type, nosniff and a CSP', async () => {
    const png = planPng(400, 300)
    const up = await json(await upload(3, png, 'image/png'))
    expect(up).toEqual({
      status: 200,
      body: {
        type: 'image/png',
        bytes: png.length,
        width: 400,
        height: 300,
        url: '/api/buildings/factory-7/floors/3/plan',
        updated: expect.any(String),
        actor: 'officer:o-xx',
      },
    })
    // The type is the bytes' own: an SVG sent as application/octet-stream is an SVG.
    const svg = await json(await upload(-1, PLAN_SVG, 'application/octet-stream', ADMIN_TOKEN))
    expect(svg.body).toMatchObject({ type: 'image/svg+xml', width: 800, height: 400, actor: 'administrator' })

    const got = await fetch(`${svc.base}${FLOORS}/3/plan`, { headers: { authorization: `Bearer ${inside}` } })
    expect(got.status).toBe(200)
    expect(got.headers.get('content-type')).toBe('image/png')
    expect(got.headers.get('x-content-type-options')).toBe('nosniff')
    expect(got.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(Buffer.from(await got.arrayBuffer()).equals(png)).toBe(true)
    const gotSvg = await fetch(`${svc.base}${FLOORS}/-1/plan`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    expect(gotSvg.headers.get('content-type')).toBe('image/svg+xml')
    expect(gotSvg.headers.get('content-security-policy')).toContain('sandbox')
    expect(await gotSvg.text()).toBe(PLAN_SVG)
    // Replaced by a second upload.
    const again = await json(await upload(-1, planPng(20, 10), 'image/png'))
    expect(again.body).toMatchObject({ type: 'image/png', width: 20, height: 10 })
    expect((await svc.api.get(`${FLOORS}/4/plan`, ADMIN_TOKEN)).status).toBe(404)
  })

  it('refuses what is not a PNG or an SVG (415), an SVG with script (400), too large (413), a bad floor (400)', async () => {
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1')
    for (const [body, type] of [
      [gif, 'image/png'],
      [Buffer.from('<html><body>floor</body></html>'), 'image/svg+xml'],
      [Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), 'application/octet-stream'],
      ['{"plan":"x"}', 'application/json'],
      ['floor', 'text/plain'],
    ] as const) {
      const r = await json(await upload(5, body, type))
      expect(r.status, `${type}: ${String(body).slice(0, 20)}`).toBe(415)
      expect(r.body).toMatchObject({ error: 'unsupported_media_type', message: expect.any(String) })
    }
    for (const svg of [
      '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><rect/></a></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>x</p></foreignObject></svg>',
      '<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
    ]) {
      const r = await json(await upload(5, svg, 'image/svg+xml'))
      expect(r.status, svg).toBe(400)
      expect(r.body).toMatchObject({ error: 'bad_request', message: expect.stringContaining('SVG') })
    }
    // The image types are the plan's alone: another route given one answers 415 at once (it
    // never validates a buffer against its JSON schema; found by test/api/fuzz).
    const elsewhere = await fetch(`${svc.base}/api/devices/f7-heat`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(512 * 1024, 0x41),
      signal: AbortSignal.timeout(5000),
    })
    expect(await json(elsewhere)).toMatchObject({ status: 415, body: { error: 'unsupported_media_type' } })
    const big = Buffer.concat([planPng(10, 10), Buffer.alloc(FLOOR_PLAN_MAX_BYTES)])
    const r = await json(await upload(5, big, 'image/png'))
    expect(r).toMatchObject({ status: 413, body: { error: 'payload_too_large' } })
    expect((await json(await upload(301, planPng(), 'image/png'))).status).toBe(400)
    expect((await json(await upload('two', planPng(), 'image/png'))).status).toBe(400)
    expect((await json(await upload(5, Buffer.alloc(0), 'image/png'))).status).toBeGreaterThanOrEqual(400)
    expect((await svc.api.get(`${FLOORS}/5/plan`, ADMIN_TOKEN)).status).toBe(404)
  })

  it('places devices on a floor’s plan (their floor becomes it) and refuses bad placements', async () => {
    must(await place('f7-smoke-3a', { floor: 3, x: 0.25, y: 0.75 }), 200)
    // An unfloored device placed on floor 3: its floor is now 3.
    expect(must(await place('f7-heat', { floor: 3, x: 1, y: 0 }), 200)).toMatchObject({
      device: 'f7-heat',
      building: 'factory-7',
      floor: 3,
      x: 1,
      y: 0,
      actor: 'officer:o-xx',
    })
    expect(must(await svc.api.get('/api/devices/f7-heat'), 200).floor).toBe(3)
    for (const bad of [
      { floor: 3, x: 1.5, y: 0.5 },
      { floor: 3, x: -0.1, y: 0.5 },
      { floor: 3, x: 0.5 },
      { floor: 3, x: '0.5', y: 0.5, extra: true },
      { floor: 999, x: 0.5, y: 0.5 },
      { floor: 2.5, x: 0.5, y: 0.5 },
    ])
      expect((await place('f7-smoke-3b', bad)).status, JSON.stringify(bad)).toBe(400)
    // A floor with no plan: nowhere to place it.
    const noPlan = await place('f7-smoke-3b', { floor: 7, x: 0.5, y: 0.5 })
    expect(noPlan).toMatchObject({
      status: 409,
      body: { error: 'conflict', message: expect.stringContaining('no plan') },
    })
    expect((await place('nope', { floor: 3, x: 0.5, y: 0.5 }, ADMIN_TOKEN)).status).toBe(404)

    const floors = must(await svc.api.get(FLOORS, inside), 200)
    expect(floors).toMatchObject({
      building: 'factory-7',
      limits: { planBytes: FLOOR_PLAN_MAX_BYTES, plansPerBuilding: 64 },
      unplaced: [],
    })
    expect(floors.floors.map((f: { floor: number }) => f.floor)).toEqual([-1, 3])
    expect(floors.floors[1]).toMatchObject({
      floor: 3,
      plan: { type: 'image/png', url: '/api/buildings/factory-7/floors/3/plan' },
      devices: [
        { id: 'f7-heat', kind: 'heat', placement: { x: 1, y: 0 } },
        { id: 'f7-smoke-3a', kind: 'smoke', placement: { x: 0.25, y: 0.75 } },
        { id: 'f7-smoke-3b', kind: 'smoke' },
      ],
    })
    expect(floors.floors[1].devices[2].placement).toBeUndefined()
    // Moved to another floor by the administrator: off the plan until placed again.
    must(await svc.api.request('PATCH', '/api/devices/f7-smoke-3a', { floor: 4 }), 200)
    const moved = must(await svc.api.get(FLOORS, inside), 200)
    expect(moved.floors.find((f: { floor: number }) => f.floor === 4).devices).toEqual([
      { id: 'f7-smoke-3a', kind: 'smoke', enabled: true },
    ])
    must(await place('f7-smoke-3a', { floor: 3, x: 0.5, y: 0.5 }), 200)
    expect(
      must(await svc.api.request('DELETE', '/api/devices/f7-heat/placement', undefined, inside), 200),
    ).toEqual({
      deleted: true,
    })
    expect(
      (await svc.api.request('DELETE', '/api/devices/f7-heat/placement', undefined, ADMIN_TOKEN)).status,
    ).toBe(404)
  })

  it('answers an officer outside the building’s community 403 on every call', async () => {
    expect((await svc.api.get(FLOORS, outside)).status).toBe(403)
    expect((await svc.api.get(`${FLOORS}/3/plan`, outside)).status).toBe(403)
    expect((await json(await upload(6, planPng(), 'image/png', outside))).status).toBe(403)
    expect((await svc.api.request('DELETE', `${FLOORS}/3/plan`, undefined, outside)).status).toBe(403)
    expect((await place('f7-smoke-3b', { floor: 3, x: 0.5, y: 0.5 }, outside)).status).toBe(403)
    expect(
      (await svc.api.request('DELETE', '/api/devices/f7-smoke-3a/placement', undefined, outside)).status,
    ).toBe(403)
    // Missing is the same 403 for an officer; and a device of another building, the other officer's.
    expect((await svc.api.get('/api/buildings/nope/floors', inside)).status).toBe(403)
    expect((await place('s12-smoke', { floor: 1, x: 0.5, y: 0.5 }, inside)).status).toBe(403)
    expect((await svc.api.get('/api/buildings/nope/floors', ADMIN_TOKEN)).status).toBe(404)
    // Unauthenticated: 401.
    expect((await fetch(`${svc.base}${FLOORS}`)).status).toBe(401)
  })

  it('deletes a plan', async () => {
    expect(must(await svc.api.request('DELETE', `${FLOORS}/-1/plan`, undefined, inside), 200)).toEqual({
      deleted: true,
    })
    expect((await svc.api.request('DELETE', `${FLOORS}/-1/plan`, undefined, ADMIN_TOKEN)).status).toBe(404)
  })
})

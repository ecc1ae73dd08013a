/**
 * The daily test of the 119 link through the whole service: at FC_FIRE_CENTRE_TEST_AT (local
 * time in FC_TIME_ZONE) a signed `link_test` notification reaches the stand-in 119 centre, which
 * acknowledges it; the result is on GET /api/fire-centre/link-tests, in /readyz
 * (`fire_centre_link`) and in /metrics (`firecircle_fire_centre_link_up`). A refusal is a failure;
 * POST runs one now. Administrator only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifySignature } from '../../services/linkage/sign.ts'
import { createManualClock } from '../../services/shared/clock.ts'
import { type Receiver, startReceiver } from '../support/http-receiver.ts'
import {
  ADMIN_TOKEN,
  must,
  registerDistrict,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'

const SECRET = 'a-shared-secret-of-the-119-centre'
// 10:00 in Shanghai; the daily test is at 10:05.
const clock = createManualClock(Date.UTC(2026, 11, 2, 2, 0, 0))
let svc: TestService
let centre: Receiver
let refuse = false

beforeAll(async () => {
  centre = await startReceiver(() => (refuse ? 503 : 200))
  svc = await startTestService({
    clock,
    env: { FC_FIRE_CENTRE_URL: centre.url, FC_WEBHOOK_SECRET: SECRET, FC_FIRE_CENTRE_TEST_AT: '10:05' },
  })
  await registerDistrict(svc.api)
}, 30_000)

afterAll(async () => {
  await svc?.stop()
  await centre?.close()
})

const readyz = async () =>
  ((await (await fetch(`${svc.base}/readyz`)).json()) as { checks: Record<string, unknown> }).checks
const linkUp = async () =>
  /firecircle_fire_centre_link_up (\d)/.exec(
    await (
      await fetch(`${svc.base}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).text(),
  )?.[1]

describe('the 119 link test', () => {
  it('runs by itself at FC_FIRE_CENTRE_TEST_AT, signed, and the centre’s acknowledgement is recorded', async () => {
    expect(must(await svc.api.get('/api/fire-centre/link-tests'), 200).items).toEqual([])
    expect((await readyz())['fire_centre_link']).toBeUndefined()
    clock.advance(5 * 60_000 - 1)
    await new Promise((r) => setTimeout(r, 50))
    expect(centre.requests.length).toBe(0)
    clock.advance(1)
    const items = await until(async () => {
      const r = must(await svc.api.get('/api/fire-centre/link-tests'), 200).items
      return r.length > 0 ? r : undefined
    }, 'the scheduled test')
    expect(items[0]).toMatchObject({ ok: true, status: 200, by: 'schedule', at: '2026-12-02T02:05:00.000Z' })
    const req = centre.requests[0]!
    expect(req.headers['x-firecircle-event']).toBe('link_test')
    expect(verifySignature(req.body, SECRET, req.headers['x-firecircle-signature'] as string)).toBe(true)
    expect(JSON.parse(req.body)).toMatchObject({ purpose: 'link_test', test: true, id: items[0].id })
    expect((await readyz())['fire_centre_link']).toBe(true)
    expect(await linkUp()).toBe('1')
  })

  it('a refusal is a failure: recorded, /readyz and the metric say so; POST runs one now', async () => {
    refuse = true
    const r = must(await svc.api.post('/api/fire-centre/link-tests', {}), 201)
    expect(r).toMatchObject({ ok: false, status: 503, by: 'administrator' })
    expect((await readyz())['fire_centre_link']).toBe(false)
    expect(await linkUp()).toBe('0')
    const officer = must(
      await svc.api.post('/api/officers', { id: 'o-d', name: 'Zhao', scope: 'district' }),
      201,
    ).token
    expect((await svc.api.get('/api/fire-centre/link-tests', officer)).status).toBe(403)
    expect((await svc.api.post('/api/fire-centre/link-tests', {}, officer)).status).toBe(403)
    refuse = false
    expect(must(await svc.api.post('/api/fire-centre/link-tests', {}), 201).ok).toBe(true)
    expect(
      must(await svc.api.get('/api/fire-centre/link-tests'), 200).items.map((x: { ok: boolean }) => x.ok),
    ).toEqual([true, false, true])
  })
})

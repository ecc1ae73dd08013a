/**
 * The console's work-order queue in a real headless Chromium: the officer signs in, sees the
 * orders of the scope (overdue first), assigns one, marks it done — and sees it stay open while
 * the device still reports its fault — then watches the device's own restore verify it live;
 * and runs a hazard through assign, done and verify from the page.
 */
import type { MqttClient } from 'mqtt'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createManualClock } from '../../services/shared/clock.ts'
import { launchChromium } from '../support/browser.ts'
import { connectAs } from '../support/mqtt.ts'
import {
  must,
  registerDevice,
  registerDistrict,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'

const clock = createManualClock(Date.now())
let svc: TestService
let browser: Browser
let page: Page
let officerToken: string
let sprinkler: MqttClient
let hazardId: string

const order = (id: string) => page.locator(`li[data-order="${id}"]`)
const stateOf = async (id: string) => (await svc.api.get(`/api/work-orders/${id}`)).body

beforeAll(async () => {
  svc = await startTestService({ clock })
  await registerDistrict(svc.api)
  officerToken = must(
    await svc.api.post('/api/officers', { id: 'o-xx', name: 'Li Na', scope: 'community:xixiang-01' }),
    201,
  ).token
  const d = await registerDevice(svc.api, {
    id: 'f7-sprinkler',
    kind: 'water_pressure',
    building: 'factory-7',
  })
  sprinkler = await connectAs(svc.mqttUrl, d.id, d.secret)
  await sprinkler.publishAsync('dev/f7-sprinkler/event', JSON.stringify({ type: 'fault' }), { qos: 1 })
  await until(
    async () => (await svc.api.get('/api/devices/f7-sprinkler/signals')).body.signals?.length === 1,
    'fault',
  )
  clock.advance(60_000)
  await until(async () => (await svc.api.get('/api/work-orders')).body.total === 1, 'the trouble order')
  hazardId = must(
    await svc.api.post('/api/work-orders', {
      kind: 'hazard',
      building: 'factory-7',
      reason: 'exit 2 chained shut',
    }),
    201,
  ).id
  // Outside the officer's scope: never on the page.
  must(await svc.api.post('/api/work-orders', { kind: 'hazard', building: 'shop-12', reason: 'wiring' }), 201)
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1366, height: 860 }, locale: 'en-US' })
}, 60_000)

afterAll(async () => {
  await sprinkler?.endAsync().catch(() => {})
  await browser?.close()
  await svc?.stop()
})

describe('the work-order queue in the console', () => {
  it('shows the scope’s orders, assigns one and keeps it open while the device is still faulty', async () => {
    await page.goto(`${svc.base}/console/`)
    await page.getByLabel('Officer token').fill(officerToken)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByTestId('scope').waitFor()
    await page.getByRole('link', { name: 'Work orders' }).click()
    const trouble = (await svc.api.get('/api/work-orders?kind=trouble')).body.items[0].id as string
    await order(trouble).waitFor()
    await expect.poll(() => page.locator('li[data-order]').count()).toBe(2)
    expect(await order(trouble).textContent()).toContain('f7-sprinkler fault')

    await order(trouble).getByLabel('Assignee').fill('Hengfeng maintenance team')
    await order(trouble).getByRole('button', { name: 'Assign' }).click()
    await expect.poll(async () => (await stateOf(trouble)).status).toBe('assigned')
    await expect.poll(() => order(trouble).getAttribute('data-status')).toBe('assigned')
    expect((await stateOf(trouble)).assignee).toBe('Hengfeng maintenance team')

    await order(trouble).getByRole('button', { name: 'Done' }).click()
    await expect.poll(async () => (await stateOf(trouble)).history.length).toBe(4)
    expect((await stateOf(trouble)).status).toBe('open')
    await expect
      .poll(() => order(trouble).getByTestId('last-note').textContent())
      .toContain('still reports fault')
    // The order opened: the device's live state as it is now, and every step of the order.
    await order(trouble).getByRole('button', { name: 'Details' }).click()
    const now = (await svc.api.get('/api/devices/f7-sprinkler/signals')).body.signals
    await expect
      .poll(() => order(trouble).getByTestId('order-device').textContent())
      .toMatch(
        new RegExp(`^f7-sprinkler \\(water_pressure\\) · online · last seen .+ · now: ${now[0].condition}$`),
      )
    expect(await order(trouble).locator('.fc-order-history li').count()).toBe(4)

    // The device restores; a minute later it verifies its own order, and the page shows it live.
    await sprinkler.publishAsync('dev/f7-sprinkler/event', JSON.stringify({ type: 'restore' }), { qos: 1 })
    await until(
      async () => (await svc.api.get('/api/devices/f7-sprinkler/signals')).body.signals?.length === 0,
      'restore',
    )
    await until(async () => (await stateOf(trouble)).status === 'open', 'the order')
    clock.advance(60_000)
    await expect.poll(() => order(trouble).getAttribute('data-status'), { timeout: 10_000 }).toBe('verified')
    expect((await stateOf(trouble)).history.at(-1)).toMatchObject({ status: 'verified', actor: 'device' })
    await expect
      .poll(() => order(trouble).getByTestId('order-device').textContent())
      .toContain('now: nothing to report')
  })

  it('puts a device and its building in test mode from the incident view, and ends it', async () => {
    const h = await registerDevice(svc.api, { id: 'f7-heat', kind: 'heat', building: 'factory-7' })
    await registerDevice(svc.api, { id: 'f7-smoke', kind: 'smoke', building: 'factory-7' })
    const heat = await connectAs(svc.mqttUrl, h.id, h.secret)
    await heat.publishAsync('dev/f7-heat/telemetry', JSON.stringify({ values: { temperature: 80 } }), {
      qos: 1,
    })
    await heat.endAsync()
    const incident = await until(
      async () => (await svc.api.get('/api/incidents?status=open')).body.items?.[0],
      'fire',
    )
    await page.goto(`${svc.base}/console/#/incident/${incident.id}`)
    await page.getByRole('button', { name: 'Test mode for f7-smoke' }).click()
    await page.locator('li[data-device="f7-smoke"] [data-test-mode="on"]').waitFor()
    expect((await svc.api.get('/api/devices/f7-smoke')).body.testModeUntil).toBe(
      new Date(clock.now() + 30 * 60_000).toISOString(),
    )
    await page.getByRole('button', { name: 'End test mode of f7-smoke' }).click()
    await page.locator('li[data-device="f7-smoke"] [data-test-mode="off"]').waitFor()
    expect((await svc.api.get('/api/devices/f7-smoke')).body.testModeUntil).toBeUndefined()
    await page.getByRole('button', { name: 'Test mode for factory-7' }).click()
    await expect
      .poll(async () => (await svc.api.get('/api/devices/f7-heat')).body.testModeUntil)
      .toBeDefined()
    await page.getByRole('button', { name: 'End test mode of factory-7' }).click()
    await expect
      .poll(async () => (await svc.api.get('/api/devices/f7-heat')).body.testModeUntil)
      .toBeUndefined()
    await page.goto(`${svc.base}/console/#/work-orders`)
  })

  it('runs a hazard through assign, done and verify from the page', async () => {
    await order(hazardId).getByLabel('Assignee').fill('o-xx')
    await order(hazardId).getByRole('button', { name: 'Assign' }).click()
    await expect.poll(() => order(hazardId).getAttribute('data-status')).toBe('assigned')
    await order(hazardId).getByRole('button', { name: 'Done' }).click()
    await expect.poll(() => order(hazardId).getAttribute('data-status')).toBe('done')
    await order(hazardId).getByRole('button', { name: 'Verify' }).click()
    await expect.poll(() => order(hazardId).getAttribute('data-status')).toBe('verified')
    const h = await stateOf(hazardId)
    expect(h.status).toBe('verified')
    expect(h.history.map((e: { actor: string; status: string }) => `${e.status}:${e.actor}`)).toEqual([
      'open:administrator',
      'assigned:officer:o-xx',
      'done:officer:o-xx',
      'verified:officer:o-xx',
    ])
  })
})

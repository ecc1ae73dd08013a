/**
 * The duty officer console end to end, in a real headless Chromium: the officer signs in
 * with a token, sees only the scope, a fire published by real MQTT clients (MQTT.js and
 * mosquitto_pub) appears in the queue with a visible and audible cue, the incident view
 * draws the circles and the responders, an offer's answer shows up live, the officer
 * acknowledges on the page and the service's state changes; device health and a phone screen.
 *
 * Screenshots: FC_SCREENSHOTS=docs npx vitest run e2e writes them to docs/ (the README's).
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import type { MqttClient } from 'mqtt'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createManualClock } from '../../services/shared/clock.ts'
import { launchChromium } from '../support/browser.ts'
import { connectAs } from '../support/mqtt.ts'
import {
  registerDevice,
  registerDistrict,
  registerResponder,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'
import { tempDir } from '../support/tmp.ts'

const run = promisify(execFile)
const clock = createManualClock(Date.now())
const shots = process.env['FC_SCREENSHOTS']
  ? path.resolve(process.env['FC_SCREENSHOTS'])
  : tempDir('fc-shots-').dir

let svc: TestService
let browser: Browser
let page: Page
let officerToken: string
let secrets: Record<string, string>
const clients: MqttClient[] = []
/** Every request the page made to anywhere but the service (there must be none). */
const outside: string[] = []

async function publish(device: string, values: Record<string, number>) {
  const c = await connectAs(svc.mqttUrl, device, secrets[device]!)
  await c.publishAsync(`dev/${device}/telemetry`, JSON.stringify({ values }), { qos: 1 })
  await c.endAsync()
}

beforeAll(async () => {
  svc = await startTestService({ clock })
  await registerDistrict(svc.api)
  officerToken = (
    await svc.api.post('/api/officers', { id: 'o-xx', name: 'Li Na', scope: 'community:xixiang-01' })
  ).body.token
  await svc.api.post('/api/buildings', {
    id: 'flat-3',
    name: 'Haiyue Garden block 3',
    location: [113.87, 22.58],
    responsible: { name: 'Zhou Min' },
  })
  secrets = {}
  for (const d of [
    { id: 'flat3-smoke', kind: 'smoke', building: 'flat-3' },
    { id: 'f7-heat-1', kind: 'heat', building: 'factory-7' },
    { id: 'f7-smoke-1', kind: 'smoke', building: 'factory-7' },
    { id: 'f7-smoke-2', kind: 'smoke', building: 'factory-7' },
    { id: 'f7-sprinkler', kind: 'water_pressure', building: 'factory-7' },
    { id: 'f7-sounder', kind: 'sounder', building: 'factory-7' },
    { id: 's12-heat', kind: 'heat', building: 'shop-12' },
  ]) {
    secrets[d.id] = (await registerDevice(svc.api, d)).secret
  }
  for (const r of [
    { id: 'r-foot', name: 'Zhang Wei', type: 'volunteer', mode: 'foot', location: [113.8665, 22.5755] },
    { id: 'r-bike', name: 'Liu Yang', type: 'grid_staff', mode: 'bicycle', location: [113.872, 22.577] },
    { id: 'r-car', name: 'Huang Min', type: 'micro_station', mode: 'motor', location: [113.85, 22.58] },
  ] as const) {
    secrets[r.id] = (
      await registerResponder(svc.api, { ...r, location: [...r.location], onDuty: true })
    ).secret
  }
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1366, height: 860 }, locale: 'en-US' })
}, 60_000)

afterAll(async () => {
  for (const c of clients) await c.endAsync().catch(() => {})
  await browser?.close()
  await svc?.stop()
})

describe('the duty officer console in a real browser', () => {
  it('serves the page from the service, with nothing from outside it', async () => {
    page.on('request', (r) => {
      if (!r.url().startsWith(svc.base) && !r.url().startsWith('data:')) outside.push(r.url())
    })
    const res = await page.goto(`${svc.base}/`)
    expect(res?.status()).toBe(200)
    expect(page.url()).toBe(`${svc.base}/console/`)
    await page.getByLabel('Officer token').waitFor()
    expect(outside).toEqual([])
  })

  it('refuses a wrong token with the reason, and signs in with the officer’s', async () => {
    await page.getByLabel('Officer token').fill('o-xx.not-the-token')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not valid')

    await page.getByLabel('Officer token').fill(officerToken)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByTestId('scope').waitFor()
    expect(await page.getByTestId('scope').textContent()).toBe('Li Na · community xixiang-01')
    await expect.poll(() => page.getByTestId('live').textContent()).toBe('live')
    // Only the officer's community is drawn.
    await expect.poll(() => page.locator('path.fc-community').count()).toBe(1)
    expect(await page.locator('.fc-empty').textContent()).toContain('No open incidents')
  })

  it('shows a new fire within a second, with a visible and an audible cue, and nothing outside the scope', async () => {
    // Outside the scope first: shop-12 is in xin'an.
    await publish('s12-heat', { temperature: 80 })
    await until(
      async () => (await svc.api.get('/api/incidents?status=open')).body.total === 1,
      'the shop-12 incident',
    )

    // Slow warming, then the fixed-temperature alarm, from MQTT.js; the sprinkler main's
    // pressure drops (supervisory) and a smoke detector's battery is low.
    for (const t of [24, 24.5, 25.5]) {
      await publish('f7-heat-1', { temperature: t, battery: 88 })
      clock.advance(15_000)
    }
    await publish('f7-sprinkler', { pressure: 0.05 })
    await publish('f7-smoke-1', { obscuration: 0.2, battery: 12 })

    // Smoke in a flat: a candidate under verification is shown, without the alarm cue.
    await publish('flat3-smoke', { obscuration: 5 })
    await page.locator('.fc-queue-item[data-status="verifying"]').waitFor()
    expect(await page.getByTestId('new-alarm').count()).toBe(0)
    const cuesBefore = Number((await page.locator('body').getAttribute('data-cues')) ?? '0')
    expect(cuesBefore).toBe(0)

    const heat = await connectAs(svc.mqttUrl, 'f7-heat-1', secrets['f7-heat-1']!)
    clients.push(heat)
    const sent = Date.now()
    await heat.publishAsync('dev/f7-heat-1/telemetry', JSON.stringify({ values: { temperature: 78 } }), {
      qos: 1,
    })
    const item = page.locator('.fc-queue-item[data-status="alarm"]')
    await item.waitFor({ timeout: 5000 })
    const shownAfterMs = Date.now() - sent
    console.log(`console: the new fire appeared in the queue ${shownAfterMs} ms after the PUBLISH`)

    // The alarm is drawn at once; the building's name follows with its own request (GET
    // /api/buildings/{id}), a moment later on a loaded machine: wait for it, don't race it.
    await expect.poll(() => item.textContent(), { timeout: 5000 }).toContain('Hengfeng electronics factory')
    await page.getByTestId('new-alarm').waitFor()
    expect(await page.getByTestId('new-alarm').textContent()).toContain('NEW FIRE ALARM')
    expect(Number(await page.locator('body').getAttribute('data-cues'))).toBeGreaterThan(cuesBefore)

    // A second detector (mosquitto_pub, an independent client) joins the same incident.
    await run('mosquitto_pub', [
      ...['-h', '127.0.0.1', '-p', String(svc.service.mqttPort), '-q', '1'],
      ...['-i', 'f7-smoke-2', '-u', 'f7-smoke-2', '-P', secrets['f7-smoke-2']!],
      ...['-t', 'dev/f7-smoke-2/telemetry', '-m', JSON.stringify({ values: { obscuration: 6 } })],
    ])
    await expect.poll(() => item.textContent()).toContain('2 devices')

    // Most urgent first: the fire above the smoke still being verified; shop-12's incident
    // is outside the scope and not on the page.
    expect(
      await page
        .locator('.fc-queue-item')
        .evaluateAll((items) => items.map((i) => i.getAttribute('data-status'))),
    ).toEqual(['alarm', 'verifying'])
    const all = await svc.api.get('/api/incidents?status=open')
    expect(all.body.total).toBe(3)
    const shop = all.body.items.find((i: any) => i.building === 'shop-12')
    expect(await page.locator(`[data-incident="${shop.id}"]`).count()).toBe(0)
    await page.screenshot({ path: path.join(shots, 'console-queue.png') })
  })

  it('opens the incident: circles per mode, responders with ETAs, devices with charts, timeline', async () => {
    await page.locator('.fc-queue-item[data-status="alarm"]').click()
    const view = page.locator('section.fc-incident-view')
    await view.waitFor()
    await expect.poll(() => page.getByTestId('new-alarm').count()).toBe(0)
    await expect.poll(() => view.locator('h2').textContent()).toBe('Fire at Hengfeng electronics factory')

    const incident = (await svc.api.get('/api/incidents?status=open&building=factory-7')).body.items[0]
    const circle = (await svc.api.get(`/api/incidents/${incident.id}/circle`)).body
    const modes = circle.features
      .filter((f: any) => f.geometry.type === 'Polygon')
      .map((f: any) => f.properties.mode)
    const inside = circle.features.filter((f: any) => f.geometry.type === 'Point')
    expect(modes.length).toBeGreaterThan(1)
    await expect.poll(() => page.locator('path.fc-circle').count()).toBe(modes.length)
    for (const m of modes) expect(await page.locator(`path.fc-circle-${m}`).count()).toBe(1)
    await expect.poll(() => page.locator('path.fc-responder').count()).toBe(inside.length)
    expect(await page.getByTestId('responders-inside').textContent()).toBe(
      `${inside.length} responders inside`,
    )

    // Offers with ETAs, as the service made them.
    const offers = (await svc.api.get(`/api/incidents/${incident.id}`)).body.offers
    expect(offers.length).toBeGreaterThan(0)
    await expect.poll(() => page.locator('table.fc-offers tbody tr').count()).toBe(offers.length)
    const first = page.locator(`tr[data-responder="${offers[0].responder}"]`)
    expect(await first.getAttribute('data-state')).toBe('offered')

    // The building's devices with the latest readings charted from the telemetry store.
    const heatRow = page.locator('li[data-device="f7-heat-1"]')
    await expect.poll(() => heatRow.locator('svg').getAttribute('data-points')).toBe('4')
    expect(await heatRow.textContent()).toContain('78 °C')
    expect(await heatRow.textContent()).toContain('heat (fixed)')
    expect(await page.locator('path.fc-device').count()).toBe(5)

    // The timeline tells the story: opened by the heat detector, the smoke detector joined.
    const timeline = await page.locator('ol.fc-timeline').textContent()
    expect(timeline).toContain('device:f7-heat-1')
    expect(timeline).toContain('f7-smoke-2')
  })

  it('shows a responder’s answer live, as it arrives over MQTT', async () => {
    const incident = (await svc.api.get('/api/incidents?status=open&building=factory-7')).body.items[0]
    const offered = (await svc.api.get(`/api/incidents/${incident.id}`)).body.offers[0]
    const app = await connectAs(svc.mqttUrl, offered.responder, secrets[offered.responder]!)
    clients.push(app)
    await app.publishAsync(
      `rsp/${offered.responder}/reply`,
      JSON.stringify({ incident: incident.id, answer: 'accept' }),
      { qos: 1 },
    )
    await expect
      .poll(() => page.locator(`tr[data-responder="${offered.responder}"]`).getAttribute('data-state'))
      .toBe('accepted')
  })

  it('acknowledges on the page, and the service’s state changes', async () => {
    const incident = (await svc.api.get('/api/incidents?status=open&building=factory-7')).body.items[0]
    expect(incident.status).toBe('alarm')
    await page.getByLabel('Reason').fill('called the factory, guard on the way')
    await page.getByRole('button', { name: 'Acknowledge' }).click()
    await expect.poll(() => page.getByTestId('incident-status').textContent()).toBe('Acknowledged')

    const after = (await svc.api.get(`/api/incidents/${incident.id}`)).body
    expect(after.status).toBe('acknowledged')
    const entry = after.timeline.find((e: any) => e.status === 'acknowledged')
    expect(entry).toMatchObject({ actor: 'officer:o-xx', reason: 'called the factory, guard on the way' })
    // What the lifecycle allows next; acknowledge is gone.
    expect(await page.locator('button.fc-action').evaluateAll((b) => b.map((x) => x.textContent))).toEqual([
      'Confirm fire',
      'False alarm',
      'Resolve',
    ])
    await page.screenshot({ path: path.join(shots, 'console-incident.png') })
  })

  it('shows the service’s refusal when another officer already closed the incident', async () => {
    const incident = (await svc.api.get('/api/incidents?status=open&building=factory-7')).body.items[0]
    await svc.api.post(`/api/incidents/${incident.id}/confirm`, {})
    await svc.api.post(`/api/incidents/${incident.id}/resolve`, { reason: 'fire out' })
    // The page follows the stream: the incident is closed, no actions are offered.
    await expect.poll(() => page.getByTestId('incident-status').textContent()).toBe('Resolved')
    expect(await page.locator('button.fc-action').count()).toBe(0)
    await page.locator('.fc-back').click()
    await expect.poll(() => page.locator('.fc-queue-item').count()).toBe(1)
    expect(await page.locator('.fc-queue-item').getAttribute('data-status')).toBe('verifying')
  })

  it('shows device health for the scope: offline, low battery, supervisory, by community', async () => {
    // f7-heat-1 goes offline by its last will (a retained status "offline").
    await publishStatus('f7-heat-1', 'offline')
    await page.getByRole('link', { name: 'Device health' }).click()
    const row = page.locator('tr[data-community="xixiang-01"]')
    await row.waitFor()
    expect(await page.locator('tr[data-community]').count()).toBe(1)
    await expect.poll(() => row.locator('[data-col="offline"]').textContent(), { timeout: 5000 }).toBe('1')
    expect(await row.locator('[data-col="lowBattery"]').textContent()).toBe('1')
    expect(await row.locator('[data-col="supervisory"]').textContent()).toBe('1')
    expect(await page.locator('li[data-device="f7-heat-1"]').textContent()).toContain('offline')
    expect(await page.locator('li[data-device="f7-smoke-1"]').textContent()).toContain('low battery')
    expect(await page.locator('li[data-device="f7-sprinkler"]').textContent()).toContain('low water pressure')
    expect(await page.locator('li[data-device="f7-sounder"]').textContent()).toContain('never seen')
    expect(await page.locator('li[data-device="s12-heat"]').count()).toBe(0)
    await page.screenshot({ path: path.join(shots, 'console-health.png') })
  })

  it('works on a phone screen: no sideways scrolling, queue and actions within reach', async () => {
    const phone = await browser.newPage({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      locale: 'en-US',
    })
    await phone.goto(`${svc.base}/console/`)
    await phone.getByLabel('Officer token').fill(officerToken)
    await phone.getByRole('button', { name: 'Sign in' }).click()
    await phone.getByTestId('scope').waitFor()

    await publish('f7-smoke-2', { obscuration: 0.1 })
    const gas = await registerDevice(svc.api, { id: 'f7-gas', kind: 'gas', building: 'factory-7' })
    secrets['f7-gas'] = gas.secret
    await publish('f7-gas', { lel: 40 })
    const item = phone.locator('.fc-queue-item[data-status="alarm"]')
    await item.waitFor()
    const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')
    expect(overflow).toBeLessThanOrEqual(0)
    await item.tap()
    const ack = phone.getByRole('button', { name: 'Acknowledge' })
    await ack.waitFor()
    const box = await ack.boundingBox()
    expect(box!.x + box!.width).toBeLessThanOrEqual(390)
    expect(box!.height).toBeGreaterThanOrEqual(44)
    expect(
      await phone.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth'),
    ).toBeLessThanOrEqual(0)
    await phone.screenshot({ path: path.join(shots, 'console-phone.png'), fullPage: false })

    // The officer on the phone marks it a false alarm (the detector was being tested).
    const gasIncident = (await svc.api.get('/api/incidents?status=open&building=factory-7')).body.items[0]
    expect(gasIncident.cause).toBe('gas')
    await phone.getByLabel('Reason').fill('maintenance test of the gas detector')
    await phone.getByRole('button', { name: 'False alarm' }).tap()
    await expect.poll(() => phone.getByTestId('incident-status').textContent()).toBe('False alarm')
    const closed = (await svc.api.get(`/api/incidents/${gasIncident.id}`)).body
    expect(closed.status).toBe('false_alarm')
    expect(closed.timeline.find((e: any) => e.status === 'false_alarm' && e.type === 'status')).toMatchObject(
      {
        actor: 'officer:o-xx',
        reason: 'maintenance test of the gas detector',
      },
    )
    await phone.close()
  })

  it('asked nothing of anywhere but the service, all along (no CDN, no map tiles)', () => {
    expect(outside).toEqual([])
  })
})

async function publishStatus(device: string, status: 'online' | 'offline') {
  const c = await connectAs(svc.mqttUrl, device, secrets[device]!)
  await c.publishAsync(`dev/${device}/status`, status, { qos: 1, retain: true })
  await c.endAsync()
}

// Keep the screenshot directory when it is docs/, remove a temporary one.
afterAll(() => {
  if (!process.env['FC_SCREENSHOTS']) fs.rmSync(shots, { recursive: true, force: true })
})

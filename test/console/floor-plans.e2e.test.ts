/**
 * Floor plans in the console, in a real headless Chromium with a Chinese browser: the officer
 * uploads a floor's plan, drags two detectors onto it (pointer drags, as a mouse or a finger
 * does), and when one of them alarms, the incident view shows that floor's plan with the
 * alarming detector highlighted and the other dimmed.
 *
 * Screenshot: docs/console-floor-plan.png (with FC_SCREENSHOTS=docs).
 */
import path from 'node:path'
import type { MqttClient } from 'mqtt'
import type { Browser, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser.ts'
import { connectAs } from '../support/mqtt.ts'
import { planPng } from '../support/plans.ts'
import { must, registerDistrict, startTestService, type TestService, until } from '../support/service.ts'
import { tempDir } from '../support/tmp.ts'

const shots = process.env['FC_SCREENSHOTS']
  ? path.resolve(process.env['FC_SCREENSHOTS'])
  : tempDir('fc-shots-').dir
let svc: TestService
let browser: Browser
let page: Page
let officerToken: string
let heat: MqttClient
let heatSecret: string

beforeAll(async () => {
  svc = await startTestService()
  await registerDistrict(svc.api)
  officerToken = must(
    await svc.api.post('/api/officers', { id: 'o-xx', name: 'Li Na', scope: 'community:xixiang-01' }),
    201,
  ).token
  heatSecret = must(
    await svc.api.post('/api/devices', { id: 'f7-heat-3', kind: 'heat', building: 'factory-7', floor: 3 }),
    201,
  ).secret
  must(
    await svc.api.post('/api/devices', { id: 'f7-smoke-3', kind: 'smoke', building: 'factory-7', floor: 3 }),
    201,
  )
  // No floor yet: placing it on floor 3's plan gives it one.
  must(
    await svc.api.post('/api/devices', { id: 'f7-call-3', kind: 'call_point', building: 'factory-7' }),
    201,
  )
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN' })
  page.setDefaultTimeout(10_000)
}, 60_000)

afterAll(async () => {
  await heat?.endAsync().catch(() => {})
  await browser?.close()
  await svc?.stop()
})

/** Drag `what` onto the plan at (fx, fy), fractions of its width and height, in small steps. */
async function dragOnto(what: Locator, plan: Locator, fx: number, fy: number) {
  const from = await what.boundingBox()
  const to = await plan.boundingBox()
  if (from === null || to === null) throw new Error('not on the page')
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2)
  await page.mouse.down()
  await page.mouse.move(to.x + fx * to.width, to.y + fy * to.height, { steps: 12 })
  await page.mouse.up()
}

const placementOf = async (device: string) => {
  const floors = (await svc.api.get('/api/buildings/factory-7/floors')).body.floors as {
    floor: number
    devices: { id: string; placement?: { x: number; y: number } }[]
  }[]
  return floors.flatMap((f) => f.devices.map((d) => ({ floor: f.floor, ...d }))).find((d) => d.id === device)
}

/** The page shows the device placed: its marker on the plan, its chip gone from the unplaced list. */
async function placed(device: string) {
  await page.getByTestId('floor-plan').locator(`[data-plan-device="${device}"]`).waitFor()
  await page.locator(`[data-chip-device="${device}"]`).waitFor({ state: 'detached' })
}

describe('floor plans in the console', () => {
  it('uploads a floor’s plan and places devices on it by dragging', async () => {
    await page.goto(`${svc.base}/console/`)
    await page.getByLabel('值班员令牌').fill(officerToken)
    await page.getByRole('button', { name: '登录', exact: true }).click()
    await page.getByTestId('scope').waitFor()
    await page.getByRole('link', { name: '楼层平面图' }).click()
    await page.getByRole('combobox', { name: '建筑' }).selectOption('factory-7')
    await page.getByTestId('floor-editor').waitFor()
    // Floor 3 is there (its devices say so), without a plan yet.
    await page.getByRole('tab', { name: /3 层/ }).click()
    expect(await page.getByTestId('floor-editor').textContent()).toContain('3 层还没有平面图')
    await page
      .getByLabel('上传 3 层平面图（PNG 或 SVG）')
      .setInputFiles({ name: 'floor-3.png', mimeType: 'image/png', buffer: planPng(800, 480) })
    await expect.poll(() => page.getByTestId('floor-message').textContent()).toBe('3 层平面图已上传。')
    const plan = page.getByTestId('floor-plan')
    await plan.locator('img').waitFor()
    // A wrong file is refused in the officer's words.
    await page
      .getByLabel('替换 3 层平面图')
      .setInputFiles({ name: 'floor-3.gif', mimeType: 'image/gif', buffer: Buffer.from('GIF89a;', 'latin1') })
    await expect
      .poll(() => page.getByTestId('floor-message').textContent())
      .toBe('平面图必须是 PNG 图片或 SVG 图形。')

    await dragOnto(page.locator('[data-chip-device="f7-heat-3"]'), plan, 0.3, 0.4)
    await expect
      .poll(async () => (await placementOf('f7-heat-3'))?.placement)
      .toEqual({
        x: expect.closeTo(0.3, 1),
        y: expect.closeTo(0.4, 1),
        updated: expect.any(String),
        actor: 'officer:o-xx',
      })
    // Each placement re-renders the list of unplaced chips (the placed one leaves it, the others
    // move up): the next drag starts only once the page shows the last one placed, or it would
    // start where a chip was a moment ago.
    await placed('f7-heat-3')
    await dragOnto(page.locator('[data-chip-device="f7-smoke-3"]'), plan, 0.72, 0.3)
    await placed('f7-smoke-3')
    await dragOnto(page.locator('[data-chip-device="f7-call-3"]'), plan, 0.55, 0.8)
    await expect.poll(async () => (await placementOf('f7-call-3'))?.floor).toBe(3)
    expect((await svc.api.get('/api/devices/f7-call-3')).body.floor).toBe(3)
    // A placed marker dragged again moves.
    await plan.locator('[data-plan-device="f7-smoke-3"]').waitFor()
    await dragOnto(plan.locator('[data-plan-device="f7-smoke-3"] i'), plan, 0.8, 0.25)
    await expect.poll(async () => (await placementOf('f7-smoke-3'))?.placement?.x).toBeCloseTo(0.8, 1)
    expect(await page.locator('[data-chip-device]').count()).toBe(0)
    expect(await page.locator('body').getAttribute('data-missing-keys')).toBeNull()
  })

  it('shows the alarming floor’s plan in the incident, the detector highlighted, the others dimmed', async () => {
    heat = await connectAs(svc.mqttUrl, 'f7-heat-3', heatSecret)
    await heat.publishAsync('dev/f7-heat-3/event', JSON.stringify({ type: 'alarm' }), { qos: 1 })
    const incident = await until(
      async () => (await svc.api.get('/api/incidents?status=open')).body.items?.[0],
      'the fire',
    )
    await page.goto(`${svc.base}/console/#/incident/${incident.id}`)
    const floor = page.getByTestId('incident-floor')
    await floor.locator('[data-plan-device="f7-heat-3"][data-state="alarm"]').waitFor()
    await floor.locator('img').waitFor()
    expect(await floor.locator('h3').textContent()).toContain('3 层报警')
    expect(await floor.getByTestId('incident-floor-devices').textContent()).toBe('报警探测器：f7-heat-3')
    expect(await floor.locator('[data-plan-device="f7-smoke-3"]').getAttribute('data-state')).toBe('dim')
    expect(await floor.locator('[data-plan-device="f7-call-3"]').getAttribute('data-state')).toBe('dim')
    // The highlighted marker sits where it was dropped on the plan.
    const box = (await floor.getByTestId('floor-plan').boundingBox())!
    const dot = (await floor.locator('[data-plan-device="f7-heat-3"] i').boundingBox())!
    expect((dot.x + dot.width / 2 - box.x) / box.width).toBeCloseTo(0.3, 1)
    expect((dot.y + dot.height / 2 - box.y) / box.height).toBeCloseTo(0.4, 1)
    await floor.scrollIntoViewIfNeeded()
    await page.screenshot({ path: path.join(shots, 'console-floor-plan.png') })
  })
})

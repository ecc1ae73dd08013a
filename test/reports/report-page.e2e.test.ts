/**
 * The report's printable page in Debian's Chromium: the daily report of a day with a fire, as
 * HTML with its charts drawn on the server (inline SVG, no script). Screenshot:
 * FC_SCREENSHOTS=docs npx vitest run test/reports/report-page.e2e.test.ts → docs/console-report.png.
 */
import path from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createManualClock } from '../../services/shared/clock.ts'
import { launchChromium } from '../support/browser.ts'
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

const T0 = Date.UTC(2026, 11, 2, 2, 0, 0)
const clock = createManualClock(T0)
let svc: TestService
let browser: Browser

beforeAll(async () => {
  svc = await startTestService({ clock })
  await registerDistrict(svc.api)
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await svc?.stop()
})

describe('the report page in Chromium', () => {
  it('shows the day’s figures with its SVG charts', async () => {
    const d = await registerDevice(svc.api, { id: 'f7-heat', kind: 'heat', building: 'factory-7' })
    const h = await connectAs(svc.mqttUrl, 'f7-heat', d.secret)
    await h.publishAsync('dev/f7-heat/telemetry', JSON.stringify({ values: { temperature: 80 } }), { qos: 1 })
    const inc = await until(
      async () => (await svc.api.get('/api/incidents?status=open')).body.items[0],
      'incident',
    )
    clock.advance(30_000)
    must(await svc.api.post(`/api/incidents/${inc.id}/false-alarm`, { reason: 'hot work' }), 200)
    await h.endAsync()

    const context = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    const page = await context.newPage()
    const res = await page.goto(`${svc.base}/api/reports/daily?scope=district&date=2026-12-02&format=html`)
    expect(res?.status()).toBe(200)
    await expect.poll(() => page.locator('figure.chart svg').count()).toBe(7)
    expect(await page.locator('h1').textContent()).toContain('Daily report — district — 2026-12-02')
    const svgText = await page.locator('figure.chart').first().textContent()
    expect(svgText).toContain('Alarms by outcome')
    expect(await page.locator('table').count()).toBeGreaterThanOrEqual(8)
    if (process.env['FC_SCREENSHOTS']) {
      await page.setViewportSize({ width: 1200, height: 900 })
      await page.screenshot({
        path: path.resolve(process.env['FC_SCREENSHOTS'], 'console-report.png'),
        fullPage: true,
      })
    }
    await context.close()
  })

  it('is the console’s Reports tab for an officer: the figures, the page with its charts, in scope', async () => {
    const { token } = must(
      await svc.api.post('/api/officers', { id: 'o-xx', name: 'Li Na', scope: 'community:xixiang-01' }),
      201,
    )
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } })
    try {
      await page.goto(`${svc.base}/console/`)
      await page.getByLabel('Officer token').fill(token)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.getByTestId('scope').waitFor()
      await page.getByRole('link', { name: 'Reports' }).click()
      await page.getByLabel('Date').fill('2026-12-02')
      const figures = page.getByTestId('report-figures')
      await expect.poll(() => figures.textContent()).toContain('False alarms1')
      expect(await figures.textContent()).toContain('Alarms1')
      const report = page.frameLocator('[data-testid="report-page"]')
      await expect.poll(() => report.locator('figure.chart svg').count()).toBe(7)
      expect(await report.locator('h1').textContent()).toContain('community:xixiang-01')
      if (process.env['FC_SCREENSHOTS']) {
        await page.screenshot({
          path: path.resolve(process.env['FC_SCREENSHOTS'], 'console-reports-tab.png'),
        })
      }
    } finally {
      await page.close()
    }
  })
})

/**
 * The coverage layer and warning in a real headless Chromium: the officer turns the layer on
 * and sees the community tinted and the buildings nobody reaches ringed, as GET /api/coverage
 * says; when the last responder goes off duty the watch's next pass (on the injected clock)
 * puts a coverage warning on the page, and it goes when someone is back.
 */
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createManualClock } from '../../services/shared/clock.ts'
import { launchChromium } from '../support/browser.ts'
import {
  must,
  registerDistrict,
  registerResponder,
  startTestService,
  type TestService,
} from '../support/service.ts'

const clock = createManualClock(Date.now())
let svc: TestService
let browser: Browser
let page: Page
let officerToken: string

beforeAll(async () => {
  svc = await startTestService({ clock })
  await registerDistrict(svc.api)
  officerToken = must(
    await svc.api.post('/api/officers', { id: 'o-xx', name: 'Li Na', scope: 'community:xixiang-01' }),
    201,
  ).token
  const here = must(await svc.api.get('/api/buildings?community=xixiang-01'), 200).items
  // A micro station on foot at the first building: it reaches its neighbours, not the whole community.
  await registerResponder(svc.api, {
    id: 'ms-1',
    name: 'Micro station 1',
    type: 'micro_station',
    mode: 'foot',
    onDuty: true,
    location: here[0].location,
  })
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1366, height: 860 }, locale: 'en-US' })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await svc?.stop()
})

describe('coverage in the console', () => {
  it('draws the coverage layer as the API answers it', async () => {
    const answer = must(await svc.api.get('/api/coverage?scope=community:xixiang-01'), 200)
    await page.goto(`${svc.base}/console/`)
    await page.getByLabel('Officer token').fill(officerToken)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByTestId('scope').waitFor()
    await expect.poll(() => page.getByTestId('live').textContent()).toBe('live')
    expect(await page.locator('path.fc-coverage').count()).toBe(0)
    await page.getByTestId('coverage-toggle').click()
    await expect.poll(() => page.locator('path.fc-coverage').count()).toBe(1)
    expect(await page.locator('path.fc-uncovered').count()).toBe(answer.uncovered.features.length)
    expect(await page.getByTestId('coverage-toggle').textContent()).toBe(
      `Coverage ${Math.floor(answer.share * 1000) / 10} %`,
    )
  })

  it('warns when the community falls below the warning share, and clears when it is back', async () => {
    clock.advance(30_000) // a pass with ms-1 on duty: whatever it measures is the baseline
    must(await svc.api.request('PATCH', '/api/responders/ms-1', { onDuty: false }), 200)
    clock.advance(30_000)
    const warning = page.getByTestId('coverage-warning')
    await warning.waitFor()
    expect(await warning.textContent()).toMatch(/0 % of buildings reached within 5 min \(below 90 %\)/)
    await expect.poll(() => page.locator('path.fc-coverage-low').count()).toBe(1)
    await page.screenshot({ path: path.resolve(import.meta.dirname, '../../docs/console-coverage.png') })

    // Back on duty, and a micro station at every building it did not reach: all covered.
    const before = must(await svc.api.get('/api/coverage?scope=community:xixiang-01'), 200)
    must(await svc.api.request('PATCH', '/api/responders/ms-1', { onDuty: true }), 200)
    for (const [k, b] of before.uncovered.features.entries()) {
      await registerResponder(svc.api, {
        id: `ms-extra-${k}`,
        name: `Micro station ${k}`,
        type: 'micro_station',
        mode: 'foot',
        onDuty: true,
        location: b.geometry.coordinates,
      })
    }
    expect(must(await svc.api.get('/api/coverage?scope=community:xixiang-01'), 200).share).toBe(1)
    clock.advance(30_000)
    await warning.waitFor({ state: 'detached' })
    await expect.poll(() => page.locator('path.fc-coverage-low').count()).toBe(0)
  })
})

/**
 * The console's duty panel in a real headless Chromium: the community officer signs in and on
 * duty, a duty check from the street officer arrives live with its countdown, the officer
 * answers it with one click, and signs off with a handover note; the duty log has it all.
 * Screenshot: docs/console-duty.png (with FC_SCREENSHOTS=docs).
 */
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createManualClock } from '../../services/shared/clock.ts'
import { launchChromium } from '../support/browser.ts'
import { must, registerDistrict, startTestService, type TestService, until } from '../support/service.ts'
import { tempDir } from '../support/tmp.ts'

// FC_SCREENSHOTS=docs writes docs/console-duty.png (as the other console tests do theirs).
const shots = process.env['FC_SCREENSHOTS']
  ? path.resolve(process.env['FC_SCREENSHOTS'])
  : tempDir('fc-shots-').dir
const clock = createManualClock(Date.now())
let svc: TestService
let browser: Browser
let page: Page
let officer: string
let street: string

beforeAll(async () => {
  svc = await startTestService({ clock })
  await registerDistrict(svc.api)
  officer = must(
    await svc.api.post('/api/officers', { id: 'o-xx', name: 'Li Na', scope: 'community:xixiang-01' }),
    201,
  ).token
  street = must(
    await svc.api.post('/api/officers', { id: 'o-st', name: 'Zhao Lei', scope: 'street:xixiang' }),
    201,
  ).token
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1366, height: 860 }, locale: 'en-US' })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await svc?.stop()
})

describe('the duty panel in the console', () => {
  it('a duty check arrives, the officer answers it with one click, and hands over', async () => {
    await page.goto(`${svc.base}/console/`)
    await page.getByLabel('Officer token').fill(officer)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByTestId('scope').waitFor()
    await page.getByRole('link', { name: 'Duty' }).click()
    await page.getByText('No duty check waiting.').waitFor()
    await page.getByLabel('Note').fill('day shift, took over from Wang Fang')
    await page.getByRole('button', { name: 'Sign on' }).click()
    await page.getByTestId('my-shift').waitFor()
    await page.getByTestId('on-duty').getByText('Li Na').waitFor()
    await page.getByTestId('live').filter({ hasText: 'live' }).waitFor()
    clock.advance(1000)

    const check = must(
      await svc.api.post('/api/duty-checks', { scope: 'community:xixiang-01', answerWithinS: 300 }, street),
      201,
    )
    const item = page.locator(`li[data-check="${check.id}"]`)
    await item.waitFor()
    const shown = await item.getByTestId('countdown').textContent()
    expect(shown).toMatch(/^[45]:\d\d$/)
    await page.screenshot({ path: path.join(shots, 'console-duty.png') })

    await item.getByRole('button', { name: 'Answer: on duty' }).click()
    await item.waitFor({ state: 'detached' })
    const answered = await until(async () => {
      const r = (await svc.api.get(`/api/duty-checks/${check.id}`)).body
      return r.status === 'answered' ? r : undefined
    }, 'the answer')
    expect(answered.answeredBy).toBe('officer:o-xx')
    clock.advance(1000)

    await page.getByLabel('Handover note').fill('exit 2 of factory-7 chained shut: work order open')
    await page.getByRole('button', { name: 'Sign off' }).click()
    await page.getByRole('button', { name: 'Sign on' }).waitFor()
    const log = must(await svc.api.get('/api/duty/log', street), 200)
    expect(log.items.map((e: { kind: string }) => e.kind)).toEqual([
      'shift_started',
      'check_sent',
      'check_answered',
      'shift_ended',
    ])
    expect(log.items[3].note).toBe('exit 2 of factory-7 chained shut: work order open')
  })
})

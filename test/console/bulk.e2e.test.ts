/**
 * Bulk import and export in the console, in a real headless Chromium: the administrator
 * uploads a CSV of devices with one bad row — the report names that row, the others are
 * registered — and downloads the devices again: the file holds what was imported.
 */
import fs from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser.ts'
import { ADMIN_TOKEN, registerDistrict, startTestService, type TestService } from '../support/service.ts'

let svc: TestService
let browser: Browser
let page: Page

beforeAll(async () => {
  svc = await startTestService()
  await registerDistrict(svc.api)
  browser = await launchChromium()
  page = await browser.newPage({
    viewport: { width: 1366, height: 860 },
    acceptDownloads: true,
    locale: 'en-US',
  })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await svc?.stop()
})

const CSV = [
  'id,kind,building,lon,lat,floor',
  'csv-1,smoke,factory-7,,,1',
  'csv-2,heat,shop-12,,,2',
  'csv-3,toaster,shop-12,,,3',
  'csv-4,smoke,shop-12,,,',
  '',
].join('\n')

describe('bulk import and export in the console', () => {
  it('reports the bad row by its line and registers the others', async () => {
    await page.goto(`${svc.base}/console/`)
    await page.getByLabel('Officer token').fill(ADMIN_TOKEN)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('link', { name: 'Import / export' }).click()
    await page.getByTestId('bulk').waitFor()
    await page.getByLabel('What').selectOption('devices')
    await page.getByLabel('File (CSV or GeoJSON)').setInputFiles({
      name: 'devices.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(CSV),
    })
    await page.getByTestId('bulk-summary').waitFor()
    expect(await page.getByTestId('bulk-summary').textContent()).toBe('3 registered, 1 rejected')
    const errors = page.locator('.fc-bulk-errors li')
    expect(await errors.count()).toBe(1)
    expect(await errors.first().getAttribute('data-row')).toBe('4')
    expect(await errors.first().textContent()).toMatch(/^Row 4: .*kind/)
    for (const id of ['csv-1', 'csv-2', 'csv-4'])
      expect((await svc.api.get(`/api/devices/${id}`)).status).toBe(200)
    expect((await svc.api.get('/api/devices/csv-3')).status).toBe(404)
  })

  it('downloads what was imported', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download Devices' }).click(),
    ])
    expect(download.suggestedFilename()).toBe('devices.csv')
    const text = fs.readFileSync((await download.path()) as string, 'utf8')
    const rows = text.trim().split('\n')
    expect(rows[0]).toMatch(/^id,kind,building,community/)
    expect(rows.filter((r) => r.startsWith('csv-')).map((r) => r.split(',').slice(0, 3).join(','))).toEqual([
      'csv-1,smoke,factory-7',
      'csv-2,heat,shop-12',
      'csv-4,smoke,shop-12',
    ])
  })
})

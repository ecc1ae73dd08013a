/**
 * The console's base layers, in a real headless Chromium: with FC_MAP_TILES_URL the map asks a
 * tile server (a local HTTP stand-in here) for its tiles and shows FC_MAP_ATTRIBUTION; without
 * it no request leaves the service — watched through the browser's own request events. With a
 * road network (FC_ROAD_NETWORK) the streets are drawn under the communities from
 * GET /api/roads, with no tile server at all.
 *
 * Screenshot: FC_SCREENSHOTS=docs npx vitest run test/console/map.e2e.test.ts writes
 * docs/console-streets.png (the README's).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser.ts'
import { must, registerDistrict, startTestService, type TestService } from '../support/service.ts'
import { writeStreetGrid } from '../support/street-grid.ts'
import { tempDir } from '../support/tmp.ts'

const tmp = tempDir('fc-map-e2e-')
const shots = process.env['FC_SCREENSHOTS'] ? path.resolve(process.env['FC_SCREENSHOTS']) : tmp.dir
/** A 1×1 grey PNG: every tile the stand-in serves. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mP8/x8AAwMCAO+ip1sAAAAASUVORK5CYII=',
  'base64',
)

let tiles: http.Server
let tileBase: string
const tileRequests: string[] = []
let browser: Browser
const services: TestService[] = []

async function service(env: Record<string, string>): Promise<{ svc: TestService; token: string }> {
  const svc = await startTestService({ env })
  services.push(svc)
  await registerDistrict(svc.api)
  const token = must(
    await svc.api.post('/api/officers', { id: 'o-li', name: 'Li Na', scope: 'community:xixiang-01' }),
    201,
  ).token
  return { svc, token }
}

/** Signs in on a fresh page and records every request that goes anywhere but the service. */
async function console_(svc: TestService, token: string): Promise<{ page: Page; outside: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1366, height: 860 }, locale: 'en-US' })
  const outside: string[] = []
  page.on('request', (r) => {
    if (!r.url().startsWith(svc.base) && !r.url().startsWith('data:')) outside.push(r.url())
  })
  await page.goto(`${svc.base}/console/`)
  await page.getByLabel('Officer token').fill(token)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByTestId('scope').waitFor()
  await page.locator('path.fc-community').first().waitFor()
  return { page, outside }
}

beforeAll(async () => {
  tiles = http.createServer((req, res) => {
    tileRequests.push(req.url ?? '')
    res.writeHead(200, { 'content-type': 'image/png', 'access-control-allow-origin': '*' }).end(PNG)
  })
  await new Promise<void>((resolve) => tiles.listen(0, '127.0.0.1', resolve))
  tileBase = `http://127.0.0.1:${(tiles.address() as AddressInfo).port}`
  browser = await launchChromium()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await Promise.all(services.map((s) => s.stop()))
  await new Promise((resolve) => tiles?.close(resolve))
  tmp.cleanup()
})

describe('the map’s base layers', () => {
  it('asks for no tile, and nothing outside the service, when no tile server is set', async () => {
    const { svc, token } = await service({})
    const before = tileRequests.length
    const { page, outside } = await console_(svc, token)
    // The page has settled: the communities are drawn and the live feed is up.
    await expect.poll(() => page.getByTestId('live').textContent()).toBe('live')
    expect(await page.locator('.leaflet-tile').count()).toBe(0)
    expect(await page.locator('path.fc-road').count()).toBe(0)
    expect(outside).toEqual([])
    expect(tileRequests.length).toBe(before)
    await page.close()
  })

  it('draws the tiles of FC_MAP_TILES_URL, with FC_MAP_ATTRIBUTION on the map', async () => {
    const { svc, token } = await service({
      FC_MAP_TILES_URL: `${tileBase}/tiles/{z}/{x}/{y}.png`,
      FC_MAP_ATTRIBUTION: '© Stand-in tiles',
    })
    const { page, outside } = await console_(svc, token)
    await expect.poll(() => page.locator('img.leaflet-tile-loaded').count()).toBeGreaterThan(0)
    expect(tileRequests.some((u) => /^\/tiles\/\d+\/\d+\/\d+\.png$/.test(u))).toBe(true)
    expect(outside.length).toBeGreaterThan(0)
    expect(outside.every((u) => u.startsWith(`${tileBase}/tiles/`))).toBe(true)
    expect(await page.locator('.leaflet-control-attribution').textContent()).toBe('© Stand-in tiles')
    await page.close()
  })

  it('draws the streets of the road network under the communities, with no tile server', async () => {
    const { svc, token } = await service({ FC_ROAD_NETWORK: writeStreetGrid(tmp.dir) })
    const before = tileRequests.length
    const { page, outside } = await console_(svc, token)
    await expect.poll(() => page.locator('path.fc-road').count()).toBeGreaterThan(0)
    expect(await page.locator('path.fc-road-primary').count()).toBe(1)
    const segments = Number(await page.getByTestId('map').getAttribute('data-road-segments'))
    expect(segments).toBeGreaterThan(100)
    // Under the communities: the roads' pane (z-index 300) lies below Leaflet's overlay pane (400).
    expect(await page.locator('.leaflet-fc-roads-pane').getAttribute('style')).toMatch(/z-index: 300/)
    expect(await page.locator('.leaflet-fc-roads-pane path.fc-road').count()).toBeGreaterThan(0)
    expect(await page.locator('.leaflet-overlay-pane path.fc-community').count()).toBeGreaterThan(0)
    // Zoomed in, the view asks again for its own box.
    const asked = page.waitForResponse((r) => r.url().includes('/api/roads?bbox='))
    await page.locator('.leaflet-control-zoom-in').click()
    expect((await asked).status()).toBe(200)
    expect(outside).toEqual([])
    expect(tileRequests.length).toBe(before)
    await page.screenshot({ path: path.join(shots, 'console-streets.png') })
    await page.close()
  })
})

/**
 * The responder's phone end to end, in a real headless Chromium in a 390×844 touch viewport:
 * the volunteer signs in with id and secret, goes on duty (rsp/{id}/duty over MQTT over
 * WebSocket, the position shared), an alarm is raised by two smoke detectors and verified,
 * the offer rings on the phone with the building, its floor, distance, ETA and a map; the
 * volunteer accepts, reports en route and on scene, and GET /api/incidents/{id} shows it; the
 * incident's updates reach the phone until it ends. The service worker serves the shell when
 * the phone is offline; Chinese and English render with no missing keys.
 *
 * Screenshots: FC_SCREENSHOTS=docs npx vitest run test/responder writes docs/phone-offer.png
 * and docs/phone-zh.png (the README's).
 */
import path from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser.ts'
import { connectAs } from '../support/mqtt.ts'
import {
  must,
  registerDistrict,
  registerResponder,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'
import { tempDir } from '../support/tmp.ts'

const shots = process.env['FC_SCREENSHOTS']
  ? path.resolve(process.env['FC_SCREENSHOTS'])
  : tempDir('fc-shots-').dir

/** Near the Hengfeng electronics factory (factory-7, [113.865, 22.575]) and the noodle shop. */
const NEAR_FACTORY = { longitude: 113.8668, latitude: 22.5762 }
const NEAR_SHOP = { longitude: 113.8832, latitude: 22.5791 }

let svc: TestService
let browser: Browser
const secrets: Record<string, string> = {}
const outside: string[] = []

async function phone(
  locale: string,
  at: { longitude: number; latitude: number },
): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    hasTouch: true,
    isMobile: true,
    locale,
    geolocation: at,
    permissions: ['geolocation'],
  })
  const page = await ctx.newPage()
  page.on('request', (r) => {
    const own = [svc.base, svc.base.replace(/^http:/, 'ws:'), 'data:', 'blob:']
    if (!own.some((o) => r.url().startsWith(o))) outside.push(r.url())
  })
  return { ctx, page }
}

async function signIn(page: Page, id: string, labels: { id: string; secret: string; submit: string }) {
  await page.goto(`${svc.base}/responder/`)
  await page.getByLabel(labels.id).fill(id)
  await page.getByLabel(labels.secret).fill(secrets[id]!)
  await page.getByRole('button', { name: labels.submit }).tap()
  await page.locator('main[data-link="online"]').waitFor({ timeout: 10_000 })
}

async function publish(device: string, values: Record<string, number>) {
  const c = await connectAs(svc.mqttUrl, device, secrets[device]!)
  await c.publishAsync(`dev/${device}/telemetry`, JSON.stringify({ values }), { qos: 1 })
  await c.endAsync()
}

beforeAll(async () => {
  svc = await startTestService()
  await registerDistrict(svc.api)
  for (const d of [
    { id: 'f7-smoke-1', kind: 'smoke', building: 'factory-7', floor: 2 },
    { id: 'f7-smoke-2', kind: 'smoke', building: 'factory-7', floor: 2 },
    { id: 's12-heat', kind: 'heat', building: 'shop-12' },
  ]) {
    secrets[d.id] = must(await svc.api.post('/api/devices', d), 201).secret
  }
  for (const r of [
    { id: 'r-phone', name: 'Zhang Wei', location: [113.8668, 22.5762] as [number, number] },
    { id: 'r-zh', name: 'Chen Jing', location: [113.8832, 22.5791] as [number, number] },
  ]) {
    secrets[r.id] = (
      await registerResponder(svc.api, { ...r, type: 'volunteer', mode: 'foot', onDuty: false })
    ).secret
  }
  browser = await launchChromium()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await svc?.stop()
})

describe('the responder’s phone in a real browser (390×844, touch)', () => {
  let ctx: BrowserContext
  let page: Page
  let incident: string

  it('is an installable app served by the service: manifest, icons, service worker', async () => {
    const manifest = await fetch(`${svc.base}/responder/manifest.webmanifest`)
    expect(manifest.status).toBe(200)
    const m = (await manifest.json()) as { start_url: string; display: string; icons: { src: string }[] }
    expect(m).toMatchObject({ start_url: '/responder/', display: 'standalone' })
    for (const icon of m.icons) expect((await fetch(`${svc.base}${icon.src}`)).status).toBe(200)
    const png = Buffer.from(await (await fetch(`${svc.base}/responder/icon-192.png`)).arrayBuffer())
    expect(png.subarray(1, 4).toString()).toBe('PNG')
    expect((await fetch(`${svc.base}/responder/sw.js`)).headers.get('content-type')).toContain('javascript')
  })

  it('signs in with the responder’s id and secret, refusing a wrong secret', async () => {
    ;({ ctx, page } = await phone('en-US', NEAR_FACTORY))
    await page.goto(`${svc.base}/responder/`)
    await page.getByLabel('Responder id').fill('r-phone')
    await page.getByLabel('Secret').fill('not-the-secret')
    await page.getByRole('button', { name: 'Sign in' }).tap()
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 10_000 }).toContain('refused')
    await signIn(page, 'r-phone', { id: 'Responder id', secret: 'Secret', submit: 'Sign in' })
    expect(await page.locator('.rs-duty-state').textContent()).toBe('Off duty')
  })

  it('goes on duty over MQTT (rsp/{id}/duty) and shares the position', async () => {
    await page.getByRole('button', { name: 'Go on duty' }).tap()
    await page.locator('main[data-duty="on"]').waitFor()
    await until(
      async () => (await svc.api.get('/api/responders/r-phone')).body.onDuty === true,
      'r-phone on duty',
    )
    await page.locator('.rs-fix').waitFor({ timeout: 10_000 })
    expect(await page.locator('.rs-waiting').textContent()).toBe('Waiting for an offer…')
  })

  it('rings with the offer of a verified alarm: building, floor, distance, ETA and a map', async () => {
    await publish('f7-smoke-1', { obscuration: 5 })
    await until(async () => (await svc.api.get('/api/incidents?status=open')).body.total === 1, 'verifying')
    expect(await page.locator('.rs-offer').count()).toBe(0)
    // A second detector in the same building within the coincidence window: verified.
    await publish('f7-smoke-2', { obscuration: 6 })
    const offer = page.locator('.rs-offer')
    await offer.waitFor({ timeout: 10_000 })
    incident = (await offer.getAttribute('data-incident'))!
    expect((await svc.api.get(`/api/incidents/${incident}`)).body.status).toBe('alarm')
    expect(Number(await page.locator('body').getAttribute('data-rings'))).toBeGreaterThan(0)
    expect(await offer.locator('.rs-building').textContent()).toBe('Hengfeng electronics factoryFloor 2')
    expect(await offer.locator('.rs-distance').textContent()).toMatch(/^\d+ m$/)
    expect(await offer.locator('.rs-eta').textContent()).toMatch(/^\d+ (min|s)$/)
    await expect.poll(() => offer.locator('path.rs-incident').count()).toBe(1)
    expect(await offer.locator('path.rs-me').count()).toBe(1)
    expect(await page.locator('body').getAttribute('data-missing-keys')).toBeNull()
    await page.screenshot({ path: path.join(shots, 'phone-offer.png'), fullPage: true })
  })

  it('accepts, reports en route and on scene; the incident shows the responder on scene', async () => {
    await page.getByRole('button', { name: 'Accept' }).tap()
    const mission = page.locator('.rs-mission')
    await mission.waitFor()
    const geo = await mission.locator('a.rs-nav-geo').getAttribute('href')
    expect(geo).toMatch(/^geo:22\.575,113\.865\?q=/)
    const links = await mission
      .locator('.rs-nav a')
      .evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''))
    expect(links.some((l) => l.startsWith('https://uri.amap.com/'))).toBe(true)
    expect(links.some((l) => l.startsWith('https://api.map.baidu.com/'))).toBe(true)
    expect(links.some((l) => l.startsWith('https://www.openstreetmap.org/'))).toBe(true)
    await page.getByRole('button', { name: 'I am en route' }).tap()
    await page.locator('.rs-mission[data-phase="en_route"]').waitFor()
    await page.getByRole('button', { name: 'I am on scene' }).tap()
    await page.locator('.rs-mission[data-phase="on_scene"]').waitFor()
    await until(async () => {
      const i = (await svc.api.get(`/api/incidents/${incident}`)).body
      return i.offers?.find((o: any) => o.responder === 'r-phone')?.state === 'on_scene'
    }, 'r-phone on scene in the incident')
  })

  it('follows the incident’s updates until it ends', async () => {
    must(await svc.api.post(`/api/incidents/${incident}/acknowledge`, {}), 200)
    await page.locator('.rs-updates li[data-status="acknowledged"]').waitFor({ timeout: 10_000 })
    must(
      await svc.api.post(`/api/incidents/${incident}/resolve`, { reason: 'smoke from a soldering bench' }),
      200,
    )
    await page.locator('.rs-ended').waitFor({ timeout: 10_000 })
    expect(await page.locator('.rs-ended').textContent()).toContain('resolved')
    expect(outside).toEqual([])
  })

  it('serves the shell from the service worker when the phone is offline', async () => {
    await page.evaluate('navigator.serviceWorker.ready.then(() => true)')
    await expect.poll(() => page.evaluate('navigator.serviceWorker.controller !== null')).toBe(true)
    await ctx.setOffline(true)
    const res = await page.reload()
    expect(res?.fromServiceWorker()).toBe(true)
    await page.locator('main[data-link="offline"]').waitFor({ timeout: 15_000 })
    expect(await page.locator('.rs-status span').textContent()).toContain('No connection')
    await ctx.setOffline(false)
    await page.locator('main[data-link="online"]').waitFor({ timeout: 15_000 })
    await ctx.close()
  })

  it('speaks Chinese to a zh browser, with no missing keys, and remembers the switch', async () => {
    const zh = await phone('zh-CN', NEAR_SHOP)
    await signIn(zh.page, 'r-zh', { id: '响应人员编号', secret: '密钥', submit: '登录' })
    expect(await zh.page.locator('h1').textContent()).toBe('消防圈 · 响应人员')
    await zh.page.getByRole('button', { name: '开始值班' }).tap()
    await until(async () => (await svc.api.get('/api/responders/r-zh')).body.onDuty === true, 'r-zh on duty')
    await zh.page.locator('.rs-fix').waitFor({ timeout: 10_000 })
    await publish('s12-heat', { temperature: 80 })
    const offer = zh.page.locator('.rs-offer')
    await offer.waitFor({ timeout: 10_000 })
    expect(await offer.locator('h2').textContent()).toBe('火警：向您派发了一起警情')
    expect(await offer.locator('.rs-distance').textContent()).toMatch(/^\d+ 米$/)
    expect(await zh.page.locator('body').getAttribute('data-missing-keys')).toBeNull()
    await zh.page.screenshot({ path: path.join(shots, 'phone-zh.png'), fullPage: true })

    // The switch, remembered across a reload.
    await zh.page.getByRole('button', { name: 'Switch to English' }).tap()
    await expect
      .poll(() => zh.page.locator('.rs-offer h2').textContent())
      .toBe('Fire alarm: you are offered an incident')
    await zh.page.reload()
    await zh.page.locator('.rs-duty').waitFor()
    expect(await zh.page.locator('h1').textContent()).toBe('firecircle · responder')
    expect(await zh.page.locator('body').getAttribute('data-missing-keys')).toBeNull()
    await zh.ctx.close()
  })
})

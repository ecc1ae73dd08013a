/**
 * The console in Simplified Chinese and in English, in a real headless Chromium whose language
 * is set at launch (the context's locale): every view walked — sign-in, the alarm queue and the
 * map, an incident, device health, work orders, duty, reports — with the words an officer reads
 * in the browser's language, no key missing from a catalogue (<body data-missing-keys>), no
 * English sentence of the catalogue on a Chinese page, and the switch in the header remembered
 * across a reload. The district's streets come from a road network (FC_ROAD_NETWORK).
 *
 * Screenshots: FC_SCREENSHOTS=docs npx vitest run test/console/i18n.e2e.test.ts writes
 * docs/console-zh.png (queue and map) and docs/console-zh-incident.png (the README's).
 */
import path from 'node:path'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import en from '../../services/console/web/locales/en.json' with { type: 'json' }
import zh from '../../services/console/web/locales/zh-CN.json' with { type: 'json' }
import { launchChromium } from '../support/browser.ts'
import { connectAs } from '../support/mqtt.ts'
import {
  loadDistrict,
  must,
  registerDevice,
  registerResponder,
  startTestService,
  type TestService,
} from '../support/service.ts'
import { writeStreetGrid } from '../support/street-grid.ts'
import { tempDir } from '../support/tmp.ts'

const tmp = tempDir('fc-i18n-e2e-')
const shots = process.env['FC_SCREENSHOTS'] ? path.resolve(process.env['FC_SCREENSHOTS']) : tmp.dir
const NAMES: Record<string, string> = {
  'xixiang-01': '西乡社区',
  'xinan-01': '新安社区',
  'factory-7': '恒丰电子厂',
  'shop-12': '新安商铺 12 号',
}

type Tree = { [k: string]: string | Tree }
const values = (t: Tree): string[] =>
  Object.values(t).flatMap((v) => (typeof v === 'string' ? [v] : values(v)))
/** The English catalogue's sentences and phrases (two words or more) that the Chinese one does not share. */
const ENGLISH = values(en as Tree)
  .map((v) => v.replace(/\{\{[^}]+\}\}/g, '').trim())
  .filter((v) => /[A-Za-z]{2,}\s+[A-Za-z]{2,}/.test(v) && !values(zh as Tree).includes(v))

let svc: TestService
let browser: Browser
let token: string
let secret: string

beforeAll(async () => {
  svc = await startTestService({ env: { FC_ROAD_NETWORK: writeStreetGrid(tmp.dir) } })
  const d = loadDistrict()
  for (const c of d.communities)
    must(
      await svc.api.post('/api/communities', {
        ...c,
        properties: { ...c.properties, name: NAMES[c.properties.id] ?? c.properties.name },
      }),
      201,
    )
  for (const b of d.buildings)
    must(
      await svc.api.post('/api/buildings', {
        ...b,
        name: NAMES[b.id] ?? b.name,
        responsible: { name: '周敏' },
      }),
      201,
    )
  token = must(
    await svc.api.post('/api/officers', { id: 'o-li', name: '李娜', scope: 'community:xixiang-01' }),
    201,
  ).token
  secret = (await registerDevice(svc.api, { id: 'f7-heat-1', kind: 'heat', building: 'factory-7' })).secret
  await registerDevice(svc.api, { id: 'f7-smoke-1', kind: 'smoke', building: 'factory-7' })
  for (const r of [
    { id: 'r-foot', name: '张伟', type: 'volunteer', mode: 'foot', location: [113.8665, 22.5755] },
    { id: 'r-bike', name: '刘洋', type: 'grid_staff', mode: 'bicycle', location: [113.872, 22.577] },
    { id: 'r-car', name: '黄敏', type: 'micro_station', mode: 'motor', location: [113.85, 22.58] },
  ] as const)
    await registerResponder(svc.api, { ...r, location: [...r.location], onDuty: true })
  browser = await launchChromium()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await svc?.stop()
  tmp.cleanup()
})

async function open(locale: string): Promise<{ ctx: BrowserContext; page: Page }> {
  // The browser's own zone is far from the district's: what the page shows is Asia/Shanghai's.
  const ctx = await browser.newContext({
    locale,
    timezoneId: 'America/New_York',
    viewport: { width: 1366, height: 860 },
  })
  const page = await ctx.newPage()
  await page.goto(`${svc.base}/console/`)
  return { ctx, page }
}

/** The text as the officer sees it: innerText leaves out what is hidden (a closed tooltip, say). */
// biome-ignore lint/performance/useDomNodeTextContent: the visible text is what is asserted
const seen = (l: Locator) => l.innerText()

/** What the officer sees has no missing key and, on a Chinese page, no English sentence. */
async function clean(page: Page, lang: 'zh-CN' | 'en') {
  expect(await page.locator('body').getAttribute('data-missing-keys')).toBeNull()
  expect(await page.locator('html').getAttribute('lang')).toBe(lang)
  if (lang === 'zh-CN') {
    const text = await seen(page.locator('body'))
    expect(ENGLISH.filter((s) => text.includes(s))).toEqual([])
  }
}

async function signIn(page: Page, label: string, button: string) {
  await page.getByLabel(label).fill(token)
  await page.getByRole('button', { name: button, exact: true }).click()
  await page.getByTestId('scope').waitFor()
}

describe('the console in the browser’s language', () => {
  it('walks every view in Simplified Chinese for a zh-CN browser', async () => {
    const { ctx, page } = await open('zh-CN')
    await page.getByRole('heading', { name: 'firecircle' }).waitFor()
    expect(await seen(page.locator('main.fc-signin'))).toContain('消防值班控制台')
    await clean(page, 'zh-CN')
    // An error code in the console's own words (the API's message stays English).
    await page.getByLabel('值班员令牌').fill('not-a-token')
    await page.getByRole('button', { name: '登录', exact: true }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('令牌无效。')
    await signIn(page, '值班员令牌', '登录')
    expect(await page.getByTestId('scope').textContent()).toBe('李娜 · 社区 xixiang-01')
    await expect.poll(() => page.getByTestId('live').textContent()).toBe('实时')
    expect(await page.locator('.fc-empty').textContent()).toBe('您的辖区内暂无未处置警情。')
    // The streets of the road network under the communities.
    await expect.poll(() => page.locator('path.fc-road').count()).toBeGreaterThan(0)

    const heat = await connectAs(svc.mqttUrl, 'f7-heat-1', secret)
    await heat.publishAsync('dev/f7-heat-1/telemetry', JSON.stringify({ values: { temperature: 78 } }), {
      qos: 1,
    })
    await heat.endAsync()
    const item = page.locator('.fc-queue-item[data-status="alarm"]')
    await expect.poll(() => item.textContent(), { timeout: 5000 }).toContain('恒丰电子厂')
    expect(await item.locator('.fc-chip').textContent()).toBe('报警')
    expect(await item.textContent()).toContain('1 个设备：温度（定温）')
    expect(await page.getByTestId('new-alarm').textContent()).toContain('新火警')
    await clean(page, 'zh-CN')
    await page.screenshot({ path: path.join(shots, 'console-zh.png') })

    await item.click()
    const view = page.locator('.fc-incident-view')
    await expect.poll(() => view.locator('h2').textContent()).toBe('恒丰电子厂 火警')
    expect(await page.getByTestId('incident-status').textContent()).toBe('报警')
    expect(await view.locator('button.fc-action').evaluateAll((b) => b.map((x) => x.textContent))).toEqual([
      '接警确认',
      '确认火警',
      '误报',
      '办结',
    ])
    await expect
      .poll(() => page.getByTestId('responders-inside').textContent())
      .toMatch(/^圈内 \d+ 名处置人员$/)
    expect(await seen(view)).toContain('5 分钟消防圈')
    const incident = (await svc.api.get('/api/incidents?status=open')).body.items[0]
    const shanghai = new Intl.DateTimeFormat('zh-CN', {
      timeZone: 'Asia/Shanghai',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hour12: false,
    }).format(Date.parse(incident.alarmAt ?? incident.openedAt))
    const head = await seen(view.locator('.fc-incident-head'))
    expect(head).toContain(`报警时间 ${shanghai}`)
    // The community by its name, and the building's postal address.
    expect(head).toContain('西乡社区 · xixiang')
    expect(head).toContain('地址：宝安区新安街道创业一路 12 号')
    expect(await seen(page.getByTestId('clocks'))).toContain('接收')
    await clean(page, 'zh-CN')
    await page.screenshot({ path: path.join(shots, 'console-zh-incident.png') })
    await view.getByRole('button', { name: '接警确认' }).click()
    await expect.poll(() => page.getByTestId('incident-status').textContent()).toBe('已接警')

    for (const [tab, heading, text] of [
      ['设备状态', '设备状态', '需处理'],
      ['工单', '工单', '工单'],
      ['值班', '查岗', '暂无待应答的查岗。'],
      ['报表', '报表', '5 分钟内到场'],
      ['楼层平面图', '楼层平面图', '选择建筑'],
    ] as const) {
      await page.getByRole('link', { name: tab }).click()
      await expect
        .poll(() => page.locator('.fc-side h2').first().textContent())
        .toMatch(new RegExp(`^${heading}`))
      await expect.poll(() => seen(page.locator('.fc-side'))).toContain(text)
      await clean(page, 'zh-CN')
    }
    await ctx.close()
  })

  it('walks every view in English for an en browser', async () => {
    const { ctx, page } = await open('en-US')
    await page.getByText('Duty officer console').waitFor()
    await clean(page, 'en')
    await signIn(page, 'Officer token', 'Sign in')
    expect(await page.getByTestId('scope').textContent()).toBe('李娜 · community xixiang-01')
    await page.getByRole('heading', { name: /^Alarm queue/ }).waitFor()
    await page.locator('.fc-queue-item').first().click()
    await expect.poll(() => page.locator('.fc-incident-view h2').textContent()).toBe('Fire at 恒丰电子厂')
    expect(await page.getByTestId('incident-status').textContent()).toBe('Acknowledged')
    await clean(page, 'en')
    for (const [tab, text] of [
      ['Device health', 'Needing attention'],
      ['Work orders', 'Work orders'],
      ['Duty', 'No duty check waiting.'],
      ['Reports', 'On scene ≤ 5 min'],
      ['Floor plans', 'Choose a building'],
    ] as const) {
      await page.getByRole('link', { name: tab, exact: true }).click()
      await expect.poll(() => seen(page.locator('.fc-side'))).toContain(text)
      await clean(page, 'en')
    }
    await ctx.close()
  })

  it('switches language from the header and remembers it across a reload', async () => {
    const { ctx, page } = await open('zh-CN')
    await signIn(page, '值班员令牌', '登录')
    await page.getByRole('heading', { name: /^警情队列/ }).waitFor()
    const sw = page.getByTestId('language')
    expect(await sw.textContent()).toBe('English')
    await sw.click()
    await page.getByRole('heading', { name: /^Alarm queue/ }).waitFor()
    expect(await sw.textContent()).toBe('中文')
    await clean(page, 'en')
    await page.reload()
    await page.getByRole('heading', { name: /^Alarm queue/ }).waitFor()
    expect(await page.getByTestId('language').textContent()).toBe('中文')
    await clean(page, 'en')
    await page.getByTestId('language').click()
    await page.getByRole('heading', { name: /^警情队列/ }).waitFor()
    await page.reload()
    await page.getByRole('heading', { name: /^警情队列/ }).waitFor()
    await clean(page, 'zh-CN')
    await ctx.close()
  })
})

/**
 * A duty officer's console outlives a restart of the service: the page shows it is no longer
 * live, reconnects by itself when the service is back, and a fire raised after the restart
 * appears without a reload.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser.ts'
import { connectAs } from '../support/mqtt.ts'
import { freePort } from '../support/ports.ts'
import { registerDevice, registerDistrict, startTestService, type TestService } from '../support/service.ts'
import { tempDir } from '../support/tmp.ts'

const data = tempDir('fc-reconnect-')
let env: Record<string, string>
let svc: TestService
let browser: Browser

beforeAll(async () => {
  env = { FC_HTTP_PORT: String(await freePort()), FC_MQTT_PORT: String(await freePort()) }
  svc = await startTestService({ env, dataDir: data.dir, keepDataDir: true })
  browser = await launchChromium()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await svc?.stop()
  data.cleanup()
})

describe('the console across a restart of the service', () => {
  it('goes from live to reconnecting and back, and shows a fire raised after the restart', async () => {
    await registerDistrict(svc.api)
    const token = (await svc.api.post('/api/officers', { id: 'o-d', name: 'Duty', scope: 'district' })).body
      .token
    const heat = await registerDevice(svc.api, { id: 'rc-heat', kind: 'heat', building: 'factory-7' })

    const page = await browser.newPage({ locale: 'en-US' })
    await page.goto(`${svc.base}/console/#token=${encodeURIComponent(token)}`)
    // The sign-in link signs in and leaves the address bar without the token.
    await expect.poll(() => page.getByTestId('live').textContent()).toBe('live')
    expect(page.url()).toBe(`${svc.base}/console/`)

    await svc.stop()
    await expect.poll(() => page.getByTestId('live').textContent(), { timeout: 10_000 }).toBe('reconnecting')

    svc = await startTestService({ env, dataDir: data.dir, keepDataDir: true })
    await expect.poll(() => page.getByTestId('live').textContent(), { timeout: 15_000 }).toBe('live')

    const c = await connectAs(svc.mqttUrl, 'rc-heat', heat.secret)
    await c.publishAsync('dev/rc-heat/telemetry', JSON.stringify({ values: { temperature: 80 } }), { qos: 1 })
    await c.endAsync()
    await page.locator('.fc-queue-item[data-status="alarm"]').waitFor({ timeout: 5000 })
    // The banner names the building once its own request has answered: wait for it.
    await expect
      .poll(() => page.getByTestId('new-alarm').textContent(), { timeout: 5000 })
      .toContain('Hengfeng electronics factory')
    await page.close()
  }, 60_000)
})

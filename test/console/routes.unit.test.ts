/**
 * The console's static routes: the page, its script and styles with a self-only CSP; a path
 * that is not there gets {error, message} 404; a console that could not be bundled answers
 * 503 with the reason instead of an empty page or a 500.
 */
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { installErrorHandling } from '../../services/api/errors.ts'
import {
  bundleConsole,
  type ConsoleBundle,
  type ConsolePageSettings,
  registerConsoleRoutes,
} from '../../services/console/index.ts'
import { createLogger } from '../../services/shared/log.ts'

async function appWith(
  bundle: Promise<ConsoleBundle>,
  page: ConsolePageSettings = { timeZone: 'Asia/Shanghai', roads: false },
) {
  const logger = createLogger('silent')
  const app = Fastify()
  installErrorHandling(app as never, logger)
  registerConsoleRoutes(app, { logger, bundle, page })
  await app.ready()
  return app
}

describe('console routes', () => {
  it('serves the bundled page, script and styles, each with a self-only CSP', async () => {
    const app = await appWith(bundleConsole())
    expect((await app.inject('/')).headers.location).toBe('/console/')
    const page = await app.inject('/console/')
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain('<script type="module" src="/console/app.js">')
    const js = await app.inject('/console/app.js')
    expect(js.headers['content-type']).toMatch(/text\/javascript/)
    expect(js.headers['content-security-policy']).toMatch(/default-src 'self'.*connect-src 'self'/)
    expect(js.body.length).toBeGreaterThan(50_000) // Preact and Leaflet inside: nothing fetched elsewhere
    expect(js.body).not.toMatch(/https?:\/\/(unpkg|cdn|tile)/)
    expect((await app.inject('/console/app.css')).body).toContain('.leaflet-container')
    await app.close()
  })

  it('tells the page the time zone, and the map’s tiles, attribution and roads only when set', async () => {
    const bare = await appWith(bundleConsole())
    const plain = await bare.inject('/console/')
    expect(plain.body).toContain('<html lang="en" data-time-zone="Asia/Shanghai">')
    expect(plain.headers['content-security-policy']).toContain("img-src 'self' data:;")
    await bare.close()
    const app = await appWith(bundleConsole(), {
      timeZone: 'Asia/Shanghai',
      tilesUrl: 'https://{s}.tile.example/{z}/{x}/{y}.png?k="a"',
      attribution: '© OpenStreetMap <contributors>',
      roads: true,
    })
    const page = await app.inject('/console/')
    expect(page.body).toContain('data-tiles-url="https://{s}.tile.example/{z}/{x}/{y}.png?k=&quot;a&quot;"')
    expect(page.body).toContain('data-map-attribution="© OpenStreetMap &lt;contributors&gt;"')
    expect(page.body).toContain('data-roads="1"')
    expect(page.headers['content-security-policy']).toContain("img-src 'self' data: https://*.tile.example;")
    await app.close()
  })

  it('answers a path that is not there with {error, message} 404', async () => {
    const app = await appWith(bundleConsole())
    const r = await app.inject('/console/../../etc/passwd')
    expect(r.statusCode).toBe(404)
    expect(r.json()).toMatchObject({ error: 'not_found' })
    expect((await app.inject('/console/app.map')).statusCode).toBe(404)
    await app.close()
  })

  it('answers 503 with the reason when the console could not be bundled', async () => {
    const app = await appWith(Promise.reject(new Error('Could not resolve "leaflet"')))
    const r = await app.inject('/console/app.js')
    expect(r.statusCode).toBe(503)
    expect(r.json()).toEqual({
      error: 'console_unavailable',
      message: 'the console could not be built: Could not resolve "leaflet"',
    })
    await app.close()
  })
})

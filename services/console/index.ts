/**
 * The duty officer console, served by the service at `/console/` (`/` redirects there).
 *
 * The browser code lives in ./web/ (TypeScript + Preact + Leaflet) and is bundled by
 * esbuild when the service starts, in memory: no build step before `npm start`, and nothing
 * at run time comes from outside the service unless FC_MAP_TILES_URL names a tile server (the
 * map is drawn from the service's own GeoJSON: communities, and the streets of FC_ROAD_NETWORK
 * from GET /api/roads). The page talks to the same HTTP API and SSE stream as any other
 * client, with the officer's bearer token; this module serves only static assets, so it
 * needs no authentication of its own. What the page needs to know of the service's settings
 * (the district's time zone, the tile template and attribution, whether roads are loaded)
 * is written on its root element as data attributes.
 */
import path from 'node:path'

import type { FastifyInstance, FastifyReply } from 'fastify'
import { bundleWebApp, type Logger } from '../shared/index.ts'

const CONSOLE_DIR = path.resolve(import.meta.dirname, 'web')

export interface ConsoleBundle {
  js: string
  css: string
}

/** Bundle web/main.tsx (and the CSS it imports, Leaflet's included) into memory. */
export async function bundleConsole(): Promise<ConsoleBundle> {
  const { js, css } = await bundleWebApp(path.join(CONSOLE_DIR, 'main.tsx'))
  return { js, css }
}

/** What the page is told of the service's settings. */
export interface ConsolePageSettings {
  /** FC_TIME_ZONE: times are shown in the district's zone. */
  timeZone: string
  /** FC_MAP_TILES_URL: an XYZ raster template; unset, no tile request leaves the page. */
  tilesUrl?: string | undefined
  /** FC_MAP_ATTRIBUTION: shown on the map. */
  attribution?: string | undefined
  /** FC_ROAD_NETWORK loaded: the map draws its streets from GET /api/roads. */
  roads: boolean
}

const attr = (v: string) =>
  v.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')

function indexHtml(page: ConsolePageSettings): string {
  const data = [
    `data-time-zone="${attr(page.timeZone)}"`,
    ...(page.tilesUrl !== undefined ? [`data-tiles-url="${attr(page.tilesUrl)}"`] : []),
    ...(page.attribution !== undefined ? [`data-map-attribution="${attr(page.attribution)}"`] : []),
    ...(page.roads ? ['data-roads="1"'] : []),
  ].join(' ')
  return `<!doctype html>
<html lang="en" ${data}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>firecircle · duty officer console</title>
<link rel="stylesheet" href="/console/app.css">
<script type="module" src="/console/app.js"></script>
</head>
<body>
<div id="app"><noscript>The console needs JavaScript. 控制台需要启用 JavaScript。</noscript></div>
</body>
</html>
`
}

/** The tile server's origin for the CSP's img-src (`{s}` subdomains as a wildcard). */
function tileSource(tilesUrl: string | undefined): string {
  const m = tilesUrl === undefined ? null : /^(https?:\/\/[^/?#]+)/.exec(tilesUrl)
  return m?.[1] === undefined ? '' : ` ${m[1].replace('{s}', '*')}`
}

/**
 * Content-Security-Policy: everything from the service itself. `connect-src 'self'` covers
 * the API and the SSE stream; images only from the bundle (data: URLs).
 */
const csp = (tilesUrl: string | undefined) =>
  [
    "default-src 'self'",
    `img-src 'self' data:${tileSource(tilesUrl)}`,
    "style-src 'self' 'unsafe-inline'",
    "script-src 'self'",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ')

export interface ConsoleRoutesDeps {
  logger: Logger
  /** The bundle, started when the service starts; requests wait for it. */
  bundle: Promise<ConsoleBundle>
  page: ConsolePageSettings
}

export function registerConsoleRoutes(
  app: FastifyInstance,
  { logger, bundle, page }: ConsoleRoutesDeps,
): void {
  const html = indexHtml(page)
  const CSP = csp(page.tilesUrl)
  // A bundling error is a defect of this repository: log it once, answer 503 with its text.
  bundle.catch((err: Error) => {
    logger.error({ err }, 'the console could not be bundled')
  })

  const send =
    (type: string, pick: (b: ConsoleBundle) => string) => async (_req: unknown, reply: FastifyReply) => {
      try {
        const b = await bundle
        return reply
          .header('content-type', type)
          .header('cache-control', 'no-cache')
          .header('content-security-policy', CSP)
          .header('x-content-type-options', 'nosniff')
          .send(pick(b))
      } catch (err) {
        return reply.status(503).send({
          error: 'console_unavailable',
          message: `the console could not be built: ${(err as Error).message}`,
        })
      }
    }

  const hide = { schema: { hide: true } }
  app.get('/', hide, async (_req, reply) => reply.redirect('/console/'))
  app.get('/console', hide, async (_req, reply) => reply.redirect('/console/'))
  app.get(
    '/console/',
    hide,
    send('text/html; charset=utf-8', () => html),
  )
  app.get(
    '/console/app.js',
    hide,
    send('text/javascript; charset=utf-8', (b) => b.js),
  )
  app.get(
    '/console/app.css',
    hide,
    send('text/css; charset=utf-8', (b) => b.css),
  )
}

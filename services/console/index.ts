/**
 * The duty officer console, served by the service at `/console/` (`/` redirects there).
 *
 * The browser code lives in ./web/ (TypeScript + Preact + Leaflet) and is bundled by
 * esbuild when the service starts, in memory: no build step before `npm start`, and nothing
 * at run time comes from outside the service (no CDN, no map tiles; the map is drawn from
 * the service's own GeoJSON). The page talks to the same HTTP API and SSE stream as any other
 * client, with the officer's bearer token; this module serves only static assets, so it
 * needs no authentication of its own.
 */
import path from 'node:path'

import type { FastifyInstance, FastifyReply } from 'fastify'
import { bundleWebApp, type Logger } from '../shared/index.ts'

const CONSOLE_DIR = path.resolve(import.meta.dirname, 'web')

export interface ConsoleBundle {
  js: string
  css: string
  html: string
}

/** Bundle web/main.tsx (and the CSS it imports, Leaflet's included) into memory. */
export async function bundleConsole(): Promise<ConsoleBundle> {
  const { js, css } = await bundleWebApp(path.join(CONSOLE_DIR, 'main.tsx'))
  return { js, css, html: INDEX_HTML }
}

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>firecircle · duty officer console</title>
<link rel="stylesheet" href="/console/app.css">
<script type="module" src="/console/app.js"></script>
</head>
<body>
<div id="app"><noscript>The console needs JavaScript.</noscript></div>
</body>
</html>
`

/**
 * Content-Security-Policy: everything from the service itself. `connect-src 'self'` covers
 * the API and the SSE stream; images only from the bundle (data: URLs).
 */
const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
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
}

export function registerConsoleRoutes(app: FastifyInstance, { logger, bundle }: ConsoleRoutesDeps): void {
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
    send('text/html; charset=utf-8', (b) => b.html),
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

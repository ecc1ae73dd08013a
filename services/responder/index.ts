/**
 * The responder's phone, served by the service at `/responder/` (docs/PROTOCOL.md "The
 * responder's phone"): an installable web app (manifest, icons, a service worker that keeps
 * the shell for when the network is gone) that speaks the MQTT contract over WebSocket at
 * `/mqtt` like any responder app. The browser code is in ./web/ (Preact, Leaflet, i18next,
 * mqtt.js), bundled by esbuild when the service starts, in memory; nothing at run time comes
 * from outside the service. The page signs in to the broker with the responder's id and
 * secret, so these routes serve only static assets and need no authentication of their own.
 */
import crypto from 'node:crypto'
import path from 'node:path'

import type { FastifyInstance, FastifyReply } from 'fastify'
import { bundleWebApp, type Logger } from '../shared/index.ts'
import { ICON_SVG, iconPng } from './icons.ts'

const WEB_DIR = path.resolve(import.meta.dirname, 'web')

export interface ResponderBundle {
  js: string
  css: string
  /** Changes with the bundle: the service worker's cache is named after it. */
  version: string
}

/** Bundle web/main.tsx (and its CSS, Leaflet's included) into memory. */
export async function bundleResponder(): Promise<ResponderBundle> {
  const { js, css } = await bundleWebApp(path.join(WEB_DIR, 'main.tsx'))
  const version = crypto.createHash('sha256').update(js).update(css).digest('hex').slice(0, 12)
  return { js, css, version }
}

/** The page: the district's time zone rides on the root element (FC_TIME_ZONE). */
function indexHtml(timeZone: string): string {
  return `<!doctype html>
<html lang="en" data-time-zone="${timeZone.replace(/[^A-Za-z0-9_+\-/]/g, '')}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="#b71c1c">
<meta name="color-scheme" content="light">
<link rel="manifest" href="/responder/manifest.webmanifest">
<link rel="icon" href="/responder/icon.svg" type="image/svg+xml">
<link rel="apple-touch-icon" href="/responder/icon-192.png">
<title>firecircle</title>
<link rel="stylesheet" href="/responder/app.css">
<script type="module" src="/responder/app.js"></script>
</head>
<body>
<div id="app"></div>
</body>
</html>
`
}

const MANIFEST = JSON.stringify({
  name: 'firecircle · responder',
  short_name: 'firecircle',
  description: 'Fire alarm offers for responders: accept, navigate, report on scene',
  start_url: '/responder/',
  scope: '/responder/',
  display: 'standalone',
  orientation: 'portrait',
  background_color: '#ffffff',
  theme_color: '#b71c1c',
  icons: [
    { src: '/responder/icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
    { src: '/responder/icon-192.png', sizes: '192x192', type: 'image/png' },
    { src: '/responder/icon-512.png', sizes: '512x512', type: 'image/png' },
  ],
})

/** The shell the service worker keeps. */
const SHELL = [
  '/responder/',
  '/responder/app.js',
  '/responder/app.css',
  '/responder/manifest.webmanifest',
  '/responder/icon.svg',
  '/responder/icon-192.png',
]

/**
 * The service worker: the shell from the network while there is one (always the service's
 * latest), from its cache when there is none. Only the shell: the API and MQTT pass by.
 */
function serviceWorker(version: string): string {
  return `const CACHE = 'firecircle-responder-${version}'
const SHELL = ${JSON.stringify(SHELL)}
self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()))
})
self.addEventListener('activate', (e) => {
  e.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('firecircle-responder-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  )
})
self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url)
  if (e.request.method !== 'GET' || url.origin !== self.location.origin) return
  const shell = e.request.mode === 'navigate' ? '/responder/' : SHELL.includes(url.pathname) ? url.pathname : undefined
  if (shell === undefined) return
  e.respondWith(
    fetch(e.request)
      .then((res) => {
        if (res.ok) { const copy = res.clone(); caches.open(CACHE).then((c) => c.put(shell, copy)) }
        return res
      })
      .catch(() => caches.match(shell).then((hit) => hit || Response.error())),
  )
})
`
}

/**
 * Content-Security-Policy: everything from the service itself; `connect-src 'self'` covers
 * MQTT over WebSocket on the same host and port; images only from the bundle (data: URLs).
 */
const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "script-src 'self'",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "manifest-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ')

export interface ResponderRoutesDeps {
  logger: Logger
  /** The bundle, started when the service starts; requests wait for it. */
  bundle: Promise<ResponderBundle>
  /** FC_TIME_ZONE: the page shows times in it. */
  timeZone: string
}

export function registerResponderRoutes(app: FastifyInstance, deps: ResponderRoutesDeps): void {
  const { logger, bundle } = deps
  bundle.catch((err: Error) => {
    logger.error({ err }, 'the responder app could not be bundled')
  })
  const html = indexHtml(deps.timeZone)
  const icons = { svg: ICON_SVG, 192: iconPng(192), 512: iconPng(512) }

  const send =
    (type: string, pick: (b: ResponderBundle) => string | Buffer) =>
    async (_req: unknown, reply: FastifyReply) => {
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
          error: 'responder_app_unavailable',
          message: `the responder app could not be built: ${(err as Error).message}`,
        })
      }
    }

  const hide = { schema: { hide: true } }
  const routes: [string, string, (b: ResponderBundle) => string | Buffer][] = [
    ['/responder/', 'text/html; charset=utf-8', () => html],
    ['/responder/app.js', 'text/javascript; charset=utf-8', (b) => b.js],
    ['/responder/app.css', 'text/css; charset=utf-8', (b) => b.css],
    ['/responder/sw.js', 'text/javascript; charset=utf-8', (b) => serviceWorker(b.version)],
    ['/responder/manifest.webmanifest', 'application/manifest+json', () => MANIFEST],
    ['/responder/icon.svg', 'image/svg+xml', () => icons.svg],
    ['/responder/icon-192.png', 'image/png', () => icons[192]],
    ['/responder/icon-512.png', 'image/png', () => icons[512]],
  ]
  app.get('/responder', hide, async (_req, reply) => reply.redirect('/responder/'))
  for (const [url, type, pick] of routes) app.get(url, hide, send(type, pick))
}

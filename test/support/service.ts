/**
 * Running the real service in tests: in this process (`startTestService`) or as a child
 * process started the way `npm start` starts it (`spawnService`), with a fresh data dir and
 * free ports on 127.0.0.1. Plus small HTTP helpers that register a district through the API.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { type RunningService, startService } from '../../services/app.ts'
import { type Config, loadConfig } from '../../services/config/index.ts'
import type { Clock } from '../../services/shared/clock.ts'
import { createLogger } from '../../services/shared/log.ts'
import { freePort } from './ports.ts'
import { tempDir } from './tmp.ts'

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef'
const ROOT = path.resolve(import.meta.dirname, '../..')

export interface TestService {
  service: RunningService
  config: Config
  base: string
  mqttUrl: string
  dataDir: string
  api: ApiClient
  stop(): Promise<void>
}

export async function startTestService(
  opts: { env?: Record<string, string>; dataDir?: string; clock?: Clock; keepDataDir?: boolean } = {},
): Promise<TestService> {
  const tmp = opts.dataDir ? undefined : tempDir('firecircle-svc-')
  const dataDir = opts.dataDir ?? tmp!.dir
  const config = loadConfig({
    FC_MQTT_PORT: '0',
    FC_HTTP_PORT: '0',
    FC_HOST: '127.0.0.1',
    FC_DATA_DIR: dataDir,
    FC_ADMIN_TOKEN: ADMIN_TOKEN,
    FC_LOG_LEVEL: process.env['FC_TEST_LOG_LEVEL'] ?? 'silent',
    ...opts.env,
  })
  const service = await startService(config, {
    logger: createLogger(config.logLevel),
    ...(opts.clock ? { clock: opts.clock } : {}),
  })
  const base = `http://127.0.0.1:${service.httpPort}`
  return {
    service,
    config,
    base,
    mqttUrl: `mqtt://127.0.0.1:${service.mqttPort}`,
    dataDir,
    api: apiClient(base, ADMIN_TOKEN),
    async stop() {
      await service.stop()
      if (!opts.keepDataDir) tmp?.cleanup()
    },
  }
}

export interface ApiClient {
  base: string
  request(method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>
  get(url: string, token?: string): Promise<{ status: number; body: any }>
  post(url: string, body: unknown, token?: string): Promise<{ status: number; body: any }>
}

export function apiClient(base: string, token: string): ApiClient {
  const request = async (method: string, url: string, body?: unknown, as: string = token) => {
    const res = await fetch(base + url, {
      method,
      headers: {
        authorization: `Bearer ${as}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    const text = await res.text()
    let parsed: unknown = text
    try {
      parsed = JSON.parse(text)
    } catch {}
    return { status: res.status, body: parsed as any }
  }
  return {
    base,
    request,
    get: (url, as) => request('GET', url, undefined, as),
    post: (url, body, as) => request('POST', url, body, as),
  }
}

export interface District {
  communities: {
    type: 'Feature'
    properties: { id: string; name: string; street: string }
    geometry: unknown
  }[]
  buildings: { id: string; name: string; location: [number, number]; responsible: { name: string } }[]
}

export function loadDistrict(): District {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/small-district.json'), 'utf8')) as District
}

/** Register the small district's communities and buildings; throws on any refusal. */
export async function registerDistrict(api: ApiClient): Promise<District> {
  const d = loadDistrict()
  for (const c of d.communities) must(await api.post('/api/communities', c), 201)
  for (const b of d.buildings) must(await api.post('/api/buildings', b), 201)
  return d
}

export async function registerDevice(
  api: ApiClient,
  device: {
    id: string
    kind: string
    building: string
    gateway?: string
    thresholds?: Record<string, number>
  },
): Promise<{ id: string; secret: string; community: string }> {
  return must(await api.post('/api/devices', device), 201)
}

export async function registerResponder(
  api: ApiClient,
  r: { id: string; name: string; type: string; mode: string; onDuty: boolean; location?: [number, number] },
): Promise<{ id: string; secret: string }> {
  return must(await api.post('/api/responders', r), 201)
}

export function must(res: { status: number; body: any }, status: number): any {
  if (res.status !== status)
    throw new Error(`expected HTTP ${status}, got ${res.status}: ${JSON.stringify(res.body)}`)
  return res.body
}

/** Poll until `cond` holds (or throw with `what` after the deadline). Never a fixed sleep. */
export async function until<T>(
  cond: () => T | Promise<T>,
  what: string,
  ms = 10_000,
): Promise<NonNullable<T>> {
  const end = Date.now() + ms
  let last: T | undefined
  for (;;) {
    last = await cond()
    if (last) return last as NonNullable<T>
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export interface SpawnedService {
  child: ChildProcess
  httpPort: number
  mqttPort: number
  base: string
  output(): string
  ready(ms?: number): Promise<void>
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Start the service as `npm start` does (node --import tsx services/main.ts). */
export async function spawnService(env: Record<string, string>): Promise<SpawnedService> {
  const httpPort = env['FC_HTTP_PORT'] ? Number(env['FC_HTTP_PORT']) : await freePort()
  const mqttPort = env['FC_MQTT_PORT'] ? Number(env['FC_MQTT_PORT']) : await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      FC_HOST: '127.0.0.1',
      FC_LOG_LEVEL: 'warn',
      ...env,
      FC_HTTP_PORT: env['FC_HTTP_PORT'] ?? String(httpPort),
      FC_MQTT_PORT: env['FC_MQTT_PORT'] ?? String(mqttPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString()
  })
  child.stderr!.on('data', (b: Buffer) => {
    out += b.toString()
  })
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  let gone = false
  void exit.then(() => {
    gone = true
  })
  const base = `http://127.0.0.1:${httpPort}`
  return {
    child,
    httpPort,
    mqttPort,
    base,
    output: () => out,
    exited: () => exit,
    async ready(ms = 20_000) {
      await until(
        async () => {
          if (gone) throw new Error(`service exited before it was ready:\n${out}`)
          try {
            return (await fetch(`${base}/readyz`)).status === 200
          } catch {
            return false
          }
        },
        'the service to be ready',
        ms,
      )
    },
  }
}

/**
 * What the service benchmarks share: the service as its own child process (as `npm start`
 * runs it), InfluxDB 1.x and Mosquitto on free ports in temp dirs, registration straight into
 * a fresh data dir (setup, not measured), load generator processes (./load/worker.ts), the
 * service's /metrics, CPU and RSS of a process from /proc, and medians.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { bboxPolygon } from '@turf/turf'
import type { DeviceKind } from '../devices/catalogue.ts'
import { createEventBus } from '../services/events/index.ts'
import { createRegistry, createSqliteRegistryRepository, type Registry } from '../services/registry/index.ts'
import { systemClock } from '../services/shared/clock.ts'
import { createLogger } from '../services/shared/log.ts'
import { openStateDatabase } from '../services/state/index.ts'
import { type InfluxHarness, startInfluxDB } from '../test/support/influxdb.ts'
import { freePort } from '../test/support/ports.ts'
import type { Conn, Progress, WorkerCommand } from './load/worker.ts'

export const ROOT = path.resolve(import.meta.dirname, '..')
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef'
export const HOST = '127.0.0.1'

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!
}
export const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits })
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

// ---------------------------------------------------------------------------- registration

/** Inside the small district's two communities (test/fixtures/small-district.json). */
const COMMUNITIES = [
  { id: 'xixiang-01', name: 'Xixiang Community 1', street: 'xixiang', box: [113.86, 22.57, 113.878, 22.586] },
  { id: 'xinan-01', name: "Xin'an Community 1", street: 'xinan', box: [113.878, 22.57, 113.896, 22.586] },
] as const

export interface Registered {
  devices: Conn[]
  responders: Conn[]
  buildings: { id: string; location: [number, number] }[]
}

/**
 * Register straight into the state database of `dataDir` (before the service starts there),
 * through the registry itself, so the records are what the API would have made. Setup, not
 * measured: 110,000 registrations through HTTP would take minutes.
 */
export async function register(
  dataDir: string,
  spec: {
    buildings: number
    /** Devices per building, by kind (a gateway's carried devices are added by `gateways`). */
    devicesPerBuilding: { kind: DeviceKind; n: number }[]
    /** Gateways, each carrying `carry` smoke detectors, spread over the buildings. */
    gateways?: { n: number; carry: number }
    responders?: { id: string; type: string; mode: string; location: [number, number] }[]
    /** Place the buildings within `radius` degrees of `center` (which must lie in a community). */
    near?: { center: [number, number]; radius: number }
  },
): Promise<Registered & { gateways: Conn[] }> {
  const db = openStateDatabase(path.join(dataDir, 'state.db'), { synchronous: 'NORMAL' })
  const registry = await createRegistry({
    repository: createSqliteRegistryRepository(db),
    clock: systemClock,
    logger: createLogger('silent'),
    events: createEventBus(),
  })
  const out = await registerInto(registry, spec)
  db.close()
  return out
}

export type RegisterSpec = Parameters<typeof register>[1]

/** As register(), through a registry on any repository (a cluster's: PostgreSQL). */
export async function registerInto(
  registry: Registry,
  spec: RegisterSpec,
): Promise<Registered & { gateways: Conn[] }> {
  for (const c of COMMUNITIES) {
    await registry.addCommunity({
      id: c.id,
      name: c.name,
      street: c.street,
      geometry: bboxPolygon([...c.box]).geometry,
    })
  }
  let seed = 7
  const rnd = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0
    return seed / 2 ** 32
  }
  const out: Registered & { gateways: Conn[] } = { devices: [], responders: [], buildings: [], gateways: [] }
  for (let b = 0; b < spec.buildings; b++) {
    const c = COMMUNITIES[b % 2]!
    const [w, s, e, n] = c.box
    const location: [number, number] = spec.near
      ? [
          spec.near.center[0] + (rnd() * 2 - 1) * spec.near.radius,
          spec.near.center[1] + (rnd() * 2 - 1) * spec.near.radius,
        ]
      : [w + 0.001 + rnd() * (e - w - 0.002), s + 0.001 + rnd() * (n - s - 0.002)]
    const id = `b${b}`
    await registry.addBuilding({ id, name: id, location, responsible: { name: 'owner' } })
    out.buildings.push({ id, location })
    for (const { kind, n: count } of spec.devicesPerBuilding) {
      for (let k = 0; k < count; k++) {
        const did = `${kind}-${b}-${k}`
        const r = await registry.addDevice({ id: did, kind, building: id })
        out.devices.push({ id: did, secret: r.secret })
      }
    }
  }
  if (spec.gateways) {
    for (let g = 0; g < spec.gateways.n; g++) {
      const building = `b${g % spec.buildings}`
      const gid = `gw-${g}`
      const r = await registry.addDevice({ id: gid, kind: 'gateway', building })
      const carries: string[] = []
      for (let k = 0; k < spec.gateways.carry; k++) {
        const did = `gs-${g}-${k}`
        await registry.addDevice({ id: did, kind: 'smoke', building, gateway: gid })
        carries.push(did)
      }
      out.gateways.push({ id: gid, secret: r.secret, carries })
    }
  }
  for (const p of spec.responders ?? []) {
    const r = await registry.addResponder({
      id: p.id,
      name: p.id,
      type: p.type,
      mode: p.mode,
      location: p.location,
      onDuty: true,
    })
    out.responders.push({ id: p.id, secret: r.secret })
  }
  return out
}

// ---------------------------------------------------------------------------- the service

export interface ServiceProc {
  child: ChildProcess
  pid: number
  base: string
  mqttPort: number
  httpPort: number
  output(): string
  stop(): Promise<void>
}

/** `node --import tsx services/main.ts` with FC_* env; `nodeArgs` e.g. ['--cpu-prof']. */
export async function startService(opts: {
  dataDir: string
  influx: InfluxHarness
  database: string
  nodeArgs?: string[]
  env?: Record<string, string>
  /** Run the service from another checkout (bench/profile-ab.ts: the code before the fixes). */
  root?: string
}): Promise<ServiceProc> {
  const httpPort = await freePort()
  const mqttPort = await freePort()
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', 'services/main.ts'], {
    cwd: opts.root ?? ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      FC_HOST: HOST,
      FC_LOG_LEVEL: 'warn',
      FC_HTTP_PORT: String(httpPort),
      FC_MQTT_PORT: String(mqttPort),
      FC_DATA_DIR: opts.dataDir,
      FC_ADMIN_TOKEN: ADMIN_TOKEN,
      FC_INFLUX_URL: opts.influx.url,
      FC_INFLUX_DATABASE: opts.database,
      // Every generator and probe connects from 127.0.0.1: no per-address cap, as behind a TCP balancer.
      FC_MQTT_MAX_CONNECTIONS_PER_ADDRESS: '0',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-20_000)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let gone = false
  void exited.then(() => {
    gone = true
  })
  const base = `http://${HOST}:${httpPort}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (gone) throw new Error(`the service exited before it was ready:\n${out}`)
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) break
    } catch {}
    if (Date.now() > deadline) throw new Error(`the service was not ready in 60 s:\n${out}`)
    await sleep(100)
  }
  return {
    child,
    pid: child.pid!,
    base,
    mqttPort,
    httpPort,
    output: () => out,
    async stop() {
      if (gone) return
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000)
      await exited
      clearTimeout(t)
    },
  }
}

/** The service's /metrics as name → value, summed over labels. */
export async function metrics(base: string): Promise<Map<string, number>> {
  const t0 = performance.now()
  const text = await fetch(`${base}/metrics`).then(
    (r) => r.text(),
    (err: Error & { cause?: Error }) => {
      throw new Error(
        `GET ${base}/metrics after ${Math.round(performance.now() - t0)} ms: ${err.cause?.message ?? err.message}`,
      )
    },
  )
  const m = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const sp = line.lastIndexOf(' ')
    const brace = line.indexOf('{')
    const name = brace >= 0 && brace < sp ? line.slice(0, brace) : line.slice(0, sp)
    m.set(name, (m.get(name) ?? 0) + Number(line.slice(sp + 1)))
  }
  return m
}

const TICK = 100 // USER_HZ
/** CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / TICK
  } catch {
    return Number.NaN
  }
}
/** Resident set size in MiB, from /proc. */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}

// ---------------------------------------------------------------------------- generators

/** What a generator process reports over IPC (see ./load/worker.ts). */
// biome-ignore lint/suspicious/noExplicitAny: messages of several shapes, read by the caller that asked for one
export type WorkerMessage = { type: string } & Record<string, any>

export interface Worker {
  child: ChildProcess
  last: Progress | undefined
  send(m: WorkerCommand): void
  next<T = WorkerMessage>(type: string, ms?: number): Promise<T>
  close(): Promise<void>
}

export async function forkWorker(): Promise<Worker> {
  const child = fork(path.join(ROOT, 'bench/load/worker.ts'), [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const queue: WorkerMessage[] = []
  const waiters: { type: string; resolve: (m: WorkerMessage) => void }[] = []
  const w: Worker = {
    child,
    last: undefined,
    send: (m) => child.send(m),
    next<T>(type: string, ms = 600_000): Promise<T> {
      const i = queue.findIndex((m) => m.type === type)
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0] as T)
      return new Promise<T>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`worker: no ${type} in ${ms} ms`)), ms)
        waiters.push({
          type,
          resolve: (m) => {
            clearTimeout(t)
            resolve(m as T)
          },
        })
      })
    },
    async close() {
      if (child.exitCode !== null) return
      const gone = new Promise((r) => child.once('exit', r))
      child.send({ cmd: 'close' })
      const t = setTimeout(() => child.kill('SIGKILL'), 5000)
      await gone
      clearTimeout(t)
    },
  }
  child.on('message', (m: WorkerMessage) => {
    if (m.type === 'progress' || m.type === 'stopped') w.last = m as unknown as Progress
    if (m.type === 'progress') return
    const i = waiters.findIndex((x) => x.type === m.type)
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m)
    else queue.push(m)
  })
  await w.next('ready', 30_000)
  return w
}

/** Split `conns` over `n` workers and connect them all at once; returns the CONNECTs/s. */
export async function connectWorkers(
  workers: Worker[],
  conns: Conn[],
  o: { port: number; concurrency: number; birth?: boolean; subscribeCmd?: boolean },
): Promise<{ ok: number; failed: number; perSecond: number; seconds: number; firstError?: string }> {
  const started = performance.now() + performance.timeOrigin
  workers.forEach((w, i) => {
    w.send({
      cmd: 'connect',
      host: HOST,
      port: o.port,
      conns: conns.filter((_c, k) => k % workers.length === i),
      concurrency: o.concurrency,
      ...(o.birth ? { birth: true } : {}),
      ...(o.subscribeCmd ? { subscribeCmd: true } : {}),
    })
  })
  const rs = await Promise.all(
    workers.map((w) => w.next<{ ok: number; failed: number; end: number; firstError?: string }>('connected')),
  )
  const seconds = (Math.max(...rs.map((r) => r.end)) - started) / 1000
  const ok = rs.reduce((a, r) => a + r.ok, 0)
  const failed = rs.reduce((a, r) => a + r.failed, 0)
  const firstError = rs.find((r) => r.firstError)?.firstError
  return { ok, failed, seconds, perSecond: ok / seconds, ...(firstError ? { firstError } : {}) }
}

// ---------------------------------------------------------------------------- Mosquitto

export interface Mosquitto {
  port: number
  pid: number
  stop(): Promise<void>
}

/** Debian's /usr/sbin/mosquitto on a free port with a temp config: anonymous, no persistence. */
export async function startMosquitto(): Promise<Mosquitto> {
  const tmp = tempDir('firecircle-mosquitto-')
  const port = await freePort()
  const conf = path.join(tmp.dir, 'mosquitto.conf')
  fs.writeFileSync(
    conf,
    [
      `listener ${port} ${HOST}`,
      'allow_anonymous true',
      // Like the service's listener (services/broker/listeners.ts): no Nagle delay on acks.
      'set_tcp_nodelay true',
      'persistence false',
      'log_dest none',
      'max_queued_messages 1000000',
      'max_inflight_messages 0',
      'max_connections -1',
      '',
    ].join('\n'),
  )
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString()
  })
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  const deadline = Date.now() + 10_000
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, HOST)
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) break
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start: ${err}`)
    await sleep(50)
  }
  return {
    port,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM')
      await exited
      tmp.cleanup()
    },
  }
}

export { type InfluxHarness, startInfluxDB }

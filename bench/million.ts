/**
 * A million devices as an everyday size (issue #14): the embedded node (SQLite, the embedded
 * telemetry store) as its own process; 10 communities and 5,000 buildings registered, then
 * 1,000,000 devices through POST /api/devices/bulk (100,000 lines a call, two calls in flight);
 * then the service stopped (SIGTERM) and started again on the same data dir, timed from the
 * spawn to /readyz 200, with its RSS there; one bulk-registered device connects over MQTT
 * with its secret after the restart; then the time and RSS until every device is in memory and
 * supervised (read after /readyz, services/registry/device-table.ts).
 *
 *   node --import tsx bench/million.ts            # 1,000,000 devices
 *   FC_BENCH_DEVICES=100000 node --import tsx bench/million.ts
 *
 * Targets: bulk registration ≥ 10,000 devices/s; restart with 1,000,000 devices ready ≤ 5 s;
 * RSS ≤ 1 GiB at that size.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import mqtt from 'mqtt'
import { freePort } from '../tools/ports.ts'
import { ADMIN_TOKEN, fmt, HOST, ROOT, rssMiB, sleep, tempDir } from './lib.ts'

const DEVICES = Number(process.env['FC_BENCH_DEVICES'] ?? 1_000_000)
const COMMUNITIES = 10
const BUILDINGS = 5_000
const LINES = 100_000
const IN_FLIGHT = 2
const KINDS = ['smoke', 'smoke', 'smoke', 'heat', 'multi', 'gas', 'electrical', 'call_point']

interface Proc {
  child: ChildProcess
  base: string
  mqttPort: number
  /** ms from spawn to /readyz 200. */
  readyMs: number
  output(): string
  stop(): Promise<void>
}

async function start(
  dataDir: string,
  ports: { http: number; mqtt: number },
  nodeArgs: string[] = [],
): Promise<Proc> {
  const t0 = performance.now()
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'services/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      FC_HOST: HOST,
      FC_LOG_LEVEL: 'info',
      FC_HTTP_PORT: String(ports.http),
      FC_MQTT_PORT: String(ports.mqtt),
      FC_DATA_DIR: dataDir,
      FC_ADMIN_TOKEN: ADMIN_TOKEN,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-40_000)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  let gone = false
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  void exited.then(() => {
    gone = true
  })
  const base = `http://${HOST}:${ports.http}`
  for (;;) {
    if (gone) throw new Error(`the service exited before it was ready:\n${out}`)
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) break
    } catch {}
    if (performance.now() - t0 > 180_000) throw new Error(`not ready in 180 s:\n${out}`)
    await sleep(25)
  }
  return {
    child,
    base,
    mqttPort: ports.mqtt,
    readyMs: performance.now() - t0,
    output: () => out,
    async stop() {
      if (gone) return
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000)
      await exited
      clearTimeout(t)
    },
  }
}

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` }
async function post(base: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`)
}

async function district(base: string): Promise<string[]> {
  for (let c = 0; c < COMMUNITIES; c++) {
    const lon = 113.8 + c * 0.02
    await post(base, '/api/communities', {
      type: 'Feature',
      properties: { id: `c-${c}`, name: `Community ${c}`, street: `street-${c % 3}` },
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [lon, 22.5],
            [lon + 0.02, 22.5],
            [lon + 0.02, 22.52],
            [lon, 22.52],
            [lon, 22.5],
          ],
        ],
      },
    })
  }
  const ids = Array.from({ length: BUILDINGS }, (_, i) => `bld-${i}`)
  let next = 0
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < ids.length) {
        const i = next++
        const c = i % COMMUNITIES
        await post(base, '/api/buildings', {
          id: ids[i],
          name: `Building ${i}`,
          location: [113.801 + c * 0.02 + ((i * 7) % 90) * 0.0002, 22.501 + ((i * 13) % 90) * 0.0002],
          responsible: { name: `Owner ${i}` },
        })
      }
    }),
  )
  return ids
}

/** One POST /api/devices/bulk of devices [from, to); the secret of the first. */
async function bulk(base: string, from: number, to: number, buildings: string[]): Promise<string> {
  let body = ''
  for (let i = from; i < to; i++) {
    body += `${JSON.stringify({
      id: `dev-${i}`,
      kind: KINDS[i % KINDS.length],
      building: buildings[i % buildings.length],
      floor: i % 30,
    })}\n`
  }
  const res = await fetch(`${base}/api/devices/bulk`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/x-ndjson' },
    body,
  })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`bulk: ${res.status} ${text.slice(0, 500)}`)
  const lines = text.split('\n').filter((l) => l !== '')
  const bad = lines.filter((l) => !l.includes('"secret"'))
  if (lines.length !== to - from || bad.length > 0)
    throw new Error(`bulk: ${lines.length} answers for ${to - from}, ${bad.length} refused: ${bad[0]}`)
  return (JSON.parse(lines[0] as string) as { secret: string }).secret
}

/** The start's log lines, each with its time since the first (what the restart spent where). */
function timeline(out: string): string {
  const lines = out.split('\n').flatMap((l) => {
    try {
      const j = JSON.parse(l) as { time?: number; msg?: string }
      return j.time !== undefined ? [j] : []
    } catch {
      return []
    }
  })
  const t0 = lines[0]?.time ?? 0
  return lines.map((j) => `  +${fmt((j.time ?? 0) - t0)} ms ${j.msg}`).join('\n')
}

async function main() {
  const tmp = tempDir('firecircle-million-')
  const ports = { http: await freePort(), mqtt: await freePort() }
  // FC_BENCH_PROF_BULK=<dir>: the first start (the bulk registration) under --cpu-prof.
  const bulkProf = process.env['FC_BENCH_PROF_BULK']
  let svc = await start(tmp.dir, ports, bulkProf ? ['--cpu-prof', '--cpu-prof-dir', bulkProf] : [])
  try {
    console.log(`devices: ${fmt(DEVICES)} in ${fmt(BUILDINGS)} buildings of ${COMMUNITIES} communities`)
    console.log(`first start (empty): ready in ${fmt(svc.readyMs)} ms`)
    const buildings = await district(svc.base)

    const t0 = performance.now()
    const secrets = new Map<number, string>()
    let next = 0
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < DEVICES) {
          const from = next
          next = Math.min(DEVICES, next + LINES)
          secrets.set(from, await bulk(svc.base, from, next, buildings))
        }
      }),
    )
    const s = (performance.now() - t0) / 1000
    console.log(
      `bulk registration: ${fmt(DEVICES)} devices in ${s.toFixed(1)} s = ${fmt(DEVICES / s)} devices/s ` +
        `(target ≥ 10,000/s: ${DEVICES / s >= 10_000 ? 'met' : 'NOT met'})`,
    )
    console.log(`RSS after registering: ${fmt(rssMiB(svc.child.pid!))} MiB`)

    await svc.stop()
    // FC_BENCH_PROF=<dir>: the restart under --cpu-prof (bench/profile-summary.ts reads it).
    const prof = process.env['FC_BENCH_PROF']
    const restarted = performance.now()
    svc = await start(tmp.dir, ports, prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [])
    const rss = rssMiB(svc.child.pid!)
    console.log(
      `restart with ${fmt(DEVICES)} devices: /readyz 200 in ${fmt(svc.readyMs)} ms from spawn ` +
        `(target ≤ 5,000 ms: ${svc.readyMs <= 5_000 ? 'met' : 'NOT met'})`,
    )
    console.log(timeline(svc.output()))
    console.log(`RSS when ready: ${fmt(rss)} MiB (target ≤ 1,024 MiB: ${rss <= 1024 ? 'met' : 'NOT met'})`)
    await sleep(3_000)
    console.log(`RSS 3 s later: ${fmt(rssMiB(svc.child.pid!))} MiB`)

    const c = await mqtt.connectAsync(`mqtt://${HOST}:${svc.mqttPort}`, {
      clientId: 'dev-0',
      username: 'dev-0',
      password: secrets.get(0) as string,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    })
    await c.endAsync()
    console.log('dev-0 connected over MQTT with its bulk-issued secret after the restart')
    // The rest of the devices are read after /readyz (services/registry/device-table.ts): the
    // RSS target holds with all of them in memory and every one supervised.
    const done = 'alarm engine: every device supervised'
    while (!svc.output().includes(done) && performance.now() - restarted < 180_000) await sleep(100)
    const whole = svc
      .output()
      .split('\n')
      .filter((l) => l.includes('every device'))
    console.log(
      `${whole.length === 2 ? 'every device in memory and supervised' : 'NOT all in memory'} ` +
        `${fmt(performance.now() - restarted)} ms from spawn; RSS ${fmt(rssMiB(svc.child.pid!))} MiB ` +
        `(target ≤ 1,024 MiB: ${rssMiB(svc.child.pid!) <= 1024 ? 'met' : 'NOT met'})`,
    )
    console.log(
      timeline(svc.output())
        .split('\n')
        .filter((l) => l.includes('every device'))
        .join('\n'),
    )
  } finally {
    await svc.stop()
    if (process.env['FC_BENCH_KEEP']) console.log(`data dir kept: ${tmp.dir}`)
    else tmp.cleanup()
  }
}

await main()

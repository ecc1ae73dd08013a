/**
 * deploy/haproxy.cfg for real: HAProxy 2.6 started on free ports in front of two real embedded
 * nodes balances MQTT and HTTP, and takes a node out when its /readyz stops answering 200 — both
 * when the node is alive but not ready (its InfluxDB gone: the MQTT port still accepts, only the
 * health check on the HTTP port can tell) and when it is stopped — while requests keep
 * succeeding through the other node.
 *
 * Which node answered is observable: each node has one building the other lacks
 * (`hall-of-node-1`, `hall-of-node-2`), and HAProxy's stats page counts sessions per server.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import { promisify } from 'node:util'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HAPROXY_CFG, haproxyEnv, haproxyServers } from '../../tools/haproxy.ts'
import { type InfluxHarness, startInfluxDB } from '../support/influxdb.ts'
import { connectAs } from '../support/mqtt.ts'
import { freePort } from '../support/ports.ts'
import {
  ADMIN_TOKEN,
  loadDistrict,
  must,
  registerDevice,
  registerDistrict,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'
import { tempDir } from '../support/tmp.ts'

const run = promisify(execFile)
const INFLUX_DB = 'firecircle'
// fall 2 × inter 2 s, plus a check in flight, plus a loaded machine.
const TAKEN_OUT_MS = 15_000

/** One HTTP GET on a fresh TCP connection (agent: false), so HAProxy balances each request. */
function getOnce(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { agent: false, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => {
          body += c
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      },
    )
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${url} timed out`)))
    req.on('error', reject)
  })
}

describe('haproxy -c', () => {
  it('accepts deploy/haproxy.cfg with the nodes given, and refuses it naming NODE1_ADDR without', async () => {
    const env = haproxyEnv(
      [
        { host: '127.0.0.1', mqttPort: 11883, httpPort: 18080 },
        { host: '127.0.0.1', mqttPort: 11884, httpPort: 18081 },
      ],
      { mqtt: ':1883', gb26875: ':9000', http: ':8080', stats: '127.0.0.1:8404' },
    )
    const ok = await run('haproxy', ['-c', '-f', HAPROXY_CFG], { env: { PATH: process.env['PATH'], ...env } })
    expect(ok.stdout).toMatch(/Configuration file is valid/)
    expect(ok.stderr).not.toMatch(/WARNING|ALERT/)
    // The shipped defaults alone (NODE1_ADDR only) are valid as well: what docker-compose relies on.
    await run('haproxy', ['-c', '-f', HAPROXY_CFG], {
      env: { PATH: process.env['PATH'], NODE1_ADDR: 'node-1' },
    })
    const refused = await run('haproxy', ['-c', '-f', HAPROXY_CFG], {
      env: { PATH: process.env['PATH'] },
    }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    )
    expect(refused?.code).not.toBe(0)
    expect(refused?.stderr).toMatch(/NODE1_ADDR is not set/)
  })
})

describe('HAProxy in front of two embedded nodes', () => {
  let influx: InfluxHarness
  const nodes: TestService[] = []
  const dirs: { dir: string; cleanup: () => void }[] = []
  let haproxy: ChildProcess
  let haproxyLog = ''
  let front: { mqtt: number; gb26875: number; http: number; stats: number }
  const secrets: Record<string, string> = {}
  const clients: MqttClient[] = []

  const servers = () => haproxyServers(front.stats)
  const status = async (server: string) => (await servers()).get(server)?.status
  /** Which node answered a request through HAProxy on a fresh connection. */
  const answeredBy = async (): Promise<string> => {
    const res = await getOnce(`http://127.0.0.1:${front.http}/api/buildings`)
    if (res.status !== 200) throw new Error(`through HAProxy: HTTP ${res.status} ${res.body}`)
    const halls = ['node-1', 'node-2'].filter((k) => res.body.includes(`hall-of-${k}`))
    if (halls.length !== 1) throw new Error(`not one node's hall in ${res.body}`)
    return halls[0]!
  }

  beforeAll(async () => {
    influx = await startInfluxDB()
    await influx.database(INFLUX_DB)
    // One registry, copied into both nodes' data dirs: the same devices with the same secrets
    // on both, as a cluster's shared database would give them.
    const template = tempDir('firecircle-haproxy-tpl-')
    dirs.push(template)
    const first = await startTestService({ dataDir: template.dir })
    const district = await registerDistrict(first.api)
    const building = district.buildings[0]!.id
    for (const id of ['smoke-haproxy-1', 'smoke-haproxy-2', 'smoke-haproxy-3'])
      secrets[id] = (await registerDevice(first.api, { id, kind: 'smoke', building })).secret
    await first.stop()
    for (const k of [1, 2]) {
      const copy = tempDir(`firecircle-haproxy-node-${k}-`)
      dirs.push(copy)
      fs.cpSync(template.dir, copy.dir, { recursive: true })
      // Node 2 writes telemetry to a real InfluxDB, so that stopping it makes node 2 unready
      // while its process and ports stay up.
      const env: Record<string, string> =
        k === 2 ? { FC_INFLUX_URL: influx.url, FC_INFLUX_DATABASE: INFLUX_DB } : {}
      const node = await startTestService({ dataDir: copy.dir, env: { ...env, FC_GB26875_PORT: '0' } })
      nodes.push(node)
      const b = loadDistrict().buildings[0]!
      must(
        await node.api.post('/api/buildings', { ...b, id: `hall-of-node-${k}`, name: `Hall of node ${k}` }),
        201,
      )
    }
    front = {
      mqtt: await freePort(),
      gb26875: await freePort(),
      http: await freePort(),
      stats: await freePort(),
    }
    const env = haproxyEnv(
      nodes.map((n) => ({
        host: '127.0.0.1',
        mqttPort: n.service.mqttPort,
        httpPort: n.service.httpPort,
        gb26875Port: n.service.gb26875Port!,
      })),
      {
        mqtt: `127.0.0.1:${front.mqtt}`,
        gb26875: `127.0.0.1:${front.gb26875}`,
        http: `127.0.0.1:${front.http}`,
        stats: `127.0.0.1:${front.stats}`,
      },
    )
    haproxy = spawn('haproxy', ['-db', '-f', HAPROXY_CFG], {
      env: { PATH: process.env['PATH'], ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const collect = (b: Buffer) => {
      haproxyLog = (haproxyLog + b.toString()).slice(-8192)
    }
    haproxy.stdout?.on('data', collect)
    haproxy.stderr?.on('data', collect)
    await until(
      async () => {
        if (haproxy.exitCode !== null) throw new Error(`haproxy exited:\n${haproxyLog}`)
        const all = await servers().catch(() => new Map())
        return all.size === 6 && [...all.values()].every((s) => s.status === 'UP')
      },
      'HAProxy to see both nodes up',
      20_000,
    )
  })

  afterAll(async () => {
    for (const c of clients) c.end(true)
    haproxy?.kill('SIGTERM')
    for (const n of nodes) await n.stop().catch(() => {})
    await influx?.stop()
    for (const d of dirs) d.cleanup()
  })

  it('spreads HTTP requests and MQTT connections over both nodes', async () => {
    expect((await getOnce(`http://127.0.0.1:${front.http}/healthz`)).body).toBe('{"status":"ok"}')
    const seen = new Set<string>()
    for (let i = 0; i < 6; i++) seen.add(await answeredBy())
    expect([...seen].sort()).toEqual(['node-1', 'node-2'])

    // Two devices connected at once: leastconn puts the second on the node without one.
    for (const id of ['smoke-haproxy-1', 'smoke-haproxy-2'])
      clients.push(await connectAs(`mqtt://127.0.0.1:${front.mqtt}`, id, secrets[id]!))
    const all = await servers()
    expect(all.get('mqtt_nodes/node-1')?.current).toBe(1)
    expect(all.get('mqtt_nodes/node-2')?.current).toBe(1)
    // MQTT over WebSocket at /mqtt passes HAProxy's HTTP frontend (TCP mode) untouched.
    const overWs = await connectAs(
      `ws://127.0.0.1:${front.http}/mqtt`,
      'smoke-haproxy-3',
      secrets['smoke-haproxy-3']!,
    )
    expect(overWs.connected).toBe(true)
    await overWs.endAsync()
    // A QoS 1 publish through HAProxy is acknowledged by the node behind it (publishAsync
    // resolves on the PUBACK, and rejects if the connection goes first).
    await clients[0]!.publishAsync(
      'dev/smoke-haproxy-1/telemetry',
      JSON.stringify({ seq: 1, values: { battery: 90 } }),
      { qos: 1 },
    )
  })

  it('takes out a node whose /readyz answers 503 though its ports are open, and closes its devices', async () => {
    const closed = Promise.any(
      clients.map((c) => new Promise<void>((resolve) => c.once('close', () => resolve()))),
    )
    await influx.stop()
    const ready = await fetch(`${nodes[1]!.base}/readyz`)
    expect(ready.status).toBe(503)
    await until(
      async () =>
        (await status('mqtt_nodes/node-2')) === 'DOWN' && (await status('http_nodes/node-2')) === 'DOWN',
      'node-2 to be taken out',
      TAKEN_OUT_MS,
    )
    expect((await servers()).get('mqtt_nodes/node-1')?.status).toBe('UP')
    // Its device was disconnected (on-marked-down shutdown-sessions), to reconnect to a ready node.
    await closed
    for (let i = 0; i < 6; i++) expect(await answeredBy()).toBe('node-1')
    const before = (await servers()).get('mqtt_nodes/node-2')?.total ?? 0
    const device = await connectAs(
      `mqtt://127.0.0.1:${front.mqtt}`,
      'smoke-haproxy-3',
      secrets['smoke-haproxy-3']!,
    )
    clients.push(device)
    expect(device.connected).toBe(true)
    expect((await servers()).get('mqtt_nodes/node-2')?.total).toBe(before)

    await influx.start()
    await until(async () => (await status('http_nodes/node-2')) === 'UP', 'node-2 to be back', TAKEN_OUT_MS)
  })

  it('takes out a stopped node: requests and devices keep being served by the other', async () => {
    await nodes[0]!.stop()
    await until(
      async () =>
        (await status('mqtt_nodes/node-1')) === 'DOWN' && (await status('http_nodes/node-1')) === 'DOWN',
      'node-1 to be taken out',
      TAKEN_OUT_MS,
    )
    for (let i = 0; i < 6; i++) {
      const res = await getOnce(`http://127.0.0.1:${front.http}/healthz`)
      expect(res.status).toBe(200)
    }
    for (let i = 0; i < 4; i++) expect(await answeredBy()).toBe('node-2')
    const device = await connectAs(
      `mqtt://127.0.0.1:${front.mqtt}`,
      'smoke-haproxy-1',
      secrets['smoke-haproxy-1']!,
      {
        clientId: 'smoke-haproxy-1',
      },
    )
    clients.push(device)
    expect(device.connected).toBe(true)
    expect((await servers()).get('mqtt_nodes/node-2')?.current).toBeGreaterThanOrEqual(1)
  })
})

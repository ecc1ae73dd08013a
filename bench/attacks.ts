/**
 * The attacks of issue #12, replayed against the service as `npm start` runs it, with the
 * figures an operator would want: what each one costs the service now. Raw sockets from
 * 127.0.0.x (every 127/8 address is this machine), so "another address" is real.
 *
 *   node --import tsx bench/attacks.ts
 */
import http from 'node:http'
import net from 'node:net'
import mqtt from 'mqtt'
import { connectPacket, rawConnect, remainingLength } from '../test/support/raw-mqtt.ts'
import {
  ADMIN_TOKEN,
  fmt,
  metrics,
  register,
  rssMiB,
  sleep,
  startInfluxDB,
  startService,
  tempDir,
} from './lib.ts'

const line = (s: string) => console.log(s)

async function oversizeConnects(port: number, pid: number): Promise<void> {
  const before = rssMiB(pid)
  const sent = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const raw = await rawConnect(port, '127.0.0.2')
      raw.socket.write(Buffer.concat([Buffer.from([0x10]), remainingLength(250 * 1024 * 1024)]))
      let open = true
      void raw.closed.then(() => {
        open = false
      })
      const chunk = Buffer.alloc(256 * 1024, 0x41)
      let bytes = 0
      while (open && bytes < 100 * 1024 * 1024) {
        if (!raw.socket.write(chunk)) await new Promise((r) => raw.socket.once('drain', r).once('close', r))
        bytes += chunk.length
      }
      await raw.closed
      return bytes
    }),
  )
  await sleep(500)
  line(
    `6 sockets each declaring a 250 MB CONNECT and streaming: closed by the service after ${sent.map((b) => fmt(b / 1024)).join(', ')} KiB had been written (most of it into the kernel's socket buffers, never read); service RSS ${fmt(before)} → ${fmt(rssMiB(pid))} MiB`,
  )
}

async function inventedTopics(
  base: string,
  port: number,
  pid: number,
  id: string,
  secret: string,
): Promise<void> {
  const size = async () => {
    const t = performance.now()
    const text = await (await fetch(`${base}/metrics`)).text()
    return { bytes: text.length, ms: performance.now() - t }
  }
  const before = await size()
  const rss = rssMiB(pid)
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: id,
    username: id,
    password: secret,
    reconnectPeriod: 0,
  })
  for (let i = 0; i < 20_000; i++) c.publish(`dev/${id}/invented-${i}`, '{}', { qos: 0 })
  await c.publishAsync(`dev/${id}/telemetry`, JSON.stringify({ values: { obscuration: 0.1 } }), { qos: 1 })
  await sleep(1000)
  await c.endAsync()
  const after = await size()
  line(
    `20,000 invented topics under one device's prefix: /metrics ${fmt(before.bytes / 1024, 1)} → ${fmt(after.bytes / 1024, 1)} KiB (scrape ${fmt(after.ms, 1)} ms); RSS ${fmt(rss)} → ${fmt(rssMiB(pid))} MiB`,
  )
}

async function guessingMqtt(port: number, id: string): Promise<void> {
  const codes = new Map<number, number>()
  const end = Date.now() + 10_000
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (Date.now() < end) {
        try {
          const raw = await rawConnect(port, '127.0.0.3')
          raw.socket.write(connectPacket(id, `guess-${Math.random()}`))
          const rc = await raw.connack(10_000).catch(() => -1)
          codes.set(rc, (codes.get(rc) ?? 0) + 1)
          raw.socket.destroy()
        } catch {
          codes.set(-1, (codes.get(-1) ?? 0) + 1)
        }
      }
    }),
  )
  const total = [...codes.values()].reduce((a, b) => a + b, 0)
  line(
    `wrong MQTT CONNECTs from one address, 100 at a time for 10 s: ${fmt(total / 10)}/s answered — ${fmt((codes.get(4) ?? 0) / 10, 1)}/s checked (CONNACK 4), ${fmt((codes.get(3) ?? 0) / 10)}/s refused unchecked (3), ${codes.get(-1) ?? 0} closed without an answer`,
  )
}

function get(port: number, localAddress: string, path: string, token?: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(
      {
        host: '127.0.0.1',
        port,
        path,
        localAddress,
        agent: false,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', () => resolve(-1))
  })
}

async function guessingHttp(httpPort: number): Promise<void> {
  const codes = new Map<number, number>()
  const end = Date.now() + 10_000
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (Date.now() < end) {
        const s = await get(httpPort, '127.0.0.4', '/api/communities', `wrong-${Math.random()}`)
        codes.set(s, (codes.get(s) ?? 0) + 1)
      }
    }),
  )
  const t = performance.now()
  const admin = await get(httpPort, '127.0.0.1', '/api/communities', ADMIN_TOKEN)
  line(
    `wrong bearer tokens from one address, 50 at a time for 10 s: ${fmt((codes.get(401) ?? 0) / 10, 1)}/s checked (401, one scrypt each), ${fmt((codes.get(429) ?? 0) / 10)}/s refused unchecked (429); the administrator elsewhere meanwhile: ${admin} in ${fmt(performance.now() - t, 1)} ms`,
  )
}

async function httpFlood(
  httpPort: number,
  mqttPort: number,
  id: string,
  secret: string,
  base: string,
): Promise<void> {
  const sockets: net.Socket[] = []
  for (let a = 0; a < 60; a++) {
    for (let i = 0; i < 200; i++) {
      const s = net.connect({ port: httpPort, host: '127.0.0.1', localAddress: `127.0.1.${a + 1}` })
      s.on('error', () => {})
      s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: x'))
      sockets.push(s)
    }
    await sleep(5)
  }
  await sleep(1000)
  const t = performance.now()
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
    clientId: id,
    username: id,
    password: secret,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  })
  await c.publishAsync(`dev/${id}/telemetry`, JSON.stringify({ values: { obscuration: 0.1 } }), { qos: 1 })
  const deviceMs = performance.now() - t
  await c.endAsync()
  for (const s of sockets) s.destroy()
  await sleep(1000)
  const healthz = await get(httpPort, '127.0.0.1', '/healthz')
  // Read after the flood: while it lasts the HTTP listener is full for everyone new.
  const m = await metrics(base).catch(() => new Map<string, number>())
  line(
    `12,000 idle HTTP sockets with a partial request line from 60 addresses: ${fmt(m.get('firecircle_connections_refused_total') ?? 0)} closed at once by the caps (FC_HTTP_MAX_CONNECTIONS); meanwhile a device connected and got its PUBACK in ${fmt(deviceMs, 1)} ms; after the flood /healthz ${healthz}`,
  )
}

async function main(): Promise<void> {
  const influx = await startInfluxDB()
  const data = tempDir('firecircle-attacks-')
  try {
    await influx.database('attacks')
    const reg = await register(data.dir, { buildings: 1, devicesPerBuilding: [{ kind: 'smoke', n: 3 }] })
    const [a, b, victim] = reg.devices
    const svc = await startService({ dataDir: data.dir, influx, database: 'attacks' })
    line(
      `attacks bench: the service as its own process on InfluxDB 1.x; caps from the open-file limit; 2 shared cores`,
    )
    try {
      await oversizeConnects(svc.mqttPort, svc.pid)
      await inventedTopics(svc.base, svc.mqttPort, svc.pid, a!.id, a!.secret)
      await guessingMqtt(svc.mqttPort, victim!.id)
      await guessingHttp(svc.httpPort)
      await httpFlood(svc.httpPort, svc.mqttPort, b!.id, b!.secret, svc.base)
      line(`service still up: ${svc.child.exitCode === null}; RSS at the end ${fmt(rssMiB(svc.pid))} MiB`)
    } finally {
      await svc.stop()
    }
  } finally {
    data.cleanup()
    await influx.destroy()
  }
}

await main()

/**
 * The soak (issue #12, item 8), not part of `npm test`:
 *
 *   npm run soak -- --minutes 30      # the figures in docs/BENCHMARKS.md
 *   npm run soak -- --minutes 2       # a quick look
 *
 * The service as its own process (`node --import tsx services/main.ts`, as in production) on
 * InfluxDB 1.x (Debian's influxd, tools/influxdb.ts), under steady QoS 1 load from ~50 smoke
 * detectors on MQTT.js (a few hundred readings/s), with churn and hostile traffic beside it:
 * detectors leaving (cleanly or by a dropped socket) and coming back every few seconds, a
 * vandal device sending bad and oversize payloads and topics outside its prefix, wrong
 * secrets from another address (127.0.0.2), and duty officers polling GET /api/incidents.
 *
 * Every 30 s a line: the service's RSS, its event-loop delay p99 (prom-client's
 * nodejs_eventloop_lag_p99_seconds), API latency p50/p99 of the officers' polls, readings
 * acknowledged so far. At the end a verdict, exit code 0 or 1:
 * - RSS flat: after a warm-up, the median RSS of the last third of the run is within 10 % of
 *   the first third's (growth is what a leak looks like; a fall is not one);
 * - zero acknowledged readings lost: once the spool has drained, InfluxDB holds, for every
 *   device, at least as many readings as it got PUBACKs for (each reading has its own ts).
 */
import net from 'node:net'
import mqtt, { type MqttClient } from 'mqtt'
import { generate } from 'mqtt-packet'
import {
  ADMIN_TOKEN,
  fmt,
  HOST,
  median,
  metrics,
  pct,
  register,
  rssMiB,
  type ServiceProc,
  sleep,
  startInfluxDB,
  startService,
  tempDir,
} from './lib.ts'

const argMinutes = process.argv.indexOf('--minutes')
const MINUTES = argMinutes > 0 ? Number(process.argv[argMinutes + 1]) : 30
if (!(MINUTES > 0)) {
  console.error('usage: npm run soak -- --minutes <n>   (n > 0, e.g. 2 or 30)')
  process.exit(2)
}
const RUN_MS = MINUTES * 60_000
const REPORT_MS = 30_000
const RSS_SAMPLE_MS = 5_000
/** Each detector sends one reading every PERIOD_MS: 50 detectors → ~330 readings/s. */
const DEVICES = 50
const PERIOD_MS = 150
/** Every CHURN_MS one detector leaves and comes back CHURN_MS later. */
const CHURN_MS = 2_000
const OFFICER_POLL_MS = 1_000
const DB = 'soak'
const WARMUP_MS = Math.min(5 * 60_000, Math.max(30_000, RUN_MS * 0.2))

interface Detector {
  id: string
  secret: string
  client: MqttClient | undefined
  ts: number
  seq: number
  acked: number
  sent: number
  inFlight: Set<Promise<unknown>>
}

const stats = {
  connects: 0,
  leaves: 0,
  drops: 0,
  publishFailures: 0,
  bad: 0,
  oversize: 0,
  vandalReconnects: 0,
  wrongSecrets: 0,
  wrongSecretsRefused: 0,
  wrongSecretsThrottled: 0,
  apiErrors: 0,
}
const apiLatencies: number[] = []

function connectDetector(port: number, d: Detector): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://${HOST}:${port}`, {
    clientId: d.id,
    username: d.id,
    password: d.secret,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    keepalive: 60,
  })
}

/** One reading, unique per device by its ts; counted as acked when its PUBACK comes. */
function publishReading(d: Detector): void {
  const c = d.client
  if (c === undefined || !c.connected) return
  d.ts = Math.max(Date.now(), d.ts + 1)
  const body = JSON.stringify({ ts: d.ts, seq: d.seq++, values: { obscuration: 0.05, battery: 90 } })
  d.sent++
  const p = c
    .publishAsync(`dev/${d.id}/telemetry`, body, { qos: 1 })
    .then(() => {
      d.acked++
    })
    .catch(() => {
      stats.publishFailures++
    })
  d.inFlight.add(p)
  void p.finally(() => d.inFlight.delete(p))
}

/** A detector leaves (half of the time without a DISCONNECT: the socket just dies) and returns. */
async function churnOne(port: number, d: Detector): Promise<void> {
  const c = d.client
  if (c === undefined) return
  d.client = undefined
  if (Math.random() < 0.5) {
    stats.leaves++
    await Promise.allSettled([...d.inFlight])
    await c.endAsync().catch(() => {})
  } else {
    stats.drops++
    c.stream.destroy()
    await c.endAsync(true).catch(() => {})
  }
  await sleep(CHURN_MS)
  try {
    d.client = await connectDetector(port, d)
    stats.connects++
  } catch {
    // Back on the next churn tick.
  }
}

/** Bad payloads, oversize payloads and a topic outside its prefix, from a registered device. */
function startVandal(port: number, id: string, secret: string, maxPayload: number): () => Promise<void> {
  let client: MqttClient | undefined
  let stopped = false
  let n = 0
  const bad = [
    'not json',
    '{"values": "smoke"}',
    '{"values": {"obscuration": "lots"}}',
    '{"ts": "yesterday", "values": {"obscuration": 1}}',
    '{"values": {"obscuration": 1e999}}',
    '[1,2,3]',
    '',
  ]
  const oversize = JSON.stringify({ values: { obscuration: 0.1 }, pad: 'x'.repeat(maxPayload + 1024) })
  const tick = async () => {
    while (!stopped) {
      try {
        if (client === undefined || !client.connected) {
          client = await mqtt.connectAsync(`mqtt://${HOST}:${port}`, {
            clientId: id,
            username: id,
            password: secret,
            reconnectPeriod: 0,
            connectTimeout: 10_000,
          })
          stats.vandalReconnects++
        }
        n++
        if (n % 10 === 0) {
          stats.oversize++
          await client.publishAsync(`dev/${id}/telemetry`, oversize, { qos: 1 })
        } else if (n % 15 === 0) {
          // Outside its prefix: the broker refuses it and closes the connection.
          stats.bad++
          client.publish('dev/someone-else/telemetry', '{"values":{"obscuration":9}}', { qos: 0 })
        } else {
          stats.bad++
          await client.publishAsync(`dev/${id}/telemetry`, bad[n % bad.length]!, { qos: 1 })
        }
      } catch {
        client = undefined
      }
      await sleep(500)
    }
  }
  const done = tick()
  return async () => {
    stopped = true
    await done
    await client?.endAsync(true).catch(() => {})
  }
}

/** A CONNECT with a wrong secret from 127.0.0.2, raw: resolves with the CONNACK code (or -1). */
function wrongSecret(port: number, id: string): Promise<number> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: HOST, localAddress: '127.0.0.2' })
    const t = setTimeout(() => done(-1), 10_000)
    const done = (code: number) => {
      clearTimeout(t)
      s.destroy()
      resolve(code)
    }
    s.on('connect', () => {
      s.write(
        generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          clientId: id,
          username: id,
          password: Buffer.from(`wrong-${Math.random()}`),
          keepalive: 60,
        }),
      )
    })
    s.on('data', (b: Buffer) => done(b[0] === 0x20 && b.length >= 4 ? b[3]! : -1))
    s.on('close', () => done(-1))
    s.on('error', () => done(-1))
  })
}

async function poll(base: string, token: string): Promise<void> {
  const t0 = performance.now()
  try {
    const res = await fetch(`${base}/api/incidents?limit=50`, {
      headers: { authorization: `Bearer ${token}` },
    })
    await res.arrayBuffer()
    if (res.status !== 200) stats.apiErrors++
  } catch {
    stats.apiErrors++
  }
  apiLatencies.push(performance.now() - t0)
}

async function api(
  base: string,
  method: string,
  url: string,
  body: unknown,
): Promise<Record<string, string>> {
  const res = await fetch(base + url, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (res.status !== 201) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`)
  return (await res.json()) as Record<string, string>
}

/** Repeat `f` every `ms` until stopped; overlapping runs are skipped. */
function every(ms: number, f: () => Promise<void> | void): () => void {
  let busy = false
  const t = setInterval(() => {
    if (busy) return
    busy = true
    void Promise.resolve(f()).finally(() => {
      busy = false
    })
  }, ms)
  return () => clearInterval(t)
}

async function main(): Promise<number> {
  console.log(
    `soak: ${MINUTES} min, ${DEVICES} detectors × 1 reading / ${PERIOD_MS} ms (QoS 1), churn every ${CHURN_MS / 1000} s, warm-up ${fmt(WARMUP_MS / 1000)} s`,
  )
  const influx = await startInfluxDB()
  await influx.database(DB)
  const data = tempDir('firecircle-soak-')
  const reg = await register(data.dir, {
    buildings: 10,
    devicesPerBuilding: [{ kind: 'smoke', n: DEVICES / 10 }],
  })
  const svc: ServiceProc = await startService({ dataDir: data.dir, influx, database: DB })
  let failed = false
  try {
    const maxPayload = 64 * 1024
    const vandal = await api(svc.base, 'POST', '/api/devices', {
      id: 'vandal-1',
      kind: 'smoke',
      building: 'b0',
    })
    await api(svc.base, 'POST', '/api/devices', { id: 'target-1', kind: 'smoke', building: 'b1' })
    const officers = await Promise.all(
      [
        { id: 'o-community', name: 'Li Na', scope: 'community:xixiang-01' },
        { id: 'o-street', name: 'Zhao Lei', scope: 'street:xinan' },
        { id: 'o-district', name: 'Sun Yu', scope: 'district' },
      ].map((o) => api(svc.base, 'POST', '/api/officers', o).then((r) => r['token']!)),
    )

    const detectors: Detector[] = reg.devices.slice(0, DEVICES).map((c) => ({
      id: c.id,
      secret: c.secret,
      client: undefined,
      ts: 0,
      seq: 0,
      acked: 0,
      sent: 0,
      inFlight: new Set(),
    }))
    for (const d of detectors) {
      d.client = await connectDetector(svc.mqttPort, d)
      stats.connects++
    }

    const started = performance.now()
    const stops: (() => void)[] = []
    // Each detector on its own timer, offset so that the load is even.
    detectors.forEach((d, i) => {
      const t = setTimeout(
        () => stops.push(every(PERIOD_MS, () => publishReading(d))),
        (i * PERIOD_MS) / DEVICES,
      )
      stops.push(() => clearTimeout(t))
    })
    let churnIndex = 0
    stops.push(
      every(CHURN_MS, () => {
        const d = detectors[(churnIndex++ * 7) % detectors.length]!
        void churnOne(svc.mqttPort, d)
      }),
    )
    const stopVandal = startVandal(svc.mqttPort, 'vandal-1', vandal['secret']!, maxPayload)
    let wrongIndex = 0
    stops.push(
      every(2_000, async () => {
        stats.wrongSecrets++
        const id = wrongIndex++ % 2 === 0 ? 'target-1' : `nobody-${wrongIndex}`
        const code = await wrongSecret(svc.mqttPort, id)
        // 4/5: refused after the check; 3: refused unchecked while 127.0.0.2 backs off (README §Hostile traffic).
        if (code === 3 || code === 4 || code === 5) stats.wrongSecretsRefused++
        if (code === 3) stats.wrongSecretsThrottled++
      }),
    )
    for (const token of officers) stops.push(every(OFFICER_POLL_MS, () => poll(svc.base, token)))

    const rss: { t: number; mib: number }[] = []
    stops.push(
      every(RSS_SAMPLE_MS, () => void rss.push({ t: performance.now() - started, mib: rssMiB(svc.pid) })),
    )
    let maxLag = 0
    let lastAcked = 0
    let lastReport = started
    const acked = () => detectors.reduce((a, d) => a + d.acked, 0)
    const report = async (label?: string) => {
      const m = await metrics(svc.base).catch(() => new Map<string, number>())
      const lag = (m.get('nodejs_eventloop_lag_p99_seconds') ?? Number.NaN) * 1000
      if (lag > maxLag) maxLag = lag
      const lat = apiLatencies.splice(0).sort((a, b) => a - b)
      const now = performance.now()
      const a = acked()
      console.log(
        [
          label ?? `t=${fmt((now - started) / 1000).padStart(5)} s`,
          `rss ${fmt(rssMiB(svc.pid), 1)} MiB`,
          `loop p99 ${fmt(lag, 1)} ms`,
          `api p50 ${lat.length ? fmt(pct(lat, 0.5), 1) : '-'} ms p99 ${lat.length ? fmt(pct(lat, 0.99), 1) : '-'} ms (${lat.length})`,
          `acked ${fmt(a)} (${fmt((a - lastAcked) / ((now - lastReport) / 1000))}/s)`,
          `spool ${fmt(m.get('firecircle_spool_depth') ?? Number.NaN)}`,
          `churn ${stats.leaves + stats.drops}`,
          `bad ${stats.bad} oversize ${stats.oversize} wrong-secret ${stats.wrongSecretsRefused}/${stats.wrongSecrets}`,
        ].join('  '),
      )
      lastAcked = a
      lastReport = now
    }
    const stopReports = every(REPORT_MS, () => report())
    while (performance.now() - started < RUN_MS) {
      await sleep(500)
      if (svc.child.exitCode !== null) throw new Error(`the service exited:\n${svc.output()}`)
    }
    stopReports()
    for (const s of stops) s()
    await stopVandal()
    await report('end (load stopped)')

    // Drain: the last PUBACKs, then every detector leaves, then the spool empties into InfluxDB.
    await Promise.allSettled(detectors.flatMap((d) => [...d.inFlight]))
    await Promise.allSettled(detectors.map((d) => d.client?.endAsync()))
    const drainDeadline = Date.now() + 120_000
    while (Date.now() < drainDeadline) {
      const m = await metrics(svc.base)
      if ((m.get('firecircle_spool_depth') ?? 1) === 0) break
      await sleep(500)
    }
    const stored = new Map<string, number>()
    const totalAcked = acked()
    for (let tries = 0; tries < 20; tries++) {
      const rows = await influx.query('SELECT COUNT("seq") AS n FROM "telemetry" GROUP BY "device"', DB)
      stored.clear()
      for (const r of rows) stored.set(String(r['device']), Number(r['n']))
      if (detectors.every((d) => (stored.get(d.id) ?? 0) >= d.acked)) break
      await sleep(1000)
    }
    const lost = detectors.reduce((a, d) => a + Math.max(0, d.acked - (stored.get(d.id) ?? 0)), 0)
    const devicesLosing = detectors.filter((d) => (stored.get(d.id) ?? 0) < d.acked).map((d) => d.id)
    const storedTotal = detectors.reduce((a, d) => a + (stored.get(d.id) ?? 0), 0)
    const sentTotal = detectors.reduce((a, d) => a + d.sent, 0)

    const steady = rss.filter((s) => s.t >= WARMUP_MS)
    const third = Math.max(1, Math.floor(steady.length / 3))
    const first = median(steady.slice(0, third).map((s) => s.mib))
    const last = median(steady.slice(-third).map((s) => s.mib))
    const growth = (last - first) / first
    const rssFlat = steady.length >= 3 && growth <= 0.1
    const seconds = (performance.now() - started) / 1000

    console.log('')
    console.log(
      `readings: sent ${fmt(sentTotal)}, acknowledged ${fmt(totalAcked)} (${fmt(totalAcked / seconds)}/s), in InfluxDB ${fmt(storedTotal)} for the ${DEVICES} detectors; acknowledged but missing ${fmt(lost)}${devicesLosing.length ? ` (${devicesLosing.slice(0, 5).join(', ')}…)` : ''}`,
    )
    console.log(
      `churn: ${stats.leaves} clean leaves, ${stats.drops} dropped sockets, ${stats.connects} connects; vandal: ${stats.bad} bad, ${stats.oversize} oversize, ${stats.vandalReconnects} (re)connects; wrong secrets: ${stats.wrongSecretsRefused} of ${stats.wrongSecrets} refused (${stats.wrongSecretsThrottled} of them unchecked, CONNACK 3, while the address backed off); API errors ${stats.apiErrors}; publish failures ${stats.publishFailures} (unacked, at churn)`,
    )
    console.log(
      `rss: first third median ${fmt(first, 1)} MiB, last third ${fmt(last, 1)} MiB (${growth >= 0 ? '+' : ''}${fmt(growth * 100, 1)} %, ${steady.length} samples after a ${fmt(WARMUP_MS / 1000)} s warm-up); event loop p99 max ${fmt(maxLag, 1)} ms`,
    )
    const ok = rssFlat && lost === 0 && totalAcked > 0 && stats.apiErrors === 0
    console.log(
      `verdict: ${ok ? 'PASS' : 'FAIL'} — RSS ${rssFlat ? 'flat' : 'NOT flat'} (≤ 10 %), ${lost === 0 ? 'zero' : fmt(lost)} acknowledged readings lost${stats.apiErrors ? `, ${stats.apiErrors} API errors` : ''}`,
    )
    failed = !ok
  } catch (err) {
    console.error(`soak: ${(err as Error).stack ?? err}`)
    failed = true
  } finally {
    await svc.stop()
    await influx.destroy()
    data.cleanup()
  }
  return failed ? 1 : 0
}

process.exit(await main())

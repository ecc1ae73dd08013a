/**
 * Fire first under overload (issue #14, item 2 and its targets):
 *
 *   node --import tsx bench/overload.ts
 *
 * The service as its own process on InfluxDB 1.x. First its QoS 1 capacity is measured in the
 * same run (a 10 s flood from 1,000 connections over 3 generator processes: acknowledged
 * readings/s). Then it is offered 1.5 × that: two generators send paced QoS 1 telemetry (2/3 of
 * the offer), one paced QoS 0 telemetry (1/3), while this process fires manual call points one at
 * a time (bench/alarm-probe.ts: PUBLISH → incident on SSE, → first offer at a responder, →
 * sounder command) and polls `GET /api/incidents` as a duty officer would (every 100 ms, its
 * latency timed). At the end the generators stop, the spool drains, and every acknowledged QoS 1
 * reading is looked for in InfluxDB; QoS 0 readings shed by the spool's bound are counted
 * (`firecircle_intake_shed_total`).
 *
 * Targets: call point → incident on SSE p99 ≤ 100 ms, → first offer p99 ≤ 150 ms;
 * GET /api/incidents p99 ≤ 100 ms; zero acknowledged readings lost; QoS 0 shed counted.
 */
import os from 'node:os'
import { type AlarmProbe, openAlarmProbe, registerAlarmBuildings } from './alarm-probe.ts'
import {
  ADMIN_TOKEN,
  connectWorkers,
  cpuSeconds,
  fmt,
  forkWorker,
  pct,
  register,
  sleep,
  startInfluxDB,
  startService,
  tempDir,
  type Worker,
} from './lib.ts'

const ALARMS = Number(process.env['BENCH_ALARMS'] ?? 200)
/** The service's layout (FC_THREADS): 2, the default, or 1 (everything on one thread, as before). */
const THREADS = process.env['BENCH_THREADS'] ?? '2'
const OVERLOAD = Number(process.env['BENCH_OVERLOAD'] ?? 1.5)
const BACKGROUND_DEVICES = 1000
const CENTER: [number, number] = [113.869, 22.578]
const TARGETS = { sse: 100, offer: 150, api: 100 }

const acked = (ws: Worker[]) => ws.reduce((s, w) => s + (w.last?.acked ?? 0), 0)
const sent = (ws: Worker[]) => ws.reduce((s, w) => s + (w.last?.sent ?? 0), 0)

async function metric(base: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  let sum = 0
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      if (line.includes(labels)) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  return sum
}

/** Poll GET /api/incidents every 100 ms until stopped; the latencies in ms. */
function pollIncidents(base: string): { stop(): Promise<number[]> } {
  const times: number[] = []
  let running = true
  const loop = (async () => {
    while (running) {
      const t = performance.now()
      const res = await fetch(`${base}/api/incidents?status=open`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
      await res.arrayBuffer()
      times.push(performance.now() - t)
      await sleep(100)
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      return times.sort((a, b) => a - b)
    },
  }
}

const show = (x: number[]) =>
  x.length
    ? `p50 ${fmt(pct(x, 0.5), 1)} ms, p99 ${fmt(pct(x, 0.99), 1)} ms, max ${fmt(x[x.length - 1]!, 1)} ms (${x.length})`
    : 'none'
const verdict = (p99: number, target: number) =>
  p99 <= target ? `met (≤ ${target} ms)` : `MISSED by ${fmt(p99 - target, 1)} ms (target ≤ ${target} ms)`

async function main(): Promise<void> {
  const influx = await startInfluxDB()
  await influx.database('bench')
  const data = tempDir('firecircle-bench-overload-')
  const reg = await register(data.dir, {
    buildings: ALARMS + 100,
    devicesPerBuilding: [],
    near: { center: CENTER, radius: 0.004 },
    responders: [{ id: 'ms-1', type: 'micro_station', mode: 'motor', location: CENTER }],
  })
  const devices = await registerAlarmBuildings(data.dir, ALARMS, BACKGROUND_DEVICES, 'call_point')
  const svc = await startService({
    dataDir: data.dir,
    influx,
    database: 'bench',
    env: { FC_THREADS: THREADS },
  })
  const qos1Workers = await Promise.all([forkWorker(), forkWorker()])
  const qos0Workers = [await forkWorker()]
  const all = [...qos1Workers, ...qos0Workers]
  const q1Conns = devices.background.slice(0, (BACKGROUND_DEVICES * 2) / 3)
  const q0Conns = devices.background.slice((BACKGROUND_DEVICES * 2) / 3)
  let probe: AlarmProbe | undefined
  const say = (s: string) => console.log(s)
  try {
    for (const [ws, conns] of [
      [qos1Workers, q1Conns],
      [qos0Workers, q0Conns],
    ] as const) {
      const c = await connectWorkers(ws, conns, { port: svc.mqttPort, concurrency: 50 })
      if (c.failed) throw new Error(`background connections failed: ${c.firstError}`)
    }
    probe = await openAlarmProbe({
      base: svc.base,
      mqttPort: svc.mqttPort,
      responder: { id: 'ms-1', secret: reg.responders[0]!.secret },
      buildings: devices.alarm,
      kind: 'call_point',
    })

    // 1. The capacity, measured now: QoS 1 flood from every generator for 10 s.
    let baseTs = Date.now() - 3_600_000
    for (const w of all)
      w.send({
        cmd: 'start',
        mode: 'flood',
        qos: 1,
        window: 4,
        rate: 0,
        baseTs,
        durationMs: 12_000,
        values: '"temperature":22.5',
      })
    await sleep(2000)
    const a0 = acked(all)
    const cpu0 = cpuSeconds(svc.pid)
    await sleep(10_000)
    const capacity = (acked(all) - a0) / 10
    const floodCpu = ((cpuSeconds(svc.pid) - cpu0) / 10) * 100
    await Promise.all(all.map((w) => w.next('stopped', 30_000)))
    await sleep(3000)

    // 2. Offered OVERLOAD × capacity: 2/3 QoS 1, 1/3 QoS 0, while call points go off.
    const offered = capacity * OVERLOAD
    baseTs = Date.now() - 1_800_000
    const durationMs = 3_600_000
    for (const w of qos1Workers)
      w.send({
        cmd: 'start',
        mode: 'paced',
        qos: 1,
        window: 8,
        rate: (offered * 2) / 3 / qos1Workers.length,
        baseTs,
        durationMs,
        values: '"temperature":22.5',
      })
    for (const w of qos0Workers)
      w.send({
        cmd: 'start',
        mode: 'paced',
        qos: 0,
        window: 1,
        rate: offered / 3,
        baseTs,
        durationMs,
        values: '"temperature":22.5',
      })
    await sleep(3000)
    say(
      `overload bench (FC_THREADS=${THREADS}; load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(
          ', ',
        )}): QoS 1 capacity measured in this run ${fmt(capacity)} readings/s (10 s flood, 1,000 connections, 3 generators; service CPU ${fmt(floodCpu)} %); offered ${fmt(OVERLOAD, 1)} × = ${fmt(offered)}/s (${fmt((offered * 2) / 3)} QoS 1 + ${fmt(offered / 3)} QoS 0); ${ALARMS} manual call points one at a time; an officer polling GET /api/incidents every 100 ms; 2 shared cores`,
    )
    const poll = pollIncidents(svc.base)
    const s1 = sent(qos1Workers)
    const k1 = acked(qos1Workers)
    const s0 = sent(qos0Workers)
    const t0 = performance.now()
    const cpu1 = cpuSeconds(svc.pid)
    const times = { a: [] as number[], b: [] as number[], c: [] as number[], missing: 0 }
    for (const b of devices.alarm) {
      const m = await probe.fire(b)
      if (m.a === undefined || m.b === undefined) times.missing++
      if (m.a !== undefined) times.a.push(m.a)
      if (m.b !== undefined) times.b.push(m.b)
      if (m.c !== undefined) times.c.push(m.c)
    }
    const secs = (performance.now() - t0) / 1000
    const api = await poll.stop()
    const cpu = ((cpuSeconds(svc.pid) - cpu1) / secs) * 100
    const rates = {
      q1sent: (sent(qos1Workers) - s1) / secs,
      q1acked: (acked(qos1Workers) - k1) / secs,
      q0sent: (sent(qos0Workers) - s0) / secs,
    }
    for (const x of [times.a, times.b, times.c]) x.sort((p, q) => p - q)

    // 3. Stop the load, let the spool drain, and look for every acknowledged reading.
    for (const w of all) w.send({ cmd: 'stop' })
    await Promise.all(all.map((w) => w.next('stopped', 60_000)))
    const drainStart = Date.now()
    for (;;) {
      const r = (await (await fetch(`${svc.base}/readyz`)).json()) as { checks: { spool_depth: number } }
      if (r.checks.spool_depth === 0 || Date.now() - drainStart > 120_000) break
      await sleep(500)
    }
    const ackedQos1 = acked(qos1Workers)
    // The paced phase's readings only (their ts from its baseTs on; the flood's are 30 min older).
    const since = `time >= ${baseTs}ms`
    const storedRows = await influx.query(
      `SELECT COUNT("seq") AS n FROM "telemetry" WHERE "device" =~ /^bg-/ AND ${since}`,
      'bench',
    )
    const storedQos0Rows = await influx.query(
      `SELECT COUNT("seq") AS n FROM "telemetry" WHERE "device" =~ /^bg-(${q0Conns.map((c) => c.id.slice(3)).join('|')})$/ AND ${since}`,
      'bench',
    )
    const stored = Number(storedRows[0]?.['n'] ?? 0)
    const storedQos0 = Number(storedQos0Rows[0]?.['n'] ?? 0)
    const shed = await metric(svc.base, 'firecircle_intake_shed_total', 'qos="0"')
    const lost = Math.max(0, ackedQos1 - (stored - storedQos0))

    say(
      `  offered during the alarms: QoS 1 ${fmt(rates.q1sent)}/s sent, ${fmt(rates.q1acked)}/s acknowledged (back-pressure: ${fmt(100 - (rates.q1acked / Math.max(1, rates.q1sent)) * 100)} % not yet); QoS 0 ${fmt(rates.q0sent)}/s sent; service CPU ${fmt(cpu)} % over ${fmt(secs, 1)} s`,
    )
    say(
      `  (a) call point PUBLISH → incident on SSE: ${show(times.a)} — ${verdict(pct(times.a, 0.99), TARGETS.sse)}`,
    )
    say(
      `  (b) call point PUBLISH → first offer at the responder: ${show(times.b)} — ${verdict(pct(times.b, 0.99), TARGETS.offer)}`,
    )
    say(`  (c) call point PUBLISH → sounder command: ${show(times.c)}`)
    say(
      `  GET /api/incidents?status=open while overloaded: ${show(api)} — ${verdict(pct(api, 0.99), TARGETS.api)}`,
    )
    say(`  alarms missing a signal within 5 s: ${times.missing}`)
    say(
      `  QoS 1 readings acknowledged ${fmt(ackedQos1)}, in InfluxDB ${fmt(stored - storedQos0)}: acknowledged but missing ${fmt(lost)}${lost === 0 ? ' (met)' : ' (MISSED)'}`,
    )
    say(
      `  QoS 0 readings: sent ${fmt(sent(qos0Workers))}, in InfluxDB ${fmt(storedQos0)}, shed by the spool's bound (firecircle_intake_shed_total) ${fmt(shed)}, unaccounted ${fmt(sent(qos0Workers) - storedQos0 - shed)}`,
    )
    if (lost > 0) process.exitCode = 1
  } finally {
    probe?.close()
    await Promise.all(all.map((w) => w.close()))
    await svc.stop()
    await influx.stop()
    data.cleanup()
  }
}

await main()
process.exit(process.exitCode ?? 0)

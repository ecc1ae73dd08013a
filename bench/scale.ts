/**
 * Scale (issue #8, item 4):
 *
 *   node --import tsx bench/scale.ts
 *
 * 10,000 devices, each its own MQTT connection, and 100,000 devices behind 500 gateways
 * (200 each, docs/PROTOCOL.md `gw/{id}/telemetry`), registered straight into the data dir
 * (setup), against the service as its own process (InfluxDB 1.x store). Connections come from
 * GENERATORS load generator processes, each device with its will and a retained "online"
 * birth, as devices/device-client.ts connects.
 *
 * RUNS times: connect all 10,500 (CONNECTs/s over the 10,000 devices and 500 gateways, CONNACK
 * received, 100 CONNECTs in flight per generator), then the service's RSS once they are all
 * connected; the connections of every run but the last are then closed (the service sees the
 * wills). After the last run every device sends its heartbeat (its telemetry) once a minute,
 * the nominal reporting interval of a smoke detector, and the gateways one batch of all their
 * devices' readings a minute, for HOLD_S seconds: longer than the 3 × 60 s after which a silent
 * device goes offline. At the end, the number of devices the service holds online (its live
 * device state, as the API shows it) must be all 110,500, and RSS is read again.
 */
import path from 'node:path'
import Database from 'better-sqlite3'
import {
  connectWorkers,
  cpuSeconds,
  fmt,
  forkWorker,
  median,
  metrics,
  register,
  rssMiB,
  sleep,
  startInfluxDB,
  startService,
  tempDir,
  type Worker,
} from './lib.ts'

const DEVICES = Number(process.env['BENCH_SCALE_DEVICES'] ?? 10_000)
const GATEWAYS = Number(process.env['BENCH_SCALE_GATEWAYS'] ?? 500)
const CARRY = 200
const GENERATORS = 4
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3)
const HOLD_S = Number(process.env['BENCH_SCALE_HOLD_S'] ?? 200)

async function main(): Promise<void> {
  const influx = await startInfluxDB()
  await influx.database('bench')
  const data = tempDir('firecircle-bench-scale-')
  const t0 = performance.now()
  const reg = await register(data.dir, {
    buildings: 1000,
    devicesPerBuilding: [{ kind: 'smoke', n: DEVICES / 1000 }],
    gateways: { n: GATEWAYS, carry: CARRY },
  })
  const registered = reg.devices.length + reg.gateways.length * (CARRY + 1)
  const setupS = (performance.now() - t0) / 1000
  const svc = await startService({ dataDir: data.dir, influx, database: 'bench' })
  const idleRss = rssMiB(svc.pid)
  console.log(
    `scale bench: ${fmt(DEVICES)} devices on their own connections + ${fmt(GATEWAYS)} gateways carrying ${fmt(GATEWAYS * CARRY)} devices (${fmt(registered)} devices registered in ${fmt(setupS, 1)} s, setup); ${GENERATORS} generator processes; service RSS before any connection ${fmt(idleRss)} MiB; 2 shared cores`,
  )
  const conns = [...reg.devices, ...reg.gateways]
  const runs: { rate: number; seconds: number; rss: number }[] = []
  let workers: Worker[] = []
  try {
    for (let run = 1; run <= RUNS; run++) {
      workers = await Promise.all(Array.from({ length: GENERATORS }, forkWorker))
      const cpuBefore = cpuSeconds(svc.pid)
      const genBefore = workers.reduce((a, w) => a + cpuSeconds(w.child.pid!), 0)
      const c = await connectWorkers(workers, conns, { port: svc.mqttPort, concurrency: 100, birth: true })
      if (c.failed > 0) throw new Error(`${c.failed} of ${conns.length} connections failed: ${c.firstError}`)
      const svcCpu = (cpuSeconds(svc.pid) - cpuBefore) / c.seconds
      const genCpu = (workers.reduce((a, w) => a + cpuSeconds(w.child.pid!), 0) - genBefore) / c.seconds
      await sleep(2000)
      const m = await metrics(svc.base)
      const rss = rssMiB(svc.pid)
      runs.push({ rate: c.perSecond, seconds: c.seconds, rss })
      console.log(
        `  run ${run}: ${fmt(c.ok)} connections in ${fmt(c.seconds, 1)} s = ${fmt(c.perSecond)} CONNECTs/s; CPU while connecting: service ${fmt(svcCpu * 100)}%, generators ${fmt(genCpu * 100)}%; broker reports ${fmt(m.get('firecircle_mqtt_connected_clients') ?? 0)} connected; service RSS ${fmt(rss)} MiB`,
      )
      if (run < RUNS) {
        await Promise.all(workers.map((w) => w.close()))
        const until = Date.now() + 60_000
        while ((await metrics(svc.base)).get('firecircle_mqtt_connected_clients')! > 0 && Date.now() < until)
          await sleep(500)
      }
    }

    // Heartbeats from everything for HOLD_S seconds.
    const cpu0 = cpuSeconds(svc.pid)
    const baseTs = Date.now()
    for (const w of workers) {
      w.send({
        cmd: 'start',
        mode: 'heartbeat',
        qos: 1,
        window: 1,
        rate: 0,
        intervalMs: 60_000,
        baseTs,
        durationMs: HOLD_S * 1000,
        values: '"obscuration":0.1,"battery":90',
      })
    }
    let peakRss = 0
    const holdStart = Date.now()
    while (Date.now() - holdStart < HOLD_S * 1000) {
      await sleep(5000)
      peakRss = Math.max(peakRss, rssMiB(svc.pid))
    }
    await Promise.all(workers.map((w) => w.next('stopped')))
    const sent = workers.reduce((s, w) => s + (w.last?.sent ?? 0), 0)
    const cpu = (cpuSeconds(svc.pid) - cpu0) / HOLD_S
    await sleep(1500) // the live state is written to SQLite every second
    const online = countOnline(data.dir)
    const m = await metrics(svc.base)
    const dropped = workers.reduce((s, w) => s + (w.last?.closed ?? 0), 0)
    console.log(
      `  hold: ${HOLD_S} s of heartbeats (1/min per device, gateways batching their 200): ${fmt(sent)} readings sent (${fmt(sent / HOLD_S)}/s), service CPU ${fmt(cpu * 100)}%, peak RSS ${fmt(peakRss)} MiB; ${fmt(m.get('firecircle_mqtt_connected_clients') ?? 0)} still connected, ${dropped} connections dropped`,
    )
    console.log('')
    const rates = runs.map((r) => r.rate)
    const rsses = runs.map((r) => r.rss)
    console.log(
      `connection rate: ${fmt(median(rates))} CONNECTs/s with CONNACK (median of ${RUNS}; runs: ${rates.map((r) => fmt(r)).join(', ')}); ${fmt(conns.length)} connections each run, secrets checked as salted HMAC-SHA256 (services/registry/secrets.ts)`,
    )
    console.log(
      `service RSS with ${fmt(conns.length)} connections and ${fmt(registered)} devices: ${fmt(median(rsses))} MiB (median of ${RUNS}; runs: ${rsses.map((r) => fmt(r)).join(', ')}); peak during the ${HOLD_S} s of heartbeats ${fmt(peakRss)} MiB`,
    )
    console.log(
      `devices online after ${HOLD_S} s of heartbeats (offline after 180 s of silence): ${fmt(online.online)} of ${fmt(registered)} registered (${fmt(online.offline)} offline, ${fmt(registered - online.online - online.offline)} never seen); target all: ${online.online === registered ? 'met' : `MISSED: ${fmt(registered - online.online)} not online`}`,
    )
  } finally {
    await Promise.all(workers.map((w) => w.close()))
    await svc.stop()
    await influx.stop()
    data.cleanup()
  }
}

/** The service's live device state (liveness, flushed to SQLite every second), read-only. */
function countOnline(dataDir: string): { online: number; offline: number } {
  const db = new Database(path.join(dataDir, 'state.db'), { readonly: true, fileMustExist: true })
  try {
    const row = db
      .prepare(
        `SELECT SUM(json_extract(state, '$.online') = 1) AS online, SUM(json_extract(state, '$.online') = 0) AS offline FROM device_state`,
      )
      .get() as { online: number | null; offline: number | null }
    return { online: row.online ?? 0, offline: row.offline ?? 0 }
  } finally {
    db.close()
  }
}

await main()
process.exit(0)

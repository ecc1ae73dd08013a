/**
 * Ingest benchmark (issue #8, items 1 and 2):
 *
 *   node --import tsx bench/ingest.ts              # 3 runs, medians
 *   node --import tsx bench/ingest.ts --profile    # one run with the service under --cpu-prof
 *
 * One InfluxDB 1.x (Debian's influxd, the test harness), the service as its own process
 * (`node --import tsx services/main.ts`, durable spool on, FC_INFLUX_URL → that influxd), and
 * Debian's Mosquitto on a free port with a plain subscriber (`dev/+/telemetry`, QoS 0). 1,000
 * heat detectors, each its own MQTT connection, spread over GENERATORS load generator
 * processes (bench/load/worker.ts); the same generator, with the same connections and
 * payloads, runs against both brokers in the same run, one after the other.
 *
 * Each run measures, over a window after a warm-up:
 * - store ceiling: InfluxDB's raw batched write rate for the same point shape (line protocol,
 *   5,000 points per request, 2 requests in flight, from this process);
 * - service QoS 1: every connection keeps WINDOW PUBLISHes in flight; readings/s
 *   acknowledged (PUBACK, i.e. in the spool on disk) and stored (acknowledged by InfluxDB).
 *   End to end = the lower of the two. After the load, the spool must drain and InfluxDB must
 *   hold exactly the readings the service accepted (checked with COUNT);
 * - service QoS 0: offered in steps (QOS0_STEPS), readings/s accepted by the intake and stored;
 *   QoS 0 has no flow control, so the figure is the best step the service kept up with;
 * - Mosquitto QoS 1: PUBACKs/s at the generators, and what the subscriber received;
 * - Mosquitto QoS 0: offered at MOSQ_QOS0_RATE/s, what the subscriber received.
 * CPU use of the service (or Mosquitto), the generators and influxd over the window is printed
 * so that it is visible what bounds a figure: everything shares the same 2 cores.
 *
 * Issue #14 (items 1, 3, 5): the service runs in both layouts side by side in each run —
 * FC_THREADS=2 (the spool and the pipeline on a thread of their own, the default) and
 * FC_THREADS=1 (everything on one thread, as before) — each with its own data dir and its own
 * generators, QoS 1 one after the other; "CPU µs per acknowledged reading" is printed for both
 * and for Mosquitto. The generator processes are pinned to the last core (taskset; BENCH_PIN=0
 * leaves them free) so that their share is bounded and printed, and Mosquitto is also measured
 * with twice the generator processes (BENCH_MOSQ_GENERATORS_MORE), a load that its one thread
 * cannot make the generators the bound of.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  connectWorkers,
  cpuSeconds,
  fmt,
  forkWorker,
  HOST,
  type InfluxHarness,
  median,
  metrics,
  register,
  type ServiceProc,
  sleep,
  startInfluxDB,
  startMosquitto,
  startService,
  tempDir,
  type Worker,
} from './lib.ts'

const DEVICES = 1000
const GENERATORS = Number(process.env['BENCH_GENERATORS'] ?? 3)
const DURATION_MS = Number(process.env['BENCH_DURATION_MS'] ?? 14_000)
const WARMUP_MS = 4000
const WINDOW = Number(process.env['BENCH_WINDOW'] ?? 4)
/** QoS 0 has no flow control: offered in steps; sustained = the best step the service kept up with. */
const QOS0_STEPS = (process.env['BENCH_QOS0_STEPS'] ?? '20000,25000,30000,35000').split(',').map(Number)
/** Mosquitto's QoS 0 is offered at this rate (it shows where the generators stop). */
const MOSQ_QOS0_RATE = Number(process.env['BENCH_MOSQ_QOS0_RATE'] ?? 80_000)
const rootArg = process.argv.indexOf('--root')
const serviceRoot = rootArg > 0 ? process.argv[rootArg + 1] : undefined
const profile = process.argv.includes('--profile')
/** Only the service's phases (no Mosquitto, no store ceiling): bench/profile-ab.sh. */
const serviceOnly = profile || process.argv.includes('--service-only')
const RUNS = profile ? 1 : Number(process.env['BENCH_RUNS'] ?? 3)
/** The service's layouts measured side by side (FC_THREADS); the first is the one the QoS 0 steps use. */
const LAYOUTS = (process.env['BENCH_LAYOUTS'] ?? (profile ? '2' : '2,1')).split(',').map(Number) as (1 | 2)[]
const PIN = process.env['BENCH_PIN'] !== '0'
/** Mosquitto is measured a second time with this many generator processes. */
const MOSQ_GENERATORS_MORE = Number(process.env['BENCH_MOSQ_GENERATORS_MORE'] ?? GENERATORS * 2)
const VALUES = '"temperature":22.5,"battery":90'
const DB = 'bench'

export interface PhaseResult {
  /** Readings/s acknowledged (QoS 1: PUBACK) or accepted (QoS 0: intake / subscriber). */
  acked: number
  /** Readings/s stored (service: acknowledged by InfluxDB; Mosquitto: received by the subscriber). */
  stored: number
  sent: number
  brokerCpu: number
  generatorCpu: number
  influxCpu: number
  drainS?: number
  /**
   * Whole phase: service = readings accepted ÷ time from the start of the load until the last
   * of them was in InfluxDB; Mosquitto = PUBACKs ÷ the load's duration.
   */
  e2e: number
  countOk?: boolean
  detail?: string
}

interface Sample {
  t: number
  sent: number
  acked: number
  received: number
  accepted: number
  written: number
  genCpu: number
  brokerCpu: number
  influxCpu: number
}

async function storeCeiling(influx: InfluxHarness, devices: string[], seconds: number): Promise<number> {
  const base = Date.now()
  let seq = 0
  const batch = () => {
    const lines: string[] = []
    for (let i = 0; i < 5000; i++) {
      const k = seq++
      const d = devices[k % devices.length]!
      const b = d.split('-')[1]
      const c = Number(b) % 2 === 0 ? 'xixiang-01,street=xixiang' : 'xinan-01,street=xinan'
      lines.push(
        `telemetry,building=b${b},community=${c},device=${d},kind=heat battery=90,seq=${k}i,temperature=22.5 ${base + Math.floor(k / devices.length)}`,
      )
    }
    return lines.join('\n')
  }
  let points = 0
  const end = Date.now() + seconds * 1000
  const started = performance.now()
  const writer = async () => {
    while (Date.now() < end) {
      const body = batch()
      const res = await fetch(`${influx.url}/write?db=ceiling&precision=ms`, { method: 'POST', body })
      if (res.status !== 204) throw new Error(`influx write: ${res.status} ${await res.text()}`)
      points += 5000
    }
  }
  await Promise.all([writer(), writer()])
  return points / ((performance.now() - started) / 1000)
}

const sum = (ws: Worker[], f: (p: NonNullable<Worker['last']>) => number) =>
  ws.reduce((a, w) => a + (w.last ? f(w.last) : 0), 0)

async function phase(o: {
  workers: Worker[]
  sub?: Worker
  svc?: ServiceProc
  brokerPid: number
  influxPid: number
  mode: 'flood' | 'paced'
  qos: 0 | 1
  rate?: number
}): Promise<PhaseResult> {
  const baseTs = Date.now()
  const m0 = o.svc ? await metrics(o.svc.base) : undefined
  const sample = async (): Promise<Sample> => {
    const m = o.svc ? await metrics(o.svc.base) : undefined
    return {
      t: performance.now(),
      sent: sum(o.workers, (p) => p.sent),
      acked: sum(o.workers, (p) => p.acked),
      received: o.sub?.last?.received ?? 0,
      accepted: m?.get('firecircle_intake_readings_total') ?? 0,
      written: m?.get('firecircle_store_points_written_total') ?? 0,
      genCpu: o.workers.reduce((a, w) => a + cpuSeconds(w.child.pid!), 0),
      brokerCpu: cpuSeconds(o.brokerPid),
      influxCpu: cpuSeconds(o.influxPid),
    }
  }
  for (const w of o.workers) {
    w.last = undefined
    w.send({
      cmd: 'start',
      mode: o.mode,
      qos: o.qos,
      window: WINDOW,
      rate: (o.rate ?? 0) / o.workers.length,
      baseTs,
      durationMs: DURATION_MS,
      values: VALUES,
    })
  }
  const t0 = performance.now()
  const samples: Sample[] = []
  while (performance.now() - t0 < DURATION_MS - 500) {
    await sleep(1000)
    samples.push(await sample())
    if (process.env['BENCH_VERBOSE'] && o.svc) {
      const m = await metrics(o.svc.base)
      console.error(
        `    t=${fmt((performance.now() - t0) / 1000, 1)} accepted ${m.get('firecircle_intake_readings_total')} written ${m.get('firecircle_store_points_written_total')} depth ${m.get('firecircle_spool_depth')} lag ${fmt((m.get('nodejs_eventloop_lag_seconds') ?? 0) * 1000)} ms writes ${m.get('firecircle_store_write_seconds_count')}`,
      )
    }
  }
  await Promise.all(o.workers.map((w) => w.next('stopped')))
  const warm = samples.filter((s) => s.t - t0 >= WARMUP_MS)
  const used = warm.length >= 2 ? warm : samples
  const a = used[0]!
  const b = used[used.length - 1]!
  const dt = (b.t - a.t) / 1000
  const rate = (f: (s: Sample) => number) => (f(b) - f(a)) / dt
  const sent = sum(o.workers, (p) => p.sent)
  const r: PhaseResult = {
    acked: o.svc
      ? o.qos === 1
        ? rate((s) => s.acked)
        : rate((s) => s.accepted)
      : o.qos === 1
        ? rate((s) => s.acked)
        : rate((s) => s.received),
    stored: o.svc ? rate((s) => s.written) : rate((s) => s.received),
    sent,
    brokerCpu: rate((s) => s.brokerCpu),
    generatorCpu: rate((s) => s.genCpu),
    influxCpu: rate((s) => s.influxCpu),
    e2e: (o.qos === 1 ? sum(o.workers, (p) => p.acked) : (o.sub?.last?.received ?? 0)) / (DURATION_MS / 1000),
  }
  if (o.svc && m0) {
    // Everything accepted must reach InfluxDB: wait for the spool to drain, then COUNT.
    const stopped = performance.now()
    let m = await metrics(o.svc.base)
    const accepted = () =>
      m.get('firecircle_intake_readings_total')! - m0.get('firecircle_intake_readings_total')!
    const written = () =>
      m.get('firecircle_store_points_written_total')! - m0.get('firecircle_store_points_written_total')!
    while (
      (written() < accepted() || (m.get('firecircle_spool_depth') ?? 0) > 0) &&
      performance.now() - stopped < 180_000
    ) {
      await sleep(100)
      m = await metrics(o.svc.base)
    }
    const done = performance.now()
    r.drainS = (done - stopped) / 1000
    r.e2e = accepted() / ((done - t0) / 1000)
    r.countOk = false
    const d = (name: string) => (m.get(name) ?? 0) - (m0.get(name) ?? 0)
    const writes = d('firecircle_store_write_seconds_count')
    r.detail = `accepted ${accepted()}, written ${written()} in ${writes} batches (mean ${fmt((d('firecircle_store_write_seconds_sum') / Math.max(1, writes)) * 1000)} ms), ${d('firecircle_store_write_failures_total')} failed writes`
    return r
  }
  if (o.sub) {
    // Let the subscriber catch up before the next phase.
    let last = -1
    while ((o.sub.last?.received ?? 0) !== last) {
      last = o.sub.last?.received ?? 0
      await sleep(1100)
    }
  }
  return r
}

async function influxCount(influx: InfluxHarness, from: number, to: number): Promise<number> {
  const rows = await influx.query(
    `SELECT COUNT("temperature") AS n FROM "telemetry" WHERE time >= ${from}ms AND time < ${to}ms`,
    DB,
  )
  return Number(rows[0]?.['n'] ?? 0)
}

/** Pin a generator process (all its threads) to the machine's last core. */
function pin(pid: number): void {
  const core = os.cpus().length - 1
  execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' })
}

/** One layout of the service: its own process, data dir, registered devices and generators. */
interface Layout {
  threads: 1 | 2
  svc: ServiceProc
  workers: Worker[]
  data: { dir: string; cleanup(): void }
  devices: Awaited<ReturnType<typeof register>>['devices']
}

async function startLayout(threads: 1 | 2, influx: InfluxHarness, profDir: string): Promise<Layout> {
  const data = tempDir(`firecircle-bench-ingest-${threads}t-`)
  const reg = await register(data.dir, {
    buildings: 100,
    devicesPerBuilding: [{ kind: 'heat', n: DEVICES / 100 }],
  })
  const svc = await startService({
    dataDir: data.dir,
    influx,
    database: DB,
    env: { FC_THREADS: String(threads) },
    ...(serviceRoot ? { root: serviceRoot } : {}),
    ...(profile ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] } : {}),
  })
  const workers = await Promise.all(Array.from({ length: GENERATORS }, forkWorker))
  if (PIN) for (const w of workers) pin(w.child.pid!)
  const c = await connectWorkers(workers, reg.devices, { port: svc.mqttPort, concurrency: 50 })
  if (c.failed > 0) throw new Error(`${c.failed} connections to the service failed: ${c.firstError}`)
  return { threads, svc, workers, data, devices: reg.devices }
}

async function main(): Promise<void> {
  const influx = await startInfluxDB()
  await influx.database(DB)
  await influx.database('ceiling')
  const influxPid = findInfluxPid(influx)
  // One file per thread (tsx's loader runs in a worker thread): the main thread's is the largest.
  const profDir = path.resolve('bench/profiles', `ingest-${new Date().toISOString().replace(/[:.]/g, '-')}`)
  const layouts: Layout[] = []
  for (const threads of LAYOUTS) layouts.push(await startLayout(threads, influx, profDir))
  const devices = layouts[0]!.devices
  const mosq = serviceOnly ? undefined : await startMosquitto()
  // Mosquitto's generators: the same number of processes as the service's, and twice as many
  // (their own 1,000 connections, other client ids, idle while the others run).
  const mqSame = mosq ? await Promise.all(Array.from({ length: GENERATORS }, forkWorker)) : []
  const mqMore = mosq ? await Promise.all(Array.from({ length: MOSQ_GENERATORS_MORE }, forkWorker)) : []
  const mqWorkers = [...mqSame, ...mqMore]
  if (PIN) for (const w of mqWorkers) pin(w.child.pid!)
  const sub = mosq ? await forkWorker() : undefined
  const say = (s: string) => console.log(s)
  try {
    if (mosq && sub) {
      // The same connections over GENERATORS processes, then over all MOSQ_GENERATORS_MORE of them.
      const c2 = await connectWorkers(mqSame, devices, { port: mosq.port, concurrency: 50 })
      const others = devices.map((d) => ({ ...d, id: `${d.id}-m` }))
      const c3 = await connectWorkers(mqMore, others, { port: mosq.port, concurrency: 50 })
      if (c2.failed + c3.failed > 0)
        throw new Error(
          `${c2.failed + c3.failed} connections to Mosquitto failed: ${c2.firstError ?? c3.firstError}`,
        )
      sub.send({
        cmd: 'subscribe',
        host: HOST,
        port: mosq.port,
        filter: 'dev/+/telemetry',
        qos: 0,
        id: 'sub',
      })
      await sub.next('subscribed')
    }
    say(
      `ingest bench${serviceRoot ? ` (service from ${serviceRoot})` : ''}${profile ? ' (service under --cpu-prof)' : ''}: ${DEVICES} connections over ${GENERATORS} generator processes${PIN ? ` pinned to core ${os.cpus().length - 1} (taskset)` : ''}; the service in layouts ${LAYOUTS.map((t) => `FC_THREADS=${t}`).join(' and ')}, side by side in each run; QoS 1: ${WINDOW} in flight per connection; QoS 0 (FC_THREADS=${LAYOUTS[0]}) offered in steps of ${QOS0_STEPS.map((r) => fmt(r)).join(', ')}/s (the figure: the best step with ≥ 95% of it taken and all stored within 2 s of the end); Mosquitto also with the connections over ${MOSQ_GENERATORS_MORE} generator processes; ${DURATION_MS / 1000} s per phase, rates over the last ${(DURATION_MS - WARMUP_MS) / 1000} s; ${os.cpus().length} cores shared by the service, influxd, Mosquitto, the generators (and whatever else runs on the machine); load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(', ')}`,
    )
    const runs: RunFigures[] = []
    const cpu = (p: PhaseResult, broker: string) =>
      `CPU ${broker} ${fmt(p.brokerCpu * 100)}%, generators ${fmt(p.generatorCpu * 100)}%, influxd ${fmt(p.influxCpu * 100)}%`
    const perReading = (p: PhaseResult) => (p.brokerCpu * 1e6) / Math.max(1, p.acked)
    const serviceDetail = (p: PhaseResult) =>
      `${cpu(p, 'service')}, i.e. ${fmt(perReading(p))} µs of service CPU per reading; drained ${fmt(p.drainS ?? 0, 1)} s after; ${p.detail}${p.countOk ? ', exact' : ', MISMATCH'}`
    const mosquittoDetail = (p: PhaseResult) =>
      `${cpu(p, 'mosquitto')}, i.e. ${fmt(perReading(p))} µs of Mosquitto CPU per PUBACK`
    for (let run = 1; run <= RUNS; run++) {
      const ceiling = serviceOnly
        ? Number.NaN
        : await storeCeiling(
            influx,
            devices.map((d) => d.id),
            8,
          )
      say(`  run ${run}: store ceiling ${fmt(ceiling)} points/s`)
      const servicePhase = async (layout: Layout, mode: 'flood' | 'paced', qos: 0 | 1, rate?: number) => {
        const from = Date.now()
        const p = await phase({
          workers: layout.workers,
          svc: layout.svc,
          brokerPid: layout.svc.pid,
          influxPid,
          mode,
          qos,
          ...(rate ? { rate } : {}),
        })
        const n = await influxCount(influx, from, Date.now() + 60_000)
        const accepted = Number(/accepted (\d+)/.exec(p.detail ?? '')?.[1])
        p.countOk = n === accepted
        p.detail = `${p.detail}, in InfluxDB ${n}`
        return p
      }
      const byLayout = new Map<number, PhaseResult>()
      // Alternate which layout goes first, so that neither always runs on the warmer machine.
      const order = run % 2 === 1 ? layouts : [...layouts].reverse()
      for (const layout of order) {
        const p = await servicePhase(layout, 'flood', 1)
        byLayout.set(layout.threads, p)
        say(
          `  run ${run}: service FC_THREADS=${layout.threads} QoS 1: end to end ${fmt(p.e2e)}/s over the phase; in its last ${(DURATION_MS - WARMUP_MS) / 1000} s ${fmt(p.acked)} acked/s, ${fmt(p.stored)} stored/s (${serviceDetail(p)})`,
        )
      }
      const first = layouts[0]!
      const s1 = byLayout.get(first.threads)!
      let s0: PhaseResult | undefined
      let s0step = 0
      for (const rate of QOS0_STEPS) {
        const p = await servicePhase(first, 'paced', 0, rate)
        say(
          `  run ${run}: service FC_THREADS=${first.threads} QoS 0 offered ${fmt(rate)}/s: end to end ${fmt(p.e2e)}/s over the phase; in its last ${(DURATION_MS - WARMUP_MS) / 1000} s ${fmt(p.acked)} accepted/s, ${fmt(p.stored)} stored/s (${serviceDetail(p)})`,
        )
        // Kept up: took ≥ 95% of what was offered and had it all in InfluxDB within 2 s of the end.
        const accepted = Number(/accepted (\d+)/.exec(p.detail ?? '')?.[1])
        const kept = accepted >= 0.95 * rate * (DURATION_MS / 1000) && (p.drainS ?? 99) <= 2
        if (s0 === undefined || (kept && p.e2e > s0.e2e)) {
          s0 = p
          s0step = rate
        }
        if (!kept) break
      }
      let m1: PhaseResult | undefined
      let m1more: PhaseResult | undefined
      let m0: PhaseResult | undefined
      if (mosq && sub) {
        // The same generators as the service's: GENERATORS processes carry the 1,000 connections.
        const same = mqSame
        m1 = await phase({ workers: same, sub, brokerPid: mosq.pid, influxPid, mode: 'flood', qos: 1 })
        say(
          `  run ${run}: Mosquitto QoS 1 (${GENERATORS} generators): ${fmt(m1.e2e)} PUBACKs/s over the phase; in its last ${(DURATION_MS - WARMUP_MS) / 1000} s ${fmt(m1.acked)} acked/s, subscriber ${fmt(m1.stored)}/s (${mosquittoDetail(m1)})`,
        )
        m1more = await phase({ workers: mqMore, sub, brokerPid: mosq.pid, influxPid, mode: 'flood', qos: 1 })
        say(
          `  run ${run}: Mosquitto QoS 1 (${MOSQ_GENERATORS_MORE} generators): ${fmt(m1more.e2e)} PUBACKs/s over the phase; in its last ${(DURATION_MS - WARMUP_MS) / 1000} s ${fmt(m1more.acked)} acked/s, subscriber ${fmt(m1more.stored)}/s (${mosquittoDetail(m1more)})`,
        )
        m0 = await phase({
          workers: same,
          sub,
          brokerPid: mosq.pid,
          influxPid,
          mode: 'paced',
          qos: 0,
          rate: MOSQ_QOS0_RATE,
        })
        say(
          `  run ${run}: Mosquitto QoS 0 offered ${fmt(MOSQ_QOS0_RATE)}/s: generators sent ${fmt(m0.sent / (DURATION_MS / 1000))}/s, subscriber ${fmt(m0.stored)}/s (${cpu(m0, 'mosquitto')})`,
        )
      }
      runs.push({
        ceiling,
        s1,
        byLayout,
        s0: s0!,
        s0step,
        ...(m1 ? { m1 } : {}),
        ...(m1more ? { m1more } : {}),
        ...(m0 ? { m0 } : {}),
      })
    }
    summarise(runs, { say, mosquitto: mosq !== undefined })
  } catch (err) {
    // A service that died mid-run: what it said last is the lead.
    for (const l of layouts)
      console.error(`service FC_THREADS=${l.threads}, its last output:\n${l.svc.output()}`)
    throw err
  } finally {
    await Promise.all(
      [...layouts.flatMap((l) => l.workers), ...mqWorkers, ...(sub ? [sub] : [])].map((w) => w.close()),
    )
    for (const l of layouts) await l.svc.stop()
    await mosq?.stop()
    await influx.stop()
    for (const l of layouts) l.data.cleanup()
  }
  if (profile) console.log(`profile: ${profDir}`)
}

interface RunFigures {
  ceiling: number
  s1: PhaseResult
  byLayout: Map<number, PhaseResult>
  s0: PhaseResult
  s0step: number
  m1?: PhaseResult
  m1more?: PhaseResult
  m0?: PhaseResult
}

/** The figures of all runs: medians, the layouts' ratio and the CPU per reading against Mosquitto's. */
function summarise(runs: RunFigures[], o: { say: (s: string) => void; mosquitto: boolean }): void {
  const { say } = o
  const med = (f: (r: RunFigures) => number) => median(runs.map(f))
  const all = (f: (r: RunFigures) => number, digits = 0) => runs.map((r) => fmt(f(r), digits)).join(', ')
  const perReading = (p: PhaseResult) => (p.brokerCpu * 1e6) / Math.max(1, p.acked)
  const e2e1 = (r: RunFigures) => r.s1.e2e
  const e2e0 = (r: RunFigures) => r.s0.e2e
  const verdict = (v: number, target: number) =>
    v >= target ? 'met' : `MISSED by ${fmt(target - v)}/s (${fmt(100 - (v / target) * 100)}%)`
  const first = LAYOUTS[0]!
  say('')
  say(
    `service (FC_THREADS=${first}) QoS 1 end to end (readings acknowledged = spooled on disk, ÷ time from the start of the load until the last was in InfluxDB): ${fmt(med(e2e1))} readings/s (median of ${RUNS}; runs: ${all(e2e1)}); target ≥ 20,000: ${verdict(med(e2e1), 20_000)}`,
  )
  say(
    `service (FC_THREADS=${first}) QoS 0 end to end (readings accepted, spooled, in InfluxDB, as above), best step it kept up with (≥ 95% taken, all stored within 2 s of the end): ${fmt(med(e2e0))} readings/s (median of ${RUNS}; runs: ${runs.map((r) => `${fmt(e2e0(r))} at ${fmt(r.s0step)} offered`).join(', ')}); target ≥ 20,000: ${verdict(med(e2e0), 20_000)}`,
  )
  if (LAYOUTS.includes(1) && LAYOUTS.includes(2)) {
    const two = (r: RunFigures) => r.byLayout.get(2)!
    const one = (r: RunFigures) => r.byLayout.get(1)!
    const ratio = (r: RunFigures) => two(r).e2e / one(r).e2e
    say(
      `QoS 1 end to end, FC_THREADS=2 / FC_THREADS=1 (the single-thread layout), side by side per run: ${fmt(med(ratio), 2)}× (median of ${RUNS}; runs: ${runs.map((r) => `${fmt(two(r).e2e)} / ${fmt(one(r).e2e)} = ${fmt(ratio(r), 2)}×`).join(', ')}); target ≥ 1.5×: ${med(ratio) >= 1.5 ? 'met' : 'MISSED'}`,
    )
    say(
      `service CPU per acknowledged, stored reading (QoS 1): FC_THREADS=2 ${fmt(
        med((r) => perReading(two(r))),
        1,
      )} µs (runs: ${all((r) => perReading(two(r)), 1)}), FC_THREADS=1 ${fmt(
        med((r) => perReading(one(r))),
        1,
      )} µs (runs: ${all((r) => perReading(one(r)), 1)})`,
    )
  }
  if (o.mosquitto) {
    const ratio = (r: RunFigures) => e2e1(r) / r.m1!.e2e
    say(
      `Mosquitto QoS 1 fan-in, same generators and connections: ${fmt(med((r) => r.m1!.e2e))} PUBACKs/s over the phase (median; runs: ${all((r) => r.m1!.e2e)}), generators at ${fmt(med((r) => r.m1!.generatorCpu) * 100)}% CPU; with ${MOSQ_GENERATORS_MORE} generator processes ${fmt(med((r) => r.m1more!.e2e))} PUBACKs/s (runs: ${all((r) => r.m1more!.e2e)}), generators at ${fmt(med((r) => r.m1more!.generatorCpu) * 100)}%`,
    )
    say(
      `service QoS 1 end to end / Mosquitto QoS 1 fan-in, side by side per run: ${fmt(med(ratio) * 100)}% (median of ${RUNS}; runs: ${runs.map((r) => `${fmt(ratio(r) * 100)}%`).join(', ')}); target ≥ 50%: ${med(ratio) >= 0.5 ? 'met' : `MISSED by ${fmt(50 - med(ratio) * 100)} points`}`,
    )
    const mosqPer = (r: RunFigures) => Math.min(perReading(r.m1!), perReading(r.m1more!))
    const cpuRatio = (r: RunFigures) => perReading(r.s1) / mosqPer(r)
    say(
      `CPU per reading, service (FC_THREADS=${first}, per acknowledged and stored reading) / Mosquitto (per PUBACK, the lower of its two generator loads), side by side per run: ${fmt(med(cpuRatio), 2)}× (runs: ${runs.map((r) => `${fmt(perReading(r.s1), 1)} / ${fmt(mosqPer(r), 1)} µs = ${fmt(cpuRatio(r), 2)}×`).join(', ')}); target ≤ 1×: ${med(cpuRatio) <= 1 ? 'met' : 'MISSED'}`,
    )
    say(
      `Mosquitto QoS 0, same generators: subscriber ${fmt(med((r) => r.m0!.stored))}/s with ${fmt(MOSQ_QOS0_RATE)}/s offered (runs: ${all((r) => r.m0!.stored)}); generators at ${fmt(med((r) => r.m0!.generatorCpu) * 100)}% CPU`,
    )
    const share = (r: RunFigures) => e2e1(r) / r.ceiling
    say(
      `InfluxDB raw batched write ceiling (same point shape, 5,000 points/request, 2 requests in flight, no service running load): ${fmt(med((r) => r.ceiling))} points/s (median; runs: ${all((r) => r.ceiling)}); the pipeline's QoS 1 end to end is ${fmt(med(share) * 100)}% of it (runs: ${runs.map((r) => `${fmt(share(r) * 100)}%`).join(', ')})`,
    )
  }
  say(
    `load average at the end ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(', ')}`,
  )
  if (!serviceOnly && !serviceRoot) {
    fs.mkdirSync(path.resolve('bench/.results'), { recursive: true })
    fs.writeFileSync(
      path.resolve('bench/.results/ingest.json'),
      JSON.stringify({ qos1: med(e2e1), qos0: med(e2e0), at: new Date().toISOString() }),
    )
  }
}

function findInfluxPid(influx: InfluxHarness): number {
  // The harness does not expose the pid: find the influxd whose config lives in its dir.
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      if (cmd.startsWith('/usr/bin/influxd\0') && cmd.includes(influx.dir)) return Number(pid)
    } catch {}
  }
  return 0
}

await main()
process.exit(0)

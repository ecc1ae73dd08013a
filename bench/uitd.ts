/**
 * Fire panels' UITDs on one node (issue #19 targets):
 *
 *   node --import tsx bench/uitd.ts            (BENCH_UITDS=5000 BENCH_SECONDS=60 BENCH_FIRES=60)
 *
 * The service as its own process (embedded telemetry store, durable spool) with the GB/T
 * 26875.3 listener; this process holds BENCH_UITDS connections, each beating every 30 s (the
 * beats spread evenly over the interval), and times each heartbeat's confirm. Meanwhile, once a
 * second, a panel in another building reports a fire, and the time from writing its frame to
 * the incident's `opened` event on an SSE stream (/api/stream) is measured. Prints connections,
 * beats confirmed, confirm latency, fire → SSE latency (p50 / p99 / max), and the service's CPU.
 */
import os from 'node:os'
import path from 'node:path'
import { adu, componentStatus, connectUitd, timeLabel, type UitdClient, uitdFrame } from '../devices/uitd.ts'
import { createEventBus } from '../services/events/index.ts'
import { createRegistry, createSqliteRegistryRepository } from '../services/registry/index.ts'
import { createLogger, systemClock } from '../services/shared/index.ts'
import { openStateDatabase } from '../services/state/index.ts'
import { freePort } from '../test/support/ports.ts'
import { spawnService, ADMIN_TOKEN as TEST_ADMIN } from '../test/support/service.ts'
import { openStream } from '../test/support/sse.ts'
import { cpuSeconds, fmt, pct, registerInto, sleep, tempDir } from './lib.ts'

const UITDS = Number(process.env['BENCH_UITDS'] ?? 5000)
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 60)
const FIRES = Number(process.env['BENCH_FIRES'] ?? 60)
const BEAT_MS = 30_000
const BUILDINGS = 500
const CENTRE = '000000000001'
const addressOf = (i: number) => (0x100000 + i).toString(16).padStart(12, '0')

async function registerPanels(dataDir: string): Promise<void> {
  const db = openStateDatabase(path.join(dataDir, 'state.db'), { synchronous: 'NORMAL' })
  const registry = await createRegistry({
    repository: createSqliteRegistryRepository(db),
    clock: systemClock,
    logger: createLogger('silent'),
    events: createEventBus(),
  })
  await registerInto(registry, { buildings: BUILDINGS, devicesPerBuilding: [] })
  for (let i = 0; i < UITDS; i++)
    await registry.addDevice({
      id: `panel-${i}`,
      kind: 'uitd',
      building: `b${i % BUILDINGS}`,
      address: addressOf(i),
    })
  db.close()
}

const data = tempDir('firecircle-bench-uitd-')
try {
  process.stdout.write(`registering ${UITDS} UITDs in ${BUILDINGS} buildings…\n`)
  await registerPanels(data.dir)
  const gbPort = await freePort()
  const svc = await spawnService({
    FC_DATA_DIR: data.dir,
    FC_ADMIN_TOKEN: TEST_ADMIN,
    FC_GB26875_PORT: String(gbPort),
    FC_LOG_LEVEL: 'error',
  })
  await svc.ready(60_000)
  const stream = await openStream(`${svc.base}/api/stream`, TEST_ADMIN)

  const confirmMs: number[] = []
  const slow: string[] = []
  let w0 = performance.now()
  const pending = new Map<string, number>() // `${i}/${serial}` → sent at
  const clients: UitdClient[] = []
  const serials = new Array<number>(UITDS).fill(0)
  const t0 = performance.now()
  for (let i = 0; i < UITDS; i++) {
    const c = await connectUitd('127.0.0.1', gbPort, (f) => {
      if (f.command === 1) {
        c.send(
          uitdFrame({
            serial: f.serial,
            command: 3,
            source: addressOf(i),
            destination: CENTRE,
            time: timeLabel(Date.now()),
          }),
        )
        return
      }
      const key = `${i}/${f.serial}`
      const at = pending.get(key)
      if (f.command === 3 && at !== undefined) {
        confirmMs.push(performance.now() - at)
        if (performance.now() - at > 500)
          slow.push(`beat at +${fmt((at - w0) / 1000, 1)} s took ${fmt(performance.now() - at)} ms`)
        pending.delete(key)
      }
    })
    clients.push(c)
  }
  const connectS = (performance.now() - t0) / 1000
  process.stdout.write(`${UITDS} connections in ${fmt(connectS, 1)} s\n`)

  const beat = (i: number) => {
    serials[i] = (serials[i]! % 60000) + 1
    pending.set(`${i}/${serials[i]}`, performance.now())
    clients[i]!.send(
      uitdFrame({
        serial: serials[i]!,
        command: 2,
        source: addressOf(i),
        destination: CENTRE,
        time: timeLabel(Date.now()),
      }),
    )
  }
  // Spread the beats evenly over the interval, as a district's UITDs are.
  const timers: NodeJS.Timeout[] = []
  for (let i = 0; i < UITDS; i++) {
    const offset = (i / UITDS) * BEAT_MS
    timers.push(
      setTimeout(() => {
        beat(i)
        timers.push(setInterval(() => beat(i), BEAT_MS))
      }, offset),
    )
  }

  const cpu0 = cpuSeconds(svc.child.pid!)
  w0 = performance.now()
  const fireMs: number[] = []
  for (let k = 0; k < FIRES && performance.now() - w0 < SECONDS * 1000; k++) {
    const i = k % BUILDINGS // panel-k sits in building b(k % 500): one fire per building
    const building = `b${i}`
    const time = timeLabel(Date.now())
    const obj = componentStatus({ component: 42, address: 0x100 + k, status: 0x0003, time })
    serials[i] = (serials[i]! % 60000) + 1
    const frame = uitdFrame({
      serial: serials[i]!,
      command: 2,
      source: addressOf(i),
      destination: CENTRE,
      time,
      adu: adu(2, [obj]),
    })
    const sent = performance.now()
    const opened = stream.next(
      (e) => e.event === 'incident' && e.data.change === 'opened' && e.data.incident.building === building,
      10_000,
    )
    clients[i]!.send(frame)
    await opened
    fireMs.push(performance.now() - sent)
    if (performance.now() - sent > 500)
      slow.push(`fire at +${fmt((sent - w0) / 1000, 1)} s took ${fmt(performance.now() - sent)} ms`)
    await sleep(Math.max(0, 1000 - (performance.now() - sent)))
  }
  while (performance.now() - w0 < SECONDS * 1000) await sleep(200)
  const wallS = (performance.now() - w0) / 1000
  const cpu = cpuSeconds(svc.child.pid!) - cpu0
  for (const t of timers) clearTimeout(t)

  const c = [...confirmMs].sort((a, b) => a - b)
  const f = [...fireMs].sort((a, b) => a - b)
  const connected = clients.filter((x) => x.received.length > 0).length
  process.stdout.write(
    `${[
      `UITDs whose beats were answered: ${connected} / ${UITDS} connected`,
      `heartbeats confirmed in ${fmt(wallS)} s: ${c.length} (${fmt(c.length / wallS)}/s); unanswered: ${pending.size}`,
      `load average (1 min) at the end: ${os.loadavg()[0]?.toFixed(2)} on ${os.cpus().length} cores (the machine is shared)`,
      `slow (> 500 ms): ${slow.length === 0 ? 'none' : `${slow.slice(0, 3).join('; ')}${slow.length > 3 ? `; … ${slow.length} in all` : ''}`}`,
      `heartbeat → confirm: p50 ${fmt(pct(c, 0.5), 1)} ms, p90 ${fmt(pct(c, 0.9), 1)} ms,`,
      `  p99 ${fmt(pct(c, 0.99), 1)} ms, max ${fmt(c.at(-1) ?? 0, 1)} ms`,
      `panel fire frame → incident opened on SSE (${f.length} fires): p50 ${fmt(pct(f, 0.5), 1)} ms, p99 ${fmt(pct(f, 0.99), 1)} ms, max ${fmt(f.at(-1) ?? 0, 1)} ms (target p99 ≤ 50 ms)`,
      `service CPU: ${fmt((100 * cpu) / wallS)} % of one core`,
    ].join('\n')}\n`,
  )
  stream.close()
  for (const x of clients) x.close()
  svc.child.kill('SIGTERM')
  await svc.exited()
} finally {
  data.cleanup()
}

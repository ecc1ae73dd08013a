/**
 * The alarm probe of bench/alarm-latency.ts and bench/overload.ts: this process holds one alarm
 * device per building (a heat detector publishing 80 °C, or a manual call point's `manual`
 * event), one sounder per building subscribed to its `dev/{id}/cmd` (acknowledging each command),
 * a micro fire station responder subscribed to its `rsp/{id}/offer`, and an SSE stream. One
 * alarm at a time, it times from writing the PUBLISH to the socket:
 *   (a) the incident `opened` event on SSE, (b) the first offer at the responder's MQTT client,
 *   (c) the building's sounder's `sounder.on` command;
 * then resolves the open incidents (which withdraws the offers) before the next alarm.
 */
import path from 'node:path'
import { openStream } from '../test/support/sse.ts'
import { ADMIN_TOKEN, HOST, sleep } from './lib.ts'
import { publishPacket, type WireClient, wireConnect } from './load/wire.ts'
import type { Conn } from './load/worker.ts'

export type AlarmKind = 'heat' | 'call_point'

export interface AlarmBuilding {
  building: string
  alarm: Conn
  sounder: Conn
}

/** The times of one alarm, ms from its PUBLISH; undefined: not seen within 5 s. */
export interface Alarm {
  a?: number
  b?: number
  c?: number
}

export interface AlarmProbe {
  fire(b: AlarmBuilding): Promise<Alarm>
  close(): void
}

/**
 * Alarm buildings b0..b(n-1), an alarm device of `kind` and a sounder each; `background` heat
 * detectors in b(n)…b(n+99). Registered straight into the state database before the service starts.
 */
export async function registerAlarmBuildings(
  dataDir: string,
  n: number,
  background: number,
  kind: AlarmKind,
): Promise<{ alarm: AlarmBuilding[]; background: Conn[] }> {
  const { openStateDatabase } = await import('../services/state/index.ts')
  const { createRegistry, createSqliteRegistryRepository } = await import('../services/registry/index.ts')
  const { createLogger } = await import('../services/shared/log.ts')
  const { createEventBus } = await import('../services/events/index.ts')
  const { systemClock } = await import('../services/shared/clock.ts')
  const db = openStateDatabase(path.join(dataDir, 'state.db'), { synchronous: 'NORMAL' })
  const registry = await createRegistry({
    repository: createSqliteRegistryRepository(db),
    clock: systemClock,
    logger: createLogger('silent'),
    events: createEventBus(),
  })
  const alarm: AlarmBuilding[] = []
  for (let b = 0; b < n; b++) {
    const building = `b${b}`
    const device = await registry.addDevice({ id: `alarm-${b}`, kind, building })
    const sounder = await registry.addDevice({ id: `sounder-${b}`, kind: 'sounder', building })
    alarm.push({
      building,
      alarm: { id: `alarm-${b}`, secret: device.secret },
      sounder: { id: `sounder-${b}`, secret: sounder.secret },
    })
  }
  const bg: Conn[] = []
  for (let k = 0; k < background; k++) {
    const id = `bg-${k}`
    const r = await registry.addDevice({ id, kind: 'heat', building: `b${n + (k % 100)}` })
    bg.push({ id, secret: r.secret })
  }
  db.close()
  return { alarm, background: bg }
}

/** Connect the probe: the responder, every alarm building's devices, the SSE stream. */
export async function openAlarmProbe(o: {
  base: string
  mqttPort: number
  responder: Conn
  buildings: AlarmBuilding[]
  kind: AlarmKind
}): Promise<AlarmProbe> {
  const clients: WireClient[] = []
  const stream = await openStream(`${o.base}/api/stream`, ADMIN_TOKEN)
  if (stream.status !== 200) throw new Error(`SSE: HTTP ${stream.status}`)
  let current: { building: string; t0: number; m: Alarm } | undefined
  const at = () => performance.now()
  const connect = async (c: Conn) => {
    const w = await wireConnect({
      host: HOST,
      port: o.mqttPort,
      id: c.id,
      username: c.id,
      password: c.secret,
    })
    clients.push(w)
    return w
  }

  const responder = await connect(o.responder)
  responder.onMessage = () => {
    if (current && current.m.b === undefined) current.m.b = at() - current.t0
  }
  await responder.subscribe(`rsp/${o.responder.id}/offer`, 1)

  const detectors = new Map<string, WireClient>()
  const connectBuilding = async (b: AlarmBuilding) => {
    detectors.set(b.building, await connect(b.alarm))
    const s = await connect(b.sounder)
    let ack = 0
    s.onMessage = (m) => {
      const cmd = JSON.parse(m.payload.toString()) as { id: string; action: string }
      if (cmd.action === 'sounder.on' && current?.building === b.building && current.m.c === undefined)
        current.m.c = at() - current.t0
      s.write(
        publishPacket(
          `dev/${b.sounder.id}/cmd/ack`,
          JSON.stringify({ id: cmd.id, ok: true }),
          1,
          (ack++ % 60000) + 1,
        ),
      )
    }
    await s.subscribe(`dev/${b.sounder.id}/cmd`, 1)
  }
  for (let i = 0; i < o.buildings.length; i += 50)
    await Promise.all(o.buildings.slice(i, i + 50).map(connectBuilding))

  void stream
    .next((e) => {
      const c = current
      if (
        c !== undefined &&
        e.event === 'incident' &&
        e.data.change === 'opened' &&
        c.building === e.data.incident.building
      )
        c.m.a ??= at() - c.t0
      return false
    }, 3_600_000)
    .catch(() => {})

  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` }
  return {
    async fire(b) {
      const det = detectors.get(b.building)!
      const m: Alarm = {}
      current = { building: b.building, t0: at(), m }
      det.write(
        o.kind === 'heat'
          ? publishPacket(
              `dev/${b.alarm.id}/telemetry`,
              JSON.stringify({ values: { temperature: 80 } }),
              1,
              1,
            )
          : publishPacket(`dev/${b.alarm.id}/event`, JSON.stringify({ type: 'manual' }), 1, 1),
      )
      const deadline = at() + 5000
      while ((m.a === undefined || m.b === undefined || m.c === undefined) && at() < deadline) await sleep(2)
      current = undefined
      const open = await fetch(`${o.base}/api/incidents?status=open`, { headers: auth }).then(
        (r) => r.json() as Promise<{ items: { id: string }[] }>,
      )
      for (const i of open.items)
        await fetch(`${o.base}/api/incidents/${i.id}/resolve`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: '{}',
        })
      await sleep(20)
      return m
    },
    close() {
      stream.close()
      for (const w of clients) w.destroy()
    },
  }
}

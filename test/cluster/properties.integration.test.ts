/**
 * Properties of a cluster under faults (issue #15), fast-check over generated schedules: on one
 * real cluster of three nodes (PostgreSQL, InfluxDB 1.x, node processes as `npm start` starts
 * them, FC_LEASE_S=2, a real HTTP receiver standing in for 119), each schedule is a short list of
 * actions at generated moments — QoS 1 telemetry and fires from detectors connected to random
 * nodes, officers confirming fires through random nodes, a random node SIGKILLed (and started
 * again, sometimes with its data dir gone), a random node SIGSTOPped within or past its lease and
 * then SIGCONTed. With every node back and the cluster settled, the invariants must hold:
 *   - nothing acknowledged is lost: every PUBACKed reading is in InfluxDB;
 *   - at most one open incident per building (PostgreSQL and the API agree);
 *   - every acknowledged fire opened or joined its building's incident, once;
 *   - a verification timer fired once: one 'alarm' transition per incident, never two;
 *   - every confirmed incident reached 119, and no incident under two delivery ids.
 *
 * CI runs a few schedules (FC_PROPS_RUNS, default 3) with a fixed seed (FC_PROPS_SEED); FC_SOAK=1
 * runs more and longer ones. fast-check prints the seed and the failing schedule; a failing
 * schedule is not shrunk (each one costs seconds of a real cluster and leaves state behind).
 */
import fc from 'fast-check'
import type { MqttClient } from 'mqtt'
import pgClient from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClusterHarness, startCluster } from '../support/cluster.ts'
import { type Receiver, startReceiver } from '../support/http-receiver.ts'
import { connectAs } from '../support/mqtt.ts'
import { ADMIN_TOKEN, must, registerDevice, registerDistrict, until } from '../support/service.ts'

const NODES = 3
const LEASE_S = 2
const SECRET = 'cluster-webhook-secret-0123456789'
const SOAK = process.env.FC_SOAK === '1'
const RUNS = Number(process.env.FC_PROPS_RUNS ?? (SOAK ? 20 : 3))
const SEED = Number(process.env.FC_PROPS_SEED ?? 1512)
const MAX_ACTIONS = SOAK ? 10 : 5
/** A smoke detector's verification window here: short, so that its timer falls due within a schedule. */
const VERIFICATION_S = 3
/** Three communities, one per node when all are up: the district's two and one more. */
const EXTRA_COMMUNITY = {
  type: 'Feature',
  properties: { id: 'xixiang-02', name: 'Xixiang Community 2', street: 'xixiang' },
  geometry: {
    type: 'Polygon',
    coordinates: [
      [
        [113.896, 22.57],
        [113.914, 22.57],
        [113.914, 22.586],
        [113.896, 22.586],
        [113.896, 22.57],
      ],
    ],
  },
}
const COMMUNITIES = ['xixiang-01', 'xinan-01', 'xixiang-02']
/** A point inside each community, for the buildings of a schedule. */
const SPOTS: [number, number][] = [
  [113.865, 22.575],
  [113.885, 22.58],
  [113.905, 22.578],
]
const BUILDINGS = SPOTS.length

type Action =
  | { op: 'load'; after: number; node: number; building: number; readings: number }
  | { op: 'fire'; after: number; node: number; building: number; detector: 'smoke' | 'heat' }
  | { op: 'confirm'; after: number; node: number; building: number }
  | { op: 'kill'; after: number; node: number; fresh: boolean }
  | { op: 'pause'; after: number; node: number; ms: number }

const node = fc.nat(NODES - 1)
const building = fc.nat(BUILDINGS - 1)
const after = fc.integer({ min: 0, max: 800 })
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('load' as const),
      after,
      node,
      building,
      readings: fc.integer({ min: 20, max: 150 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('fire' as const),
      after,
      node,
      building,
      detector: fc.constantFrom('smoke' as const, 'heat' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('confirm' as const), after, node, building }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('kill' as const), after, node, fresh: fc.boolean() }) },
  {
    weight: 2,
    // Within the lease (it keeps its communities) or past it (they move; it comes back fenced).
    arbitrary: fc.record({
      op: fc.constant('pause' as const),
      after,
      node,
      ms: fc.constantFrom(800, 1500, 3000, 4000),
    }),
  },
)
// A schedule always has load, a fire and, later, an officer confirming that building's fire
// (forwarded to 119), so that every invariant has something to check; the rest is random.
const scheduleArb = fc
  .tuple(
    fc.record({ op: fc.constant('load' as const), after, node, building, readings: fc.constant(150) }),
    fc.record({
      op: fc.constant('fire' as const),
      after,
      node,
      building,
      detector: fc.constantFrom('smoke' as const, 'heat' as const),
    }),
    fc.array(actionArb, { minLength: 2, maxLength: MAX_ACTIONS }),
    node,
    fc.integer({ min: 0, max: 4 }),
  )
  .map(([l, f, rest, by, at]): Action[] => {
    const confirm: Action = { op: 'confirm', after: 300, node: by, building: f.building }
    const tail = [...rest.slice(1)]
    tail.splice(Math.min(at, tail.length), 0, confirm)
    return [l, ...rest.slice(0, 1), f, ...tail]
  })

let c: ClusterHarness
let centre: Receiver
let db: pgClient.Client
const clients = new Set<MqttClient>()

beforeAll(async () => {
  const t0 = Date.now()
  centre = await startReceiver()
  c = await startCluster({
    nodes: NODES,
    leaseS: LEASE_S,
    // Three nodes start at once (and one restarts under load): room for a loaded machine.
    readyMs: 90_000,
    env: { FC_FIRE_CENTRE_URL: centre.url, FC_WEBHOOK_SECRET: SECRET },
  })
  db = new pgClient.Client(c.databaseUrl)
  await db.connect()
  await registerDistrict(c.api(0))
  must(await c.api(0).post('/api/communities', EXTRA_COMMUNITY), 201)
  if (process.env.FC_PROPS_VERBOSE) console.log(`cluster up in ${Date.now() - t0} ms`)
}, 180_000)

afterAll(async () => {
  if (process.env.FC_TEST_SHOW_NODES) for (const n of c?.nodes ?? []) console.log(n.output())
  for (const m of [...clients]) await hangUp(m)
  await db?.end().catch(() => {})
  await c?.stop()
  await centre?.close()
})

/** An HTTP request that gives up (undefined) when the node does not answer: a paused node hangs. */
async function call(i: number, method: string, url: string, body?: unknown, ms = 5000) {
  try {
    const res = await fetch(c.nodes[i]!.base + url, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(ms),
    })
    const text = await res.text()
    return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined }
  } catch {
    return undefined
  }
}

/** What one schedule did and what the cluster acknowledged. */
interface Run {
  n: number
  buildings: string[]
  /** Readings PUBACKed, by load device. */
  acked: Map<string, number>
  /** The next reading's ts, by load device (distinct ts per reading: InfluxDB counts them). */
  nextTs: Map<string, number>
  /** Fires PUBACKed: building → detectors. */
  fires: Map<string, Set<string>>
  /** Incidents an officer confirmed (HTTP 200). */
  confirmed: Set<string>
  secrets: Map<string, string>
  /** Nodes killed and not yet ready again. */
  down: Set<number>
  /** Everything started in the background (loads, fires, restarts, SIGCONTs), by what it is. */
  pending: Map<Promise<unknown>, string>
  /** A background task that failed (a node that did not start again). */
  failures: string[]
}

const loadDevice = (r: Run, b: number) => `${r.buildings[b]}-temp`
const fireDevice = (r: Run, b: number, d: 'smoke' | 'heat') => `${r.buildings[b]}-${d}`

async function prepare(n: number): Promise<Run> {
  const r: Run = {
    n,
    buildings: SPOTS.map((_, b) => `prop${n}-b${b}`),
    acked: new Map(),
    nextTs: new Map(),
    fires: new Map(),
    confirmed: new Set(),
    secrets: new Map(),
    down: new Set(),
    pending: new Map(),
    failures: [],
  }
  const api = c.api(n % NODES)
  for (const [b, id] of r.buildings.entries()) {
    must(
      await api.post('/api/buildings', { id, name: id, location: SPOTS[b], responsible: { name: 'Li Na' } }),
      201,
    )
    const devices = [
      { id: loadDevice(r, b), kind: 'heat' },
      { id: fireDevice(r, b, 'heat'), kind: 'heat' },
      { id: fireDevice(r, b, 'smoke'), kind: 'smoke', thresholds: { verification_s: VERIFICATION_S } },
    ]
    for (const d of devices) {
      const reg = await registerDevice(api, { ...d, building: id })
      r.secrets.set(d.id, reg.secret)
    }
    r.acked.set(loadDevice(r, b), 0)
    r.nextTs.set(loadDevice(r, b), Date.now() - 3_600_000)
  }
  return r
}

/** A node that is not down: the chosen one, or the next one up. */
function upNode(r: Run, i: number): number {
  for (let k = 0; k < NODES; k++) if (!r.down.has((i + k) % NODES)) return (i + k) % NODES
  return i
}

/** Connect a device to node i, retrying while the node has not heard of it or does not answer. */
async function connect(r: Run, i: number, device: string): Promise<MqttClient | undefined> {
  const end = Date.now() + 6000
  while (Date.now() < end) {
    const port = c.nodes[i]!.mqttPort
    const m = await connectAs(`mqtt://127.0.0.1:${port}`, device, r.secrets.get(device)!, {
      connectTimeout: 3000,
    }).catch(() => undefined)
    if (m !== undefined) {
      m.on('error', () => {})
      clients.add(m)
      return m
    }
    await new Promise((res) => setTimeout(res, 100))
  }
  return undefined
}

/** End a device's connection; a client whose node is paused or gone may never say it ended. */
async function hangUp(m: MqttClient): Promise<void> {
  clients.delete(m)
  await Promise.race([m.endAsync(true).catch(() => {}), new Promise((res) => setTimeout(res, 2000))])
}

/** Publish QoS 1 with a deadline: true once PUBACKed, false when it never was. */
async function publish(m: MqttClient, topic: string, body: unknown, ms = 10_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const gaveUp = new Promise<false>((res) => {
    timer = setTimeout(() => res(false), ms)
  })
  const acked = m.publishAsync(topic, JSON.stringify(body), { qos: 1 }).then(
    () => true,
    () => false,
  )
  const ok = await Promise.race([acked, gaveUp])
  clearTimeout(timer)
  return ok
}

async function load(r: Run, a: Extract<Action, { op: 'load' }>): Promise<void> {
  const device = loadDevice(r, a.building)
  const m = await connect(r, upNode(r, a.node), device)
  if (m === undefined) return
  for (let k = 0; k < a.readings; k++) {
    const ts = r.nextTs.get(device)!
    r.nextTs.set(device, ts + 1)
    if (!(await publish(m, `dev/${device}/telemetry`, { ts, values: { temperature: 24 } }))) break
    r.acked.set(device, r.acked.get(device)! + 1)
  }
  await hangUp(m)
}

async function fire(r: Run, a: Extract<Action, { op: 'fire' }>): Promise<void> {
  const device = fireDevice(r, a.building, a.detector)
  const m = await connect(r, upNode(r, a.node), device)
  if (m === undefined) return
  const values = a.detector === 'smoke' ? { obscuration: 5 } : { temperature: 90 }
  if (await publish(m, `dev/${device}/telemetry`, { values })) {
    const b = r.buildings[a.building]!
    r.fires.set(b, (r.fires.get(b) ?? new Set()).add(device))
  }
  await hangUp(m)
}

/** An officer confirms the building's fire once it is an alarm (not while it is being verified). */
async function confirm(r: Run, a: Extract<Action, { op: 'confirm' }>): Promise<void> {
  const i = upNode(r, a.node)
  const list = await call(i, 'GET', `/api/incidents?status=open&building=${r.buildings[a.building]}`)
  const open = (list?.body?.items as { id: string; status: string }[] | undefined)?.find(
    (x) => x.status === 'alarm' || x.status === 'acknowledged',
  )
  if (open === undefined) return
  const res = await call(i, 'POST', `/api/incidents/${open.id}/confirm`, { reason: 'flames seen' }, 8000)
  if (res?.status === 200) r.confirmed.add(open.id)
}

async function kill(r: Run, a: Extract<Action, { op: 'kill' }>): Promise<void> {
  // Always one node left to take the work over.
  if (r.down.has(a.node) || r.down.size >= NODES - 1) return
  r.down.add(a.node)
  const victim = c.nodes[a.node]!
  victim.child.kill('SIGKILL')
  await victim.exited()
  background(
    r,
    `restart of node ${a.node + 1}`,
    c.restart(a.node, { fresh: a.fresh }).then(() => {
      r.down.delete(a.node)
    }),
  )
}

function pause(r: Run, a: Extract<Action, { op: 'pause' }>): void {
  if (r.down.has(a.node)) return
  const child = c.nodes[a.node]!.child
  child.kill('SIGSTOP')
  background(
    r,
    `SIGCONT of node ${a.node + 1}`,
    new Promise<void>((res) =>
      setTimeout(() => {
        // The same process: a node killed meanwhile has another child, which was never stopped.
        child.kill('SIGCONT')
        res()
      }, a.ms),
    ),
  )
}

function background(r: Run, what: string, p: Promise<unknown>): void {
  const task: Promise<unknown> = p.then(
    () => r.pending.delete(task),
    (err: Error) => {
      r.pending.delete(task)
      r.failures.push(`${what}: ${err.message}`)
    },
  )
  r.pending.set(task, what)
}

async function play(r: Run, schedule: Action[]): Promise<void> {
  for (const [k, a] of schedule.entries()) {
    if (a.after > 0) await new Promise((res) => setTimeout(res, a.after))
    const what = `action ${k} (${a.op})`
    if (a.op === 'load') background(r, what, load(r, a))
    else if (a.op === 'fire') background(r, what, fire(r, a))
    else if (a.op === 'confirm') background(r, what, confirm(r, a))
    else if (a.op === 'kill') await kill(r, a)
    else pause(r, a)
  }
  // Every task is bounded (timeouts on connects, publishes, requests, readiness); this says which did not end.
  await until(() => r.pending.size === 0, 'the schedule to end', 120_000).catch(() => {
    throw new Error(`the schedule did not end: ${[...r.pending.values()].join(', ')} still running`)
  })
  expect(r.failures).toEqual([])
}

/** Every node ready, every community held by a live lease, the intake log evaluated, no timer pending. */
async function settled(r: Run): Promise<void> {
  await until(
    async () => {
      for (let i = 0; i < NODES; i++)
        if ((await call(i, 'GET', '/readyz', undefined, 2000))?.status !== 200) return false
      const leases = await db.query<{ partition: string }>(
        'SELECT partition FROM cluster_leases WHERE owner IS NOT NULL AND expires_at > $1',
        [Date.now()],
      )
      if (!COMMUNITIES.every((x) => leases.rows.some((l) => l.partition === x))) return false
      const log = await db.query<{ n: string }>('SELECT count(*) AS n FROM intake_log')
      if (Number(log.rows[0]!.n) > 0) return false
      const verifying = await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM incidents WHERE status = 'verifying' AND building = ANY($1)",
        [r.buildings],
      )
      return Number(verifying.rows[0]!.n) === 0
    },
    'the cluster to settle',
    45_000,
  )
}

interface TimelineEntry {
  type: string
  status?: string
  device?: string
  condition?: string
}

/** The incident a request to the 119 receiver forwards (webhook body: {id, event, incident, data}). */
const fireCentreCall = (q: Receiver['requests'][number]): string | undefined =>
  q.json?.event === 'fire_centre' ? (q.json.incident as string) : undefined

async function checkInvariants(r: Run): Promise<void> {
  // Nothing acknowledged is lost.
  for (const [device, n] of r.acked) {
    if (n === 0) continue
    const stored = await until(
      async () => {
        const rows = await c.influx.query(
          `SELECT COUNT("temperature") AS n FROM "telemetry" WHERE "device" = '${device}'`,
          'fire',
        )
        const k = Number(rows[0]?.n ?? 0)
        return k >= n ? k : undefined
      },
      `${n} acknowledged readings of ${device} in InfluxDB`,
      30_000,
    ).catch(() => undefined)
    expect(stored ?? 'fewer than acknowledged', `readings of ${device}`).toBeGreaterThanOrEqual(n)
  }
  // At most one open incident per building, in PostgreSQL and through the API of every node.
  const rows = await db.query<{ id: string; building: string; status: string }>(
    'SELECT id, building, status FROM incidents WHERE building = ANY($1)',
    [r.buildings],
  )
  // No detector of a schedule ever clears and nobody resolves: one incident per building at all.
  for (const b of r.buildings) expect(rows.rows.filter((x) => x.building === b).length).toBeLessThanOrEqual(1)
  for (let i = 0; i < NODES; i++) {
    const open = await call(i, 'GET', '/api/incidents?status=open&limit=500')
    expect(open?.status).toBe(200)
    const mine = (open!.body.items as { building?: string }[]).filter((x) =>
      r.buildings.includes(x.building ?? ''),
    )
    for (const b of r.buildings) expect(mine.filter((x) => x.building === b).length).toBeLessThanOrEqual(1)
  }
  // Every acknowledged fire opened or joined its building's incident, once; one 'alarm' each.
  for (const [b, detectors] of r.fires) {
    const incident = rows.rows.find((x) => x.building === b)
    expect(incident, `the incident of ${b}`).toBeDefined()
    const detail = await call(0, 'GET', `/api/incidents/${incident!.id}`)
    expect(detail?.status).toBe(200)
    const devices = (detail!.body.devices as { device: string }[]).map((d) => d.device)
    for (const d of detectors) expect(devices).toContain(d)
    const timeline = detail!.body.timeline as TimelineEntry[]
    const arrivals = timeline.filter((e) => e.type === 'opened' || e.type === 'device')
    const keys = arrivals.map((e) => `${e.device}/${e.condition}`)
    expect(new Set(keys).size, `arrivals ${keys.join(', ')}`).toBe(keys.length)
    const alarms = timeline.filter((e) => e.type !== 'device' && e.status === 'alarm')
    expect(alarms, `alarm transitions of ${incident!.id}`).toHaveLength(1)
  }
  // Every confirmed fire reached 119; no incident under two delivery ids.
  for (const id of r.confirmed)
    await until(() => centre.requests.some((q) => fireCentreCall(q) === id), `119 to hear of ${id}`, 20_000)
  const ids = new Map<string, Set<string>>()
  for (const q of centre.requests) {
    const incident = fireCentreCall(q)
    if (incident === undefined) continue
    ids.set(incident, (ids.get(incident) ?? new Set()).add(String(q.headers['x-firecircle-delivery'])))
  }
  for (const [incident, deliveries] of ids)
    expect([incident, [...deliveries]]).toEqual([incident, [...deliveries].slice(0, 1)])
}

/** What 119 received, and the timelines of the confirmed incidents: for a failure's message. */
async function diagnosis(r: Run): Promise<string> {
  const heard = centre.requests.map((q) => [q.headers['x-firecircle-delivery'], fireCentreCall(q)])
  const timelines = await Promise.all(
    [...r.confirmed].map(async (id) => (await call(0, 'GET', `/api/incidents/${id}`))?.body?.timeline),
  )
  return `119 heard ${JSON.stringify(heard)}; confirmed incidents' timelines ${JSON.stringify(timelines)}`
}

describe('a cluster of three nodes under kills and pauses', () => {
  it(
    'loses nothing acknowledged, keeps one incident per building, fires each timer and forwards each fire once',
    async () => {
      let n = 0
      await fc.assert(
        fc.asyncProperty(scheduleArb, async (schedule) => {
          const r = await prepare(++n)
          await play(r, schedule)
          const summary = () =>
            `schedule ${r.n}: acked ${JSON.stringify([...r.acked])}, fires ${JSON.stringify([...r.fires].map(([b, d]) => [b, [...d]]))}, confirmed ${JSON.stringify([...r.confirmed])}`
          try {
            await settled(r)
            await checkInvariants(r)
          } catch (err) {
            throw new Error(`${summary()}\n${await diagnosis(r)}\n${(err as Error).message}`)
          }
          if (process.env.FC_PROPS_VERBOSE) console.log(`${summary()}\n  ${JSON.stringify(schedule)}`)
        }),
        {
          numRuns: RUNS,
          seed: SEED,
          // FC_PROPS_PATH (the "path" fast-check prints with a failure) replays that one schedule.
          ...(process.env.FC_PROPS_PATH ? { path: process.env.FC_PROPS_PATH } : {}),
          endOnFailure: true,
          verbose: 1,
        },
      )
    },
    (SOAK ? 60 : 40) * RUNS * 1000 + 60_000,
  )
})

/**
 * Linkage on a cluster's PostgreSQL: nodes that are linkage instances on one database, each
 * with its own fence (test/linkage/lease-fence.ts) on the real alarm engine's incidents
 * (test/support/alarm-world.ts) and an injected ManualClock. A webhook interrupted on a node
 * that dies is sent by the node that takes its partition over, with the same delivery id; a
 * stop and start with another set of partitions holds exactly what was loaded; one node's
 * rules change reaches another.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Incident } from '../../services/alarms/index.ts'
import { createEventBus } from '../../services/events/index.ts'
import {
  createLinkage,
  createPostgresLinkageRepository,
  DELIVERY_HEADER,
  type LinkageEscalation,
  type LinkageRulesChange,
} from '../../services/linkage/index.ts'
import { createLogger } from '../../services/shared/log.ts'
import type { PgDatabase } from '../../services/state/index.ts'
import { type AlarmWorld, createAlarmWorld, T0 } from '../support/alarm-world.ts'
import { type Receiver, startReceiver } from '../support/http-receiver.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
import { until } from '../support/service.ts'
import { type LeaseFence, leaseFence, seedIncident } from './lease-fence.ts'

/** The listeners this file puts on the event bus. */
const test = { owner: 'test/linkage/cluster.integration.test.ts' }
const SECRET = 'linkage-test-secret-0123456789'
const logger = createLogger(process.env['FC_TEST_LOG_LEVEL'] ?? 'silent')
const HOUR = 3_600_000

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface Cluster {
  world: AlarmWorld
  db: PgDatabase
  /** A node: a linkage on its own bus (the first on the world's) with its own fence. */
  node(
    name: string,
    o?: { fireCentreUrl?: string; bus?: 'world' | 'own' },
  ): {
    linkage: ReturnType<typeof createLinkage>
    fence: LeaseFence
    events: ReturnType<typeof createEventBus>
  }
  /** The incident as the alarm stage's repository has it in the cluster's database. */
  mirror(i: Incident): Promise<void>
}

async function cluster(): Promise<Cluster> {
  const world = await createAlarmWorld([{ id: 'f7-heat', kind: 'heat', building: 'factory-7' }])
  const db = await pg.database()
  const nodes: ReturnType<typeof createLinkage>[] = []
  cleanups.push(() => {
    for (const n of nodes) n.stop()
    world.close()
  })
  return {
    world,
    db,
    node(name, o = {}) {
      const fence = leaseFence(db, name, () => world.clock.now())
      const events = o.bus === 'own' ? createEventBus() : world.events
      const linkage = createLinkage({
        clock: world.clock,
        events,
        repository: createPostgresLinkageRepository(db, fence),
        registry: world.registry,
        incidents: world.incidents,
        publish: async () => {},
        settings: {
          webhookSecret: SECRET,
          webhookTimeoutMs: 5000,
          ...(o.fireCentreUrl !== undefined ? { fireCentreUrl: o.fireCentreUrl } : {}),
        },
        logger,
        random: () => 0.5,
      })
      nodes.push(linkage)
      return { linkage, fence, events }
    },
    mirror: (i) =>
      seedIncident(db, {
        id: i.id,
        community: i.community,
        street: i.street,
        status: i.status,
        ...(i.building !== undefined ? { building: i.building } : {}),
        at: i.openedAt,
        data: i,
      }),
  }
}

async function receiver(answer?: (n: number) => number | 'hang'): Promise<Receiver> {
  const r = await startReceiver(answer)
  cleanups.push(() => r.close())
  return r
}

/** The 119 notification's row as the database has it. */
async function fireCentreRows(db: PgDatabase, incident: string) {
  const r = await db.query<{ id: string; status: string; attempts: number; http_status: number | null }>(
    "SELECT id, status, attempts::int AS attempts, http_status::int AS http_status FROM linkage_audit WHERE incident = $1 AND purpose = 'fire_centre'",
    [incident],
  )
  return r.rows
}

async function alarmAt(c: Cluster): Promise<Incident> {
  await c.world.reading('f7-heat', { temperature: 72 })
  const [inc] = await c.world.all()
  expect(inc).toMatchObject({ status: 'alarm', community: 'xixiang-01' })
  await c.mirror(inc!)
  return inc!
}

describe('linkage on a cluster', () => {
  it('a 119 webhook interrupted by a node that dies is sent by the new owner with the same delivery id', async () => {
    const centre = await receiver((n) => (n === 1 ? 503 : 200))
    const c = await cluster()
    const inc = await alarmAt(c)
    await c.world.engine.act(inc.id, 'confirm', 'officer:o-comm', 'seen on camera')
    await c.mirror((await c.world.incidents.get(inc.id))!)

    // Node A owns xixiang-01: it catches up on the confirmed fire and forwards it; 119 answers 503.
    const a = c.node('node-a', { fireCentreUrl: centre.url })
    await a.fence.acquire(['xixiang-01'], T0 + HOUR)
    await a.linkage.start()
    await until(
      async () => (await fireCentreRows(c.db, inc.id))[0]?.status === 'retrying',
      'the 503 recorded',
    )
    expect(centre.requests).toHaveLength(1)

    // A dies before its retry (stopped, nothing cleaned up); B takes the lease over.
    a.linkage.stop()
    const b = c.node('node-b', { fireCentreUrl: centre.url, bus: 'own' })
    await b.fence.acquire(['xixiang-01'], T0 + HOUR)
    await b.linkage.start()
    await b.linkage.settled()

    const [row] = await fireCentreRows(c.db, inc.id)
    expect(row).toMatchObject({ status: 'delivered', attempts: 2, http_status: 200 })
    // At least once, at most twice here, and always under the row's one id.
    expect(centre.requests).toHaveLength(2)
    expect(centre.requests.map((r) => r.headers[DELIVERY_HEADER.toLowerCase()])).toEqual([row!.id, row!.id])
    expect(centre.requests.map((r) => [r.json.id, r.json.attempt])).toEqual([
      [row!.id, 1],
      [row!.id, 2],
    ])
    // B did not forward the fire a second time: the mark A wrote says it was.
    expect(await fireCentreRows(c.db, inc.id)).toHaveLength(1)
    // Any node answers the incident's view from the database, the dead one's too.
    for (const node of [a, b]) {
      const view = await node.linkage.view(inc.id)
      expect(view.audit).toContainEqual(
        expect.objectContaining({ id: row!.id, status: 'delivered', attempts: 2, httpStatus: 200 }),
      )
      expect(view.timeline).toContainEqual(
        expect.objectContaining({
          type: 'delivery',
          reason: 'fire_centre accepted the alert (HTTP 200, attempt 2)',
        }),
      )
    }
    // A, paused rather than dead, changes nothing now: its lease moved.
    await expect(
      createPostgresLinkageRepository(c.db, a.fence).timeline.add(inc.id, {
        at: c.world.clock.now(),
        type: 'alert',
        actor: 'linkage',
        reason: 'late',
      }),
    ).rejects.toMatchObject({ code: 'partition_moved' })
  })

  it('after a stop and a start, holds exactly what was loaded for the partitions owned then', async () => {
    const c = await cluster()
    const inc = await alarmAt(c)
    const escalations: LinkageEscalation[] = []
    c.world.events.on(test, 'linkage.escalation', (e) => escalations.push(e))
    const centre = await receiver()
    const { linkage, fence } = c.node('node-a', { fireCentreUrl: centre.url })
    await fence.acquire(['xixiang-01'], T0 + HOUR)
    await linkage.start()
    await linkage.flushed()
    const armed = [
      { step: 1, deadline: T0 + 60_000, audience: 'street' },
      { step: 2, deadline: T0 + 180_000, audience: 'district' },
    ]
    expect(linkage.pendingEscalations(inc.id)).toEqual(armed)
    const audit = linkage.audit(inc.id)
    expect(audit.map((x) => x.purpose)).toContain('duty_officers')
    const timeline = linkage.timeline(inc.id)

    // xixiang-01 moves to another node: the composition root stops linkage and starts it again.
    fence.release(['xixiang-01'])
    await leaseFence(c.db, 'node-b', () => c.world.clock.now()).acquire(['xixiang-01'], T0 + HOUR)
    linkage.stop()
    await linkage.start()
    await linkage.flushed()
    expect(linkage.pendingEscalations(inc.id)).toEqual([])
    expect(linkage.audit(inc.id)).toEqual([])
    expect(linkage.timeline(inc.id)).toEqual([])
    // The view still answers, from the database.
    const view = await linkage.view(inc.id)
    expect(view.escalations).toEqual(
      armed.map((s) => ({ ...s, deadline: new Date(s.deadline).toISOString() })),
    )
    expect(view.audit.map((x) => (x as { id: string }).id)).toEqual(audit.map((x) => x.id))
    // Not its partition: no escalation from this node.
    await c.world.advance(30)
    await linkage.flushed()
    expect(escalations).toEqual([])

    // It comes back: loaded again, the ladder runs from the stored deadlines, once.
    await fence.acquire(['xixiang-01'], T0 + HOUR)
    linkage.stop()
    await linkage.start()
    await linkage.flushed()
    expect(linkage.pendingEscalations(inc.id)).toEqual(armed)
    expect(linkage.audit(inc.id)).toEqual(audit)
    expect(linkage.timeline(inc.id)).toEqual(timeline)
    await c.world.advance(30)
    await linkage.flushed()
    expect(escalations.map((e) => [e.incident, e.step, e.at])).toEqual([[inc.id, 1, T0 + 60_000]])
    expect(linkage.pendingEscalations(inc.id)).toEqual([armed[1]])
    // Its webhooks go out again too: a confirmed fire reaches 119.
    await c.world.engine.act(inc.id, 'confirm', 'officer:o-comm')
    await c.mirror((await c.world.incidents.get(inc.id))!)
    await linkage.settled()
    expect(centre.requests.map((r) => r.json.event)).toEqual(['fire_centre'])
    expect(linkage.audit(inc.id).find((x) => x.purpose === 'fire_centre')).toMatchObject({
      status: 'delivered',
    })
  })

  it('a partition that comes back is not worked on from what was known before: 119 is told once', async () => {
    const centre = await receiver()
    const c = await cluster()
    const inc = await alarmAt(c)
    const a = c.node('node-a', { fireCentreUrl: centre.url })
    await a.fence.acquire(['xixiang-01'], T0 + HOUR)
    await a.linkage.start()
    await a.linkage.flushed()

    // xixiang-01 moves to B; the fire is confirmed there and B forwards it.
    a.fence.release(['xixiang-01'])
    a.linkage.stop()
    await a.linkage.start()
    const b = c.node('node-b', { fireCentreUrl: centre.url, bus: 'own' })
    await b.fence.acquire(['xixiang-01'], T0 + HOUR)
    await c.world.engine.act(inc.id, 'confirm', 'officer:o-comm')
    await c.mirror((await c.world.incidents.get(inc.id))!)
    await a.linkage.settled()
    await b.linkage.start()
    await b.linkage.settled()
    expect(centre.requests).toHaveLength(1)

    // Back to A: it reads what B did, and does not forward again.
    b.linkage.stop()
    await a.fence.acquire(['xixiang-01'], T0 + HOUR)
    a.linkage.stop()
    await a.linkage.start()
    await a.linkage.settled()
    expect(centre.requests).toHaveLength(1)
    expect(await fireCentreRows(c.db, inc.id)).toEqual([expect.objectContaining({ status: 'delivered' })])
  })

  it('an administrator’s rules set on one node reach another through refreshRules', async () => {
    const c = await cluster()
    const a = c.node('node-a')
    const b = c.node('node-b', { bus: 'own' })
    await a.linkage.start()
    await b.linkage.start()
    const changes: LinkageRulesChange[] = []
    a.events.on(test, 'linkage.rules', (e) => changes.push(e))
    // What the composition root does with what the relay brings.
    const relay = async () => {
      for (const ch of changes.splice(0)) await b.linkage.refreshRules(ch.community)
    }

    await a.linkage.rules.set('xixiang-01', { fireCentre: false, devices: { sounders: false } })
    expect(changes).toEqual([{ community: 'xixiang-01', at: T0 }])
    expect(b.linkage.rules.forCommunity('xixiang-01').fireCentre).toBe(true)
    await relay()
    expect(b.linkage.rules.forCommunity('xixiang-01')).toMatchObject({
      fireCentre: false,
      devices: { sounders: false, gasValves: true },
    })
    expect(b.linkage.rules.override('xixiang-01')).toEqual({
      fireCentre: false,
      devices: { sounders: false },
    })

    await a.linkage.rules.clear('xixiang-01')
    expect(changes).toHaveLength(1)
    await relay()
    expect(b.linkage.rules.forCommunity('xixiang-01').fireCentre).toBe(true)
    expect(b.linkage.rules.override('xixiang-01')).toBeUndefined()
  })
})

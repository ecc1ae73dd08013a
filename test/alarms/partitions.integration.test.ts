/**
 * The alarm engine in a cluster, restarted in place for a changed set of partitions (what the
 * composition root does when its leases change: engine.stop(); book.reload(); engine.start()),
 * over PostgreSQL with fenced repositories and a ManualClock: a verifying incident's timer
 * resumes from its stored deadline, and what belonged to a partition given up (its device
 * conditions, its devices' silence supervision, their readings) is forgotten.
 */
import client from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DeviceEventType, DeviceKind } from '../../devices/catalogue.ts'
import { createIncidentBook } from '../../services/alarms/book.ts'
import { createAlarmEngine } from '../../services/alarms/engine.ts'
import type { SignalEvent } from '../../services/alarms/events.ts'
import { createPostgresAlarmRepository } from '../../services/alarms/repository-postgres.ts'
import { createEventBus } from '../../services/events/index.ts'
import type { Reading } from '../../services/intake/index.ts'
import { createLiveness, createPostgresLivenessRepository } from '../../services/liveness/index.ts'
import type { Device } from '../../services/registry/index.ts'
import { createManualClock } from '../../services/shared/clock.ts'
import { createLogger } from '../../services/shared/log.ts'
import { ownedFence, seedDevices } from '../support/owned-fence.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'

const T0 = Date.UTC(2026, 10, 29, 2, 0, 0)
const test = { owner: 'test/alarms/partitions.integration.test.ts' }

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

async function node() {
  const db = await pg.database()
  const placed = [
    { id: 'smoke-1', community: 'c1', kind: 'smoke' as DeviceKind },
    { id: 'smoke-2', community: 'c2', kind: 'smoke' as DeviceKind },
  ]
  await seedDevices(db, placed)
  const devices = new Map<string, Device>(
    placed.map((d) => [
      d.id,
      {
        id: d.id,
        kind: d.kind,
        building: `b-${d.community}`,
        community: d.community,
        street: 's1',
        location: [116.4, 39.9],
        enabled: true,
        createdAt: 0,
      },
    ]),
  )
  const clock = createManualClock(T0)
  const fence = ownedFence(db, 'node-a', () => clock.now())
  const events = createEventBus((err) => {
    throw err
  })
  const logger = createLogger('silent')
  const liveness = await createLiveness({
    repository: createPostgresLivenessRepository(db, fence),
    clock,
    events,
    logger,
    flushMs: 3_600_000,
  })
  const repository = createPostgresAlarmRepository(db, fence)
  const incidents = await createIncidentBook(repository)
  const engine = createAlarmEngine({
    clock,
    events,
    registry: {
      device: (id) => devices.get(id),
      building: () => undefined,
      allDevices: () => devices.values(),
      listDevices: async (_f, page) => ({ items: [...devices.values()], total: devices.size, ...page }),
    },
    liveness,
    incidents,
    repository,
    spool: { append: async () => {} },
    logger,
    metrics: new client.Registry(),
    scope: { owns: (community) => fence.owned().includes(community) },
  })
  const signals: SignalEvent[] = []
  events.on(test, 'signal', (s) => signals.push(s))
  let seq = 0
  const place = (id: string) => {
    const d = devices.get(id)!
    return { device: id, kind: d.kind, building: d.building, community: d.community, street: d.street }
  }
  return {
    db,
    clock,
    fence,
    liveness,
    incidents,
    engine,
    signals,
    async reading(id: string, obscuration: number) {
      const r: Reading = {
        ...place(id),
        ts: clock.now(),
        receivedAt: clock.now(),
        seq: ++seq,
        values: { obscuration },
      }
      liveness.reading(r)
      events.emit('reading', r)
      await engine.flushed()
    },
    async event(id: string, type: DeviceEventType) {
      liveness.seen(id, clock.now())
      events.emit('device.event', { ...place(id), ts: clock.now(), receivedAt: clock.now(), type })
      await engine.flushed()
    },
    async advance(seconds: number) {
      clock.advance(seconds * 1000)
      await engine.flushed()
    },
    async close() {
      engine.stop()
      await liveness.close()
    },
  }
}

describe('the alarm engine restarted in place for a changed set of partitions', () => {
  it('resumes a verifying incident from its stored deadline and forgets the partitions it gave up', async () => {
    const n = await node()
    await n.fence.take('c1', 'c2')
    await n.engine.start()
    await n.reading('smoke-1', 4) // smoke alone: verified for 30 s
    const [verifying] = n.incidents.openIncidents()
    expect(verifying).toMatchObject({ status: 'verifying', community: 'c1' })
    expect(verifying!.verification?.deadline).toBe(T0 + 30_000)
    await n.event('smoke-2', 'fault')
    expect(n.engine.conditions('smoke-2').map((c) => c.condition)).toEqual(['fault'])
    await n.advance(10)

    // The lease on c2 is given up: the composition root restarts the work in place.
    n.engine.stop()
    n.fence.drop('c2')
    await n.incidents.reload()
    await n.engine.start()

    expect(n.engine.conditions('smoke-2')).toEqual([])
    expect(
      n.engine
        .conditions('smoke-1')
        .map((c) => c.condition)
        .sort(),
    ).toEqual(['smoke', 'smoke_pre_alarm'])
    expect(n.incidents.getOpen(verifying!.id)?.status).toBe('verifying')
    await n.advance(19)
    expect(n.incidents.getOpen(verifying!.id)?.status).toBe('verifying')
    await n.advance(1)
    expect(n.incidents.getOpen(verifying!.id)?.status).toBe('alarm')
    const timeline = await n.incidents.timeline(verifying!.id)
    expect(timeline.at(-1)).toMatchObject({
      type: 'status',
      from: 'verifying',
      status: 'alarm',
      at: T0 + 30_000,
    })

    // c2's devices are no longer this engine's: their readings and events change nothing here…
    const before = n.signals.length
    await n.reading('smoke-2', 5)
    await n.event('smoke-2', 'tamper')
    expect(n.signals.length).toBe(before)
    expect(n.incidents.openForBuilding('b-c2')).toBeUndefined()
    expect(n.engine.conditions('smoke-2')).toEqual([])
    // …and their silence is not supervised, while c1's still is (3 × 60 s from the start).
    await n.advance(200)
    expect(n.liveness.get('smoke-1')).toMatchObject({ online: false, cause: 'silence' })
    expect(n.engine.conditions('smoke-1').map((c) => c.condition)).toContain('offline')
    expect(n.liveness.get('smoke-2')?.cause).not.toBe('silence')
    // c2's stored condition is still there for its new owner.
    const rows = await n.db.query<{ device: string; condition: string }>(
      'SELECT device, condition FROM device_conditions ORDER BY device, condition',
    )
    expect(rows.rows).toEqual([
      { device: 'smoke-1', condition: 'offline' },
      { device: 'smoke-1', condition: 'smoke' },
      { device: 'smoke-1', condition: 'smoke_pre_alarm' },
      { device: 'smoke-2', condition: 'fault' },
    ])
    await n.close()
  })

  it('takes a partition in: its open incident, its conditions and its devices’ supervision come with the restart', async () => {
    const n = await node()
    await n.fence.take('c1', 'c2')
    await n.engine.start()
    await n.reading('smoke-2', 4)
    await n.event('smoke-2', 'fault')
    const [incident] = n.incidents.openIncidents()
    n.engine.stop()
    n.fence.drop('c2')
    await n.incidents.reload()
    await n.engine.start()
    expect(n.incidents.openIncidents()).toEqual([])
    // The window ends while the partition is not this node's: nothing happens here.
    await n.advance(40)
    expect((await n.incidents.get(incident!.id))?.status).toBe('verifying')

    n.engine.stop()
    await n.fence.take('c2')
    await n.incidents.reload()
    await n.engine.start()
    expect(n.incidents.getOpen(incident!.id)?.status).toBe('verifying')
    expect(
      n.engine
        .conditions('smoke-2')
        .map((c) => c.condition)
        .sort(),
    ).toEqual(['fault', 'smoke', 'smoke_pre_alarm'])
    // Its stored deadline has passed: confirmed at once.
    await n.advance(0)
    expect(n.incidents.getOpen(incident!.id)?.status).toBe('alarm')
    // Supervised again from the restart: offline by silence 180 s after it.
    await n.advance(179)
    expect(n.liveness.get('smoke-2')?.cause).not.toBe('silence')
    await n.advance(2)
    expect(n.liveness.get('smoke-2')).toMatchObject({ online: false, cause: 'silence' })
    await n.close()
  })
  it('keeps nothing of a partition from before: what its other owner cleared meanwhile is raised anew', async () => {
    const n = await node()
    await n.fence.take('c1', 'c2')
    await n.engine.start()
    await n.reading('smoke-2', 4)
    const [first] = n.incidents.openIncidents()
    n.engine.stop()
    n.fence.drop('c2')
    await n.incidents.reload()
    await n.engine.start()

    // Another node, holding c2 now, sees the smoke clear and the incident resolved.
    const other = createPostgresAlarmRepository(n.db)
    const book = await createIncidentBook(other)
    await other.deleteCondition('smoke-2', 'smoke')
    await other.deleteCondition('smoke-2', 'smoke_pre_alarm')
    await book.transition(first!.id, 'resolved', { at: T0 + 5000, actor: 'officer:o1', reason: 'cleared' })
    await n.advance(60)

    n.engine.stop()
    await n.fence.take('c2')
    await n.incidents.reload()
    await n.engine.start()
    expect(n.engine.conditions('smoke-2')).toEqual([])
    await n.reading('smoke-2', 4)
    const again = n.incidents.openForBuilding('b-c2')
    expect(again).toMatchObject({ status: 'verifying' })
    expect(again!.id).not.toBe(first!.id)
    expect(
      n.signals.filter((x) => x.device === 'smoke-2' && x.condition === 'smoke' && x.active),
    ).toHaveLength(2)
    await n.close()
  })
})

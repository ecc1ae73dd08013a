/**
 * Linkage's repositories, SQLite and PostgreSQL, on one contract: what is written is read
 * back as it was, across a reopening. Then what only a cluster's partitioned PostgreSQL does:
 * loads scoped to the partitions owned, a write under a lost lease refused and changing nothing.
 */
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createPostgresLinkageRepository,
  createSqliteLinkageRepository,
  type LinkageRepository,
} from '../../services/linkage/index.ts'
import type { StoredNotification } from '../../services/linkage/repository.ts'
import {
  openPostgres,
  openStateDatabase,
  type PgDatabase,
  type SqliteDb,
} from '../../services/state/index.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
import { tempDir } from '../support/tmp.ts'
import { leaseFence, seedIncident, seedPartitions } from './lease-fence.ts'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

interface Opened {
  repo: LinkageRepository
  /** The same store through a new connection (a restart). */
  reopen(): Promise<LinkageRepository>
}

function openSqlite(): Opened {
  const tmp = tempDir('firecircle-linkage-repo-')
  const file = path.join(tmp.dir, 'state.db')
  let db: SqliteDb = openStateDatabase(file)
  cleanups.push(() => {
    db.close()
    tmp.cleanup()
  })
  return {
    repo: createSqliteLinkageRepository(db),
    async reopen() {
      db.close()
      db = openStateDatabase(file)
      return createSqliteLinkageRepository(db)
    },
  }
}

async function openPg(): Promise<Opened> {
  const db = await pg.database()
  return {
    repo: createPostgresLinkageRepository(db),
    async reopen() {
      await db.close()
      const again = await openPostgres(db.url)
      cleanups.push(() => again.close())
      return createPostgresLinkageRepository(again)
    },
  }
}

const stores: [string, () => Opened | Promise<Opened>][] = [
  ['SQLite', openSqlite],
  ['PostgreSQL', openPg],
]

const T = Date.UTC(2026, 10, 29, 2, 0, 0)

describe.each(stores)('the %s linkage repository', (_name, open) => {
  it('keeps rules, marks, timers, commands, audit records, dead letters and timeline entries', async () => {
    const s = await open()
    const repo = s.repo
    await repo.rules.put('xinan-01', { fireCentre: false }, T)
    await repo.rules.put('xixiang-01', { devices: { sounders: false } }, T)
    await repo.rules.delete('xixiang-01')
    await repo.incidents.markAlarm('inc-1', T)
    await repo.incidents.markForwarded('inc-1', T + 5)
    const step = { afterS: 60, audience: 'street' as const, channels: ['sse' as const] }
    await repo.timers.put([
      {
        incident: 'inc-1',
        step: 2,
        deadline: T + 180_000,
        spec: { ...step, afterS: 180, audience: 'district' },
      },
      { incident: 'inc-1', step: 1, deadline: T + 60_000, spec: step },
      { incident: 'inc-2', step: 1, deadline: T + 61_000, spec: step },
    ])
    await repo.timers.remove('inc-1', 2)
    await repo.timers.removeAll('inc-2')
    const command = {
      record: {
        id: 'cmd-1',
        incident: 'inc-1',
        device: 'f7-sounder',
        action: 'sounder.on' as const,
        status: 'pending' as const,
        attempts: 0,
        createdAt: T,
        updatedAt: T,
      },
      place: { community: 'xixiang-01', street: 'xixiang' },
    }
    expect(await repo.commands.insert(command)).toBe(true)
    expect(await repo.commands.insert({ ...command, record: { ...command.record, id: 'cmd-2' } })).toBe(false)
    const acked = {
      ...command.record,
      status: 'acknowledged' as const,
      attempts: 2,
      updatedAt: T + 3500,
      lastAttemptAt: T + 3500,
      acknowledgedAt: T + 3600,
      acknowledgedId: 'cmd-1.2',
      lastError: 'attempt 1 not acknowledged within 3.5 s',
    }
    await repo.commands.save(acked)
    const n: StoredNotification = {
      record: {
        id: 'ntf-1',
        incident: 'inc-1',
        purpose: 'fire_centre',
        audience: 'fire_centre',
        channel: 'webhook',
        target: 'https://119.example/hook',
        status: 'pending',
        attempts: 0,
        createdAt: T,
        payload: { incident: { id: 'inc-1' } },
      },
      fullTarget: 'https://user:pw@119.example/hook?token=x',
      place: { community: 'xixiang-01', street: 'xixiang' },
      maxAttempts: 10,
    }
    await repo.audit.insert(n)
    const dead = {
      ...n.record,
      status: 'dead_letter' as const,
      attempts: 10,
      httpStatus: 503,
      error: 'HTTP 503',
      firstAttemptAt: T,
      lastAttemptAt: T + 60_000,
    }
    await repo.audit.save(dead)
    const letter = {
      id: 'ntf-1',
      incident: 'inc-1',
      purpose: 'fire_centre',
      channel: 'webhook',
      target: 'https://user:pw@119.example/hook?token=x',
      attempts: 10,
      error: 'HTTP 503',
      at: T + 60_000,
      payload: { incident: { id: 'inc-1' } },
    }
    await repo.audit.putDeadLetter(letter)
    await repo.timeline.add('inc-1', { at: T + 10, type: 'alert', actor: 'linkage', reason: 'second' })
    await repo.timeline.add('inc-1', { at: T, type: 'alert', actor: 'linkage', reason: 'first' })

    const again = await s.reopen()
    expect(await again.rules.all()).toEqual([{ community: 'xinan-01', rules: { fireCentre: false } }])
    expect(await again.incidents.get('inc-1')).toEqual({ alarmHandledAt: T, forwardedAt: T + 5 })
    expect(await again.incidents.get('inc-9')).toBeUndefined()
    expect(await again.timers.all()).toEqual([
      { incident: 'inc-1', step: 1, deadline: T + 60_000, spec: step },
    ])
    expect(await again.commands.all()).toEqual([{ record: acked, place: command.place }])
    expect(await again.audit.all()).toEqual([{ ...n, record: dead }])
    expect(await again.audit.deadLetters()).toEqual([letter])
    expect((await again.timeline.all()).map((e) => e.entry.reason)).toEqual(['first', 'second'])
    // One incident's, one community's rows.
    expect(await again.rules.get('xinan-01')).toEqual({ fireCentre: false })
    expect(await again.rules.get('xixiang-01')).toBeUndefined()
    expect(await again.timers.ofIncident('inc-1')).toEqual([
      { incident: 'inc-1', step: 1, deadline: T + 60_000, spec: step },
    ])
    expect(await again.timers.ofIncident('inc-2')).toEqual([])
    expect(await again.commands.ofIncident('inc-1')).toEqual([acked])
    expect(await again.audit.ofIncident('inc-1')).toEqual([dead])
    expect(await again.audit.ofIncident('inc-2')).toEqual([])
    expect((await again.timeline.ofIncident('inc-1')).map((e) => e.reason)).toEqual(['first', 'second'])
  })

  it('keeps the order things were written in, and a replaced dead letter comes last', async () => {
    const s = await open()
    const n = (id: string, at: number): StoredNotification => ({
      record: {
        id,
        incident: 'inc-1',
        purpose: 'responsible',
        audience: 'responsible:factory-7',
        channel: 'webhook',
        status: 'pending',
        attempts: 0,
        createdAt: at,
        payload: {},
      },
      place: { community: 'xixiang-01', street: 'xixiang' },
    })
    // Same time: the order written decides.
    for (const id of ['ntf-b', 'ntf-a', 'ntf-c']) await s.repo.audit.insert(n(id, T))
    const letter = (id: string) => ({
      id,
      purpose: 'responsible',
      channel: 'webhook',
      attempts: 1,
      error: 'x',
      at: T,
      payload: {},
    })
    for (const id of ['ntf-b', 'ntf-a', 'ntf-c']) await s.repo.audit.putDeadLetter(letter(id))
    await s.repo.audit.putDeadLetter({ ...letter('ntf-b'), attempts: 2 })
    const again = await s.reopen()
    expect((await again.audit.all()).map((x) => x.record.id)).toEqual(['ntf-b', 'ntf-a', 'ntf-c'])
    expect((await again.audit.ofIncident('inc-1')).map((x) => x.id)).toEqual(['ntf-b', 'ntf-a', 'ntf-c'])
    expect((await again.audit.deadLetters()).map((d) => [d.id, d.attempts])).toEqual([
      ['ntf-a', 1],
      ['ntf-c', 1],
      ['ntf-b', 2],
    ])
  })
})

/** Two communities on two streets, each with an incident and an electrical device. */
async function partitioned(db: PgDatabase) {
  await seedPartitions(db, [
    { community: 'xixiang-01', street: 'xixiang', building: 'factory-7', devices: ['f7-elec'] },
    { community: 'xinan-01', street: 'xinan', building: 'tower-3', devices: ['t3-elec'] },
  ])
  await seedIncident(db, { id: 'inc-x', community: 'xixiang-01', street: 'xixiang' })
  await seedIncident(db, { id: 'inc-n', community: 'xinan-01', street: 'xinan' })
  let now = T
  const clock = {
    now: () => now,
    set: (t: number) => {
      now = t
    },
  }
  const fence = leaseFence(db, 'node-a', clock.now)
  return { fence, clock, repo: createPostgresLinkageRepository(db, fence) }
}

const step = { afterS: 60, audience: 'street' as const, channels: ['sse' as const] }
const notification = (id: string, of: { incident: string } | { device: string }): StoredNotification => ({
  record: {
    id,
    ...of,
    purpose: 'incident' in of ? 'fire_centre' : 'warning',
    audience: 'fire_centre',
    channel: 'webhook',
    status: 'retrying',
    attempts: 1,
    createdAt: T,
    payload: {},
  },
  place: { community: 'xixiang-01', street: 'xixiang' },
})
const command = (id: string, incident: string) => ({
  record: {
    id,
    incident,
    device: `${incident}-sounder`,
    action: 'sounder.on' as const,
    status: 'pending' as const,
    attempts: 0,
    createdAt: T,
    updatedAt: T,
  },
  place: { community: 'xixiang-01', street: 'xixiang' },
})

/** Every row of linkage's tables, to see that a refused write changed none. */
async function snapshot(db: PgDatabase): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {}
  for (const t of [
    'linkage_rules',
    'linkage_incidents',
    'linkage_timers',
    'linkage_commands',
    'linkage_audit',
    'linkage_dead_letters',
    'linkage_timeline',
  ])
    out[t] = (await db.query(`SELECT * FROM ${t} ORDER BY 1, 2`)).rows
  return out
}

describe('the PostgreSQL linkage repository of a cluster', () => {
  it('loads only the partitions this node owns, and reads every partition', async () => {
    const db = await pg.database()
    const { fence, repo } = await partitioned(db)
    await fence.acquire(['xixiang-01', 'xinan-01'], T + 60_000)
    for (const inc of ['inc-x', 'inc-n']) {
      await repo.timers.put([{ incident: inc, step: 1, deadline: T + 60_000, spec: step }])
      await repo.commands.insert(command(`cmd-${inc}`, inc))
      await repo.audit.insert(notification(`ntf-${inc}`, { incident: inc }))
      await repo.timeline.add(inc, { at: T, type: 'alert', actor: 'linkage', reason: inc })
      await repo.incidents.markAlarm(inc, T)
    }
    await repo.audit.insert(notification('ntf-f7', { device: 'f7-elec' }))
    await repo.audit.insert(notification('ntf-t3', { device: 't3-elec' }))
    await repo.audit.putDeadLetter({
      id: 'ntf-t3',
      purpose: 'warning',
      channel: 'webhook',
      attempts: 5,
      error: 'x',
      at: T,
      payload: {},
    })
    await repo.rules.put('xinan-01', { fireCentre: false }, T)

    // xinan-01 moved to another node: this node loads xixiang-01 only.
    fence.release(['xinan-01'])
    expect((await repo.timers.all()).map((t) => t.incident)).toEqual(['inc-x'])
    expect((await repo.commands.all()).map((c) => c.record.id)).toEqual(['cmd-inc-x'])
    expect((await repo.audit.all()).map((a) => a.record.id)).toEqual(['ntf-inc-x', 'ntf-f7'])
    expect((await repo.timeline.all()).map((e) => e.incident)).toEqual(['inc-x'])
    // What is read for an incident, a community or the dead letters is every partition's.
    expect((await repo.timers.ofIncident('inc-n')).map((t) => t.step)).toEqual([1])
    expect((await repo.commands.ofIncident('inc-n')).map((c) => c.id)).toEqual(['cmd-inc-n'])
    expect((await repo.audit.ofIncident('inc-n')).map((a) => a.id)).toEqual(['ntf-inc-n'])
    expect((await repo.timeline.ofIncident('inc-n')).map((e) => e.reason)).toEqual(['inc-n'])
    expect(await repo.incidents.get('inc-n')).toEqual({ alarmHandledAt: T })
    expect((await repo.audit.deadLetters()).map((d) => d.id)).toEqual(['ntf-t3'])
    expect(await repo.rules.all()).toEqual([{ community: 'xinan-01', rules: { fireCentre: false } }])
    // Owning nothing, it loads nothing.
    fence.release(['xixiang-01'])
    expect(await repo.timers.all()).toEqual([])
    expect(await repo.commands.all()).toEqual([])
    expect(await repo.audit.all()).toEqual([])
    expect(await repo.timeline.all()).toEqual([])
  })

  it('refuses every write under a lease that moved or ran out (partition_moved), changing nothing', async () => {
    const db = await pg.database()
    const { fence, clock, repo } = await partitioned(db)
    await fence.acquire(['xixiang-01', 'xinan-01'], T + 60_000)
    await repo.commands.insert(command('cmd-1', 'inc-x'))
    await repo.audit.insert(notification('ntf-1', { incident: 'inc-x' }))
    await repo.audit.insert(notification('ntf-2', { device: 'f7-elec' }))
    await repo.timers.put([{ incident: 'inc-x', step: 1, deadline: T + 60_000, spec: step }])

    // Another node takes xixiang-01 (epoch + 1); this one still believes it holds it.
    await leaseFence(db, 'node-b', clock.now).acquire(['xixiang-01'], T + 60_000)
    const before = await snapshot(db)
    const refused = (p: Promise<unknown>) => expect(p).rejects.toMatchObject({ code: 'partition_moved' })
    const acked = { ...command('cmd-1', 'inc-x').record, status: 'acknowledged' as const, attempts: 1 }
    const delivered = { ...notification('ntf-1', { incident: 'inc-x' }).record, status: 'delivered' as const }
    await refused(repo.incidents.markAlarm('inc-x', T))
    await refused(repo.incidents.markForwarded('inc-x', T))
    // Two incidents, one of them still held: neither is written.
    await refused(
      repo.timers.put([
        { incident: 'inc-n', step: 1, deadline: T + 60_000, spec: step },
        { incident: 'inc-x', step: 2, deadline: T + 180_000, spec: step },
      ]),
    )
    await refused(repo.timers.remove('inc-x', 1))
    await refused(repo.timers.removeAll('inc-x'))
    await refused(repo.commands.insert(command('cmd-2', 'inc-x')))
    await refused(repo.commands.save(acked))
    await refused(repo.audit.insert(notification('ntf-3', { incident: 'inc-x' })))
    await refused(repo.audit.save(delivered))
    await refused(repo.audit.insert(notification('ntf-4', { device: 'f7-elec' })))
    await refused(
      repo.audit.save({ ...notification('ntf-2', { device: 'f7-elec' }).record, status: 'delivered' }),
    )
    await refused(
      repo.audit.putDeadLetter({
        id: 'ntf-1',
        incident: 'inc-x',
        purpose: 'fire_centre',
        channel: 'webhook',
        attempts: 5,
        error: 'x',
        at: T,
        payload: {},
      }),
    )
    await refused(
      repo.audit.putDeadLetter({
        id: 'ntf-2',
        purpose: 'warning',
        channel: 'webhook',
        attempts: 5,
        error: 'x',
        at: T,
        payload: {},
      }),
    )
    await refused(repo.timeline.add('inc-x', { at: T, type: 'alert', actor: 'linkage', reason: 'late' }))
    expect(await snapshot(db)).toEqual(before)

    // The lease this node still has (xinan-01) runs out on the clock: refused too.
    await repo.timeline.add('inc-n', { at: T, type: 'alert', actor: 'linkage', reason: 'in time' })
    clock.set(T + 60_000)
    await refused(repo.timeline.add('inc-n', { at: T, type: 'alert', actor: 'linkage', reason: 'too late' }))
    expect((await repo.timeline.ofIncident('inc-n')).map((e) => e.reason)).toEqual(['in time'])

    // The administrator's rules are a community's settings, not work on it: any node writes them.
    await repo.rules.put('xixiang-01', { fireCentre: false }, T)
    expect(await repo.rules.get('xixiang-01')).toEqual({ fireCentre: false })
  })
})

/**
 * What dispatch keeps, in SQLite in a temp dir and in a real PostgreSQL: offers and records
 * round trip through the repository (optional times included), a save is all or nothing, the
 * KPI counts by alarm time and place, only what is open is loaded; and the working set in
 * memory reads what was stored, in offer order, after a reload. PostgreSQL only: the load is
 * scoped to the communities this node owns, and a save under a lease that moved is refused
 * and changes no row.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createPostgresDispatchRepository, type DispatchRepository } from '../../services/dispatch/index.ts'
import { createDispatchState } from '../../services/dispatch/state.ts'
import type { DispatchRecord, OfferRecord } from '../../services/dispatch/types.ts'
import type { PgDatabase } from '../../services/state/index.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
import { backends, type Store, testFence } from './backends.ts'

const T = Date.UTC(2026, 2, 1, 8)

const offer = (responder: string, eta_s: number, more: Partial<OfferRecord> = {}): OfferRecord => ({
  incident: 'inc-1',
  responder,
  type: 'grid_staff',
  mode: 'foot',
  eta_s,
  distance_m: eta_s,
  inside: true,
  state: 'offered',
  round: 0,
  limitS: 300,
  offeredAt: T,
  expiresAt: T + 30_000,
  ...more,
})

const record = (incident: string, more: Partial<DispatchRecord> = {}): DispatchRecord => ({
  incident,
  community: 'xixiang-01',
  street: 'xixiang',
  alarmAt: T,
  startedAt: T,
  step: 0,
  limitS: 300,
  state: 'active',
  deadline: T + 60_000,
  ...more,
})

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

describe.each(backends(() => pg))('the $name dispatch repository', (backend) => {
  let store: Store
  let repository: DispatchRepository
  beforeEach(async () => {
    store = await backend.open()
    repository = store.repository()
  })
  afterEach(async () => {
    await store.close()
  })

  it('round-trips offers and records, optional times included', async () => {
    const answered = offer('g-2', 150, {
      state: 'on_scene',
      inside: false,
      answeredAt: T + 1,
      enRouteAt: T + 2,
      onSceneAt: T + 3,
    })
    const rec = record('inc-1', { firstOnSceneAt: T + 3, state: 'covered' })
    delete rec.deadline
    await repository.save([offer('g-1', 100), answered], rec)
    expect(await repository.open()).toEqual({ records: [rec], offers: [offer('g-1', 100), answered] })
    expect(await repository.record('inc-1')).toEqual(rec)
    const closed = { ...rec, state: 'closed' as const, closedAt: T + 9 }
    await repository.save([], closed)
    expect(await repository.record('inc-1')).toEqual(closed)
    // Closed: history, read by incident, no longer loaded at start.
    expect(await repository.open()).toEqual({ records: [], offers: [] })
    expect(await repository.offersOf('inc-1')).toEqual([offer('g-1', 100), answered])
    expect(await repository.record('nope')).toBeUndefined()
    expect(await repository.offersOf('nope')).toEqual([])
  })

  it('a save that fails stores nothing of it', async () => {
    const bad = { ...offer('g-1', 100), type: null } as unknown as OfferRecord
    await expect(repository.save([offer('g-0', 90), bad], record('inc-1'))).rejects.toThrow()
    expect(await repository.open()).toEqual({ records: [], offers: [] })
    expect(await repository.offersOf('inc-1')).toEqual([])
    expect(await repository.record('inc-1')).toBeUndefined()
  })

  it('loads the open records oldest first and only their offers, each round nearest first', async () => {
    await repository.save(
      [offer('g-3', 200, { round: 1 }), offer('g-2', 150), offer('g-1', 100)],
      record('inc-1', { startedAt: T + 5 }),
    )
    await repository.save([offer('g-9', 50, { incident: 'inc-0' })], record('inc-0', { startedAt: T }))
    await repository.save(
      [offer('g-5', 10, { incident: 'inc-old', state: 'withdrawn' })],
      record('inc-old', { state: 'closed', closedAt: T - 1, startedAt: T - 9 }),
    )
    const open = await repository.open()
    expect(open.records.map((r) => r.incident)).toEqual(['inc-0', 'inc-1'])
    expect(open.offers.map((o) => [o.incident, o.responder])).toEqual([
      ['inc-0', 'g-9'],
      ['inc-1', 'g-1'],
      ['inc-1', 'g-2'],
      ['inc-1', 'g-3'],
    ])
    expect((await repository.offersOf('inc-old')).map((o) => o.state)).toEqual(['withdrawn'])
  })

  it('counts the KPI over the alarms in [from, to], by community', async () => {
    await repository.save([], record('inc-1', { firstOnSceneAt: T + 200_000 }))
    await repository.save([], record('inc-2', { firstOnSceneAt: T + 400_000 }))
    await repository.save([], record('inc-3', { community: 'xinan-01', street: 'xinan' }))
    await repository.save([], record('inc-4', { alarmAt: T - 86_400_000 }))
    expect(await repository.kpi({ from: T, to: T + 1 }, 300_000)).toEqual({
      incidents: 3,
      withResponderOnScene: 2,
      withinLimit: 1,
    })
    expect(await repository.kpi({ from: T, to: T + 1, community: 'xinan-01' }, 300_000)).toEqual({
      incidents: 1,
      withResponderOnScene: 0,
      withinLimit: 0,
    })
    expect(await repository.kpi({ from: T, to: T + 1, street: 'xixiang' }, 300_000)).toEqual({
      incidents: 2,
      withResponderOnScene: 2,
      withinLimit: 1,
    })
  })

  describe('the working set in memory', () => {
    it('reads what was stored, nearest first within each round, open records apart, after a reload', async () => {
      const state = createDispatchState(repository)
      await state.load()
      await state.save(
        [offer('g-3', 200, { round: 1 }), offer('g-2', 150), offer('g-1', 100)],
        record('inc-1'),
      )
      await state.save([offer('g-2', 150, { state: 'declined', answeredAt: T + 5 })])
      await state.save([], record('inc-0', { state: 'closed', closedAt: T + 1 }))
      const again = createDispatchState(repository)
      await again.load()
      for (const s of [state, again]) {
        expect(s.offers('inc-1').map((o) => [o.responder, o.state])).toEqual([
          ['g-1', 'offered'],
          ['g-2', 'declined'],
          ['g-3', 'offered'],
        ])
        expect(s.offer('inc-1', 'g-2')?.answeredAt).toBe(T + 5)
        expect(s.openRecords().map((r) => r.incident)).toEqual(['inc-1'])
        expect((await s.recordOf('inc-0'))?.state).toBe('closed')
        expect(s.offers('nope')).toEqual([])
      }
    })

    it('holds open incidents only: a closed one leaves memory and is read from the repository', async () => {
      const state = createDispatchState(repository)
      await state.load()
      await state.save([offer('g-2', 150), offer('g-1', 100)], record('inc-1'))
      const withdrawn = offer('g-2', 150, { state: 'withdrawn', answeredAt: T + 7 })
      await state.save([withdrawn], record('inc-1', { state: 'closed', closedAt: T + 7 }))
      expect(state.record('inc-1')).toBeUndefined()
      expect(state.offers('inc-1')).toEqual([])
      expect(state.openRecords()).toEqual([])
      expect((await state.offersOf('inc-1')).map((o) => [o.responder, o.state])).toEqual([
        ['g-1', 'offered'],
        ['g-2', 'withdrawn'],
      ])
      expect(await state.recordOf('inc-1')).toMatchObject({ state: 'closed', closedAt: T + 7 })
    })

    it('a reload replaces memory with exactly what is open in the repository', async () => {
      const state = createDispatchState(repository)
      await state.load()
      await state.save([offer('g-1', 100)], record('inc-1'))
      await state.save([offer('g-1', 100, { incident: 'inc-2' })], record('inc-2'))
      // Closed behind this working set's back (as by the node that owns it now).
      await repository.save([], record('inc-2', { state: 'closed', closedAt: T + 3 }))
      await state.load()
      expect(state.openRecords().map((r) => r.incident)).toEqual(['inc-1'])
      expect(state.record('inc-2')).toBeUndefined()
      expect(state.offers('inc-2')).toEqual([])
      expect(state.offers('inc-1').map((o) => o.responder)).toEqual(['g-1'])
    })

    it('changes memory only once the repository has stored the change', async () => {
      const failing: DispatchRepository = {
        ...repository,
        save: async () => Promise.reject(new Error('disk full')),
      }
      const state = createDispatchState(failing)
      await state.load()
      await expect(state.save([offer('g-1', 100)], record('inc-1'))).rejects.toThrow('disk full')
      expect(state.offers('inc-1')).toEqual([])
      expect(state.record('inc-1')).toBeUndefined()
    })
  })
})

describe('the PostgreSQL dispatch repository in a cluster', () => {
  let db: PgDatabase
  let t = T
  const now = () => t
  beforeEach(async () => {
    db = await pg.database()
    t = T
  })
  afterEach(async () => {
    await db.close().catch(() => {})
  })

  const rows = async () => ({
    offers: (await db.query('SELECT * FROM dispatch_offers ORDER BY incident, responder')).rows,
    records: (await db.query('SELECT * FROM dispatch_incidents ORDER BY incident')).rows,
  })

  it('loads only the open dispatch of the communities this node owns; reads and the KPI are not scoped', async () => {
    const fence = testFence(db, 'node-a', now)
    await fence.take('xixiang-01')
    const mine = createPostgresDispatchRepository(db, fence)
    const other = testFence(db, 'node-b', now)
    await other.take('xinan-01')
    const theirs = createPostgresDispatchRepository(db, other)
    await mine.save([offer('g-1', 100)], record('inc-1'))
    await theirs.save(
      [offer('g-7', 70, { incident: 'inc-7' })],
      record('inc-7', { community: 'xinan-01', street: 'xinan' }),
    )
    const open = await mine.open()
    expect(open.records.map((r) => r.incident)).toEqual(['inc-1'])
    expect(open.offers.map((o) => [o.incident, o.responder])).toEqual([['inc-1', 'g-1']])
    expect((await theirs.open()).records.map((r) => r.incident)).toEqual(['inc-7'])
    // Owning both: both loaded.
    await fence.take('xinan-01')
    expect((await mine.open()).records.map((r) => r.incident)).toEqual(['inc-1', 'inc-7'])
    fence.drop('xinan-01')
    fence.drop('xixiang-01')
    expect(await mine.open()).toEqual({ records: [], offers: [] })
    // Any node answers reads by incident and the KPI.
    expect((await mine.offersOf('inc-7')).map((o) => o.responder)).toEqual(['g-7'])
    expect((await mine.record('inc-7'))?.community).toBe('xinan-01')
    expect(await mine.kpi({ from: T, to: T + 1 }, 300_000)).toMatchObject({ incidents: 2 })
  })

  it('a save under a lease that moved is refused with partition_moved and changes no row', async () => {
    const fence = testFence(db, 'node-a', now)
    await fence.take('xixiang-01')
    const repository = createPostgresDispatchRepository(db, fence)
    await repository.save([offer('g-1', 100)], record('inc-1'))
    // Offers of an incident whose record is not stored yet: fenced by incidents.community.
    await db.query(
      `INSERT INTO incidents (id, status, community, street, opened_at, updated_at, data)
       VALUES ('inc-2', 'alarm', 'xixiang-01', 'xixiang', $1, $1, '{}')`,
      [T],
    )
    await repository.save([offer('g-1', 100, { incident: 'inc-2' })])
    const before = await rows()
    expect(before.offers).toHaveLength(2)

    await fence.lose('xixiang-01')
    const attempts: (() => Promise<void>)[] = [
      () => repository.save([offer('g-1', 100, { state: 'accepted', answeredAt: T + 1 })]),
      () => repository.save([], record('inc-1', { state: 'covered' })),
      () => repository.save([offer('g-2', 150)], record('inc-1', { step: 1 })),
      () => repository.save([offer('g-1', 100, { incident: 'inc-2', state: 'declined' })]),
    ]
    for (const save of attempts) await expect(save()).rejects.toMatchObject({ code: 'partition_moved' })
    expect(await rows()).toEqual(before)

    // A lease that expired is lost too, even with nobody else holding it.
    const late = testFence(db, 'node-c', now, 1_000)
    await late.take('xixiang-01')
    const lapsed = createPostgresDispatchRepository(db, late)
    t += 1_000
    await expect(lapsed.save([], record('inc-1', { state: 'covered' }))).rejects.toMatchObject({
      code: 'partition_moved',
    })
    // Offers of an incident with no known community cannot be fenced: refused.
    await expect(repository.save([offer('g-1', 100, { incident: 'inc-ghost' })])).rejects.toThrow(
      /no community/,
    )
    expect(await rows()).toEqual(before)
  })
})

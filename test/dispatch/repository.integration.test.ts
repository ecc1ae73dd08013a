/**
 * What dispatch keeps, in SQLite in a temp dir: offers and records round trip through the
 * repository (optional times included), a save is all or nothing, the KPI counts by alarm time
 * and place; and the working set in memory reads what was stored, in offer order, after a reload.
 */
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createSqliteDispatchRepository, type DispatchRepository } from '../../services/dispatch/index.ts'
import { createDispatchState } from '../../services/dispatch/state.ts'
import type { DispatchRecord, OfferRecord } from '../../services/dispatch/types.ts'
import { openStateDatabase, type SqliteDb } from '../../services/state/index.ts'
import { tempDir } from '../support/tmp.ts'

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

let tmp: ReturnType<typeof tempDir>
let db: SqliteDb
let repository: DispatchRepository

beforeEach(() => {
  tmp = tempDir('firecircle-dispatch-repo-')
  db = openStateDatabase(path.join(tmp.dir, 'state.db'))
  repository = createSqliteDispatchRepository(db)
})

afterEach(() => {
  db.close()
  tmp.cleanup()
})

describe('the SQLite dispatch repository', () => {
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
    expect(await repository.offers()).toEqual([offer('g-1', 100), answered])
    expect(await repository.records()).toEqual([rec])
    const closed = { ...rec, state: 'closed' as const, closedAt: T + 9 }
    await repository.save([], closed)
    expect(await repository.records()).toEqual([closed])
  })

  it('a save that fails stores nothing of it', async () => {
    const bad = { ...offer('g-1', 100), type: null } as unknown as OfferRecord
    await expect(repository.save([offer('g-0', 90), bad], record('inc-1'))).rejects.toThrow()
    expect(await repository.offers()).toEqual([])
    expect(await repository.records()).toEqual([])
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
  })
})

describe('the working set in memory', () => {
  it('reads what was stored, nearest first within each round, open records apart, after a reload', async () => {
    const state = createDispatchState(repository)
    await state.load()
    await state.save([offer('g-3', 200, { round: 1 }), offer('g-2', 150), offer('g-1', 100)], record('inc-1'))
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
      expect(s.record('inc-0')?.state).toBe('closed')
      expect(s.offers('nope')).toEqual([])
    }
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

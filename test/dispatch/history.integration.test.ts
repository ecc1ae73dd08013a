/**
 * The probability policy's stored side, in SQLite and in a real PostgreSQL: an offer keeps the
 * probability it was sent at (migration 010), the responders' histories are read back from their
 * answered offers, and the KPI's predicted P is the first offers' against what happened.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { DispatchRepository } from '../../services/dispatch/index.ts'
import type { DispatchRecord, OfferRecord } from '../../services/dispatch/types.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
import { backends, type Store } from './backends.ts'

const T = Date.UTC(2026, 2, 1, 8)

const offer = (incident: string, responder: string, more: Partial<OfferRecord> = {}): OfferRecord => ({
  incident,
  responder,
  type: 'grid_staff',
  mode: 'foot',
  eta_s: 100,
  distance_m: 100,
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
  state: 'covered',
  ...more,
})

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

describe.each(backends(() => pg))('the $name dispatch repository, probability policy', (backend) => {
  let store: Store
  let repository: DispatchRepository
  beforeEach(async () => {
    store = await backend.open()
    repository = store.repository()
  })
  afterEach(async () => {
    await store.close()
  })

  it('keeps the probability an offer was sent at, and none under the fixed policy', async () => {
    await repository.save(
      [offer('inc-1', 'g-1', { probability: 0.9921 }), offer('inc-1', 'g-2')],
      record('inc-1'),
    )
    const got = await repository.offersOf('inc-1')
    expect(got.find((o) => o.responder === 'g-1')?.probability).toBeCloseTo(0.9921, 6)
    expect(got.find((o) => o.responder === 'g-2')).not.toHaveProperty('probability')
  })

  it('reads every responder’s history from its answered offers', async () => {
    await repository.save(
      [
        offer('inc-1', 'g-1', { state: 'accepted', answeredAt: T + 12_000 }),
        offer('inc-2', 'g-1', { state: 'on_scene', answeredAt: T + 8_000, onSceneAt: T + 200_000 }),
        offer('inc-3', 'g-1', { state: 'declined', answeredAt: T + 3_000 }),
        offer('inc-1', 'v-1', { type: 'volunteer', state: 'no_answer', answeredAt: T + 30_000 }),
        offer('inc-2', 'v-1', { type: 'volunteer' }),
      ],
      record('inc-1'),
    )
    const h = (await repository.histories()).sort((a, b) => (a.responder < b.responder ? -1 : 1))
    expect(h).toEqual([
      { responder: 'g-1', type: 'grid_staff', offers: 3, accepts: 2, lagSumS: 20 },
      { responder: 'v-1', type: 'volunteer', offers: 1, accepts: 0, lagSumS: 0 },
    ])
  })

  it('compares the first offers’ predicted P with the share on scene within the limit', async () => {
    await repository.save(
      [
        offer('inc-1', 'g-1', { probability: 0.9 }),
        // A later top-up's probability is not the prediction the incident started with.
        offer('inc-1', 'g-2', { probability: 0.5, offeredAt: T + 30_000 }),
        offer('inc-2', 'g-1', { probability: 0.7 }),
        offer('inc-3', 'g-1'),
      ],
      record('inc-1', { firstOnSceneAt: T + 200_000 }),
    )
    await repository.save([], record('inc-2', { firstOnSceneAt: T + 400_000 }))
    await repository.save([], record('inc-3', { firstOnSceneAt: T + 100_000 }))
    const p = await repository.predicted({ from: T, to: T + 1 }, 300_000)
    expect(p.incidents).toBe(2)
    expect(p.meanP).toBeCloseTo(0.8, 9)
    expect(p.withinLimit).toBe(1)
    expect(await repository.predicted({ from: T, to: T + 1, community: 'nowhere' }, 300_000)).toEqual({
      incidents: 0,
      meanP: null,
      withinLimit: 0,
    })
  })
})

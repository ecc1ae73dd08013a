/**
 * The dispatcher over each place it keeps its state (SQLite, PostgreSQL), stopped and started
 * again in the same process, as the composition root does when a node's communities change:
 * memory after start() is exactly the open dispatch loaded, timers resume from the stored
 * deadlines, an offer already made is not published again, and a closed incident's offers
 * are read from the repository, not held in memory. The incidents are a small book in memory
 * and the broker a recorder: the subject is dispatch's restart path.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Incident, IncidentBook, IncidentEvent } from '../../services/alarms/index.ts'
import {
  createDispatcher,
  createPostgresDispatchRepository as createPostgresRepository,
  type Dispatcher,
  type DispatchRepository,
  type OpenDispatch,
  ReplyRefused,
} from '../../services/dispatch/index.ts'
import { createResponderIndex, type ResponderIndex } from '../../services/dispatch/responder-index.ts'
import { createEventBus, type EventBus } from '../../services/events/index.ts'
import type { Registry, Responder } from '../../services/registry/index.ts'
import { createManualClock, type ManualClock } from '../../services/shared/clock.ts'
import { createLogger } from '../../services/shared/log.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
import { backends, type Store, testFence } from './backends.ts'

const T = Date.UTC(2026, 2, 1, 8)
/** Two fires ~4 km apart: no responder on foot reaches both within 10 minutes. */
const PLACES = {
  'xixiang-01': { street: 'xixiang', at: [113.865, 22.575] as [number, number] },
  'xinan-01': { street: 'xinan', at: [113.9, 22.6] as [number, number] },
}
type Community = keyof typeof PLACES
/** Grid staff on foot, 100 m and 150 m north of each fire (≈123 s and ≈169 s). */
const STAFF: { id: string; community: Community; northM: number }[] = [
  { id: 'g-xx1', community: 'xixiang-01', northM: 100 },
  { id: 'g-xx2', community: 'xixiang-01', northM: 150 },
  { id: 'g-xa1', community: 'xinan-01', northM: 100 },
  { id: 'g-xa2', community: 'xinan-01', northM: 150 },
]
const M_PER_DEG = 111_195

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

/** Dispatch's surroundings: the clock, the bus, the incidents, the responders, the broker. */
interface World {
  clock: ManualClock
  events: EventBus
  index: ResponderIndex
  /** Offers as the broker took them: `responder incident`. */
  published: string[]
  /** Every open() a repository of this world answered. */
  loads: OpenDispatch[]
  dispatcher(repository: DispatchRepository): Dispatcher
  /** An alarm in the community (the engine's event on the bus). */
  alarm(id: string, community: Community): Incident
  setStatus(id: string, status: Incident['status']): void
}

function world(): World {
  const clock = createManualClock(T)
  const events = createEventBus()
  const incidents = new Map<string, Incident>()
  const index = createResponderIndex()
  index.upsertMany(
    STAFF.map((s) => {
      const [lon, lat] = PLACES[s.community].at
      return {
        id: s.id,
        type: 'grid_staff' as const,
        mode: 'foot' as const,
        onDuty: true,
        community: s.community,
        location: { lon, lat: lat + s.northM / M_PER_DEG, ts: T },
      }
    }),
  )
  const published: string[] = []
  const loads: OpenDispatch[] = []
  const closed = new Set(['false_alarm', 'resolved', 'cancelled'])
  const book: Pick<IncidentBook, 'getOpen' | 'get' | 'update' | 'openIncidents'> = {
    getOpen: (id) => {
      const i = incidents.get(id)
      return i !== undefined && !closed.has(i.status) ? i : undefined
    },
    get: async (id) => incidents.get(id),
    async update(id, change) {
      const i = incidents.get(id)!
      change(i)
      return i
    },
    openIncidents: () => [...incidents.values()].filter((i) => !closed.has(i.status)),
  }
  const registry = {
    building: () => undefined,
    device: () => undefined,
    responder: (id: string) => ({ id, name: `Staff ${id}` }) as Responder,
    respondersOfBuilding: () => [],
  } as Pick<Registry, 'building' | 'device' | 'responder' | 'respondersOfBuilding'>
  const emit = (i: Incident) =>
    events.emit('incident', {
      change: 'status',
      incident: i,
      entry: { at: clock.now(), type: 'status', status: i.status, actor: 'engine', reason: 'test' },
    } as IncidentEvent)
  return {
    clock,
    events,
    index,
    published,
    loads,
    dispatcher(repository) {
      const spied: DispatchRepository = {
        ...repository,
        async open() {
          const open = await repository.open()
          loads.push(open)
          return open
        },
      }
      return createDispatcher({
        clock,
        events,
        incidents: book,
        index,
        registry,
        publish: async (topic, payload) => {
          if (!topic.endsWith('/offer')) return
          published.push(`${topic.split('/')[1]} ${JSON.parse(String(payload)).incident}`)
        },
        repository: spied,
        logger: createLogger('silent'),
      })
    },
    alarm(id, community) {
      const { street, at } = PLACES[community]
      const i: Incident = {
        id,
        status: 'alarm',
        cause: 'fire',
        community,
        street,
        location: at,
        openedAt: clock.now(),
        updatedAt: clock.now(),
        alarmAt: clock.now(),
        devices: [],
      }
      incidents.set(id, i)
      emit(i)
      return i
    },
    setStatus(id, status) {
      const i = incidents.get(id)!
      i.status = status
      emit(i)
    },
  }
}

const states = async (d: Dispatcher, incident: string) =>
  (await d.offersView(incident)).map((o) => `${o.responder} ${o.state}`)

describe.each(backends(() => pg))('dispatch restarted over $name', (backend) => {
  let store: Store
  beforeEach(async () => {
    store = await backend.open()
  })
  afterEach(async () => {
    await store.close()
  })

  it("a closed incident's offers are answered from the repository after a restart, not from memory", async () => {
    const w = world()
    const first = w.dispatcher(store.repository())
    await first.start()
    w.alarm('inc-x', 'xixiang-01')
    await first.flushed()
    expect(await states(first, 'inc-x')).toEqual(['g-xx1 offered', 'g-xx2 offered'])
    await first.reply('inc-x', 'g-xx1', 'accept', 'administrator', 'http')
    w.setStatus('inc-x', 'resolved')
    await first.flushed()
    expect(w.index.get('g-xx1')?.busy).toBe(false)
    // Straight away, without a restart: no longer in memory, read from the repository.
    expect(await states(first, 'inc-x')).toEqual(['g-xx1 accepted', 'g-xx2 withdrawn'])
    await first.stop()

    const again = w.dispatcher(store.repository())
    await again.start()
    expect(w.loads.at(-1)).toEqual({ records: [], offers: [] })
    const view = await again.offersView('inc-x')
    expect(view.map((o) => [o.responder, o.name, o.state])).toEqual([
      ['g-xx1', 'Staff g-xx1', 'accepted'],
      ['g-xx2', 'Staff g-xx2', 'withdrawn'],
    ])
    expect(await again.record('inc-x')).toMatchObject({ state: 'closed', closedAt: T })
    expect(await again.limitS('inc-x')).toBe(300)
    // A late answer is refused for what it is: the incident is closed (not "never offered").
    const late = await again.reply('inc-x', 'g-xx1', 'en_route', 'administrator', 'http').catch((e) => e)
    expect(late).toBeInstanceOf(ReplyRefused)
    expect((late as ReplyRefused).reason).toBe('incident_closed')
    expect(await states(again, 'inc-x')).toEqual(['g-xx1 accepted', 'g-xx2 withdrawn'])
    await again.stop()
  })

  it('stop() then start() of the same dispatcher: nothing published twice, timers resume once', async () => {
    const w = world()
    const d = w.dispatcher(store.repository())
    await d.start()
    w.alarm('inc-x', 'xixiang-01')
    await d.flushed()
    expect(w.published).toEqual(['g-xx1 inc-x', 'g-xx2 inc-x'])
    const expired: string[] = []
    const widened: [number, number][] = []
    w.events.on({ stage: 'test' }, 'dispatch.offer', (e) => {
      if (e.change === 'expired') expired.push(e.offer.responder)
    })
    w.events.on({ stage: 'test' }, 'dispatch.escalation', (e) => widened.push([e.step, e.at]))
    await d.stop()
    w.clock.advance(10_000) // while stopped: nothing fires
    await d.start()
    await d.start() // a second start while running changes nothing
    await d.flushed()
    expect(w.published).toEqual(['g-xx1 inc-x', 'g-xx2 inc-x'])
    expect(w.loads).toHaveLength(2)
    w.clock.set(T + 30_000) // the stored expiry
    await d.flushed()
    expect(expired).toEqual(['g-xx1', 'g-xx2'])
    expect(await states(d, 'inc-x')).toEqual(['g-xx1 no_answer', 'g-xx2 no_answer'])
    await d.stop()
    await d.start()
    w.clock.set(T + 59_999)
    await d.flushed()
    expect(expired).toEqual(['g-xx1', 'g-xx2'])
    expect(widened).toEqual([])
    // Nobody accepted: the circle widens at the stored deadline, once per step across restarts.
    w.clock.set(T + 60_000)
    await d.flushed()
    expect(widened).toEqual([[1, T + 60_000]])
    await d.stop()
    await d.start()
    w.clock.advance(0)
    await d.flushed()
    expect(widened).toEqual([[1, T + 60_000]])
    w.clock.set(T + 120_000)
    await d.flushed()
    await d.stop()
    await d.start()
    w.clock.advance(600_000) // 10 minutes is the widest step: nothing more
    await d.flushed()
    expect(widened).toEqual([
      [1, T + 60_000],
      [2, T + 120_000],
    ])
    expect(w.published).toEqual(['g-xx1 inc-x', 'g-xx2 inc-x'])
    await d.stop()
  })
})

describe('dispatch on PostgreSQL when the communities a node owns change', () => {
  it('after stop() and start() memory is exactly the owned open dispatch: timers, busy responders, no republish', async () => {
    const db = await pg.database()
    try {
      const w = world()
      // Leases of an hour: renewing them is the cluster's business, not this test's.
      const fence = testFence(db, 'node-a', () => w.clock.now(), 3_600_000)
      await fence.take('xixiang-01')
      await fence.take('xinan-01')
      const d = w.dispatcher(createPostgresRepository(db, fence))
      await d.start()
      w.alarm('inc-x', 'xixiang-01')
      w.alarm('inc-y', 'xinan-01')
      await d.flushed()
      expect(w.published.sort()).toEqual(['g-xa1 inc-y', 'g-xa2 inc-y', 'g-xx1 inc-x', 'g-xx2 inc-x'])
      await d.reply('inc-y', 'g-xa1', 'accept', 'administrator', 'http')
      expect(w.index.get('g-xa1')).toMatchObject({ busy: true, incident: 'inc-y' })

      // xinan-01 moves to another node: the composition root stops, reloads, starts.
      await fence.lose('xinan-01', 'node-b')
      fence.drop('xinan-01')
      await d.stop()
      await d.start()
      expect(w.loads.at(-1)?.records.map((r) => r.incident)).toEqual(['inc-x'])
      expect(w.index.get('g-xa1')?.busy).toBe(false) // not held busy by work that left
      w.clock.set(T + 30_000)
      await d.flushed()
      expect(await states(d, 'inc-x')).toEqual(['g-xx1 no_answer', 'g-xx2 no_answer'])
      // inc-y is read from the database (any node answers) but not worked here: untouched.
      expect(await states(d, 'inc-y')).toEqual(['g-xa1 accepted', 'g-xa2 offered'])
      // Its alarm is still open in the book, and stays not begun again: it is dispatched elsewhere.
      expect(w.published).toHaveLength(4)
      const refused = await d.reply('inc-y', 'g-xa2', 'accept', 'administrator', 'http').catch((e) => e)
      expect(refused).toMatchObject({ code: 'partition_moved' })

      // It comes back: loaded again, the committed responder busy again, its expiry resumed.
      await fence.take('xinan-01')
      await d.stop()
      await d.start()
      expect(w.loads.at(-1)?.records.map((r) => r.incident)).toEqual(['inc-x', 'inc-y'])
      expect(w.index.get('g-xa1')).toMatchObject({ busy: true, incident: 'inc-y' })
      expect(await states(d, 'inc-y')).toEqual(['g-xa1 accepted', 'g-xa2 offered'])
      w.clock.advance(0) // its expiry, overdue, falls due at once (a manual clock runs it on a move)
      await d.flushed()
      expect(await states(d, 'inc-y')).toEqual(['g-xa1 accepted', 'g-xa2 no_answer'])
      expect(w.published).toHaveLength(4)
      await d.stop()
    } finally {
      await db.close().catch(() => {})
    }
  })
})

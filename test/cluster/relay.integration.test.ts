/**
 * The relay between nodes on a real PostgreSQL: two nodes' relays in this process on one
 * database and one manual clock (the polls and reconnections run when the clock is moved).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PgDatabase } from '../../services/state/index.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
import { createWorld, until, type World } from './world.ts'

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

interface Heard {
  body: unknown
  origin: string
}

async function twoRelays(db: PgDatabase) {
  const w = createWorld(db)
  const a = w.add('node-a').node
  const b = w.add('node-b').node
  const heardA: Heard[] = []
  const heardB: Heard[] = []
  a.relay.on('offer', (body, origin) => void heardA.push({ body, origin }))
  b.relay.on('offer', (body, origin) => void heardB.push({ body, origin }))
  b.relay.on('command', (body, origin) => void heardB.push({ body: { command: body }, origin }))
  await a.relay.start()
  await b.relay.start()
  return { w, a, b, heardA, heardB }
}

/** Move the clock by `ms` and wait for the polls it started. */
async function advance(w: World, relays: { relay: { settled(): Promise<void> } }[], ms: number) {
  w.base.advance(ms)
  for (const r of relays) await r.relay.settled()
}

async function listening(db: PgDatabase, node: string): Promise<number> {
  const r = await db.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'",
    [`firecircle-relay-${node}`],
  )
  return r.rows.length
}

describe('the relay between nodes', () => {
  it('hands each row of another node to the listeners of its kind once, never the node’s own', async () => {
    const db = await pg.database()
    const { w, a, b, heardA, heardB } = await twoRelays(db)
    await a.relay.send('offer', { responder: 'r-1', incident: 'i-1' })
    await a.relay.send('command', { device: 'sounder-1', on: true })
    // no clock moved: this is the NOTIFY path
    await until(() => (heardB.length === 2 ? true : undefined))
    expect(heardB).toEqual([
      { body: { responder: 'r-1', incident: 'i-1' }, origin: 'node-a' },
      { body: { command: { device: 'sounder-1', on: true } }, origin: 'node-a' },
    ])
    // polls over the rows' window deliver nothing twice
    for (let i = 0; i < 6; i++) await advance(w, [a, b], 500)
    expect(heardB).toHaveLength(2)
    expect(heardA).toEqual([])

    // a row sent in the caller's transaction is not seen before it commits, nor after a rollback
    await db.tx(async (t) => a.relay.send('offer', { responder: 'r-2' }, t))
    await expect(
      db.tx(async (t) => {
        await a.relay.send('offer', { responder: 'never' }, t)
        throw new Error('the offer write failed')
      }),
    ).rejects.toThrow('the offer write failed')
    await until(() => (heardB.length === 3 ? true : undefined))
    await advance(w, [a, b], 500)
    expect(heardB.map((h) => h.body)).toContainEqual({ responder: 'r-2' })
    expect(heardB.map((h) => h.body)).not.toContainEqual({ responder: 'never' })
    await a.relay.stop()
    await b.relay.stop()
  })

  it('keeps delivering when its LISTEN connection is killed: by polling, then listening again', async () => {
    const db = await pg.database()
    const { w, a, b, heardB } = await twoRelays(db)
    expect(await listening(db, 'node-b')).toBe(1)
    await db.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'firecircle-relay-node-b'",
    )
    await until(async () => ((await listening(db, 'node-b')) === 0 ? true : undefined))

    await a.relay.send('offer', { n: 1 })
    await advance(w, [a, b], 500) // a poll (the reconnection waits its 250 ms … of the clock, due too)
    await until(() => (heardB.length === 1 ? true : undefined))
    await until(async () => ((await listening(db, 'node-b')) === 1 ? true : undefined))

    // listening again: delivered with no clock moved, so by NOTIFY
    await a.relay.send('offer', { n: 2 })
    await until(() => (heardB.length === 2 ? true : undefined))
    for (let i = 0; i < 4; i++) await advance(w, [a, b], 500)
    expect(heardB.map((h) => h.body)).toEqual([{ n: 1 }, { n: 2 }])
    await a.relay.stop()
    await b.relay.stop()
  })

  it('delivers both of two rows whose ids commit out of order, by NOTIFY and by polling alone', async () => {
    const db = await pg.database()
    const { w, a, b, heardB } = await twoRelays(db)
    const t1 = await db.pool.connect()
    const t2 = await db.pool.connect()
    try {
      await t1.query('BEGIN')
      await a.relay.send('offer', { n: 'lower id' }, t1)
      await t2.query('BEGIN')
      await a.relay.send('offer', { n: 'higher id' }, t2)
      await t2.query('COMMIT')
      await until(() => (heardB.length === 1 ? true : undefined))
      await t1.query('COMMIT')
      await until(() => (heardB.length === 2 ? true : undefined))
      expect(heardB.map((h) => h.body)).toEqual([{ n: 'higher id' }, { n: 'lower id' }])

      // the same without NOTIFY (rows written as a sender whose NOTIFY was lost): the poll
      const insert =
        "INSERT INTO cluster_outbox (kind, body, origin, created_at) VALUES ('offer', $1, 'node-a', $2)"
      await t1.query('BEGIN')
      await t1.query(insert, [JSON.stringify({ n: 'polled lower' }), w.base.now()])
      await t2.query('BEGIN')
      await t2.query(insert, [JSON.stringify({ n: 'polled higher' }), w.base.now()])
      await t2.query('COMMIT')
      await advance(w, [a, b], 500)
      expect(heardB.map((h) => h.body).slice(2)).toEqual([{ n: 'polled higher' }])
      await t1.query('COMMIT')
      await advance(w, [a, b], 500)
      await advance(w, [a, b], 500)
      expect(heardB.map((h) => h.body).slice(2)).toEqual([{ n: 'polled higher' }, { n: 'polled lower' }])
    } finally {
      t1.release()
      t2.release()
    }
    // rows older than a minute are removed
    await advance(w, [a, b], 61_000)
    await advance(w, [a, b], 10_000)
    const left = await db.query('SELECT id FROM cluster_outbox')
    expect(left.rows).toEqual([])
    await a.relay.stop()
    await b.relay.stop()
  })
})

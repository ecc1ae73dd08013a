/**
 * Membership, leases and the fence on a real PostgreSQL: several ClusterNode objects in this
 * process on one database stand for several nodes, on one manual clock (lease expiry without
 * sleeping); a paused node is one whose timers are held back (./world.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../services/config/index.ts'
import { DomainError } from '../../services/shared/index.ts'
import type { PgDatabase } from '../../services/state/index.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'
import { createWorld, LEASE_MS, leases, ROUND_MS, seedCommunities } from './world.ts'

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

async function fencedWritesTable(db: PgDatabase): Promise<void> {
  await db.query('CREATE TABLE fenced_writes (partition TEXT NOT NULL, node TEXT NOT NULL)')
}

async function writesOf(db: PgDatabase): Promise<{ partition: string; node: string }[]> {
  return (
    await db.query<{ partition: string; node: string }>(
      'SELECT partition, node FROM fenced_writes ORDER BY node',
    )
  ).rows
}

const counts = (shares: Record<string, readonly string[]>) =>
  Object.fromEntries(Object.entries(shares).map(([id, ps]) => [id, ps.length]))

describe('cluster membership', () => {
  it('refuses a second live node of the same id with one line naming FC_NODE_ID; a stopped or dead one may come back', async () => {
    const db = await pg.database()
    const w = createWorld(db)
    const first = w.add('node-a')
    await first.node.start()
    const twin = w.add('node-a')
    const refused = await twin.node.start().catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(ConfigError)
    expect((refused as Error).message).toBe(
      'FC_NODE_ID: another live node is named node-a (last seen 2026-12-02T08:00:00.000Z): give each node its own FC_NODE_ID',
    )
    await w.advance(2 * ROUND_MS)
    await expect(w.add('node-a').node.start()).rejects.toThrow(
      /another live node is named node-a \(last seen 2026-12-02T08:00:02/,
    )

    await first.node.stop()
    const stopped = await db.query('SELECT stopped_at FROM cluster_nodes WHERE id = $1', ['node-a'])
    expect(stopped.rows[0]?.stopped_at).not.toBeNull()
    const again = w.add('node-a')
    await again.node.start()
    expect(again.node.databaseUp()).toBe(true)

    // A crash (no stop): the id is free again once it has not been seen for the lease.
    again.pause()
    await w.advance(ROUND_MS)
    await expect(w.add('node-a').node.start()).rejects.toThrow(ConfigError)
    await w.advance(LEASE_MS)
    const afterCrash = w.add('node-a')
    await afterCrash.node.start()
    // The paused run, woken, finds its id taken and stops its rounds instead of fighting.
    again.resume()
    await w.advance(ROUND_MS)
    expect(again.node.owned()).toEqual([])
    await afterCrash.node.stop()
  })
})

describe('leases on the partitions of work', () => {
  it('one node holds every community; a second and a third get their share within a few rounds; then nothing moves', async () => {
    const db = await pg.database()
    const communities = await seedCommunities(db, 6)
    const w = createWorld(db)
    const a = w.add('node-a')
    const changes: { gained: string[]; lost: string[] }[] = []
    a.node.onChange(({ gained, lost }) => void changes.push({ gained, lost }))
    await a.node.start()
    expect(a.node.owned()).toEqual(communities)
    expect(changes).toEqual([{ gained: communities, lost: [] }])

    const b = w.add('node-b')
    await b.node.start()
    await w.advance(3 * ROUND_MS)
    expect(counts(w.shares())).toEqual({ 'node-a': 3, 'node-b': 3 })
    expect(changes[1]).toEqual({ gained: [], lost: ['c-04', 'c-05', 'c-06'] })

    const c = w.add('node-c')
    await c.node.start()
    await w.advance(3 * ROUND_MS)
    const shares = w.shares()
    expect(counts(shares)).toEqual({ 'node-a': 2, 'node-b': 2, 'node-c': 2 })
    expect(Object.values(shares).flat().sort()).toEqual(communities)
    for (const [id, ps] of Object.entries(shares)) {
      const m = [a, b, c].find((x) => x.node.nodeId === id)!
      for (const p of ps) expect(m.node.owns(p)).toBe(true)
    }
    // settled: ten more rounds change no owner and no epoch
    const before = await leases(db)
    await w.advance(10 * ROUND_MS)
    expect(await leases(db)).toEqual(before)
    expect(Object.values(before).map((l) => l.owner)).not.toContain(null)

    // a community registered later is a new partition, taken at the next round
    await seedCommunities(db, 1, 7)
    await w.advance(ROUND_MS)
    expect(Object.values(w.shares()).flat().sort()).toEqual([...communities, 'c-07'])
    expect((await a.node.ownerOf('c-07'))?.httpUrl).toMatch(/^http:\/\/node-[abc]\.example:8080$/)
    // and one removed is none any more: whoever held it gives it up
    await db.query("DELETE FROM communities WHERE id = 'c-07'")
    await w.advance(ROUND_MS)
    expect(Object.values(w.shares()).flat().sort()).toEqual(communities)
    expect((await leases(db))['c-07']?.owner).toBeNull()

    // a node that stops gives its share up at once; the others take it at their next round
    await c.node.stop()
    await w.advance(ROUND_MS)
    expect(Object.values(w.shares()).flat().sort()).toEqual(communities)
    expect(c.node.owned()).toEqual([])
    await a.node.stop()
    await b.node.stop()
  })

  it('a paused node loses its partitions after the lease; its fenced write is refused, the new owner’s commits', async () => {
    const db = await pg.database()
    await seedCommunities(db, 6)
    await fencedWritesTable(db)
    const w = createWorld(db)
    const [a, b, c] = ['node-a', 'node-b', 'node-c'].map((id) => w.add(id)) as [
      ReturnType<typeof w.add>,
      ReturnType<typeof w.add>,
      ReturnType<typeof w.add>,
    ]
    for (const m of [a, b, c]) await m.node.start()
    await w.advance(4 * ROUND_MS)
    const mine = c.node.owned()
    expect(mine).toHaveLength(2)
    const p = mine[0]!
    const epochBefore = (await leases(db))[p]!.epoch
    const lost: string[][] = []
    c.node.onChange(({ lost: l }) => void lost.push(l))

    c.pause()
    await w.advance(LEASE_MS + ROUND_MS)
    expect(counts(w.shares())).toEqual({ 'node-a': 3, 'node-b': 3, 'node-c': 0 })
    expect(c.node.owns(p)).toBe(false)
    const row = (await leases(db))[p]!
    expect(row.owner).not.toBe('node-c')
    expect(row.epoch).toBe(epochBefore + 1)

    // the paused node still believes in its old epoch; the database refuses it
    const refused = await db
      .tx(async (t) => {
        await t.query("INSERT INTO fenced_writes (partition, node) VALUES ($1, 'node-c')", [p])
        await c.node.fence.hold(t, p)
      })
      .catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(DomainError)
    expect((refused as DomainError).code).toBe('partition_moved')
    const owner = [a, b].find((m) => m.node.owns(p))!
    expect((await c.node.ownerOf(p))?.node).toBe(owner.node.nodeId)
    await db.tx(async (t) => {
      await owner.node.fence.hold(t, p)
      await t.query('INSERT INTO fenced_writes (partition, node) VALUES ($1, $2)', [p, owner.node.nodeId])
    })
    expect(await writesOf(db)).toEqual([{ partition: p, node: owner.node.nodeId }])

    // woken, it reports the loss, then gets its share back under new epochs
    c.resume()
    await w.advance(4 * ROUND_MS)
    expect(lost[0]).toEqual(mine)
    expect(counts(w.shares())).toEqual({ 'node-a': 2, 'node-b': 2, 'node-c': 2 })
    for (const m of [a, b, c]) await m.node.stop()
  })

  it('a takeover is not made while a fenced write is in flight (FOR SHARE), and no round waits on it; the first round after the commit makes it', async () => {
    const db = await pg.database()
    await seedCommunities(db, 2)
    await fencedWritesTable(db)
    const w = createWorld(db)
    const a = w.add('node-a')
    const c = w.add('node-c')
    await a.node.start()
    await c.node.start()
    await w.advance(3 * ROUND_MS)
    expect(counts(w.shares())).toEqual({ 'node-a': 1, 'node-c': 1 })
    const p = c.node.owned()[0]!
    const own = a.node.owned()[0]!

    const t = await db.pool.connect()
    await t.query('BEGIN')
    await c.node.fence.hold(t, p)
    await t.query("INSERT INTO fenced_writes (partition, node) VALUES ($1, 'node-c')", [p])
    c.pause()

    // Rounds of node-a well past c's lease: each one finishes, and node-a keeps its own.
    await w.advance(LEASE_MS + 3 * ROUND_MS)
    expect(a.node.owned()).toEqual([own])
    expect(a.node.databaseUp()).toBe(true)
    expect((await leases(db))[p]!.owner).toBe('node-c')

    await t.query('COMMIT')
    t.release()
    await w.advance(ROUND_MS)
    expect(a.node.owns(p)).toBe(true)
    expect((await leases(db))[p]!.owner).toBe('node-a')
    // the write made under the lease it held stands
    expect(await writesOf(db)).toEqual([{ partition: p, node: 'node-c' }])
    c.resume()
    await w.advance(ROUND_MS)
    for (const m of [a, c]) await m.node.stop()
  })

  it('a fenced write whose process is paused inside its transaction is ended by the database after stallMs: the lease moves, and the woken write fails', async () => {
    const db = await pg.database()
    await seedCommunities(db, 2)
    await fencedWritesTable(db)
    const w = createWorld(db)
    const a = w.add('node-a')
    const c = w.add('node-c', undefined, { stallMs: 200 })
    await a.node.start()
    await c.node.start()
    await w.advance(3 * ROUND_MS)
    const p = c.node.owned()[0]!

    const t = await db.pool.connect()
    const broke = new Promise<Error>((resolve) => t.on('error', resolve))
    await t.query('BEGIN')
    await c.node.fence.hold(t, p)
    await t.query("INSERT INTO fenced_writes (partition, node) VALUES ($1, 'node-c')", [p])
    c.pause()
    // The database ends the session it sees idle in its transaction (real time: stallMs).
    expect((await broke).message).toMatch(/terminat/i)
    await w.advance(LEASE_MS + ROUND_MS)
    expect(a.node.owns(p)).toBe(true)
    expect((await leases(db))[p]!.owner).toBe('node-a')
    // Woken, the paused write goes on: its COMMIT fails, and nothing of it was kept.
    await expect(t.query('COMMIT')).rejects.toThrow()
    t.release(true)
    expect(await writesOf(db)).toEqual([])
    c.resume()
    await w.advance(ROUND_MS)
    for (const m of [a, c]) await m.node.stop()
  })
})
